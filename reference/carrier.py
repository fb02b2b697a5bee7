"""`PgCarrier`: a real OS thread that runs logical backends (§2.5 pooled, §2.8 staging).

Pooled carriers loop with the priority runnable > new connection > poll parked reads >
sleep (≤10 ms on the new-connection condition variable).  A pooled logical exit returns
the carrier to its loop (S29).  A thread-per-session (staging) carrier runs one backend,
parks it on the shared queue, waits for its own wake, leases it back (T11) and resumes it
on itself; it ends with its session.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from pgcheck.reference import fdwait
from pgcheck.reference.backend import Backend
from pgcheck.reference.events import Action
from pgcheck.reference.gate import CarrierStopped, Choice, Peek
from pgcheck.reference.mailbox import Interrupt
from pgcheck.reference.poller import immediate_wake, mark_wake, poll_pass, poll_take, socket_wake
from pgcheck.reference.poller_steps import poll_immediate, poll_recheck, poll_wait
from pgcheck.reference.scheduler import SchedulerError
from pgcheck.reference.session_step import Outcome, SessionStepper
from pgcheck.reference.states import CarrierLoc, ParkState, QueueState, WaitEvent, WakeReason
from pgcheck.reference.views import backend_view

if TYPE_CHECKING:
    from pgcheck.reference.runtime import Runtime

log = logging.getLogger("pgcheck.reference")


class Carrier(threading.Thread):
    def __init__(self, rt: Runtime, index: int, staging_backend: Backend | None = None) -> None:
        super().__init__(name=f"carrier-{index}", daemon=True)
        self.rt = rt
        self.index = index
        self.staging = staging_backend is not None
        self.staging_backend = staging_backend
        self.registered = False
        self.idle = True
        self.cur: Backend | None = None
        self.loc = CarrierLoc.SCHEDULER_LOOP
        self.batch: list[Backend] = []
        self.taken: list[tuple[Backend, int]] = []  # T5's batch with the park generations it read
        self.leased: Backend | None = None  # ghost `lease_owner` (S18)
        self.stepper = SessionStepper(self)
        self._last_slept = False

    # --- gates -------------------------------------------------------------------

    def pause(
        self, action: Action, b: Backend | None = None, ready: Callable[[], bool] | None = None
    ) -> None:
        """Stop before a step whose action is fixed; `ready` says when it is enabled."""
        gate = self.rt.gate
        if gate is not None:
            gate.wait(self, lambda: Choice(action, b) if ready is None or ready() else None)

    def choose(self, peek: Peek) -> Choice:
        """Stop before a step whose action depends on the state (`peek` decides)."""
        gate = self.rt.gate
        if gate is not None:
            return gate.wait(self, peek)
        choice = peek()
        assert choice is not None
        return choice

    # --- attach / detach (§1.2) ------------------------------------------------------

    def attach_locked(self, b: Backend) -> None:
        """`PgCarrierAttachBackend`; the caller holds the scheduler lock."""
        self.cur = b
        b.carrier = self
        b.execution.carrier = self
        self.rt.scheduler.became_active_locked(self)
        self.loc = CarrierLoc.IN_STEP

    def detach_locked(self, b: Backend) -> None:
        """`PgCarrierDetachBackend`; the caller holds the scheduler lock."""
        if self.cur is b:
            self.cur = None
        if b.carrier is self:
            b.carrier = None
        if b.execution.carrier is self:
            b.execution.carrier = None
        if self.leased is b:
            self.leased = None
        self.rt.scheduler.became_idle_locked(self)

    # --- thread body -------------------------------------------------------------------

    def run(self) -> None:
        error: BaseException | None = None
        try:
            if self.staging:
                self.staging_loop()
            else:
                self.pooled_loop()
        except CarrierStopped:
            pass
        except BaseException as exc:  # a PANIC: report it, keep the process alive
            error = exc
            log.exception("carrier %d failed", self.index)
        finally:
            self.loc = CarrierLoc.STOPPED
            with self.rt.scheduler.lock:
                self.rt.scheduler.unregister_locked(self)
            if self.rt.gate is not None:
                self.rt.gate.done(self, error)
            self.rt.carrier_finished(self, error)

    def peek_loop(self) -> Choice:
        """§2.5: runnable > new connection > poll parked reads > sleep."""
        rt = self.rt
        with rt.scheduler.lock:
            leasable = rt.scheduler.leasable_by(self)
            parked = bool(rt.scheduler.parked)
        if leasable is not None:
            return Choice(Action.LEASE_RUNNABLE, leasable)
        new = rt.peek_new_connection()
        if new is not None:
            return Choice(Action.TAKE_NEW_CONNECTION, new)
        if parked:
            return Choice(Action.POLL_TAKE)
        return Choice(Action.CARRIER_SLEEP)

    def pooled_loop(self) -> None:
        rt = self.rt
        while not rt.stopping:
            choice = self.choose(self.peek_loop)
            if choice.action is not Action.CARRIER_SLEEP:
                self._last_slept = False
            if choice.action is Action.LEASE_RUNNABLE:
                b = self.lease_runnable()
                if b is None:
                    continue
                self.pause(Action.ATTACH_LEASED, b)
                self.attach_leased(b)
                self.pause(Action.RESUME, b)
                self.stepper.resume(b)
                self.stepper.run_attached(b, resumed=True)
            elif choice.action is Action.TAKE_NEW_CONNECTION:
                b = self.take_new_connection()
                if b is None:
                    continue
                self.stepper.run_attached(b)
            elif choice.action is Action.POLL_TAKE:
                if poll_take(self):
                    self.poll_call()
            else:
                self.carrier_sleep()

    def poll_call(self) -> None:
        """The rest of one `WaitParkedReads` call after T5: one step, or three with poll_steps."""
        if not self.rt.config.poll_steps:
            self.pause(Action.POLL_PASS)
            poll_pass(self)
            return
        self.pause(Action.POLL_IMMEDIATE)
        if poll_immediate(self):
            self.pause(Action.POLL_WAIT)
            poll_wait(self)
            self.pause(Action.POLL_RECHECK)
            poll_recheck(self)

    # --- carrier-loop steps ----------------------------------------------------------------

    def lease_runnable(self) -> Backend | None:
        """T9 `…PopRunnable`."""
        with self.rt.recorder.step(Action.LEASE_RUNNABLE, c=self, locked=True) as st:
            b = self.rt.scheduler.pop_runnable_locked(self)
            if b is None:
                st.suppress = True
                return None
            self.leased = b
            self.loc = CarrierLoc.LEASING
            st.params["b"] = b.index
            st.writes[f"backend[{b.index}].q"] = b.q.value
            return b

    def attach_leased(self, b: Backend) -> None:
        """T10 `PgCarrierLeaseRunnableProtocolBackend`."""
        with self.rt.recorder.step(Action.ATTACH_LEASED, c=self, b=b, locked=True):
            if (
                b.carrier is not None
                or b.connection is None
                or b.execution.carrier is not None
                or b.ps is not ParkState.COMMITTED
                or b.q is not QueueState.LEASED
            ):
                raise SchedulerError(f"cannot lease inconsistent protocol scheduler backend: {b}")
            self.attach_locked(b)
            self.rt.scheduler.counters.carrier_lease_count += 1

    def take_new_connection(self) -> Backend | None:
        """§2.5 step 2: dequeue a logical start, attach it and run the startup
        (BackendStartSessionWithStartupData, attached) in the same step, as the model does."""
        with self.rt.recorder.step(Action.TAKE_NEW_CONNECTION, c=self, locked=True) as st:
            if self.rt.scheduler.leasable_by(self) is not None:  # runnable first (§2.5), re-checked
                st.suppress = True
                return None
            b = self.rt.pop_new_connection()
            if b is None:
                st.suppress = True
                return None
            st.params["b"] = b.index
            self.attach_locked(b)
            self.stepper.startup_output(b, self.rt.protocol_minor(b))
            b.pc = Action.TAKE_NEW_CONNECTION.value
            view = backend_view(b)
            for name in ("pc", "car", "ecar", "rfq"):
                st.writes[f"backend[{b.index}].{name}"] = view[name]
            return b

    def carrier_sleep(self) -> None:
        """§2.5 step 4: ≤10 ms on the new-connection condition variable (none in controlled mode)."""
        rt = self.rt
        with rt.recorder.step(Action.CARRIER_SLEEP, c=self) as st:
            st.suppress = self._last_slept and not rt.controlled  # stutter: log the first of a run
            if not rt.controlled:
                rt.wait_for_work(rt.config.sleep_timeout_ms / 1000.0)
        self._last_slept = True
        return

    # --- staging (§2.8) ----------------------------------------------------------------

    def staging_loop(self) -> None:
        rt = self.rt
        b = self.staging_backend
        assert b is not None
        self.pause(Action.TAKE_NEW_CONNECTION, b)
        with rt.recorder.step(Action.TAKE_NEW_CONNECTION, c=self, b=b, locked=True):
            self.attach_locked(b)
        self.pause(Action.STARTUP, b)
        self.stepper.startup(b, rt.protocol_minor(b))
        resumed = False
        while True:
            if self.stepper.run_attached(b, resumed) is Outcome.EXITED:
                return
            self.pause(Action.STAGING_WAKE, b, ready=lambda: self.staging_wake(b, 0.0)[0] != WakeReason.NONE)
            self.staging_wait(b)
            self.pause(Action.STAGING_LEASE, b)
            self.staging_lease(b)
            self.pause(Action.RESUME, b)
            self.stepper.resume(b)
            resumed = True

    def staging_wake(self, b: Backend, timeout: float) -> tuple[WakeReason, WaitEvent]:
        """`PgSessionStagingWaitProtocolRead`'s checks and one wait of at most `timeout`.

        Interrupts are pushed here: the backend latch is in the wait set (§2.8).
        """
        reasons, events = immediate_wake(self.rt, b)
        if reasons:
            return reasons, events
        conn = b.connection
        assert conn is not None
        delay = b.timeouts.delay()
        if delay is not None:
            timeout = min(timeout, delay)
        try:
            readable = fdwait.wait([conn.fileno(), b.latch.fileno()], timeout)
        except (OSError, ValueError):
            return WakeReason.STALE_TRANSPORT, WaitEvent.NONE
        if conn.fileno() in readable:
            return socket_wake(b)
        if b.latch.fileno() in readable or b.mailbox.peek():
            reasons = WakeReason.LOGICAL
            if b.mailbox.peek() & Interrupt.NOTIFY.bit:
                reasons |= WakeReason.NOTIFY
            return reasons, WaitEvent.LATCH_SET
        if b.timeouts.is_due():
            self.rt.observe_timeout_due(b)
            return WakeReason.TIMEOUT, WaitEvent.TIMEOUT
        return WakeReason.NONE, WaitEvent.NONE

    def staging_wait(self, b: Backend) -> None:
        """Detached wait for this carrier's own parked backend, then T7."""
        reasons, events = WakeReason.NONE, WaitEvent.NONE
        while not reasons:
            if self.rt.stopping:
                reasons, events = WakeReason.POSTMASTER, WaitEvent.POSTMASTER_DEATH
                break
            reasons, events = self.staging_wake(b, 0.0 if self.rt.controlled else 0.5)
        with self.rt.recorder.step(Action.STAGING_WAKE, c=self, b=b) as st:
            st.params["reasons"] = [r.name for r in WakeReason if r.value and r in reasons]
            mark_wake(b, b.spec.generation, reasons, events)

    def staging_lease(self, b: Backend) -> None:
        """T11 `…LeaseBackend` then attach to this same carrier."""
        with self.rt.recorder.step(Action.STAGING_LEASE, c=self, b=b, locked=True):
            if not self.rt.scheduler.lease_specific_locked(b):
                raise SchedulerError("could not lease protocol read park for same carrier resume")
            self.leased = b
            self.attach_locked(b)
