"""The parked-read poller at the C code's grain (option `poll_steps`, §2.6).

The default model takes one poll call (§2.6 steps 3-10) as the atomic `PollPass`. With
`poll_steps` the call is three steps, and other carriers run between them:

- `PollImmediate` (steps 3-4): the immediate checks; each hit is T7 then T8. If any
  hit, the rest are returned to the parked queue (T6) and the call ends.
- `PollWait` (steps 5-8): the wait; each readable or closed socket is T7 then T8. A dead
  postmaster ends the carrier (step 7).
- `PollRecheck` (steps 9-10): the immediate checks again for **every taken backend** —
  including those step 8 already made runnable, which other carriers may meanwhile have
  leased, resumed and parked again — each T7 carrying the park generation the poller
  read at T5; then T6 for every backend still POLLING.

Generations are not counters in the model (docs/model.md); `taken_cur(c)` is the set of
backends whose park generation is still the one c read at T5: T1 (PreparePark) takes b
out of every carrier's set. T7 accepts a wake only for `ps = COMMITTED` and the current
generation (§3.4 "stale park generation"); the ghost `stale_wake` records a wake accepted
for another generation (S20).
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.model.config import ModelConfig
from pgcheck.model.state import wake_reasons
from pgcheck.model.vocabulary import WAKE, WAKE_ORDER

# §2.6 step 8: what only the poll itself reports; everything else is an immediate check.
SOCKET_REASONS = ("closed", "transport")


def immediate_reason(s: Any, b: Any, cfg: ModelConfig) -> tuple[X.Expr, X.Expr]:
    """§2.6 step 3 a-g (first match wins), without the socket events of step 8."""
    ready, reason = wake_reasons(s, b, cfg, latch_wakes=False)
    immediate = ready & X.and_(*(reason != r for r in SOCKET_REASONS))
    return immediate, X.when(immediate, reason, "none")


def socket_reason(s: Any, b: Any) -> tuple[X.Expr, X.Expr]:
    """§2.6 step 8: a readable or closed socket. The latch is not in the poll set, so the
    poll reports neither LOGICAL nor NOTIFY; the re-check of step 9 finds those."""
    ses = s.session[b]
    closed = (ses.cl == "closed") & (ses.inbuf == "empty")
    readable = (ses.inbuf == "byte") | (ses.inbuf == "whole")
    return closed | readable, X.when(closed, X.lift("closed", WAKE), X.lift("transport", WAKE))


def members(s: Any, fifo: X.Expr) -> X.Expr:
    """The set of sessions in `fifo`."""
    out = X.lift((), s.carrier[0].taken_cur.ty)
    for i in s.session.ids():
        out = X.when(X.fifo_has(fifo, i), X.set_add(out, i), out)
    return out


def first_reason(old: X.Expr, new: X.Expr) -> X.Expr:
    """T7 ORs reasons within one park; the model keeps the first of WAKE_ORDER among them."""
    out: X.Expr = X.lift("none", WAKE)
    for name in reversed(WAKE_ORDER):
        out = X.when((old == name) | (new == name), X.lift(name, WAKE), out)
    return out


def forget_taken_generation(s: Any, b: int) -> None:
    """T1 gives b a new park generation: no poller's T5 snapshot of b is current any more."""
    for c in s.carrier.ids():
        s.carrier[c].taken_cur = X.set_del(s.carrier[c].taken_cur, b)


def _mark_and_make_runnable(s: Any, c: int, marked: X.Expr, reason_of: Any) -> None:
    """T7 then T8 for the backends of c's batch in `marked` (all POLLING, held by c), in batch order."""
    batch = s.carrier[c].batch
    hits = X.fifo_filter(batch, lambda x: X.fifo_has(marked, x))
    s.sched.runnable = X.fifo_concat(s.sched.runnable, hits)
    s.sched.runnable_count = s.sched.runnable_count + X.fifo_len(hits)
    for i in s.session.ids():
        hit = X.fifo_has(hits, i)
        s.session[i].wake = X.when(hit, reason_of(i), s.session[i].wake)
        s.session[i].q = X.when(hit, "runnable", s.session[i].q)
        s.session[i].poll_owner = X.when(hit, None, s.session[i].poll_owner)
    s.carrier[c].batch = X.fifo_filter(batch, lambda x: ~X.fifo_has(hits, x))


def _repark_rest(s: Any, c: int) -> None:
    """T6 for every backend c still holds, then the poll call returns (§2.6 steps 4, 10)."""
    rest = s.carrier[c].batch
    s.sched.parked = X.fifo_concat(s.sched.parked, rest)
    s.sched.parked_count = s.sched.parked_count + X.fifo_len(rest)
    for i in s.session.ids():
        mine = X.fifo_has(rest, i)
        s.session[i].q = X.when(mine, "parked", s.session[i].q)
        s.session[i].poll_owner = X.when(mine, None, s.session[i].poll_owner)
    s.carrier[c].batch = ()
    s.carrier[c].taken = ()
    s.carrier[c].taken_cur = ()


def add_poller_steps(spec: Spec, cfg: ModelConfig) -> None:
    @spec.action(c="carrier", fairness="weak", cite="T7 T8 T6, §2.6 steps 3-4")
    def PollImmediate(s: Any, c: int) -> None:
        """The immediate checks of every taken backend; any hit ends the call after T6 for the rest."""
        require(s.carrier[c].loc == "poll")
        batch = s.carrier[c].batch
        hits = X.fifo_filter(batch, lambda x: immediate_reason(s, x, cfg)[0])
        any_hit = ~X.is_empty(hits)
        _mark_and_make_runnable(s, c, hits, lambda i: immediate_reason(s, i, cfg)[1])
        # Step 4: with a hit, T6 for the others and return; else go on to the wait.
        rest = s.carrier[c].batch
        s.sched.parked = X.when(any_hit, X.fifo_concat(s.sched.parked, rest), s.sched.parked)
        s.sched.parked_count = X.when(any_hit, s.sched.parked_count + X.fifo_len(rest), s.sched.parked_count)
        for i in s.session.ids():
            back = any_hit & X.fifo_has(rest, i)
            s.session[i].q = X.when(back, "parked", s.session[i].q)
            s.session[i].poll_owner = X.when(back, None, s.session[i].poll_owner)
        s.carrier[c].batch = X.when(any_hit, X.lift((), s.carrier[c].batch.ty), rest)
        s.carrier[c].taken = X.when(any_hit, X.lift((), s.carrier[c].taken.ty), s.carrier[c].taken)
        s.carrier[c].taken_cur = X.when(any_hit, X.lift((), s.carrier[c].taken_cur.ty), s.carrier[c].taken_cur)
        s.carrier[c].loc = X.when(any_hit, "loop", "poll_wait")

    @spec.action(c="carrier", fairness="weak", cite="T7 T8, §2.6 steps 5-8")
    def PollWait(s: Any, c: int) -> None:
        """poll() on the held backends' sockets: each readable or closed one is T7 then T8.
        A dead postmaster ends the carrier after T6 for everything it holds (step 7)."""
        require(s.carrier[c].loc == "poll_wait")
        alive = s.env.pm_alive
        batch = s.carrier[c].batch
        hits = X.fifo_filter(batch, lambda x: alive & socket_reason(s, x)[0])
        _mark_and_make_runnable(s, c, hits, lambda i: socket_reason(s, i)[1])
        # §2.6 step 7: FATAL "terminating pooled protocol carrier due to unexpected postmaster exit"
        rest = s.carrier[c].batch
        s.sched.parked = X.when(alive, s.sched.parked, X.fifo_concat(s.sched.parked, rest))
        s.sched.parked_count = X.when(alive, s.sched.parked_count, s.sched.parked_count + X.fifo_len(rest))
        for i in s.session.ids():
            back = ~alive & X.fifo_has(rest, i)
            s.session[i].q = X.when(back, "parked", s.session[i].q)
            s.session[i].poll_owner = X.when(back, None, s.session[i].poll_owner)
        s.carrier[c].batch = X.when(alive, rest, X.lift((), rest.ty))
        s.carrier[c].taken = X.when(alive, s.carrier[c].taken, X.lift((), s.carrier[c].taken.ty))
        s.carrier[c].taken_cur = X.when(alive, s.carrier[c].taken_cur, X.lift((), s.carrier[c].taken_cur.ty))
        s.carrier[c].loc = X.when(alive, "poll_recheck", "dead")
        s.sched.registered = X.when(alive, s.sched.registered, s.sched.registered - 1)
        s.sched.idle_count = X.when(alive, s.sched.idle_count, s.sched.idle_count - 1)
        s.carrier[c].reg = X.when(alive, s.carrier[c].reg, False)
        s.carrier[c].idle = X.when(alive, s.carrier[c].idle, False)

    @spec.action(c="carrier", fairness="weak", cite="T7 T8 T6, §2.6 steps 9-10, §3.4 stale park generation")
    def PollRecheck(s: Any, c: int) -> None:
        """Step 9: the immediate checks again for every taken backend, each T7 with the park
        generation read at T5 and, if accepted, T8; step 10: T6 for the backends still held."""
        require(s.carrier[c].loc == "poll_recheck")
        recheck(s, c, cfg, generation_check=True)
        _repark_rest(s, c)
        s.carrier[c].loc = "loop"


def recheck(s: Any, c: int, cfg: ModelConfig, *, generation_check: bool) -> None:
    """§2.6 step 9 over every backend c took at T5, in the order it took them.

    T7 accepts when ps = COMMITTED and (with `generation_check`) the generation c read is still
    b's; T8 then makes b runnable from PARKED or POLLING, is a no-op on RUNNABLE and refuses
    LEASED (§2 T8).
    """
    taken = s.carrier[c].taken
    cur = s.carrier[c].taken_cur

    def accepted(x: Any) -> X.Expr:
        ok = immediate_reason(s, x, cfg)[0] & (s.session[x].ps == "committed")
        return ok & X.set_has(cur, x) if generation_check else ok

    def enqueued(x: Any) -> X.Expr:
        q = s.session[x].q
        return accepted(x) & ((q == "parked") | (q == "polling"))

    moved = X.fifo_filter(taken, enqueued)
    from_parked = X.fifo_filter(moved, lambda x: s.session[x].q == "parked")
    s.sched.parked = X.fifo_filter(s.sched.parked, lambda x: ~X.fifo_has(from_parked, x))
    s.sched.parked_count = s.sched.parked_count - X.fifo_len(from_parked)
    s.sched.runnable = X.fifo_concat(s.sched.runnable, moved)
    s.sched.runnable_count = s.sched.runnable_count + X.fifo_len(moved)
    for i in s.session.ids():
        ses = s.session[i]
        acc = X.fifo_has(taken, i) & accepted(i)
        ses.wake = X.when(acc, first_reason(ses.wake, immediate_reason(s, i, cfg)[1]), ses.wake)
        ses.stale_wake = ses.stale_wake | (acc & ~X.set_has(cur, i))
        mv = X.fifo_has(moved, i)
        ses.q = X.when(mv, "runnable", ses.q)
        ses.poll_owner = X.when(mv, None, ses.poll_owner)
    # c no longer holds what it made runnable. (Another poller's batch keeps such a backend,
    # as its scratch array does in C: only a stale wake can reach one, and S17 reports it.)
    s.carrier[c].batch = X.fifo_filter(s.carrier[c].batch, lambda x: ~X.fifo_has(moved, x))
