"""The pooled carrier loop (§2.5) and the parked-read poller (§2.6).

Priority per iteration: runnable > new connection > poll > sleep. A carrier
returns to the loop only at a protocol park or a logical exit.
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.model.config import ModelConfig
from pgcheck.model.poller_steps import add_poller_steps, members
from pgcheck.model.state import attach, start_session, wake_reasons


def leasable(s: Any, c: int, cfg: ModelConfig) -> X.Expr:
    """The runnable queue has a backend carrier c may lease (S30: affine ones only at home)."""
    if cfg.get("affinity_enforced"):
        mine = X.fifo_filter(s.sched.runnable, lambda x: s.session[x].pcar == c)
        return ~X.is_empty(mine)
    return ~X.is_empty(s.sched.runnable)


def next_runnable_is(s: Any, c: int, b: int, cfg: ModelConfig) -> X.Expr:
    if cfg.get("affinity_enforced"):
        mine = X.fifo_filter(s.sched.runnable, lambda x: s.session[x].pcar == c)
        return ~X.is_empty(mine) & (X.fifo_head(mine) == b)
    return ~X.is_empty(s.sched.runnable) & (X.fifo_head(s.sched.runnable) == b)


def pop_runnable(s: Any, c: int, b: int) -> None:
    """T9's effect: b leaves the runnable queue, LEASED to carrier c."""
    s.sched.runnable = X.fifo_remove(s.sched.runnable, b)
    s.sched.runnable_count = s.sched.runnable_count - 1
    s.session[b].q = "leased"
    s.session[b].lease_owner = c
    s.carrier[c].loc = "leasing"


def take_parked(s: Any, c: int) -> None:
    """T5's effect for the whole parked queue: every parked backend becomes POLLING in c's batch."""
    taken = s.sched.parked
    for i in s.session.ids():
        mine = X.fifo_has(taken, i)
        s.session[i].q = X.when(mine, "polling", s.session[i].q)
        s.session[i].poll_owner = X.when(mine, c, s.session[i].poll_owner)
    s.carrier[c].batch = taken
    s.sched.parked = ()
    s.sched.parked_count = 0
    s.carrier[c].loc = "poll"


def add_carrier_loop(spec: Spec, cfg: ModelConfig) -> None:
    @spec.action(c="carrier", fairness="weak", cite="§2.5 demand start, §2.3 Register")
    def StartCarrier(s: Any, c: int) -> None:
        """The postmaster starts a carrier: the pool is empty, or queued starts outnumber idle carriers."""
        require(s.carrier[c].loc == "off")
        require(s.env.pm_alive)
        require(~X.is_empty(s.sched.newconn))
        require((s.sched.registered == 0) | (X.fifo_len(s.sched.newconn) > s.sched.idle_count))
        s.carrier[c].loc = "loop"
        s.carrier[c].reg = True
        s.carrier[c].idle = True
        s.sched.registered = s.sched.registered + 1
        s.sched.idle_count = s.sched.idle_count + 1

    @spec.action(c="carrier", b="session", fairness="weak", cite="T9 PopRunnable")
    def LeaseRunnable(s: Any, c: int, b: int) -> None:
        """An idle carrier pops the head of the FIFO runnable queue under the lock."""
        require(s.carrier[c].loc == "loop")
        require(next_runnable_is(s, c, b, cfg))
        pop_runnable(s, c, b)

    @spec.action(c="carrier", b="session", fairness="weak", cite="T10 PgCarrierLeaseRunnableProtocolBackend")
    def AttachLeased(s: Any, c: int, b: int) -> None:
        """The lease owner attaches the backend it popped (possibly a migrated resume)."""
        require(s.carrier[c].loc == "leasing")
        require((s.session[b].q == "leased") & (s.session[b].lease_owner == c))
        attach(s, c, b)
        s.session[b].pc = "resume"
        s.carrier[c].loc = "step"

    @spec.action(c="carrier", b="session", fairness="weak", cite="§2.5 step 2, B7 fix")
    def TakeNewConnection(s: Any, c: int, b: int) -> None:
        """With nothing runnable, an idle carrier dequeues a logical start, attaches it and runs
        authentication and InitPostgres; the latch is reset once afterwards (B7)."""
        require(s.carrier[c].loc == "loop")
        require(~leasable(s, c, cfg))
        require(~X.is_empty(s.sched.newconn) & (X.fifo_head(s.sched.newconn) == b))
        s.sched.newconn = X.fifo_pop(s.sched.newconn)
        attach(s, c, b)
        start_session(s, b)
        s.carrier[c].loc = "step"

    @spec.action(c="carrier", fairness="weak", cite="T5 LeaseParkedBackend, §2.6 step 1")
    def PollTake(s: Any, c: int) -> None:
        """With nothing runnable and no new connection, an idle carrier takes every parked backend."""
        require(s.carrier[c].loc == "loop")
        require(~leasable(s, c, cfg))
        require(X.is_empty(s.sched.newconn))
        require(~X.is_empty(s.sched.parked))
        if cfg.get("poll_steps"):
            # Step 9 re-checks every backend taken here, with the generation read here.
            s.carrier[c].taken = s.sched.parked
            s.carrier[c].taken_cur = members(s, s.sched.parked)
        take_parked(s, c)

    if cfg.get("poll_steps"):
        add_poller_steps(spec, cfg)
        return

    @spec.action(c="carrier", fairness="weak", cite="T7 T8 T6, §2.6 steps 3-10")
    def PollPass(s: Any, c: int) -> None:
        """One poll pass: immediate checks, poll, re-check; ready ones become runnable in batch order,
        the rest go back to the tail of the parked queue. A dead postmaster kills the carrier."""
        require(s.carrier[c].loc == "poll")
        batch = s.carrier[c].batch
        alive = s.env.pm_alive
        ready_items = X.fifo_filter(batch, lambda x: alive & wake_reasons(s, x, cfg, latch_wakes=False)[0])
        idle_items = X.fifo_filter(batch, lambda x: ~alive | ~wake_reasons(s, x, cfg, latch_wakes=False)[0])
        s.sched.runnable = X.fifo_concat(s.sched.runnable, ready_items)
        s.sched.runnable_count = s.sched.runnable_count + X.fifo_len(ready_items)
        s.sched.parked = X.fifo_concat(s.sched.parked, idle_items)
        s.sched.parked_count = s.sched.parked_count + X.fifo_len(idle_items)
        for i in s.session.ids():
            mine = X.fifo_has(batch, i)
            ready, reasons = wake_reasons(s, i, cfg, latch_wakes=False)
            woken = mine & alive & ready
            s.session[i].wake = X.when(woken, reasons, s.session[i].wake)
            s.session[i].q = X.when(mine, X.when(woken, "runnable", "parked"), s.session[i].q)
            s.session[i].poll_owner = X.when(mine, None, s.session[i].poll_owner)
        s.carrier[c].batch = ()
        # §2.6 step 7: FATAL "terminating pooled protocol carrier due to unexpected postmaster exit"
        s.carrier[c].loc = X.when(alive, "loop", "dead")
        s.sched.registered = X.when(alive, s.sched.registered, s.sched.registered - 1)
        s.sched.idle_count = X.when(alive, s.sched.idle_count, s.sched.idle_count - 1)
        s.carrier[c].reg = X.when(alive, s.carrier[c].reg, False)
        s.carrier[c].idle = X.when(alive, s.carrier[c].idle, False)
