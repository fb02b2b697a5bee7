"""Model options and bounds: declared parameters with defaults and validation.

`pgcheck list` prints this table; `--option NAME=VALUE` sets any entry. Defaults are
chosen so that `pgcheck explore --carriers=3 --sessions=5` completes (benchmarks/RESULTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pgcheck.checker.errors import UsageError, did_you_mean
from pgcheck.model.vocabulary import CMD, MODES


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "bool" | "int" | "commands"
    default: Any
    help: str
    lo: int = 0
    hi: int = 0
    group: str = "option"  # "option" (behaviour), "assumption" (environment fairness) or "bound" (budget)


PARAMS: list[Param] = [
    # Behaviour options of the design (§2.1, §2.7, §2.11).
    Param("affinity_enforced", "bool", False, "affine sessions may only be leased by their parked carrier (§2.11, S30, L14)"),
    Param("sticky_idle", "bool", False, "attached sticky idle wait before parking (§2.7 4c, H6)"),
    Param("hibernate", "bool", False, "idle-memory hibernation and HIBERNATE wakes (§2.7, L8)"),
    Param("poll_steps", "bool", False, "the poller at the C code's grain: immediate checks, wait and re-check as separate steps, the re-check over every taken backend (§2.6 steps 3-10, §3.4 stale park generation)"),
    Param("listeners", "bool", True, "every session has run LISTEN before the modeled window (§3.4 notify)"),
    Param("idle_session_timeout", "bool", False, "idle_session_timeout is set: a due timeout FATALs an idle session (§2.10)"),
    Param("idle_in_xact_timeout", "bool", False, "idle_in_transaction_session_timeout is set (§2.10)"),
    Param("client_close", "bool", False, "clients may close their connection (EOF, L6)"),
    Param("postmaster_death", "bool", False, "the postmaster may die (§2.6 step 7, L12)"),
    Param("commands", "commands", ("query", "begin"), "commands clients may send: " + "|".join(CMD.values)),
    # Environment assumptions the liveness properties rely on (docs/model.md, fairness).
    Param("think_time", "bool", True, "clients eventually pause: message budgets are spent (L3 assumption; off = busy clients, B8)", group="assumption"),
    Param("clients_finish_messages", "bool", True, "a client that sent a type byte eventually sends the body (weak fairness of ClientSendBody)", group="assumption"),
    Param("time_passes", "bool", True, "armed timeouts become due, parked sessions idle long (weak fairness of TimeoutDue, IdleTimePasses; the tick of §5)", group="assumption"),
    # Bounds that keep the state space finite (docs/model.md, abstractions).
    Param("messages", "int", 1, "messages each active client sends", 0, 6, "bound"),
    Param("active_clients", "int", 1, "clients that send messages (the others connect and stay idle)", 0, 12, "bound"),
    Param("cancels", "int", 0, "query cancels sent to sessions in all", 0, 3, "bound"),
    Param("terminates", "int", 0, "terminate (PROC_DIE) interrupts in all", 0, 3, "bound"),
    Param("reloads", "int", 0, "config-reload interrupts in all", 0, 3, "bound"),
    Param("notifies", "int", 0, "NOTIFY interrupts to listeners in all", 0, 3, "bound"),
    Param("reschedules", "int", 0, "timeout-state changes under a park spec in all (STALE_TIMEOUT source)", 0, 3, "bound"),
    Param("transport_changes", "int", 0, "transport-generation changes under a park spec in all (STALE_TRANSPORT source)", 0, 3, "bound"),
]
PARAM_BY_NAME = {p.name: p for p in PARAMS}

MAX_CARRIERS = 8
MAX_SESSIONS = 12


@dataclass(frozen=True)
class ModelConfig:
    mode: str = "pooled"
    carriers: int = 2
    sessions: int = 3
    options: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        return self.options.get(name, PARAM_BY_NAME[name].default)

    def as_params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.mode, "carriers": self.carriers, "sessions": self.sessions}
        for p in PARAMS:
            v = self.get(p.name)
            out[p.name] = list(v) if isinstance(v, tuple) else v
        return out


def parse_value(p: Param, raw: str) -> Any:
    text = raw.strip()
    if p.kind == "bool":
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise UsageError(f"option {p.name} takes true or false, got {raw!r}")
    if p.kind == "int":
        try:
            v = int(text)
        except ValueError:
            raise UsageError(f"option {p.name} takes a whole number {p.lo}..{p.hi}, got {raw!r}") from None
        if not p.lo <= v <= p.hi:
            raise UsageError(f"option {p.name} must be within {p.lo}..{p.hi}, got {v}")
        return v
    items = tuple(x.strip() for x in text.replace("+", ",").split(",") if x.strip())
    bad = [x for x in items if x not in CMD.values]
    if bad or not items:
        raise UsageError(f"option commands takes a comma list of {', '.join(CMD.values)}, got {raw!r}")
    return tuple(dict.fromkeys(items))


def parse_options(pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise UsageError(f"--option takes NAME=VALUE, got {pair!r} (see 'pgcheck list' for names)")
        name, raw = pair.split("=", 1)
        name = name.strip().replace("-", "_")
        if name not in PARAM_BY_NAME:
            known = ", ".join(p.name for p in PARAMS)
            hint = did_you_mean(name, PARAM_BY_NAME) or ";"
            raise UsageError(f"unknown option {name!r}{hint} known options: {known}")
        out[name] = parse_value(PARAM_BY_NAME[name], raw)
    return out


def make_config(
    mode: str,
    carriers: int | None,
    sessions: int,
    options: dict[str, Any],
    *,
    max_carriers: int = MAX_CARRIERS,
    max_sessions: int = MAX_SESSIONS,
) -> ModelConfig:
    """Validate a configuration; in the per-session shapes every session has its own carrier.

    The maxima bound explicit exploration; the symbolic engines pass larger ones.
    """
    if mode not in MODES:
        raise UsageError(f"unknown mode {mode!r}; use one of: {', '.join(MODES)}")
    if not 1 <= sessions <= max_sessions:
        raise UsageError(f"--sessions must be within 1..{max_sessions}, got {sessions}")
    if mode == "pooled":
        n = 2 if carriers is None else carriers
        if not 1 <= n <= max_carriers:
            raise UsageError(f"--carriers must be within 1..{max_carriers}, got {n}")
    else:
        if carriers is not None:
            raise UsageError(
                f"--carriers applies to pooled mode only; in {mode} mode every session has its own carrier "
                "(drop --carriers or use --mode=pooled)"
            )
        n = sessions
    for name in options:
        if name not in PARAM_BY_NAME:
            raise UsageError(f"unknown option {name!r}{did_you_mean(name, PARAM_BY_NAME) or ';'} see 'pgcheck list'")
    for pooled_only in ("affinity_enforced", "poll_steps"):
        if options.get(pooled_only) and mode != "pooled":
            raise UsageError(f"option {pooled_only} applies to pooled mode only (use --mode=pooled or drop it)")
    return ModelConfig(mode, n, sessions, dict(options))
