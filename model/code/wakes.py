"""What the C poller sees when it checks a parked backend.

`immediate(s, b, cfg)` is PgBackendProtocolReadParkMarkImmediateWake's check order (postgres.c):
buffered input (not modelled: clients send one message at a time), no wait events or a
changed transport generation (STALE_TRANSPORT), a stale timeout generation (STALE_TIMEOUT),
a due timeout (WL_TIMEOUT), a non-empty mailbox (WL_LATCH_SET, LOGICAL and NOTIFY), hibernate
due (PgProtocolParkHibernateDelayMs). `socket(s, b)` is what poll() reports at step 8
(PgProtocolParkPollWakeEvents): readable input or a closed socket.
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.model.config import ModelConfig
from pgcheck.model.vocabulary import WAKE

IMMEDIATE_ORDER = ("stale_transport", "stale_timeout", "timeout", "notify", "logical", "hibernate")


def hibernate_due(s: Any, b: Any, cfg: ModelConfig) -> X.Expr:
    """PgProtocolParkHibernateDelayMs: after >= 0, the park COMMITTED and not hibernated, and
    (after = 0 or the park has lasted after_ms since committed_at, whatever its queue state).
    With fix_hibernate it also needs what the commit side needs to compact (C5)."""
    after = cfg.get("hibernate_after_ms")
    ses = s.session[b]
    if after < 0:
        return X.lift_bool(False)
    due = (ses.ps == "committed") & ~ses.hibernated
    if after > 0:
        due = due & ses.long_idle
    if cfg.get("fix_hibernate"):
        due = due & ~ses.in_xact & X.lift_bool(cfg.get("idle_memory_compaction") > 0)
    return due


def immediate_possible(cfg: ModelConfig) -> bool:
    """Whether any immediate wake reason can ever hold in this configuration: an interrupt budget,
    an idle timeout, hibernation, or a generation change. Without one, steps 3 and 9 only read
    (docs/code-map.md: the poller's steps then need no finer grain than take+3, 5-8, 10)."""
    interrupts = any(cfg.get(k) > 0 for k in ("cancels", "terminates", "reloads", "notifies"))
    timeouts = cfg.get("idle_session_timeout") or cfg.get("idle_in_xact_timeout")
    stale = cfg.get("reschedules") > 0 or cfg.get("transport_changes") > 0
    return bool(interrupts or timeouts or stale or cfg.get("hibernate_after_ms") >= 0)


def immediate(s: Any, b: Any, cfg: ModelConfig) -> tuple[X.Expr, X.Expr]:
    """(ready, reason): the first immediate wake reason of b's committed park, in C's order."""
    ses = s.session[b]
    logical = ~X.is_empty(ses.mbox)
    conds = {
        "stale_transport": ses.tstale,
        "stale_timeout": ses.tmstale,
        "timeout": ses.tmo_armed & ses.tmo_due,
        "notify": logical & X.set_has(ses.mbox, "notify"),
        "logical": logical,
        "hibernate": hibernate_due(s, b, cfg),
    }
    reason: X.Expr = X.lift("none", WAKE)
    for name in reversed(IMMEDIATE_ORDER):
        reason = X.when(conds[name], X.lift(name, WAKE), reason)
    return reason != "none", reason


def socket(s: Any, b: Any) -> tuple[X.Expr, X.Expr]:
    """poll() revents at step 8: POLLIN (TRANSPORT) or POLLHUP/RDHUP (CLOSED)."""
    ses = s.session[b]
    closed = (ses.cl == "closed") & (ses.inbuf == "empty")
    readable = (ses.inbuf == "byte") | (ses.inbuf == "whole")
    return closed | readable, X.when(closed, X.lift("closed", WAKE), X.lift("transport", WAKE))


def left_out_of_poll(s: Any, b: Any, cfg: ModelConfig) -> X.Expr:
    """Step 5 leaves an entry out of the poll set, with no wake marked, when its timeout
    generation is stale, its timeout is due or its hibernate is due."""
    ses = s.session[b]
    return ses.tmstale | (ses.tmo_armed & ses.tmo_due) | hibernate_due(s, b, cfg)


def first_reason(old: X.Expr, new: X.Expr) -> X.Expr:
    """T7 ORs reasons into wake_reasons; the model keeps the first of C's order among them."""
    order = (*IMMEDIATE_ORDER, "closed", "transport")
    out: X.Expr = X.lift("none", WAKE)
    for name in reversed(order):
        out = X.when((old == name) | (new == name), X.lift(name, WAKE), out)
    return out
