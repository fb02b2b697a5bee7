"""Check a client-visible history against the model in process mode (`pgcheck check-history`).

A history is what each client of a server saw and did, nothing of the server's insides: the
messages it received in order (ReadyForQuery with I/T/E, a result, ErrorResponse and FATAL
with their SQLSTATE, NotificationResponse, EOF), the commands it sent, its close, and the
moments another party sent it an interrupt (a cancel request, pg_terminate_backend, a NOTIFY
to a channel it listens on). docs/real-server.md gives the file format.

Process mode is the compatibility baseline (§2.1): a session's client-visible behaviour
depends on its own inputs and the interrupts sent to it, and the model's sessions share
nothing else but budgets, so each client is checked alone against a one-session model
with its own options (its idle timeouts). The search runs over pairs (model state, position
in the history): a model step must send exactly the client's next received messages (the
switch `client_log`, model/config.py, makes the model record them); a send, close or interrupt of the history
happens only after every message the client had received before it (the client saw those
first) and may come before messages received later (they were in flight); a send after
the server closed the connection (its FATAL still in flight) is read by nobody. An interrupt
event is a lower bound: from there on the model may deliver one more interrupt of that
kind, at any later time or never (signals are asynchronous). Consecutive notifications (no
other received message between them) are one observation: the model delivers all pending
notifications at once (notify_pending is a flag, ProcessNotifyInterrupt reads the whole
queue), so the check does not count them.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pgcheck.checker.errors import UsageError
from pgcheck.checker.lang.compile import CompiledModel, compile_model
from pgcheck.checker.lang.oracle import ModelOracle
from pgcheck.checker.lang.spec import Spec, TracedModel
from pgcheck.model.config import CLIENT_LOG, ModelConfig
from pgcheck.model.runtime import build
from pgcheck.model.vocabulary import CMD, OUT_CAPACITY

State = tuple[Any, ...]

# What a received message is to the model (model/vocabulary.py OUT).
FATAL_BY_SQLSTATE = {"57P01": "fatal_die", "57P05": "fatal_idle_timeout", "25P03": "fatal_xact_timeout"}
CANCELED = "57014"  # query_canceled: the model's only ErrorResponse
RFQ_BY_STATUS = {"I": "rfq_idle", "T": "rfq_xact", "E": "rfq_xact"}  # the model has no failed-block state
OBSERVATIONS = frozenset(
    {"notification", "rfq_idle", "rfq_xact", "result", "error", "fatal_die", "fatal_idle_timeout", "fatal_xact_timeout", "eof"}
)
INTERRUPT_BUDGET = {"cancel": "cancels", "die": "terminates", "notify": "notifies", "reload": "reloads"}
CLIENT_ACTIONS = frozenset({"ClientSendByte", "ClientSendBody", "ClientClose"})
MAX_BUDGET = 3  # env budgets are Int(0, 3) in model/state.py
MAX_CONFIGURATIONS = 2_000_000
CLIENT_PROPERTIES = ("C1", "C2", "C3", "S24")  # specs/safety.py: what a client can see break
Mutate = Callable[[Spec, ModelConfig], None]  # changes the model before it is traced (a seeded bug)


@dataclass(frozen=True)
class Event:
    """One event of a client's history: `recv` a message (`what` an observation of OUT),
    `send` a command (`what` a model command), `close`, or `interrupt` (`what` its kind)."""

    kind: str
    what: str = ""
    text: str = ""  # the SQL, the SQLSTATE or the status as recorded, for reports

    def show(self) -> str:
        extra = f" ({self.text})" if self.text else ""
        if self.kind == "recv":
            return f"receive {self.what}{extra}"
        if self.kind == "send":
            return f"send {self.what}{extra}"
        if self.kind == "interrupt":
            return f"interrupt {self.what} sent to it"
        return self.kind


@dataclass
class ClientHistory:
    name: str
    events: list[Event]
    idle_session_timeout: bool = False
    idle_in_xact_timeout: bool = False


@dataclass
class History:
    clients: list[ClientHistory]
    server: str = ""


@dataclass
class ClientVerdict:
    name: str
    ok: bool
    events: int
    matched: int  # events of the longest allowed prefix
    configurations: int  # (state, position) pairs the search visited
    failed_at: int | None = None  # index of the first event no run of the model allows
    reason: str = ""

    def show(self, history: ClientHistory) -> str:
        if self.ok:
            return f"{self.name}: {self.events} events allowed by the model"
        if self.failed_at is None:
            return f"{self.name}: no verdict: {self.reason}"
        ev = history.events[self.failed_at] if self.failed_at < len(history.events) else None
        before = ", ".join(e.show() for e in history.events[max(0, self.failed_at - 4) : self.failed_at])
        head = f"{self.name}: event {self.failed_at} ({ev.show() if ev else 'end'}) is not allowed by the model"
        return f"{head} after [{before}]; {self.reason}"


@dataclass
class HistoryVerdict:
    clients: list[ClientVerdict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.clients)

    @property
    def events(self) -> int:
        return sum(c.events for c in self.clients)

    def first_failure(self) -> ClientVerdict | None:
        return next((c for c in self.clients if not c.ok), None)


# ------------------------------------------------------------------ projection


def observation(message: str, detail: str = "") -> Event:
    """The observation a received protocol message stands for: `message` is rfq (detail the
    status), error or fatal (detail the SQLSTATE), notification, result, eof."""
    if message == "rfq":
        what = RFQ_BY_STATUS.get(detail, f"rfq status {detail!r}")
    elif message == "error":
        # The model has no SQL: any other ERROR (22012, 25P02 in a failed block, ...) is the
        # command's response, like a CommandComplete (docs/real-server.md, decision 2).
        what = "error" if detail == CANCELED else "result"
    elif message == "fatal":
        what = FATAL_BY_SQLSTATE.get(detail, f"fatal {detail}")
    else:
        what = message
    return Event("recv", what, detail)


def command_of(sql: str) -> str:
    """The model's command (model/vocabulary.py CMD) for one simple-Query string."""
    text = sql.strip().upper()
    if text.startswith(("BEGIN", "START TRANSACTION")):
        return "begin"
    if text.startswith(("COMMIT", "ROLLBACK", "END", "ABORT")):
        return "commit"
    if text.startswith("LISTEN"):
        return "listen"
    if "PG_SLEEP" in text:
        return "sleep"
    return "query"


def project(events: Iterable[Event]) -> list[Event]:
    """Consecutive notifications are one; EOF right after a FATAL is the FATAL's close; BEGIN
    inside a block and COMMIT outside one are plain queries."""
    return [e for _, e in _project_indexed(events)]


def _project_indexed(events: Iterable[Event]) -> list[tuple[int, Event]]:
    out: list[tuple[int, Event]] = []
    last_recv: Event | None = None
    in_block = False  # the status of the last ReadyForQuery the client received
    for index, e in enumerate(events):
        if e.kind == "send" and ((e.what == "begin" and in_block) or (e.what == "commit" and not in_block)):
            # BEGIN inside a block, COMMIT/ROLLBACK outside one: a WARNING and the command's
            # completion, the status unchanged; the model's client sends neither (decision 6).
            e = Event("send", "query", e.text)
        if e.kind == "recv" and e.what in ("rfq_idle", "rfq_xact"):
            in_block = e.what == "rfq_xact"
        if e.kind == "recv":
            if e.what == "notification" and last_recv is not None and last_recv.what == "notification":
                continue
            if e.what == "eof" and last_recv is not None and last_recv.what.startswith("fatal"):
                continue
            last_recv = e
        out.append((index, e))
    return out


# ------------------------------------------------------------------ the model


def client_config(h: ClientHistory) -> ModelConfig:
    return ModelConfig(
        "process",
        1,
        1,
        {
            CLIENT_LOG: True,
            "commands": tuple(CMD.values),
            "listeners": False,
            "client_close": True,
            "think_time": False,  # budgets never shrink: the history bounds the sends
            "messages": 1,
            "active_clients": 1,
            "idle_session_timeout": h.idle_session_timeout,
            "idle_in_xact_timeout": h.idle_in_xact_timeout,
            **{budget: MAX_BUDGET for budget in ("cancels", "terminates", "notifies", "reloads")},
        },
    )


@dataclass
class _Model:
    model: TracedModel
    compiled: CompiledModel
    oracle: ModelOracle
    init: State
    out_slots: list[int]
    out_n: int
    budget_slots: dict[str, int]
    client_bindings: frozenset[int]


@lru_cache(maxsize=16)
def _model(idle_session_timeout: bool, idle_in_xact_timeout: bool, mutate: Mutate | None = None) -> _Model:
    cfg = client_config(ClientHistory("", [], idle_session_timeout, idle_in_xact_timeout))
    spec = build(cfg)
    if mutate is not None:
        mutate(spec, cfg)
    model = spec.trace()
    compiled = compile_model(model, invariant_ids=list(CLIENT_PROPERTIES))
    oracle = ModelOracle(model, compiled.binding_step)
    slot = model.slot_of
    init = model.init
    budgets = {kind: slot[("env", None, name)] for kind, name in INTERRUPT_BUDGET.items()}
    for name in INTERRUPT_BUDGET.values():
        init = oracle.set(init, f"env.{name}", 0)  # interrupts come only from the history's events
    return _Model(
        model,
        compiled,
        oracle,
        init,
        [slot[("session", 0, f"out{i}")] for i in range(OUT_CAPACITY)],
        slot[("session", 0, "out_n")],
        budgets,
        frozenset(b.index for b in model.bindings if b.action in CLIENT_ACTIONS),
    )


def _drain(m: _Model, state: State) -> tuple[list[str], State]:
    """The messages the step sent, and the state with the ghost log cleared."""
    n = state[m.out_n]
    if n == 0:
        return [], state
    ty = m.model.slots[m.out_slots[0]].ty
    msgs = [ty.values[state[m.out_slots[i]]] for i in range(n)]  # type: ignore[attr-defined]
    cleared = list(state)
    cleared[m.out_n] = 0
    for s in m.out_slots:
        cleared[s] = 0
    return msgs, tuple(cleared)


def _binding(m: _Model, action: str, **params: Any) -> int:
    b = m.oracle.binding(action, {"b": 0, **params})
    assert b is not None, action
    return b.index


# ------------------------------------------------------------------ the search


def _apply_input(m: _Model, state: State, ev: Event) -> State | None:
    """The model step(s) of one input event, or None where the model does not allow it."""
    steps = m.compiled.binding_step
    if ev.kind == "send":
        if ev.what not in CMD.values:
            return None
        if m.oracle.get(state, "session[0].cl") == "closed":
            return state  # sent before the client read the server's FATAL: nobody reads it
        nxt = steps[_binding(m, "ClientSendByte", cmd=ev.what)](state)
        return None if nxt is None else steps[_binding(m, "ClientSendBody")](nxt)
    if ev.kind == "close":
        if m.oracle.get(state, "session[0].cl") == "closed":
            return state  # the server closed first: the client's close is a no-op
        return steps[_binding(m, "ClientClose")](state)
    if ev.kind == "interrupt":
        slot = m.budget_slots.get(ev.what)
        if slot is None:
            return None
        out = list(state)
        out[slot] = min(MAX_BUDGET, out[slot] + 1)
        return tuple(out)
    raise ValueError(ev.kind)


def _match(msgs: list[str], recv: list[Event], i: int, last: str) -> tuple[int, str] | None:
    """Match the messages of one model step against the received ones from index i."""
    for msg in msgs:
        if i < len(recv) and recv[i].what == msg:
            i, last = i + 1, msg
        elif msg == "notification" and last == "notification":
            continue  # one more notification of the same run
        else:
            return None
    return i, last


def check_client(h: ClientHistory, *, limit: int = MAX_CONFIGURATIONS, mutate: Mutate | None = None) -> ClientVerdict:
    """Breadth-first search for a model run that explains the client's history (`mutate`:
    against a changed model, e.g. a seeded bug of model/mutations)."""
    m = _model(h.idle_session_timeout, h.idle_in_xact_timeout, mutate)
    indexed = _project_indexed(h.events)
    events = [e for _, e in indexed]
    origin = [i for i, _ in indexed] + [len(h.events)]  # projected index -> index in h.events
    recv = [e for e in events if e.kind == "recv"]
    inputs: list[tuple[Event, int, int]] = []  # (event, receives seen before it, its index)
    seen_recv = 0
    index_of_recv: list[int] = []
    for idx, e in enumerate(events):
        if e.kind == "recv":
            index_of_recv.append(idx)
            seen_recv += 1
        else:
            inputs.append((e, seen_recv, idx))
    total = len(h.events)
    unknown = next((e for e in recv if e.what not in OBSERVATIONS), None)
    start = (m.init, 0, 0, "")
    seen = {start}
    queue = deque([start])
    best = (0, 0)
    blocked: dict[tuple[int, int], set[str]] = {}
    while queue:
        state, ri, ii, last = queue.popleft()
        if ri == len(recv) and ii == len(inputs):
            return ClientVerdict(h.name, True, total, total, len(seen))
        if ri + ii > sum(best):
            best = (ri, ii)
        succ: list[tuple[State, int, int, str]] = []
        if ii < len(inputs) and inputs[ii][1] <= ri:
            nxt = _apply_input(m, state, inputs[ii][0])
            if nxt is not None:
                succ.append((nxt, ri, ii + 1, last))
            else:
                blocked.setdefault((ri, ii), set()).add(f"{inputs[ii][0].show()} is not enabled")
        for index, nxt in m.compiled.successors(state):
            if index in m.client_bindings:
                continue
            broken = m.compiled.first_violation(nxt)
            if broken >= 0:  # a run that breaks a client-visible property explains nothing
                blocked.setdefault((ri, ii), set()).add(f"the model gets further only by breaking {m.compiled.invariant_ids[broken]}")
                continue
            msgs, nxt = _drain(m, nxt)
            matched = _match(msgs, recv, ri, last)
            if matched is None:
                blocked.setdefault((ri, ii), set()).add("the model would send " + "+".join(msgs))
                continue
            succ.append((nxt, matched[0], ii, matched[1]))
        for config in succ:
            if config not in seen:
                if len(seen) >= limit:
                    return ClientVerdict(h.name, False, total, 0, len(seen), None, f"search limit of {limit} configurations reached")
                seen.add(config)
                queue.append(config)
    ri, ii = best
    next_recv = index_of_recv[ri] if ri < len(recv) else len(events)
    next_input = inputs[ii][2] if ii < len(inputs) else len(events)
    failed_at = origin[min(next_recv, next_input)]
    if unknown is not None and recv.index(unknown) == ri:
        reason = f"the model never sends {unknown.what}"
    else:
        options = sorted(blocked.get(best, set()))
        reason = "where it could go instead: " + ("; ".join(options) if options else "the model sends nothing here")
    return ClientVerdict(h.name, False, total, failed_at, len(seen), failed_at, reason)


def check_history(history: History, *, mutate: Mutate | None = None) -> HistoryVerdict:
    return HistoryVerdict([check_client(c, mutate=mutate) for c in history.clients])


def allowed_outcomes(h: ClientHistory, *, limit: int = 64, max_configurations: int = 50_000) -> set[tuple[str, ...]] | None:
    """Every receive sequence (projected) the model allows for the client's inputs alone,
    or None beyond `limit` outcomes or `max_configurations`. Inputs keep their order; each
    may come after any received message (the receive positions of `h` are not used)."""
    m = _model(h.idle_session_timeout, h.idle_in_xact_timeout)
    inputs = [e for e in project(h.events) if e.kind != "recv"]
    start: tuple[State, int, tuple[str, ...]] = (m.init, 0, ())
    seen = {start}
    queue = deque([start])
    outcomes: set[tuple[str, ...]] = set()
    quiet: dict[State, bool] = {}
    while queue:
        state, ii, got = queue.popleft()
        succ: list[tuple[State, int, tuple[str, ...]]] = []
        if ii < len(inputs):
            nxt = _apply_input(m, state, inputs[ii])
            if nxt is not None:
                succ.append((nxt, ii + 1, got))
        for index, nxt in m.compiled.successors(state):
            if index in m.client_bindings:
                continue
            msgs, nxt = _drain(m, nxt)
            seq = got
            for msg in msgs:
                if not (msg == "notification" and seq and seq[-1] == "notification"):
                    seq = (*seq, msg)
            succ.append((nxt, ii, seq))
        if ii == len(inputs) and not _can_output(m, state, quiet):
            outcomes.add(got)
            if len(outcomes) > limit:
                return None
        for config in succ:
            if config not in seen:
                if len(seen) >= max_configurations:
                    return None
                seen.add(config)
                queue.append(config)
    return outcomes


def _can_output(m: _Model, state: State, cache: dict[State, bool]) -> bool:
    """Some run from `state` without client input still sends the client a message
    (excluding interrupts, which the inputs bound, and the clock's timeouts)."""
    if state in cache:
        return cache[state]
    cache[state] = _search_output(m, state)
    return cache[state]


def _search_output(m: _Model, state: State) -> bool:
    seen = {state}
    stack = [state]
    while stack:
        s = stack.pop()
        for index, nxt in m.compiled.successors(s):
            b = m.model.bindings[index]
            if index in m.client_bindings or b.action in ("SendInterrupt", "TimeoutDue"):
                continue
            msgs, nxt = _drain(m, nxt)
            if msgs:
                return True
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


# ------------------------------------------------------------------ files


def history_to_json(history: History) -> dict[str, Any]:
    return {
        "server": history.server,
        "clients": [
            {
                "name": c.name,
                "idle_session_timeout": c.idle_session_timeout,
                "idle_in_transaction_session_timeout": c.idle_in_xact_timeout,
                "events": [_event_json(e) for e in c.events],
            }
            for c in history.clients
        ],
    }


def _event_json(e: Event) -> dict[str, str]:
    out = {e.kind: e.what}
    if e.text:
        out["text"] = e.text
    return out


def read_history(path: Path) -> History:
    """Read a history file; anything malformed is one UsageError line."""
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file (give a client history written as in docs/real-server.md)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it ({exc})") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not JSON ({exc.msg} at line {exc.lineno}); see docs/real-server.md for the format") from None
    return history_from_json(raw, str(path))


def history_from_json(raw: Any, where: str = "history") -> History:
    if not isinstance(raw, dict) or not isinstance(raw.get("clients"), list):
        raise UsageError(f"{where}: expected an object with a 'clients' list (docs/real-server.md)")
    clients = []
    for n, c in enumerate(raw["clients"]):
        if not isinstance(c, dict) or not isinstance(c.get("events"), list):
            raise UsageError(f"{where}: client {n} needs an 'events' list")
        events = [_event_from_json(e, f"{where}: client {n} event {i}") for i, e in enumerate(c["events"])]
        clients.append(
            ClientHistory(
                str(c.get("name", f"client{n}")),
                events,
                bool(c.get("idle_session_timeout", False)),
                bool(c.get("idle_in_transaction_session_timeout", False)),
            )
        )
    return History(clients, str(raw.get("server", "")))


def _event_from_json(e: Any, where: str) -> Event:
    kinds = ("recv", "send", "close", "interrupt")
    if not isinstance(e, dict):
        raise UsageError(f"{where}: expected an object like {{\"recv\": \"rfq_idle\"}}")
    found = [k for k in kinds if k in e]
    if len(found) != 1:
        raise UsageError(f"{where}: needs exactly one of {', '.join(kinds)}, got {sorted(e)}")
    kind = found[0]
    what = str(e[kind]) if kind != "close" else ""
    if kind == "send" and what not in CMD.values:
        raise UsageError(f"{where}: send takes a model command ({', '.join(CMD.values)}), got {what!r}")
    if kind == "interrupt" and what not in INTERRUPT_BUDGET:
        raise UsageError(f"{where}: interrupt takes one of {', '.join(INTERRUPT_BUDGET)}, got {what!r}")
    return Event(kind, what, str(e.get("text", "")))
