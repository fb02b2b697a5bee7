"""The parked-read poller at the C code's grain: PgRuntimeProtocolSchedulerWaitParkedReads
(postgres.c, c2c6ec31), one action per step a carrier can be preempted between.

| action | C (WaitParkedReads step) | locking |
|---|---|---|
| `PollStart` (carrier_pool.py) | step 1: LeaseParkedBackend until the queue is empty, into `scratch` | scheduler lock per pop |
| `PollImmediate` | step 3: PgBackendProtocolReadParkMarkImmediateWake + MarkRunnable per entry | T7 unlocked, T8 locked |
| `PollEarlyReturn` | step 4: unlocked read of scheduler_queue_state, ReparkBackendIfPolling | T6 locked |
| `PollWait` | steps 5-8 (and 6: no socket registered, repark and return without step 9) | T7 unlocked, T8 locked |
| `PollRecheckGuard` | step 9, one entry: the unlocked guard (COMMITTED, PARKED or POLLING) and the checks | none |
| `PollRecheckMark` | step 9, same entry: T7 with the backend's *current* generation, then MarkRunnable | T7 unlocked, T8 locked |
| `PollRepark` | step 10: unlocked read of the queue state, ReparkBackendIfPolling | T6 locked |

Steps 1, 3 and 8 are one action each over the whole array (a coarsening, docs/code-map.md);
step 9, whose entries may belong to nobody or to another carrier by then, is per entry, with
the window between the guard read and T7 that C has. Every step that walks `scratch`
dereferences every pointer in it: a pointer to a released or reused backend sets the ghost
`uaf` (K1). With `fix_poller_ownership` the poller re-checks and reparks only what it still
holds, and drops what it made runnable from `scratch`.
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.model.code.state import holds
from pgcheck.model.code.wakes import first_reason, immediate, immediate_possible, left_out_of_poll, socket
from pgcheck.model.config import ModelConfig
from pgcheck.model.vocabulary import WAKE


def deref_all(s: Any, c: int) -> None:
    """The step walks every pointer of the scratch array (K1 ghost)."""
    car = s.carrier[c]
    bad = X.any_of(s.session.ids(), lambda i: X.fifo_has(car.scratch, i) & X.set_has(car.stale_ptrs, i))
    car.uaf = car.uaf | bad


def mark_wake(s: Any, c: int, i: int, cond: X.Expr, reason: X.Expr) -> None:
    """T7 PgBackendMarkProtocolReadParkWake: no lock; accepted while the park is COMMITTED (the
    generation passed is the backend's current one, so its check always passes)."""
    ses = s.session[i]
    ok = cond & (ses.ps == "committed")
    ses.wake = X.when(ok, first_reason(ses.wake, reason), ses.wake)
    ses.wake_unowned = ses.wake_unowned | (ok & ~holds(s, c, i))


def mark_runnable(s: Any, c: int, cond_of: Any) -> None:
    """T8 PgRuntimeProtocolSchedulerMarkRunnable for every entry of c's scratch where `cond_of(i)`,
    in scratch order, under the lock: PARKED is unlinked, POLLING (whoever holds it) moves,
    RUNNABLE is a no-op, anything else is refused."""
    car = s.carrier[c]

    def moves(x: Any) -> X.Expr:
        q = s.session[x].q
        return X.lift_bool(cond_of(x)) & ((q == "parked") | (q == "polling")) & (s.session[x].ps == "committed")

    moved = X.fifo_filter(car.scratch, moves)
    from_parked = X.fifo_filter(moved, lambda x: s.session[x].q == "parked")
    s.sched.parked = X.fifo_filter(s.sched.parked, lambda x: ~X.fifo_has(from_parked, x))
    s.sched.parked_count = s.sched.parked_count - X.fifo_len(from_parked)
    s.sched.runnable = X.fifo_concat(s.sched.runnable, moved)
    s.sched.runnable_count = s.sched.runnable_count + X.fifo_len(moved)
    for i in s.session.ids():
        ses = s.session[i]
        mv = X.fifo_has(moved, i)
        stolen = mv & (ses.q == "polling") & (ses.poll_owner != c)
        ses.queue_unowned = ses.queue_unowned | stolen
        ses.q = X.when(mv, "runnable", ses.q)
        ses.poll_owner = X.when(mv, None, ses.poll_owner)


def repark_polling(s: Any, c: int, cfg: ModelConfig) -> None:
    """Steps 4, 6, 10: for every entry whose unlocked queue state reads POLLING,
    PgRuntimeProtocolSchedulerReparkBackendIfPolling (locked; no-op unless COMMITTED+POLLING;
    it does not know who holds the backend). Then the call returns."""
    car = s.carrier[c]
    deref_all(s, c)

    def back(x: Any) -> X.Expr:
        ses = s.session[x]
        mine = (ses.q == "polling") & (ses.ps == "committed")
        if cfg.get("fix_poller_ownership"):
            mine = mine & (ses.poll_owner == c)
        return mine

    rest = X.fifo_filter(car.scratch, back)
    s.sched.parked = X.fifo_concat(s.sched.parked, rest)
    s.sched.parked_count = s.sched.parked_count + X.fifo_len(rest)
    for i in s.session.ids():
        ses = s.session[i]
        mv = X.fifo_has(rest, i)
        ses.queue_unowned = ses.queue_unowned | (mv & (ses.poll_owner != c))
        ses.q = X.when(mv, "parked", ses.q)
        ses.poll_owner = X.when(mv, None, ses.poll_owner)
    car.scratch = ()
    car.todo = ()
    car.cur_entry = None
    car.cur_reason = "none"
    car.stale_ptrs = ()
    car.loc = "loop"


def take_all_parked(s: Any, c: int, cfg: ModelConfig) -> None:
    """Step 1: PgRuntimeProtocolSchedulerLeaseParkedBackend until the parked queue is empty, each pop
    PARKED -> POLLING into `scratch`. One step (a coarsening: each pop is its own locked section
    in C, so two pollers can split the queue; docs/code-map.md)."""
    car = s.carrier[c]
    taken = s.sched.parked
    for i in s.session.ids():
        mine = X.fifo_has(taken, i)
        s.session[i].q = X.when(mine, "polling", s.session[i].q)
        s.session[i].poll_owner = X.when(mine, c, s.session[i].poll_owner)
    car.scratch = taken
    s.sched.parked = ()
    s.sched.parked_count = 0
    # With no immediate reason possible, step 3 only reads backends this call holds: no step of its own.
    car.loc = "poll" if immediate_possible(cfg) else "poll_wait"


def _drop_released(s: Any, c: int, cfg: ModelConfig) -> None:
    """fix_poller_ownership: forget the entries this call no longer holds."""
    if cfg.get("fix_poller_ownership"):
        car = s.carrier[c]
        car.scratch = X.fifo_filter(car.scratch, lambda x: (s.session[x].q == "polling") & (s.session[x].poll_owner == c))


def add_code_poller(spec: Spec, cfg: ModelConfig) -> None:
    fixed = cfg.get("fix_poller_ownership")

    @spec.action(c="carrier", fairness="weak", cite="WaitParkedReads step 3, PgBackendProtocolReadParkMarkImmediateWake, T7, T8")
    def PollImmediate(s: Any, c: int) -> None:
        """Step 3 for every entry: unlocked guard (COMMITTED, PARKED or POLLING), the immediate
        checks, T7, MarkRunnable. Any hit: step 4 next; else the poll (steps 5-8)."""
        car = s.carrier[c]
        require(car.loc == "poll")
        deref_all(s, c)

        def hit(i: Any) -> X.Expr:
            ses = s.session[i]
            guard = (ses.ps == "committed") & ((ses.q == "parked") | (ses.q == "polling"))
            if fixed:
                guard = guard & (ses.q == "polling") & (ses.poll_owner == c)
            return guard & immediate(s, i, cfg)[0]

        any_hit = X.any_of(s.session.ids(), lambda i: X.fifo_has(car.scratch, i) & hit(i))
        for i in s.session.ids():
            mark_wake(s, c, i, X.fifo_has(car.scratch, i) & hit(i), immediate(s, i, cfg)[1])
        mark_runnable(s, c, hit)
        _drop_released(s, c, cfg)
        car.loc = X.when(any_hit, "poll_early", "poll_wait")

    @spec.action(c="carrier", fairness="weak", cite="WaitParkedReads step 4, T6 ReparkBackendIfPolling")
    def PollEarlyReturn(s: Any, c: int) -> None:
        """Step 4: nready > 0, so every entry still reading POLLING is reparked; return nready."""
        require(s.carrier[c].loc == "poll_early")
        repark_polling(s, c, cfg)

    @spec.action(c="carrier", fairness="weak", cite="WaitParkedReads steps 5-8, PgProtocolParkPollWakeEvents, T7, T8")
    def PollWait(s: Any, c: int) -> None:
        """Steps 5-8: entries COMMITTED+POLLING (unlocked read) join the poll set unless their timeout
        or hibernate is due or stale (left out, no wake); poll(); each readable or closed socket still
        COMMITTED+POLLING is T7 then MarkRunnable. No socket registered: repark and return (step 6)."""
        car = s.carrier[c]
        require(car.loc == "poll_wait")
        deref_all(s, c)

        def registered(i: Any) -> X.Expr:
            ses = s.session[i]
            ok = (ses.ps == "committed") & (ses.q == "polling") & ~left_out_of_poll(s, i, cfg)
            if fixed:
                ok = ok & (ses.poll_owner == c)
            return ok

        any_socket = X.any_of(s.session.ids(), lambda i: X.fifo_has(car.scratch, i) & registered(i))

        def fired(i: Any) -> X.Expr:
            return any_socket & registered(i) & socket(s, i)[0]

        for i in s.session.ids():
            mark_wake(s, c, i, X.fifo_has(car.scratch, i) & fired(i), socket(s, i)[1])
        mark_runnable(s, c, fired)
        _drop_released(s, c, cfg)
        car.todo = car.scratch
        if immediate_possible(cfg):
            car.loc = X.when(any_socket, "poll_recheck", "poll_repark")
        else:
            # Step 9 can only read (no immediate reason can hold): straight to step 10.
            car.todo = ()
            car.loc = "poll_repark"

    @spec.action(c="carrier", fairness="weak", cite="WaitParkedReads step 9, PgBackendProtocolReadParkMarkImmediateWake (guard)")
    def PollRecheckGuard(s: Any, c: int) -> None:
        """Step 9, next entry of the scratch array: the unlocked guard reads park state COMMITTED and
        queue state PARKED or POLLING, whoever holds it, and runs the immediate checks."""
        car = s.carrier[c]
        require((car.loc == "poll_recheck") & ~X.is_empty(car.todo))
        e = X.fifo_head(car.todo)
        ses = s.session[e]
        car.uaf = car.uaf | X.set_has(car.stale_ptrs, e)
        guard = (ses.ps == "committed") & ((ses.q == "parked") | (ses.q == "polling"))
        if fixed:
            guard = guard & (ses.q == "polling") & (ses.poll_owner == c)
        ready, reason = immediate(s, e, cfg)
        hit = guard & ready
        car.todo = X.fifo_pop(car.todo)
        car.cur_entry = X.when(hit, e, X.lift(None, car.cur_entry.ty))
        car.cur_reason = X.when(hit, reason, X.lift("none", WAKE))
        car.loc = X.when(hit, "poll_mark", "poll_recheck")

    @spec.action(c="carrier", fairness="weak", cite="WaitParkedReads step 9, T7 PgBackendMarkProtocolReadParkWake, T8 MarkRunnable")
    def PollRecheckMark(s: Any, c: int) -> None:
        """Step 9, same entry: T7 (no lock; the current generation, so only ps = COMMITTED is checked),
        then MarkRunnable under the lock (PARKED unlinked, POLLING taken from whoever holds it)."""
        car = s.carrier[c]
        require(car.loc == "poll_mark")
        e = car.cur_entry
        car.uaf = car.uaf | X.set_has(car.stale_ptrs, e)
        for i in s.session.ids():
            mark_wake(s, c, i, e == i, car.cur_reason)
        mark_runnable(s, c, lambda x: x == e)
        _drop_released(s, c, cfg)
        car.cur_entry = None
        car.cur_reason = "none"
        car.loc = "poll_recheck"

    @spec.action(c="carrier", fairness="weak", cite="WaitParkedReads step 10, T6 ReparkBackendIfPolling")
    def PollRepark(s: Any, c: int) -> None:
        """Step 10 (after step 9, or step 6 with no socket registered): repark every entry whose
        unlocked queue state reads POLLING; return."""
        car = s.carrier[c]
        require((car.loc == "poll_repark") | ((car.loc == "poll_recheck") & X.is_empty(car.todo)))
        repark_polling(s, c, cfg)
