"""A mutation: one historical bug or broken design rule as a small change to named actions.

A mutation never copies the model. Its `apply` receives the spec that `build(cfg)`
made and changes only the action(s) it concerns: `patch` wraps an action (the original
body runs, then the mutation overrides what the bug does differently), `replace`
swaps a body whose guard the bug weakens, `add` splits a step by adding the action
the bug introduces. Each mutation names its source in scheduler-digest.md §6 (or the
rule of §4/§5 it breaks), the property expected to catch it, and the smallest
configuration that exhibits it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pgcheck.checker.errors import ModelError, UsageError
from pgcheck.checker.lang.spec import Spec
from pgcheck.model.config import PARAM_BY_NAME, PARAMS, ModelConfig, make_config
from pgcheck.model.runtime import build

Apply = Callable[[Spec, ModelConfig], None]

# Every option spelled out, so a change of the defaults in model/config.py does not
# silently change what a mutation's smallest configuration explores.
BASE_OPTIONS: dict[str, Any] = {
    "affinity_enforced": False,
    "sticky_idle": False,
    "hibernate": False,
    "poll_steps": False,
    "listeners": False,
    "idle_session_timeout": False,
    "idle_in_xact_timeout": False,
    "client_close": False,
    "postmaster_death": False,
    "think_time": True,
    "clients_finish_messages": True,
    "time_passes": True,
    "commands": ("query",),
    "messages": 0,
    "active_clients": 1,
    "cancels": 0,
    "terminates": 0,
    "reloads": 0,
    "notifies": 0,
    "reschedules": 0,
    "transport_changes": 0,
}
assert set(BASE_OPTIONS) == {p.name for p in PARAMS}, "BASE_OPTIONS must name every model option"


def config(mode: str, carriers: int | None, sessions: int, **options: Any) -> ModelConfig:
    """A configuration with every option at its BASE_OPTIONS value unless given."""
    return make_config(mode, carriers, sessions, {**BASE_OPTIONS, **options})


@dataclass(frozen=True)
class Mutation:
    name: str
    source: str  # digest id(s): "B2", "H4", "S11 rule", ...
    expected: str  # the property expected to catch it: "S15", "L3", ...
    smallest: ModelConfig  # the smallest configuration that exhibits it
    explanation: str  # the interleaving in words, one paragraph
    changes: tuple[str, ...]  # the actions it replaces, wraps or adds
    apply: Apply = field(repr=False)
    also_in: tuple[str, ...] = ()  # other modes the mutation applies to, beyond its smallest's

    @property
    def liveness(self) -> bool:
        return self.expected.startswith("L")

    @property
    def modes(self) -> tuple[str, ...]:
        return (self.smallest.mode, *self.also_in)

    def build(self, cfg: ModelConfig | None = None) -> Spec:
        """The model at `cfg` (default: the smallest configuration) with this mutation applied."""
        cfg = cfg or self.smallest
        if cfg.mode not in self.modes:
            raise UsageError(f"mutation {self.name} applies to mode {'/'.join(self.modes)}, not {cfg.mode}")
        spec = build(cfg)
        try:
            self.apply(spec, cfg)
        except ModelError as e:
            raise UsageError(
                f"mutation {self.name} does not apply to this configuration ({e}); "
                f"its smallest configuration is {describe_config(self.smallest)}"
            ) from None
        spec.meta["mutation"] = self.name
        return spec


def describe_config(cfg: ModelConfig) -> str:
    """The configuration as `pgcheck explore` flags: mode, counts, and every option that differs
    from the command line's default (model/config.py)."""
    parts = [f"--mode={cfg.mode}"]
    if cfg.mode == "pooled":
        parts.append(f"--carriers={cfg.carriers}")
    parts.append(f"--sessions={cfg.sessions}")
    for name, value in cfg.options.items():
        if PARAM_BY_NAME[name].default == value:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, tuple):
            text = ",".join(value)
        else:
            text = str(value)
        parts.append(f"--option {name}={text}")
    return " ".join(parts)


# ------------------------------------------------------------------ small diffs


def patch(spec: Spec, name: str, body: Callable[..., None]) -> None:
    """Wrap action `name`: `body(s, original, **params)` decides when the original runs.

    Writes after the original override its writes; reads taken before it see the old state.
    """
    original = _action(spec, name).fn

    def mutated(s: Any, **params: Any) -> None:
        body(s, original, **params)

    spec.replace_action(name, mutated)


def replace(spec: Spec, name: str, body: Callable[..., None]) -> None:
    """Swap the body of action `name` (for a bug that weakens its guard)."""
    _action(spec, name)
    spec.replace_action(name, body)


def original_of(spec: Spec, name: str) -> Callable[..., None]:
    return _action(spec, name).fn


def _action(spec: Spec, name: str) -> Any:
    for a in spec.actions:
        if a.name == name:
            return a
    raise ModelError(f"the model has no action {name}")


def smaller_configs(cfg: ModelConfig) -> list[tuple[str, ModelConfig]]:
    """Each one-step reduction of `cfg`: a carrier or a session fewer, a bound one lower, an
    option back to its BASE_OPTIONS value, a command fewer. Labelled for messages."""
    out: list[tuple[str, ModelConfig]] = []
    counted = cfg.carriers if cfg.mode == "pooled" else None
    if counted is not None and counted > 1:
        out.append(("one carrier fewer", make_config(cfg.mode, counted - 1, cfg.sessions, cfg.options)))
    if cfg.sessions > 1:
        out.append(("one session fewer", make_config(cfg.mode, counted, cfg.sessions - 1, cfg.options)))
    by_name = {p.name: p for p in PARAMS}
    for name, value in cfg.options.items():
        base = BASE_OPTIONS[name]
        if value == base:
            continue
        p = by_name[name]
        if p.kind == "int" and value > p.lo:
            smaller: Any = value - 1
        elif p.kind == "bool":
            smaller = base
        elif p.kind == "commands" and len(value) > 1:
            for cmd in value:
                rest = tuple(x for x in value if x != cmd)
                out.append((f"commands without {cmd}", make_config(cfg.mode, counted, cfg.sessions, {**cfg.options, name: rest})))
            continue
        else:
            continue
        out.append((f"{name}={smaller}", make_config(cfg.mode, counted, cfg.sessions, {**cfg.options, name: smaller})))
    return out
