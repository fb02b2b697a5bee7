"""Validate an event log against the model (`pgcheck check-trace`).

Each event must be an enabled model action whose effect matches its `writes`, compared as
observables (reference/abstraction.py).  Steps the log cannot contain are searched for:
the client's sends and closes are invisible to a server, so before an event the validator
may insert, per backend the event involves, `ClientSendByte` (the command is read ahead
from that backend's next Execute), `ClientSendBody` and `ClientClose`.  `ClientConnect`
appends to the model's new-connection queue; `CarrierSleep` changes nothing; environment
budgets are not bounds here.  The first event no candidate allows is reported with the
expected and actual fields; the matched prefix can be written as ITF.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pgcheck.checker.errors import UsageError
from pgcheck.checker.explicit.explore import Step
from pgcheck.checker.lang.oracle import ModelOracle
from pgcheck.checker.lang.spec import TracedModel
from pgcheck.model.config import MAX_CARRIERS, ModelConfig
from pgcheck.model.runtime import build
from pgcheck.reference.abstraction import (
    CARRIER_LOC,
    GONE_OBSERVABLES,
    QUEUE,
    SCHEDULER_SOURCE,
    SESSION_FROM_VIEW,
    SESSION_SOURCE,
    fresh_backend_view,
    model_session,
)
from pgcheck.reference.events import POLL_STEP_ACTIONS, Event

MAX_TRACE_SESSIONS = 256
State = tuple[Any, ...]
STUTTER = frozenset({"CarrierSleep", "ClientSendByte", "ClientSendBody", "ClientClose"})
BUDGETS = ("cancels", "terminates", "reloads", "notifies")
# An Execute that NOTIFYs the session's own channel is the model's ExecuteNotifySelf.
ALTERNATIVES = {"Execute": "ExecuteNotifySelf"}
SKIP = frozenset({"tmo_armed"})  # the model arms the idle timeouts at every ReadyForQuery
HINT_OPTIONS: tuple[tuple[str, ...], ...] = (
    (),
    ("ClientSendByte",),
    ("ClientClose",),
    ("ClientSendByte", "ClientSendBody"),
    ("ClientSendBody",),
)


def command_of(sql: str | None) -> str:
    """The model's command for a query string (model/vocabulary.py CMD)."""
    text = (sql or "").strip().upper()
    if text.startswith("BEGIN") or text.startswith("START TRANSACTION"):
        return "begin"
    if text.startswith(("COMMIT", "ROLLBACK", "END")):
        return "commit"
    if text.startswith("LISTEN"):
        return "listen"
    if "PG_SLEEP" in text:
        return "sleep"
    return "query"


def uses_poll_steps(events: list[Event]) -> bool:
    """A log written with `poll_steps` (the poller's call in three steps) names their actions."""
    return any(e.action in POLL_STEP_ACTIONS for e in events)


def trace_config(mode: str, carriers: int | None, sessions: int, *, poll_steps: bool = False) -> ModelConfig:
    if mode != "pooled":
        raise UsageError(f"check-trace validates pooled-mode logs; got --mode {mode} (use --mode pooled)")
    n = 2 if carriers is None else carriers
    if not 1 <= n <= MAX_CARRIERS:
        raise UsageError(f"--carriers must be within 1..{MAX_CARRIERS}, got {n}")
    if not 1 <= sessions <= MAX_TRACE_SESSIONS:
        raise UsageError(f"--sessions must be within 1..{MAX_TRACE_SESSIONS}, got {sessions}")
    options = {
        "commands": ("query", "begin", "commit", "listen", "sleep"),
        "messages": 1,
        "active_clients": min(sessions, 12),
        "think_time": False,
        "client_close": True,
        "cancels": 3,
        "terminates": 3,
        "reloads": 3,
        "notifies": 3,
        "idle_session_timeout": True,
        "idle_in_xact_timeout": True,
        "poll_steps": poll_steps,
        "self_notify": True,
    }
    return ModelConfig("pooled", n, sessions, options)


@dataclass
class Mismatch:
    seq: int
    action: str
    params: dict[str, Any]
    reason: str
    fields: list[tuple[str, Any, Any]] = field(default_factory=list)  # (field, model, log)


@dataclass
class Verdict:
    events: int
    matched: int
    inserted: int
    mismatch: Mismatch | None
    model: TracedModel
    steps: list[Step]

    @property
    def ok(self) -> bool:
        return self.mismatch is None


class TraceChecker:
    def __init__(self, cfg: ModelConfig) -> None:
        self.cfg = cfg
        self.model = build(cfg).trace()
        self.oracle = ModelOracle(self.model)
        state = self.oracle.set(self.model.init, "sched.newconn", [])  # clients connect as logged
        for i in range(cfg.sessions):
            state = self.oracle.set(state, f"session[{i}].cl_budget", 1)
        self.state = state
        self.steps: list[Step] = [Step(state, None)]
        self.views: dict[int, dict[str, Any]] = {}
        self.commands: dict[int, deque[str]] = defaultdict(deque)
        self.inserted = 0

    # --- the search --------------------------------------------------------------------

    def run(self, events: list[Event]) -> Verdict:
        self._read_ahead(events)
        matched = 0
        for e in events:
            problem = self._event(e)
            if problem is not None:
                return Verdict(len(events), matched, self.inserted, problem, self.model, self.steps)
            matched += 1
        return Verdict(len(events), matched, self.inserted, None, self.model, self.steps)

    def _read_ahead(self, events: Iterable[Event]) -> None:
        for e in events:
            if e.action == "Execute" and not e.params.get("continued"):
                self.commands[int(e.params["b"])].append(command_of(e.params.get("sql")))

    def _check_index(self, e: Event) -> None:
        """Every backend and carrier index the event names, in params and in written fields."""
        backends = [e.params.get("b"), e.params.get("by")]
        backends += [x for key in ("ready", "reparked", "batch") for x in e.params.get(key, [])]
        carriers = [e.params.get("c")]
        for key in e.writes:
            head = key.partition(".")[0]
            if head.startswith(("backend[", "carrier[")):
                index = int(head[head.index("[") + 1 : -1])
                (backends if head.startswith("backend[") else carriers).append(index)
        for b in backends:
            if isinstance(b, int) and b >= self.cfg.sessions:
                raise UsageError(f"event seq {e.seq} names backend {b}, but --sessions is {self.cfg.sessions}; raise --sessions")
        for c in carriers:
            if isinstance(c, int) and c >= self.cfg.carriers:
                raise UsageError(f"event seq {e.seq} names carrier {c}, but --carriers is {self.cfg.carriers}; raise --carriers")

    def _event(self, e: Event) -> Mismatch | None:
        self._check_index(e)
        if e.action == "ClientConnect":
            b = int(e.params["b"])
            queue = [*self.oracle.get(self.state, "sched.newconn"), b]
            self._edit("sched.newconn", queue, "ClientConnect", e.params)
            self.views[b] = fresh_backend_view()
            return self._compare(e, self.state)
        if e.action in STUTTER:
            return None
        if e.action in ("SendInterrupt", "TimeoutDue"):
            for name in BUDGETS:  # budgets bound the model checker, not a log
                self.state = self.oracle.set(self.state, f"env.{name}", 3)
        problem = self._step(e, e.action)
        # The log names the implementation's step; the model may split it by outcome.
        if problem is not None and e.action in ALTERNATIVES and self._step(e, ALTERNATIVES[e.action]) is None:
            return None
        return problem

    def _step(self, e: Event, action: str) -> Mismatch | None:
        """Match the event as model action `action` (with inserted client steps); no change on a mismatch."""
        binding = self.oracle.binding(action, e.params)
        if binding is None:
            return Mismatch(e.seq, e.action, e.params, "the model has no such action binding")
        choice: list[tuple[str, dict[str, Any]]] = []
        plain = self.oracle.step(self.state, binding)
        if plain is None or self._differences(e, plain):
            # search only where it can help: the backends the event names or differs on
            suspects = self._involved(e) if plain is None else self._differing(e, plain)
            for b in suspects:
                found = self._hint_for(e, action, b, choice)
                if found is not None:
                    choice = found
        state = self._apply_hints(self.state, choice)
        after = None if state is None else self.oracle.step(state, binding)
        if after is None:
            return Mismatch(e.seq, e.action, e.params, "not an enabled model action in any candidate state")
        problem = self._compare(e, after)
        if problem is not None:
            return problem
        for action, params in choice:
            self._record(action, params)
        self.state = after
        self.steps.append(Step(after, binding.index))
        self._apply_writes(e)
        return None

    def _involved(self, e: Event) -> list[int]:
        out = [int(e.params["b"])] if "b" in e.params else []
        for key in ("ready", "reparked", "batch"):
            out += [int(x) for x in e.params.get(key, []) if isinstance(x, int)]
        return list(dict.fromkeys(out))

    def _differing(self, e: Event, after: State) -> list[int]:
        out = []
        for name, _, _ in self._differences(e, after):
            if name.startswith("backend["):
                out.append(int(name[8 : name.index("]")]))
        involved = self._involved(e)
        return list(dict.fromkeys(out)) if out else involved

    def _hint_for(
        self, e: Event, action: str, b: int, chosen: list[tuple[str, dict[str, Any]]]
    ) -> list[tuple[str, dict[str, Any]]] | None:
        """The first insertion for backend b under which the event matches on b's fields."""
        binding = self.oracle.binding(action, e.params)
        assert binding is not None
        for option in HINT_OPTIONS:
            extra = [(a, self._hint_params(a, b)) for a in option]
            state = self._apply_hints(self.state, chosen + extra)
            after = None if state is None else self.oracle.step(state, binding)
            if after is not None and not self._differences(e, after, only=b):
                return chosen + extra
        return None

    def _hint_params(self, action: str, b: int) -> dict[str, Any]:
        if action == "ClientSendByte":
            queue = self.commands[b]
            return {"b": b, "cmd": queue[0] if queue else "query"}
        return {"b": b}

    def _apply_hints(self, state: State, hints: list[tuple[str, dict[str, Any]]]) -> State | None:
        for action, params in hints:
            binding = self.oracle.binding(action, params)
            nxt = None if binding is None else self.oracle.step(state, binding)
            if nxt is None:
                return None
            state = nxt
        return state

    def _record(self, action: str, params: dict[str, Any]) -> None:
        binding = self.oracle.binding(action, params)
        assert binding is not None
        nxt = self.oracle.step(self.state, binding)
        assert nxt is not None
        if action == "ClientSendByte" and self.commands[params["b"]]:
            self.commands[params["b"]].popleft()
        self.state = nxt
        self.steps.append(Step(nxt, binding.index))
        self.inserted += 1

    def _edit(self, label: str, value: Any, action: str, params: dict[str, Any]) -> None:
        self.state = self.oracle.set(self.state, label, value)
        self.steps.append(Step(self.state, None))

    # --- comparing writes ----------------------------------------------------------------

    def _apply_writes(self, e: Event) -> None:
        for key, value in e.writes.items():
            if key.startswith("backend["):
                i = int(key[8 : key.index("]")])
                self.views.setdefault(i, fresh_backend_view())[key.split(".", 1)[1]] = value

    def _compare(self, e: Event, after: State) -> Mismatch | None:
        fields = self._differences(e, after)
        if fields:
            return Mismatch(e.seq, e.action, e.params, "the log's writes differ from the model's step", fields)
        return None

    def _differences(self, e: Event, after: State, only: int | None = None) -> list[tuple[str, Any, Any]]:
        views: dict[int, dict[str, Any]] = {}
        touched: dict[int, set[str]] = defaultdict(set)
        out: list[tuple[str, Any, Any]] = []
        for key, value in e.writes.items():
            head, _, name = key.partition(".")
            if head.startswith("backend["):
                i = int(head[8:-1])
                if i not in views:
                    views[i] = dict(self.views.get(i) or fresh_backend_view())
                views[i][name] = value
                if name in SESSION_SOURCE:
                    touched[i].add(SESSION_SOURCE[name])
            elif only is None and head.startswith("carrier[") and name in ("loc", "cur", "reg", "idle", "batch"):
                j = int(head[8:-1])
                got = CARRIER_LOC.get(value, value) if name == "loc" and isinstance(value, str) else value
                want = self.oracle.get(after, f"carrier[{j}].{name}")
                if want != got:
                    out.append((key, want, value))
            elif only is None and head in ("scheduler", "postmaster"):
                source = "new_connections" if key == "postmaster.new" else name
                if source in SCHEDULER_SOURCE:
                    want = self.oracle.get(after, f"sched.{SCHEDULER_SOURCE[source]}")
                    if want != value:
                        out.append((key, want, value))
        for i, names in touched.items():
            if only is not None and i != only:
                continue
            gone = self.oracle.get(after, f"session[{i}].pc") == "gone"
            for name in sorted(names - SKIP):
                if gone and name not in GONE_OBSERVABLES:
                    continue
                want = model_session(self.oracle, after, i, name)
                got = _log_value(e, i, name, views[i])
                if want != got:
                    out.append((f"backend[{i}].{name}", want, got))
        return out


def _log_value(e: Event, i: int, name: str, view: dict[str, Any]) -> Any:
    """A session observable computed from the log's view; a written value of the wrong shape
    (a number where the schema has a list of names, an unknown queue name) is bad input."""
    try:
        return SESSION_FROM_VIEW[name](view)
    except (TypeError, KeyError, ValueError, AttributeError):
        fields = sorted(k for k, src in SESSION_SOURCE.items() if src == name)
        raise UsageError(
            f"event seq {e.seq}: backend[{i}].{'/'.join(fields)} has a value of the wrong type for "
            "docs/trace-validation.md's schema"
        ) from None


def check_events(events: list[Event], cfg: ModelConfig) -> Verdict:
    return TraceChecker(cfg).run(events)


__all__ = [
    "QUEUE", "Mismatch", "TraceChecker", "Verdict", "check_events", "command_of", "trace_config", "uses_poll_steps",
]  # fmt: skip
