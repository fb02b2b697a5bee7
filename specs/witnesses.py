"""Witnesses ("sometimes"): scenarios that must be reachable, or the checks are vacuous.

A run reports every declared witness as reached or not; an unreached witness fails it.
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.expr import any_of, count_of
from pgcheck.checker.lang.spec import Spec
from pgcheck.model.config import ModelConfig
from pgcheck.model.poller_steps import immediate_reason


def add_witnesses(spec: Spec, cfg: ModelConfig) -> None:
    S = list(range(cfg.sessions))
    parking = cfg.mode != "process"
    commands = cfg.get("commands")
    talks = cfg.get("messages") > 0 and cfg.get("active_clients") > 0

    if parking:

        @spec.witness("W-park", "a session is parked at the protocol boundary", "§2.2 PARKED_PROTOCOL_READ", "session")
        def w_park(s: Any) -> object:
            return any_of(S, lambda b: s.session[b].q == "parked")

    if talks and "sleep" in commands:

        @spec.witness("W-deep-wait", "a session is inside a carrier-pinned deep wait", "S12", "session")
        def w_deep(s: Any) -> object:
            return any_of(S, lambda b: s.session[b].pc == "deep_wait")

    if parking and talks and "begin" in commands:

        @spec.witness("W-idle-in-xact-parked", "an idle-in-transaction session is parked holding its transaction", "§7.2 pg_locks while parked", "session")
        def w_iit(s: Any) -> object:
            return any_of(S, lambda b: (s.session[b].q == "parked") & s.session[b].in_xact)

    # With affinity enforced (T12) a session only ever resumes where it parked: no witness there.
    if cfg.mode == "pooled" and cfg.carriers > 1 and talks and not cfg.get("affinity_enforced"):

        @spec.witness("W-migrated-resume", "a session resumes on a different carrier than it parked on", "T12 migrated_resume_count", "session")
        def w_migrated(s: Any) -> object:
            return any_of(S, lambda b: (s.session[b].pc == "resume") & (s.session[b].car != s.session[b].pcar))

    if cfg.mode == "pooled" and cfg.sessions > cfg.carriers:

        @spec.witness("W-oversubscribed", "more sessions are parked than there are carriers", "§7.1 f14 >= #sessions > f21", "session")
        def w_over(s: Any) -> object:
            return count_of(S, lambda b: s.session[b].ps == "committed") > cfg.carriers

    if parking and talks and "begin" in commands and cfg.get("notifies") > 0 and cfg.get("listeners"):

        @spec.witness("W-deferred-notify", "a notification is deferred because its listener is in a transaction block", "T14", "session")
        def w_deferred(s: Any) -> object:
            return any_of(S, lambda b: s.session[b].deferred & (s.session[b].ps == "committed"))

    if parking and cfg.get("reschedules") > 0:

        @spec.witness("W-stale-timeout-wake", "a parked session is woken because its timeout generation went stale", "§3.1 STALE_TIMEOUT", "session")
        def w_stale(s: Any) -> object:
            return any_of(S, lambda b: s.session[b].wake == "stale_timeout")

    if talks and cfg.get("cancels") > 0 and "sleep" in commands:

        @spec.witness("W-cancel-deep-wait", "a cancel reaches a session in a pinned deep wait", "B2, S15", "session")
        def w_cancel(s: Any) -> object:
            return any_of(S, lambda b: (s.session[b].pc == "deep_wait") & X.set_has(s.session[b].mbox, "cancel"))

    interrupts = any(cfg.get(k) > 0 for k in ("cancels", "terminates", "reloads", "notifies"))
    if cfg.mode == "pooled" and cfg.get("poll_steps") and cfg.carriers > 1 and talks and interrupts:
        C = list(range(cfg.carriers))

        @spec.witness(
            "W-recheck-reparked",
            "the poller's re-check reaches a backend that parked again since T5: T7's generation check rejects the wake",
            "§2.6 step 9, §3.4 stale park generation", "session",
        )
        def w_recheck_reparked(s: Any) -> object:
            return any_of(C, lambda c: any_of(S, lambda b: _rechecks(s, c, b, cfg) & ~X.set_has(s.carrier[c].taken_cur, b)))

        @spec.witness(
            "W-recheck-unheld",
            "the poller's re-check marks a wake on a backend it no longer holds (RUNNABLE or LEASED, same park): "
            "T7 by a thread that is not the holder (S19, §2.4)",
            "§2.6 step 9, S19", "session",
        )
        def w_recheck_unheld(s: Any) -> object:
            def unheld(c: int, b: int) -> X.Expr:
                q = s.session[b].q
                return _rechecks(s, c, b, cfg) & X.set_has(s.carrier[c].taken_cur, b) & ((q == "runnable") | (q == "leased"))

            return any_of(C, lambda c: any_of(S, lambda b: unheld(c, b)))


def _rechecks(s: Any, c: int, b: int, cfg: ModelConfig) -> X.Expr:
    """Carrier c's next step re-checks b (§2.6 step 9), b's park is committed and an immediate check hits."""
    car = s.carrier[c]
    taken = (car.loc == "poll_recheck") & X.fifo_has(car.taken, b)
    return taken & (s.session[b].ps == "committed") & immediate_reason(s, b, cfg)[0]
