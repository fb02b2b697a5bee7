"""The pooled carrier pool and loop as launch_backend.c has them (c2c6ec31).

- A connection's arrival (postmaster_pooled_protocol_launch) decides, at that moment, how many
  carriers to start: one if the pool is empty (backend_pooled_protocol_start_pool), then one
  more if the queue now outnumbers the idle carriers and the pool is below its limit
  (backend_pooled_protocol_maybe_start_carrier_for_work). Nothing else ever starts a carrier.
- A started carrier registers from its own thread (PgRuntimeProtocolSchedulerRegisterCarrier);
  until then it is not idle in the scheduler's count.
- pooled_protocol_carrier_count is never decremented, and a carrier that ends with FATAL outside
  a session goes through backend_thread_exit with no publication: pg_thread_exit, no unregister.
- The loop (backend_pooled_protocol_carrier_entry): lease runnable > dequeue a new connection >
  WaitParkedReads > a condition-variable wait (latency only; not modelled).
- Logical exit: RemoveBackend, PgBackendExit, backend_pooled_logical_finish, the longjmp back to
  the exit point, detach, backend_pooled_logical_start_release (free). The slot may then take the
  next connection (backend_pooled_logical_start_alloc).
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.model.carrier_loop import leasable
from pgcheck.model.code.poller import take_all_parked
from pgcheck.model.config import ModelConfig
from pgcheck.model.session_step import running
from pgcheck.model.state import attach, detach, output, reset_session


def started_count(s: Any, cfg: ModelConfig) -> X.Expr:
    """pooled_protocol_carrier_count: carriers created (with fix_carrier_pool: alive ones)."""
    if cfg.get("fix_carrier_pool"):
        return X.count_of(s.carrier.ids(), lambda c: (s.carrier[c].loc != "off") & (s.carrier[c].loc != "dead"))
    return X.count_of(s.carrier.ids(), lambda c: s.carrier[c].loc != "off")


def start_carriers(s: Any, k: X.Expr) -> None:
    """backend_pooled_protocol_start_one_carrier, k (0..2) times: pg_thread_create of carriers not
    yet started. The first k in index order are taken: which does not matter, since a carrier not
    yet started is untouched (invariant K2: its fields at their defaults, nothing names it), so
    swapping two of them leaves the state as it is. ConnectionArrives declares this
    (alike=("carrier", "K2")) for the symmetry check, checker/explicit/symmetry_check.py."""
    chosen = []
    for c in s.carrier.ids():
        off_before = X.count_of(range(c), lambda d: s.carrier[d].loc == "off")
        chosen.append((s.carrier[c].loc == "off") & (off_before < k))
    for c in s.carrier.ids():
        s.carrier[c].loc = X.when(chosen[c], "starting", s.carrier[c].loc)


def add_code_carrier_pool(spec: Spec, cfg: ModelConfig) -> None:
    limit = cfg.carriers
    messages = cfg.get("messages")

    @spec.action(b="session", fairness="weak", cite="postmaster_pooled_protocol_launch, start_pool, maybe_start_carrier_for_work",
                 alike=("carrier", "K2"))
    def ConnectionArrives(s: Any, b: int) -> None:
        """A client connects: its logical start is queued, and the carrier start is decided now
        from the carrier count, the queue length and the idle carriers."""
        ses = s.session[b]
        first = ses.pc == "absent"
        again = (ses.pc == "gone") & (s.env.reconnects > 0)
        require(first | again)
        s.env.reconnects = X.when(again, s.env.reconnects - 1, s.env.reconnects)
        count = started_count(s, cfg)
        start_pool = count == 0
        after_pool = X.when(start_pool, count + 1, count)
        qlen = X.fifo_len(s.sched.newconn) + 1
        more = (after_pool < limit) & (qlen > s.sched.idle_count)
        start_carriers(s, X.when(start_pool, 1, 0) + X.when(more, 1, 0))
        s.sched.newconn = X.fifo_push(s.sched.newconn, b)
        ses.pc = "new"
        ses.cl = "connecting"
        ses.cl_budget = X.when(ses.cl_active, messages, 0)
        ses.cl_xact = False
        ses.listening = bool(cfg.get("listeners"))
        ses.wake_unowned = False
        ses.queue_unowned = False
        # backend_pooled_logical_start_alloc: a new allocation; pointers to the old one are stale.
        for c in s.carrier.ids():
            s.carrier[c].stale_ptrs = X.when(again & X.fifo_has(s.carrier[c].scratch, b), X.set_add(s.carrier[c].stale_ptrs, b), s.carrier[c].stale_ptrs)

    @spec.action(c="carrier", fairness="weak", cite="backend_pooled_protocol_carrier_entry, PgRuntimeProtocolSchedulerRegisterCarrier")
    def RegisterCarrier(s: Any, c: int) -> None:
        """The new carrier thread registers with the scheduler (idle)."""
        require(s.carrier[c].loc == "starting")
        s.carrier[c].loc = "loop"
        s.carrier[c].reg = True
        s.carrier[c].idle = True
        s.sched.registered = s.sched.registered + 1
        s.sched.idle_count = s.sched.idle_count + 1

    if cfg.get("carrier_death"):

        @spec.action(c="carrier", cite="backend_thread_exit (publication NULL) -> pg_thread_exit")
        def CarrierDies(s: Any, c: int) -> None:
            """An idle carrier ends with FATAL outside a session (poll() error rethrown after the
            repark, pthread failure): it neither unregisters nor leaves pooled_protocol_carrier_count."""
            car = s.carrier[c]
            require(car.loc == "loop")
            if cfg.get("fix_carrier_pool"):
                # fix: unregister, and replace the carrier (the count stays at the number of live carriers).
                s.sched.registered = s.sched.registered - 1
                s.sched.idle_count = X.when(car.idle, s.sched.idle_count - 1, s.sched.idle_count)
                car.reg = False
                car.idle = False
                car.loc = "starting"  # ... and the postmaster starts a replacement thread at once
            else:
                car.loc = "dead"

    @spec.action(c="carrier", b="session", fairness="weak", cite="backend_pooled_protocol_dequeue, backend_pooled_protocol_run_logical_start")
    def TakeNewConnection(s: Any, c: int, b: int) -> None:
        """With nothing runnable, the carrier dequeues a logical start and attaches it; startup and
        authentication run next, attached (no ResetLatch afterwards at this commit)."""
        require(s.carrier[c].loc == "loop")
        require(~leasable(s, c, cfg))
        require(~X.is_empty(s.sched.newconn) & (X.fifo_head(s.sched.newconn) == b))
        s.sched.newconn = X.fifo_pop(s.sched.newconn)
        attach(s, c, b)
        s.session[b].pc = "startup"
        s.carrier[c].loc = "step"

    @spec.action(c="carrier", b="session", fairness="weak", cite="BackendStartSessionWithStartupData (attached, may read from the client)")
    def StartupDone(s: Any, c: int, b: int) -> None:
        """Startup packet, authentication and InitPostgres finish on the carrier; the loop starts."""
        require(running(s, c, b) & (s.session[b].pc == "startup"))
        ses = s.session[b]
        ses.send_rfq = True
        ses.frame = True
        ses.pc = "top"

    @spec.action(c="carrier", fairness="weak", cite="backend_pooled_protocol_carrier_entry -> WaitParkedReads")
    def PollStart(s: Any, c: int) -> None:
        """Nothing runnable and no new connection: a WaitParkedReads call begins (step 1)."""
        require(s.carrier[c].loc == "loop")
        require(~leasable(s, c, cfg))
        require(X.is_empty(s.sched.newconn))
        require(~X.is_empty(s.sched.parked))
        take_all_parked(s, c, cfg)

    if cfg.get("fix_carrier_pool"):

        @spec.action(c="carrier", fairness="weak", cite="fix for C7: backend_pooled_protocol_maybe_start_carrier_for_work from the carrier loop")
        def CarrierAsksForHelp(s: Any, c: int) -> None:
            """A carrier about to lease runnable work while connections wait and no carrier is idle
            asks the postmaster for one more carrier (below the limit)."""
            require((s.carrier[c].loc == "loop") & leasable(s, c, cfg))
            require(~X.is_empty(s.sched.newconn) & (s.sched.idle_count <= 1))
            require(started_count(s, cfg) < limit)
            start_carriers(s, X.lift(1, X.INT))

    @spec.action(c="carrier", b="session", fairness="weak", cite="backend_pooled_protocol_exit_logical, RemoveBackend, PgBackendExit, backend_pooled_logical_start_release")
    def LogicalExit(s: Any, c: int, b: int) -> None:
        """Logical exit: RemoveBackend (queue state NONE), close the connection, unpublish, detach, and
        free the logical start: every pointer to it a poller still holds is now stale."""
        require(running(s, c, b) & (s.session[b].pc == "exit"))
        if cfg.get("fix_poller_ownership"):
            # fix: the release waits until no poller's scratch array points at the backend.
            require(X.all_of(s.carrier.ids(), lambda d: ~X.fifo_has(s.carrier[d].scratch, b)))
        ses = s.session[b]
        in_parked = ses.q == "parked"
        in_runnable = ses.q == "runnable"
        s.sched.parked = X.fifo_remove(s.sched.parked, b)
        s.sched.parked_count = X.when(in_parked, s.sched.parked_count - 1, s.sched.parked_count)
        s.sched.runnable = X.fifo_remove(s.sched.runnable, b)
        s.sched.runnable_count = X.when(in_runnable, s.sched.runnable_count - 1, s.sched.runnable_count)
        output(s, b, "fatal")
        detach(s, c, b)
        reset_session(s, b)
        ses.pc = "gone"
        s.carrier[c].loc = "loop"
        for d in s.carrier.ids():
            held = X.fifo_has(s.carrier[d].scratch, b)
            s.carrier[d].stale_ptrs = X.when(held, X.set_add(s.carrier[d].stale_ptrs, b), s.carrier[d].stale_ptrs)
