"""Thread-per-session staging park (§2.8): the session's own thread waits for its parked
backend on the FeBeWaitSet (socket | latch), then leases it back (T11) and re-attaches
on the same carrier."""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.model.config import ModelConfig
from pgcheck.model.state import attach, wake_reasons


def add_staging(spec: Spec, cfg: ModelConfig) -> None:
    @spec.action(c="carrier", b="session", fairness="weak", cite="§2.8 PgSessionStagingWaitProtocolRead, T7")
    def StagingWake(s: Any, c: int, b: int) -> None:
        """The staging thread's wait returns with events for its own committed park: mark the wake."""
        require((s.carrier[c].loc == "stage") & (s.session[b].pcar == c))
        ses = s.session[b]
        require(ses.ps == "committed")
        ready, reasons = wake_reasons(s, b, cfg, latch_wakes=True)
        require(ready)
        ses.wake = reasons
        s.carrier[c].loc = "stage_woken"

    @spec.action(c="carrier", b="session", fairness="weak", cite="T11 LeaseBackend (same-carrier resume), L11")
    def StagingLease(s: Any, c: int, b: int) -> None:
        """Lease the own backend out of the parked (or runnable) queue and attach it on this carrier."""
        require((s.carrier[c].loc == "stage_woken") & (s.session[b].pcar == c))
        ses = s.session[b]
        in_parked = ses.q == "parked"
        in_runnable = ses.q == "runnable"
        # "could not lease protocol read park for same carrier resume" PANIC otherwise (B9 ii).
        require(in_parked | in_runnable)
        s.sched.parked = X.fifo_remove(s.sched.parked, b)
        s.sched.parked_count = X.when(in_parked, s.sched.parked_count - 1, s.sched.parked_count)
        s.sched.runnable = X.fifo_remove(s.sched.runnable, b)
        s.sched.runnable_count = X.when(in_runnable, s.sched.runnable_count - 1, s.sched.runnable_count)
        ses.q = "leased"
        ses.lease_owner = c
        attach(s, c, b)
        ses.pc = "resume"
        s.carrier[c].loc = "step"
