"""State of the runtime model and the small operations several actions share.

Entities (§1.1): `carrier` (PgCarrier, a thread), `session` (one logical backend
group — PgBackend + PgSession + PgConnection + PgExecution — together with the client
at the other end of its connection), and singletons `sched` (PgProtocolSchedulerState
with both queues and the pooled new-connection queue) and `env` (the environment's
remaining budgets, the postmaster).
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec
from pgcheck.checker.lang.types import Bool, Fifo, Int, Ref, Set
from pgcheck.model.config import ModelConfig
from pgcheck.model.vocabulary import (
    CLIENT,
    CLOC,
    CMD,
    INBUF,
    INTR,
    OUT,
    OUT_CAPACITY,
    PC,
    PS,
    WAKE,
    WAKE_ORDER,
    Q,
)

MAILBOX = Set(INTR)

GHOSTS = (
    ("byte_car", "carrier when the type byte was consumed; set = mid-message (S9)"),
    ("lease_owner", "carrier holding q = LEASED (S18)"),
    ("poll_owner", "carrier holding q = POLLING (S17)"),
    ("frame", "C frames below PgSessionStep are live (S11)"),
    ("sleep_pending", "a deep wait whose condition is not met yet (S12)"),
    ("notified_in_xact", "NotificationResponse sent inside a transaction block (S24)"),
    ("stale_wake", "T7 accepted a stale generation (S20, poll_steps)"),
    ("cl_bad", "the client got a response it did not ask for (C1)"),
    ("cl_desync", "the client got an ErrorResponse while idle (C3)"),
)


def declare_state(spec: Spec, cfg: ModelConfig) -> None:
    n, m = cfg.sessions, cfg.carriers
    spec.entity(
        "carrier",
        m,
        {
            "loc": CLOC,
            "cur": Ref("session"),  # carrier->current_backend (and Current* roots, §1.1)
            "proc": Ref("session"),  # whose PGPROC MyProc is on this thread (S13)
            "batch": Fifo("session", n),  # backends this poller took with T5
            "reg": Bool(),  # protocol_scheduler_registered (§2.3 registration)
            "idle": Bool(),  # protocol_scheduler_idle
            **(
                {
                    "taken": Fifo("session", n),  # poll_steps: every backend T5 took this call (step 9 re-checks them)
                    "taken_cur": Set("session"),  # ... whose park generation is still the one read at T5
                }
                if cfg.get("poll_steps")
                else {}
            ),
        },
    )
    spec.entity(
        "session",
        n,
        {
            "pc": PC,
            "ps": PS,  # protocol_park.state
            "q": Q,  # protocol_park.scheduler_queue_state
            "car": Ref("carrier"),  # backend->carrier
            "ecar": Ref("carrier"),  # execution->carrier
            "pcar": Ref("carrier"),  # parked_carrier (T3)
            "byte_car": Ref("carrier"),  # ghost: carrier when the type byte was consumed; set = mid-message (S9)
            "lease_owner": Ref("carrier"),  # ghost: carrier holding q = LEASED (S18)
            "poll_owner": Ref("carrier"),  # ghost: carrier holding q = POLLING (S17)
            "latch": Ref("carrier"),  # thread that receives SetLatch on the backend latch (S15)
            "latch_set": Bool(),
            "frame": Bool(),  # ghost: C frames below PgSessionStep are live (S11)
            "dcr": Bool(),  # doing_command_read (S10)
            "holdoff": Int(0, 1),  # query_cancel_holdoff_count (S25)
            "mbox": MAILBOX,  # interrupts.pending_mask (§2.9)
            "wake": WAKE,  # wake_reasons of the current park (T7); "none" = wake_generation 0
            "tstale": Bool(),  # spec.transport_generation != connection's (§3.3)
            "tmstale": Bool(),  # spec.timeout_generation != backend's (§3.3)
            "send_rfq": Bool(),  # loop_state.send_ready_for_query
            "in_xact": Bool(),  # in a transaction block
            "listening": Bool(),  # LISTEN registered
            "notify_pending": Bool(),  # notifyInterruptPending: a notification awaits delivery
            "deferred": Bool(),  # deferred_notify_generation != 0 (T14/T15)
            "cmd": CMD,  # command being executed
            "sleep_pending": Bool(),  # ghost: a deep wait whose condition is not met yet (S12)
            "sticky_done": Bool(),  # the sticky idle wait of this boundary has elapsed
            "tmo_armed": Bool(),  # an idle(-in-transaction) session timeout is active (§2.10)
            "tmo_due": Bool(),  # ... and its fin_time has passed
            "hibernated": Bool(),  # protocol_park.hibernated (§2.7)
            "long_idle": Bool(),  # parked at least hibernate_after_ms
            "last_long": Bool(),  # last_park_duration_ms >= hibernate_after_ms (T12)
            "notified_in_xact": Bool(),  # ghost: NotificationResponse sent inside a transaction block (S24)
            **({"stale_wake": Bool()} if cfg.get("poll_steps") else {}),  # ghost: T7 accepted a stale generation (S20)
            # The client at the other end of the connection.
            "cl": CLIENT,
            "cl_budget": Int(0, 6),
            "cl_cmd": CMD,
            "cl_xact": Bool(),  # the transaction status of the client's last ReadyForQuery was 'T'
            "inbuf": INBUF,
            "cl_bad": Bool(),  # ghost: the client got a response it did not ask for (C1)
            "cl_desync": Bool(),  # ghost: the client got an ErrorResponse while idle (C3)
            **(
                {
                    # ghost: the messages sent to the client since the reader last cleared them
                    **{f"out{i}": OUT for i in range(OUT_CAPACITY)},
                    "out_n": Int(0, OUT_CAPACITY),
                }
                if cfg.client_log
                else {}
            ),
        },
    )
    # History variables that only properties read (their fields are declared above, in the
    # layout's order; S22 and S23 are action properties of specs/steps.py and need none).
    for name, doc in GHOSTS:
        if name in spec.kinds["session"].fields:
            spec.mark_ghost("session", name, doc)
    spec.ghost("session", "notify_owed", Bool(), "a NOTIFY reached this listener and its client has not been sent it (CL2)")
    spec.singleton(
        "sched",
        {
            "parked": Fifo("session", n),  # parked_protocol_queue
            "runnable": Fifo("session", n),  # runnable_queue (FIFO)
            "newconn": Fifo("session", n),  # pooled_protocol_queue (logical starts)
            "parked_count": Int(0, n),
            "runnable_count": Int(0, n),
            "registered": Int(0, m),
            "idle_count": Int(0, m),
            "active_count": Int(0, m),
        },
    )
    spec.singleton(
        "env",
        {
            "pm_alive": Bool(),
            "cancels": Int(0, 3),
            "terminates": Int(0, 3),
            "reloads": Int(0, 3),
            "notifies": Int(0, 3),
            "reschedules": Int(0, 3),
            "transport_changes": Int(0, 3),
        },
    )


# ------------------------------------------------------------------ shared operations


def attach(s: Any, c: int, b: int) -> None:
    """PgCarrierAttachBackend (§1.2): bind the five objects, MyProc, the latch (S13, S15)."""
    s.session[b].car = c
    s.session[b].ecar = c
    s.carrier[c].cur = b
    s.carrier[c].proc = b
    s.session[b].latch = c  # ReownLatchCurrentThread + FeBeWaitSet latch slot (B2 fix)
    became_active(s, c)


def detach(s: Any, c: int, b: int) -> None:
    """PgCarrierDetachBackend (§1.2): clear Current*, the back-pointers, MyProc."""
    s.session[b].car = None
    s.session[b].ecar = None
    s.carrier[c].cur = None
    s.carrier[c].proc = None
    became_idle(s, c)


def became_active(s: Any, c: int) -> None:
    reg = s.carrier[c].reg & s.carrier[c].idle
    s.sched.idle_count = X.when(reg, s.sched.idle_count - 1, s.sched.idle_count)
    s.sched.active_count = X.when(reg, s.sched.active_count + 1, s.sched.active_count)
    s.carrier[c].idle = X.when(s.carrier[c].reg, False, s.carrier[c].idle)


def became_idle(s: Any, c: int) -> None:
    reg = s.carrier[c].reg & ~s.carrier[c].idle
    s.sched.idle_count = X.when(reg, s.sched.idle_count + 1, s.sched.idle_count)
    s.sched.active_count = X.when(reg, s.sched.active_count - 1, s.sched.active_count)
    s.carrier[c].idle = X.when(s.carrier[c].reg, True, s.carrier[c].idle)


def start_session(s: Any, b: int) -> None:
    """BackendStartSessionWithStartupData ran attached; ResetLatch(MyLatch) afterwards (B7 fix)."""
    ses = s.session[b]
    ses.latch_set = False
    ses.send_rfq = True
    ses.frame = True
    ses.pc = "top"


def output(s: Any, b: int, what: str, when: object = True, *, cfg: ModelConfig | None = None, cause: object = None) -> None:
    """Send a protocol message to session b's client and record what the client makes of it.

    The client (simple Query protocol) expects: ReadyForQuery while connecting or after a
    result; a result or ErrorResponse only for a message it sent; NotificationResponse at
    any time; FATAL at any time (then the connection is closed). Given a `cfg` with the
    switch `client_log`, the message is also appended to the ghost log out0..out2 (`cause`
    names a FATAL's kind); the model's own actions pass their `cfg`.
    """
    ses = s.session[b]
    cond = X.lift_bool(when) & (ses.cl != "closed")
    cl = ses.cl
    if cfg is not None and cfg.client_log:
        _log(ses, cond, _message_kind(ses, what, cause))
    if what == "rfq":
        ok = (cl == "connecting") | (cl == "result")
        ses.cl_xact = X.when(cond & ok, ses.in_xact, ses.cl_xact)
        ses.cl_bad = X.when(cond & ~ok, True, ses.cl_bad)
        ses.cl = X.when(cond & ok, "idle", cl)
    elif what in ("result", "error"):
        ok = cl == "sent"
        if what == "error":
            ses.cl_desync = X.when(cond & (cl == "idle"), True, ses.cl_desync)
            ses.cl_bad = X.when(cond & ~ok & (cl != "idle"), True, ses.cl_bad)
        else:
            ses.cl_bad = X.when(cond & ~ok, True, ses.cl_bad)
        ses.cl = X.when(cond & ok, "result", cl)
    elif what == "notification":
        ses.notified_in_xact = X.when(cond & ses.in_xact, True, ses.notified_in_xact)
        ses.notify_owed = X.when(cond, False, ses.notify_owed)  # the client has it now (CL2)
    elif what == "fatal":
        ses.cl = X.when(cond, "closed", cl)
        ses.inbuf = X.when(cond, "empty", ses.inbuf)
    else:  # pragma: no cover - a typo in the model
        raise ValueError(what)


def _message_kind(ses: Any, what: str, cause: object) -> X.Expr:
    if what == "rfq":
        return X.when(ses.in_xact, X.lift("rfq_xact", OUT), X.lift("rfq_idle", OUT))
    if what == "fatal":
        return X.lift("eof", OUT) if cause is None else X.lift(cause, OUT)
    return X.lift(what, OUT)


def _log(ses: Any, cond: X.Expr, kind: X.Expr) -> None:
    """Append to the ghost log; a full log keeps its first messages (its reader clears it after
    every step, and no step sends more than OUT_CAPACITY messages)."""
    n = ses.out_n
    for i in range(OUT_CAPACITY):
        slot = f"out{i}"
        setattr(ses, slot, X.when(cond & (n == i), kind, getattr(ses, slot)))
    ses.out_n = X.when(cond & (n < OUT_CAPACITY), n + 1, n)


def wake_reasons(s: Any, b: int | X.Expr, cfg: ModelConfig, *, latch_wakes: bool) -> tuple[X.Expr, X.Expr]:
    """The immediate wake checks of §2.6 step 3 (and the poll result, step 8).

    Returns (ready, reason): the first matching reason in WAKE_ORDER. `latch_wakes`:
    staging waits on the latch in its FeBeWaitSet (§2.8); the pooled poller reads the
    level-triggered mailbox instead.
    """
    ses = s.session[b]
    logical = ses.latch_set if latch_wakes else ~X.is_empty(ses.mbox)
    conds = {
        "stale_transport": ses.tstale,
        "stale_timeout": ses.tmstale,
        "timeout": ses.tmo_armed & ses.tmo_due,
        "notify": logical & X.set_has(ses.mbox, "notify"),
        "logical": logical,
        "hibernate": (ses.long_idle & ~ses.hibernated) if cfg.get("hibernate") else X.lift_bool(False),
        "closed": (ses.cl == "closed") & (ses.inbuf == "empty"),
        "transport": (ses.inbuf == "byte") | (ses.inbuf == "whole"),
    }
    reason: X.Expr = X.lift("none", WAKE)
    for name in reversed(WAKE_ORDER):
        reason = X.when(conds[name], X.lift(name, WAKE), reason)
    return reason != "none", reason


def reset_session(s: Any, b: int) -> None:
    """After a logical exit nothing of the backend remains (S28); keep the client's view."""
    ses = s.session[b]
    for fname, value in (
        ("ps", "none"),
        ("q", "none"),
        ("car", None),
        ("ecar", None),
        ("pcar", None),
        ("byte_car", None),
        ("lease_owner", None),
        ("poll_owner", None),
        ("latch", None),
        ("latch_set", False),
        ("frame", False),
        ("dcr", False),
        ("holdoff", 0),
        ("mbox", ()),
        ("wake", "none"),
        ("tstale", False),
        ("tmstale", False),
        ("send_rfq", False),
        ("in_xact", False),
        ("listening", False),
        ("notify_pending", False),
        ("deferred", False),
        ("cmd", "query"),
        ("sleep_pending", False),
        ("sticky_done", False),
        ("tmo_armed", False),
        ("tmo_due", False),
        ("hibernated", False),
        ("long_idle", False),
        ("last_long", False),
        ("inbuf", "empty"),
        ("cl_cmd", "query"),
        ("cl_budget", 0),
    ):
        setattr(ses, fname, value)
