"""The parked-read poller's call as three steps (`RuntimeConfig.poll_steps`, §2.6).

The model's option `poll_steps` (model/poller_steps.py) has the same three actions:

- `poll_immediate` (steps 3-4): the immediate checks; each hit is T7 then T8; with a hit the
  others go back to the parked queue (T6) and the call ends;
- `poll_wait` (steps 5-8): select() on the held backends' sockets; each readable or closed
  one is T7 then T8;
- `poll_recheck` (steps 9-10): the immediate checks again for every backend taken at T5,
  held or not, each T7 carrying the park generation read at T5 (`Carrier.taken`); then T6
  for the backends still held.

Between the steps other carriers run, so a backend made runnable by `poll_wait` may be
leased, resumed and parked again (with a new generation) before `poll_recheck` reaches it:
the generation check of T7 is what keeps that re-check from waking the new park.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pgcheck.reference.backend import Backend
from pgcheck.reference.events import Action
from pgcheck.reference.poller import (
    immediate_wake,
    make_runnable_locked,
    mark_wake,
    socket_wake,
    wait_readable,
)
from pgcheck.reference.scheduler import SchedulerError
from pgcheck.reference.states import CarrierLoc, ParkState, QueueState, WakeReason

if TYPE_CHECKING:
    from pgcheck.reference.carrier import Carrier
    from pgcheck.reference.runtime import Runtime
    from pgcheck.reference.steps import StepInfo


@contextlib.contextmanager
def _poll_step(carrier: Carrier, action: Action) -> Iterator[tuple[StepInfo, contextlib.ExitStack]]:
    """One instrumented step over the backends the carrier holds POLLING.

    Free-running with a log, the step reads the mailbox under the event order (linearized
    with SendInterrupt) and takes the scheduler lock through `locked()`, as `poll_pass` does.
    """
    rt = carrier.rt
    with contextlib.ExitStack() as order, rt.recorder.step(action, c=carrier, others=_held(carrier)) as st:
        if rt.events.enabled and not rt.controlled:
            order.enter_context(rt.events.order)
        yield st, order


def _locked(rt: Runtime, order: contextlib.ExitStack) -> contextlib.AbstractContextManager[object]:
    """The scheduler lock for T8/T6; with a free-running log it is held until the event is out."""
    if rt.events.enabled and not rt.controlled:
        order.enter_context(rt.scheduler.lock)
        return contextlib.nullcontext()
    return rt.scheduler.lock


def _held(carrier: Carrier) -> list[Backend]:
    return [b for b in carrier.batch if b.q is QueueState.POLLING]


def _make_runnable(rt: Runtime, carrier: Carrier, hits: list[Backend]) -> None:
    """T8 for backends this carrier holds POLLING and has just marked; it holds them no more."""
    for b in hits:
        make_runnable_locked(rt, b)
    carrier.batch = [b for b in carrier.batch if b not in hits]


def _end_call(rt: Runtime, carrier: Carrier) -> list[int]:
    """T6 for every backend still held (§2.6 steps 4, 10); the call returns to the loop."""
    reparked = []
    for b in _held(carrier):
        if not rt.scheduler.repark_if_polling_locked(b):
            raise SchedulerError(f"could not return unready protocol backend to parked queue: {b}")
        reparked.append(b.index)
    carrier.batch = []
    carrier.taken = []
    carrier.loc = CarrierLoc.SCHEDULER_LOOP
    return reparked


def poll_immediate(carrier: Carrier) -> bool:
    """Steps 3-4; True if nothing was ready and the call goes on to the wait."""
    rt = carrier.rt
    with _poll_step(carrier, Action.POLL_IMMEDIATE) as (st, order):
        taken_gen = {b.index: g for b, g in carrier.taken}
        hits = []
        for b in _held(carrier):
            reasons, events = immediate_wake(rt, b)
            if reasons and mark_wake(b, taken_gen[b.index], reasons, events):  # T7
                hits.append(b)
        with _locked(rt, order):
            _make_runnable(rt, carrier, hits)
            if hits:
                st.params["reparked"] = _end_call(rt, carrier)
            else:
                carrier.loc = CarrierLoc.POLL_WAITING
        st.params["ready"] = [b.index for b in hits]
    if hits:
        rt.signal_carriers(len(hits))
    return not hits


def poll_wait(carrier: Carrier) -> None:
    """Steps 5-8: wait on the held backends' sockets (at most one poll period, 0 when controlled)."""
    rt = carrier.rt
    with _poll_step(carrier, Action.POLL_WAIT) as (st, order):
        taken_gen = {b.index: g for b, g in carrier.taken}
        hits = []
        for b in wait_readable(rt, _held(carrier)):
            reasons, events = socket_wake(b)
            # Step 8: the latch is not in the poll set, so no NOTIFY here; step 9 finds it.
            if mark_wake(b, taken_gen[b.index], reasons & ~WakeReason.NOTIFY, events):  # T7
                hits.append(b)
        hits.sort(key=carrier.batch.index)  # T8 in batch order
        with _locked(rt, order):
            _make_runnable(rt, carrier, hits)
            carrier.loc = CarrierLoc.POLL_RECHECKING
        st.params["ready"] = [b.index for b in hits]
    if hits:
        rt.signal_carriers(len(hits))


def poll_recheck(carrier: Carrier) -> None:
    """Steps 9-10: every taken backend, held or not, with the generation read at T5.

    The step holds the scheduler lock throughout (C's T7 takes none; holding it only removes
    interleavings) so that a taken backend it no longer holds is not re-queued under it, and
    the log records only T7's and T8's fields of such a backend (`foreign`): another carrier
    may be running it.
    """
    rt = carrier.rt
    skip_generation = rt.mutations.skip_park_generation
    held = _held(carrier)
    unheld = [b for b, _ in carrier.taken if b not in held]
    with rt.recorder.step(
        Action.POLL_RECHECK, c=carrier, others=held, foreign=unheld, locked=True, owns=frozenset({"mbox"})
    ) as st:
        accepted = []
        for b, generation in carrier.taken:
            if b.ps is not ParkState.COMMITTED:
                continue
            reasons, events = immediate_wake(rt, b)
            if not reasons:
                continue
            # Seeded bug: T7 without its generation guard (§3.4 stale park generation).
            if mark_wake(b, b.spec.generation if skip_generation else generation, reasons, events):  # T7
                accepted.append(b)
        moved = []
        for b in accepted:
            if b.q in (QueueState.PARKED, QueueState.POLLING):  # T8; RUNNABLE: a no-op, LEASED: refused
                make_runnable_locked(rt, b)
                moved.append(b)
        carrier.batch = [b for b in carrier.batch if b not in moved]
        st.params["reparked"] = _end_call(rt, carrier)
        st.params["ready"] = [b.index for b in moved]
    if moved:
        rt.signal_carriers(len(moved))

