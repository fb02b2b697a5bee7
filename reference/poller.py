"""The parked-read poller (§2.6) and the wake checks it shares with staging (§2.8).

`immediate_wake` is `PgBackendProtocolReadParkMarkImmediateWake` (checks a-f, first
match wins; hibernate (g) is not implemented).  `mark_wake` is T7.  `poll_take` is T5
for the whole batch, `poll_pass` the rest of one `WaitParkedReads` call: immediate
checks, select() with a timeout of at most 10 ms (0 in controlled mode), mark, re-check,
repark (T6).
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from pgcheck.reference import fdwait
from pgcheck.reference.backend import Backend
from pgcheck.reference.events import Action
from pgcheck.reference.mailbox import Interrupt
from pgcheck.reference.scheduler import SchedulerError
from pgcheck.reference.states import CarrierLoc, ParkState, QueueState, WaitEvent, WakeReason

if TYPE_CHECKING:
    from pgcheck.reference.carrier import Carrier
    from pgcheck.reference.runtime import Runtime


def immediate_wake(rt: Runtime, b: Backend) -> tuple[WakeReason, WaitEvent]:
    """§2.6 step 3 a-f, first match wins."""
    conn = b.connection
    spec = b.spec
    if spec.transport_buffered_input or (conn is not None and conn.buffered_input):
        return WakeReason.BUFFERED_INPUT, WaitEvent.NONE
    if not spec.transport_wait_events or conn is None or conn.closed:
        return WakeReason.STALE_TRANSPORT, WaitEvent.NONE
    if conn.transport_generation != spec.transport_generation:
        return WakeReason.STALE_TRANSPORT, WaitEvent.NONE
    if spec.timeout_generation != b.timeouts.generation:
        return WakeReason.STALE_TIMEOUT, WaitEvent.NONE
    if b.timeouts.is_due():
        rt.observe_timeout_due(b)
        return WakeReason.TIMEOUT, WaitEvent.TIMEOUT
    pending = b.mailbox.peek()
    if pending:
        reasons = WakeReason.LOGICAL
        if pending & Interrupt.NOTIFY.bit:
            reasons |= WakeReason.NOTIFY
        return reasons, WaitEvent.LATCH_SET
    return WakeReason.NONE, WaitEvent.NONE


def socket_wake(b: Backend) -> tuple[WakeReason, WaitEvent]:
    """§2.6 step 8: a readable socket; EOF also counts as closed."""
    conn = b.connection
    events = WaitEvent.SOCKET_READABLE
    reasons = WakeReason.TRANSPORT
    if conn is None or conn.peek_eof() or conn.peek_terminate():  # Terminate closes like EOF
        events |= WaitEvent.SOCKET_CLOSED
        reasons |= WakeReason.CLOSED
    if b.mailbox.peek() & Interrupt.NOTIFY.bit:
        reasons |= WakeReason.NOTIFY
    return reasons, events


def wait_readable(rt: Runtime, backends: list[Backend], *, at_once: bool = False) -> list[Backend]:
    """§2.6 steps 5-7: select() on the backends' sockets for at most one poll period (0 when
    controlled or `at_once`, and no longer than the nearest timeout); the readable ones."""
    polling = {b.connection.fileno(): b for b in backends if b.connection is not None}
    if not polling:
        return []
    timeout = 0.0 if rt.controlled or at_once else rt.config.poll_timeout_ms / 1000.0
    for b in polling.values():
        delay = b.timeouts.delay()
        if delay is not None:
            timeout = min(timeout, delay)
    try:
        readable = fdwait.wait(list(polling), timeout)
    except (OSError, ValueError):
        return []  # a socket went away: the re-check of step 9 marks STALE_TRANSPORT
    return [polling[fd] for fd in readable]


def mark_wake(b: Backend, generation: int, reasons: WakeReason, events: WaitEvent) -> bool:
    """T7 `PgBackendMarkProtocolReadParkWake`: only the exclusive holder calls it (S19)."""
    if b.ps is not ParkState.COMMITTED or b.spec.generation != generation:
        return False
    if b.wake_generation == 0:
        b.woken_at = time.monotonic()
    b.wake_reasons |= reasons
    b.wake_events |= events
    b.wake_generation = generation
    if reasons & WakeReason.NOTIFY:
        b.notify_wake_generation = b.mailbox.notify_generation
    return True


def poll_take(carrier: Carrier) -> int:
    """T5 for every parked backend (max_backends = all)."""
    rt = carrier.rt
    with rt.recorder.step(Action.POLL_TAKE, c=carrier, locked=True) as st:
        # §2.5 priority, re-checked under the lock: work that arrived since the carrier
        # looked goes first (free-running mode; a controlled peek is never stale).
        if rt.scheduler.leasable_by(carrier) is not None or rt.peek_new_connection() is not None:
            st.suppress = True
            return 0
        carrier.batch = rt.scheduler.take_parked_locked(limit=1 << 30)
        carrier.taken = [(b, b.spec.generation) for b in carrier.batch]  # step 9 re-checks these (poll_steps)
        if carrier.batch:
            carrier.loc = CarrierLoc.POLLING
        else:
            st.suppress = True  # another carrier took them first: nothing happened
        st.params["batch"] = [b.index for b in carrier.batch]
        return len(carrier.batch)


def make_runnable_locked(rt: Runtime, b: Backend) -> None:
    """T8 (the caller holds the scheduler lock); the seeded bugs B1 and B8b change it."""
    sched = rt.scheduler
    if rt.mutations.wake_before_claim:  # seeded B1: enqueue without claiming the entry
        sched.runnable.append(b)
        sched.counters.runnable_count += 1
        sched.counters.runnable_enqueue_count += 1
        return
    if not sched.mark_runnable_locked(b):
        raise SchedulerError(f"could not make polled protocol backend runnable: {b}")
    if rt.mutations.runnable_to_head:  # seeded B8b: the woken backend is leased first
        sched.runnable.remove(b)
        sched.runnable.appendleft(b)


def poll_pass(carrier: Carrier) -> int:
    """§2.6 steps 2-10 for the batch taken by `poll_take`; returns how many became runnable.

    As in the model's PollPass, one pass marks every backend that is ready by an immediate
    check, by its socket, or by the re-check after the wait, and makes them runnable in batch
    order.  (The C poller returns early after immediate hits, §2.6 step 4, leaving socket-ready
    backends for the next pass; docs/reference.md lists this simplification.)
    """
    rt = carrier.rt
    batch = list(carrier.batch)
    marked: dict[int, Backend] = {}
    with contextlib.ExitStack() as order, rt.recorder.step(Action.POLL_PASS, c=carrier, others=batch) as st:

        def unmarked() -> list[Backend]:
            return [b for b in batch if b.index not in marked and b.q is QueueState.POLLING]

        def mark(b: Backend, reasons: WakeReason, events: WaitEvent) -> None:
            if rt.mutations.poller_consumes_mailbox and events & WaitEvent.LATCH_SET:
                b.mailbox.consume()  # seeded H5: edge-triggered consumption, the wake is lost
                return
            if mark_wake(b, b.spec.generation, reasons, events):  # T7
                marked[b.index] = b

        def immediate_checks(every: bool = False) -> None:
            """Step 3 (unmarked backends), or step 9 for all: wake bits accumulate (§3.4)."""
            for b in batch if every else unmarked():
                if b.q is not QueueState.POLLING:
                    continue
                reasons, events = immediate_wake(rt, b)
                if reasons:
                    mark(b, reasons, events)

        immediate_checks()
        for b in wait_readable(rt, unmarked(), at_once=bool(marked)):
            reasons, events = socket_wake(b)
            mark(b, reasons, events)
        if rt.events.enabled and not rt.controlled:
            order.enter_context(rt.events.order)  # held until the event is out (events.py)
        immediate_checks(every=True)  # step 9: interrupts/timeouts that arrived during the poll
        ready = [b for b in batch if b.index in marked]
        reparked = []
        if rt.events.enabled and not rt.controlled:
            # T8/T6 and this event under one hold of the lock: the log orders them with the
            # other locked steps as they happened.
            order.enter_context(rt.scheduler.lock)
            held: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
        else:
            held = rt.scheduler.lock
        with held:
            for b in ready:
                make_runnable_locked(rt, b)
            for b in batch:
                if b.q is QueueState.POLLING:  # (with the seeded B1 bug: the woken ones too)
                    if not rt.scheduler.repark_if_polling_locked(b):  # T6
                        raise SchedulerError(f"could not return unready protocol backend to parked queue: {b}")
                    reparked.append(b.index)
        carrier.batch = []
        carrier.loc = CarrierLoc.SCHEDULER_LOOP
        st.params["ready"] = [b.index for b in ready]
        st.params["reparked"] = reparked
    if ready:
        rt.signal_carriers(len(ready))
    return len(ready)
