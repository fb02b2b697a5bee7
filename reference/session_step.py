"""The session step of an attached backend (§2.7) and the park/resume path (T1-T4, T12).

`SessionStepper.run_attached` runs the protocol loop for the backend currently attached
to its carrier until the backend parks at the protocol boundary or exits.  Every
instrumented step is preceded by a gate (`carrier.pause`/`carrier.choose`) and recorded
as one event.
"""

from __future__ import annotations

import contextlib
import time
from enum import StrEnum
from typing import TYPE_CHECKING

from pgcheck.reference import protocol as pq
from pgcheck.reference import sql
from pgcheck.reference.backend import Backend, ParkSpec
from pgcheck.reference.connection import ConnectionClosed, ProbeResult
from pgcheck.reference.events import Action
from pgcheck.reference.executor import ExecResult, QueryWork, Work, finish_sleep
from pgcheck.reference.extended import ExtendedBatch
from pgcheck.reference.gate import Choice
from pgcheck.reference.mailbox import Interrupt, mask_names
from pgcheck.reference.scheduler import SchedulerError
from pgcheck.reference.states import CarrierLoc, ParkState, QueueState, WaitEvent, WakeReason
from pgcheck.reference.timeouts import TimeoutKind

if TYPE_CHECKING:
    from pgcheck.reference.carrier import Carrier

MBOX = frozenset({"mbox"})
FATAL_TERMINATED = ("57P01", "terminating connection due to administrator command")
FATAL_IDLE_SESSION = ("57P05", "terminating connection due to idle-session timeout")
FATAL_IDLE_IN_XACT = ("25P03", "terminating connection due to idle-in-transaction timeout")


class Outcome(StrEnum):
    PARKED = "parked"
    EXITED = "exited"


class SessionStepper:
    def __init__(self, carrier: Carrier) -> None:
        self.c = carrier
        self.rt = carrier.rt

    # --- helpers ---------------------------------------------------------------

    def _send(self, b: Backend, data: bytes) -> None:
        if not data:
            return
        try:
            b.send_output(data)
        except ConnectionClosed:
            self._lost_client(b)

    def _lost_client(self, b: Backend) -> None:
        b.exiting = True
        b.exit_error = None

    def _fatal(self, b: Backend, code_text: tuple[str, str]) -> None:
        """ereport(FATAL): the message goes out now; the exit follows at LogicalExit."""
        if b.exiting:
            return
        b.exiting = True
        b.exit_error = pq.error_response("FATAL", code_text[0], code_text[1])
        conn = b.connection
        if conn is not None and not conn.closed:
            with contextlib.suppress(ConnectionClosed, OSError):
                conn.send(b.exit_error, timeout=2.0)

    def _deliver_notifications(self, b: Backend) -> int:
        """ProcessNotifyInterrupt: write pending notifications (only outside a transaction, S24)."""
        assert not b.session.in_transaction_block or self.rt.mutations.notify_in_xact
        items = b.take_inbox()
        b.session.notify_pending = False
        self._send(b, b"".join(pq.notification_response(n.sender_pid, n.channel, n.payload) for n in items))
        return len(items)

    def _apply_interrupts(self, b: Backend, bits: int) -> None:
        """Map consumed mailbox bits to their effect (PgCurrentBackendApplyInterrupts).

        QUERY_CANCEL is handled by the caller: a no-op while idle (§3.2), an error in Execute.
        """
        if bits & Interrupt.PROC_DIE.bit:
            self._fatal(b, FATAL_TERMINATED)
        if bits & Interrupt.CONFIG_RELOAD.bit:
            b.session.reload_count += 1
        if bits & Interrupt.NOTIFY.bit:
            b.session.notify_pending = True

    # --- the loop -----------------------------------------------------------------

    def run_attached(self, b: Backend, resumed: bool = False) -> Outcome:
        """The protocol loop; after a resume it enters at the wake service (§3.4), else at the top."""
        c = self.c
        at_top = not resumed
        while True:
            if b.exiting:
                c.pause(Action.LOGICAL_EXIT, b)
                self.logical_exit(b)
                return Outcome.EXITED
            if at_top:
                c.pause(Action.STEP_TOP, b)
                self.step_top(b)
            else:
                c.pause(Action.SERVICE_WAKES, b)
                self.service_wakes(b)
            at_top = False
            if b.exiting:
                continue
            choice = c.choose(lambda: self.peek_probe(b))
            if choice.action is Action.READ_EOF:  # SocketBackendHandleEOF
                self.read_eof(b)
                continue
            if choice.action is Action.CONSUME_TYPE_BYTE:
                self.consume_type_byte(b)
                c.pause(Action.READ_BODY, b, ready=lambda: self.body_ready(b))
                self.read_body(b)
                if not b.exiting:
                    self.run_message(b)
                at_top = True
                continue
            # PREPARE_PARK
            if not self.prepare_park(b):
                continue
            if self.rt.mutations.detach_before_unwind:  # seeded S11 bug
                c.pause(Action.DETACH, b)
                self.detach(b)
            c.pause(Action.UNWIND_STEP, b)
            self.unwind_step(b)
            c.pause(Action.COMMIT_PARK, b)
            self.commit_park(b)
            c.pause(Action.DETACH, b)
            self.detach(b)
            c.pause(Action.ENQUEUE_PARK, b)
            self.enqueue_park(b)
            return Outcome.PARKED

    def body_ready(self, b: Backend) -> bool:
        conn = b.connection
        if conn is not None and b.session.doing_extended_query_message:
            return conn.batch_ready(b.pending_type or b"")
        return conn is None or conn.body_ready()

    def peek_probe(self, b: Backend) -> Choice:
        """§2.7 4b/4c: probe, with sticky idle in free-running mode."""
        conn = b.connection
        if conn is None:
            return Choice(Action.READ_EOF, b)
        result = conn.probe()
        sticky = self.rt.config.sticky_idle_ms
        if result is ProbeResult.NONE and sticky > 0 and not self.rt.controlled:
            wait = sticky / 1000.0
            delay = b.timeouts.delay()
            if delay is not None:
                wait = min(wait, delay)
            conn.wait_readable(wait)
            result = conn.probe()
        if result is ProbeResult.AVAILABLE:
            # Terminate ('X') ends the session like EOF: no reply, the step returns DONE (§2.7 5)
            return Choice(Action.READ_EOF if conn.inbuf[:1] == b"X" else Action.CONSUME_TYPE_BYTE, b)
        if result is ProbeResult.EOF:
            return Choice(Action.READ_EOF, b)
        return Choice(Action.PREPARE_PARK, b)

    # --- steps ------------------------------------------------------------------------

    def startup(self, b: Backend, minor: int) -> None:
        """Thread-per-session: the own carrier runs the startup as a step of its own."""
        with self.rt.recorder.step(Action.STARTUP, c=self.c, b=b):
            self.startup_output(b, minor)

    def startup_output(self, b: Backend, minor: int) -> None:
        """AuthenticationOk, ParameterStatus, BackendKeyData; ReadyForQuery becomes due."""
        out = bytearray()
        if minor > 0:
            out += pq.negotiate_protocol_version(0, [])
        out += pq.authentication_ok()
        for name, value in self.rt.parameter_status():
            out += pq.parameter_status(name, value)
        out += pq.backend_key_data(b.pid, b.secret)
        b.session.send_ready_for_query = True
        b.timeouts.idle_session_ms = self.rt.config.idle_session_timeout_ms  # server GUC defaults
        b.timeouts.idle_in_transaction_ms = self.rt.config.idle_in_transaction_timeout_ms
        self._send(b, bytes(out))

    def step_top(self, b: Backend) -> None:
        """§2.7 steps 2-3 then 4a, one step as in the model: deliver notifications outside a
        transaction, arm the idle timeout, ReadyForQuery; doing_command_read; service wakes."""
        s = b.session
        with self.rt.recorder.step(Action.STEP_TOP, c=self.c, b=b, owns=MBOX | {"tdue"}) as st:
            if s.send_ready_for_query:
                t = b.timeouts
                if s.in_transaction_block:
                    if t.idle_in_transaction_ms > 0:
                        t.enable(TimeoutKind.IDLE_IN_TRANSACTION, t.idle_in_transaction_ms)
                else:
                    if s.notify_pending:  # ProcessNotifyInterrupt(false) before ReadyForQuery
                        st.params["notified"] = self._deliver_notifications(b)
                    if t.idle_session_ms > 0:
                        t.enable(TimeoutKind.IDLE_SESSION, t.idle_session_ms)
                status = s.transaction_status
                st.params["rfq"] = status
                s.send_ready_for_query = False
                self._send(b, pq.ready_for_query(status))
            s.doing_command_read = True
            s.step_error_boundary_active = True
            self._service(b, st.params)

    def service_wakes(self, b: Backend) -> None:
        """§2.7 4a `PgSessionServiceProtocolReadWake` after a resume (the wake service contract)."""
        with self.rt.recorder.step(Action.SERVICE_WAKES, c=self.c, b=b, owns=MBOX | {"tdue"}) as st:
            self._service(b, st.params)

    def _service(self, b: Backend, params: dict[str, object]) -> None:
        """Consume the mailbox, fire a due timeout (S22: only attached), deliver a notification
        outside a transaction or defer it inside one (T14), else clear the deferral (T15)."""
        s = b.session
        t = b.timeouts
        bits = b.mailbox.consume()
        if bits:
            params["consumed"] = mask_names(bits)
        self._apply_interrupts(b, bits)
        if t.is_due():  # process_due_logical_timeouts
            self.rt.observe_timeout_due(b)
            kind = t.active
            t.disable()
            params["fired"] = None if kind is None else kind.value
            self._fatal(b, FATAL_IDLE_SESSION if kind is TimeoutKind.IDLE_SESSION else FATAL_IDLE_IN_XACT)
        if b.exiting:
            t.disable()  # the session ends: no timeout stays armed
            return
        if s.notify_pending and (not s.in_transaction_block or self.rt.mutations.notify_in_xact):
            params["notified"] = self._deliver_notifications(b)
        if s.notify_pending:
            self._mark_deferred_notify(b)  # T14
        else:  # T15
            b.deferred_notify_generation = 0
            b.deferred_notify_park_generation = 0
            b.deferred_notify_reasons = WakeReason.NONE

    def _mark_deferred_notify(self, b: Backend) -> None:
        """T14 `PgBackendMarkProtocolReadParkDeferredNotify`."""
        ngen = b.mailbox.notify_generation
        reasons = b.last_wake_reasons | WakeReason.NOTIFY
        if ngen == 0:
            return
        if b.deferred_notify_generation == ngen:
            b.deferred_notify_reasons |= reasons
        else:
            b.deferred_notify_generation = ngen
            b.deferred_notify_park_generation = b.last_wake_generation
            b.deferred_notify_reasons = reasons

    def consume_type_byte(self, b: Backend) -> None:
        """§2.7 4e/5: the byte pins the backend to this carrier until the command ends (S9).
        CHECK_FOR_INTERRUPTS runs at the start of Execute, as in the model."""
        conn = b.connection
        assert conn is not None
        with self.rt.recorder.step(Action.CONSUME_TYPE_BYTE, c=self.c, b=b) as st:
            b.pending_type = conn.take_type_byte()
            st.params["type"] = b.pending_type.decode("latin-1")
            b.mid_msg = True
            b.byte_carrier = self.c
            # an extended-query batch keeps the carrier until its Sync is processed (S9)
            b.session.doing_extended_query_message = b.pending_type in pq.EXTENDED_TYPES
            b.timeouts.disable()  # disable idle timeouts
            b.session.doing_command_read = False

    def read_eof(self, b: Backend) -> None:
        """§2.7 4e `SocketBackendHandleEOF`: the client went away; the step returns DONE (L6)."""
        with self.rt.recorder.step(Action.READ_EOF, c=self.c, b=b):
            self._lost_client(b)

    def read_body(self, b: Backend) -> None:
        conn = b.connection
        assert conn is not None
        with self.rt.recorder.step(Action.READ_BODY, c=self.c, b=b) as st:
            timeout = 0.0 if self.rt.controlled else self.rt.config.body_timeout_s
            try:
                if b.session.doing_extended_query_message:
                    b.pending_batch = conn.read_batch(b.pending_type or b"", timeout)
                    st.params["len"] = sum(5 + len(body) for _, body in b.pending_batch) - 1
                else:
                    b.pending_body = conn.read_body(timeout)
                    st.params["len"] = len(b.pending_body)
            except ConnectionClosed:
                self._lost_client(b)
            except pq.ProtocolViolation as exc:
                self._fatal(b, ("08P01", str(exc)))

    def run_message(self, b: Backend) -> None:
        """Dispatch one frontend message: Execute (which may start a deep wait), then further
        Execute steps for the statements after a pg_sleep."""
        c = self.c
        work: Work | None = None
        first = True
        while True:
            c.pause(Action.EXECUTE, b)
            with self.rt.recorder.step(Action.EXECUTE, c=c, b=b, owns=MBOX) as st:
                if first:
                    first = False
                    work = self._start_message(b, st.params) if self._check_interrupts(b, st.params) else None
                else:
                    st.params["continued"] = True
                if work is not None and not b.exiting:
                    result = self._run_work(b, work)
                    self._send(b, result.output)
                    b.sleep_request = result.sleep
                    b.deep_wait = result.sleep is not None  # pinned (S12)
                if b.sleep_request is None:
                    self._end_message(b)
            if b.exiting or b.sleep_request is None or work is None:
                return
            canceled = self.deep_wait(b, work)
            if b.exiting or canceled or not work.more:
                return

    def _run_work(self, b: Backend, work: Work) -> ExecResult:
        try:
            return work.run(b, self.rt.notify_hub)
        except pq.ProtocolViolation as exc:  # a malformed extended-query body
            self._fatal(b, ("08P01", str(exc)))
            return ExecResult()

    def _check_interrupts(self, b: Backend, params: dict[str, object]) -> bool:
        """CHECK_FOR_INTERRUPTS before dispatch: a terminate exits, a cancel fails the message
        (57014).  Returns False when the message must not run."""
        bits = b.mailbox.consume()
        if bits:
            params["consumed"] = mask_names(bits)
        self._apply_interrupts(b, bits)
        if b.exiting:
            return False
        if bits & Interrupt.QUERY_CANCEL.bit:
            params["msg"] = "canceled"
            self._send(b, finish_sleep(b, canceled=True))
            return False
        return True

    def _start_message(self, b: Backend, params: dict[str, object]) -> Work | None:
        body = b.pending_body or b""
        t = b.pending_type
        if t == b"X":
            params["msg"] = "Terminate"
            b.exiting = True
            b.exit_error = None
            return None
        if b.pending_batch is not None:
            batch = ExtendedBatch(b.pending_batch)
            params["msg"] = "Extended"
            params["types"] = "".join(kind.decode("latin-1") for kind, _ in b.pending_batch)
            params["sql"] = batch.statement_text(b)
            return batch
        if t == b"Q":
            params["msg"] = "Query"
            # exec_simple_query: pq_getmsgstring, then pq_getmsgend: exactly one NUL-terminated
            # string; a body without its NUL (or with bytes after it) is not executed.
            if not body.endswith(b"\0") or b"\0" in body[:-1]:
                self._fatal(b, ("08P01", "invalid string in message"))
                return None
            text = body[:-1].decode("utf-8", "replace")
            params["sql"] = text
            statements = sql.split_statements(text)
            if not statements:
                self._send(b, pq.empty_query_response())
            return QueryWork(statements)
        params["msg"] = repr(t)
        self._fatal(b, ("08P01", f"invalid frontend message type {t!r}"))
        return None

    def _end_message(self, b: Backend) -> None:
        b.mid_msg = False
        b.byte_carrier = None
        b.pending_type = None
        b.pending_body = None
        b.pending_batch = None
        b.session.doing_extended_query_message = False
        b.session.send_ready_for_query = True

    def deep_wait(self, b: Backend, work: Work) -> bool:
        """pg_sleep: a deep wait that keeps the carrier pinned (S12).

        SendInterrupt sets the latch and wakes the wait: DeepWaitWake runs CHECK_FOR_INTERRUPTS
        (the whole mailbox); a cancel ends the statement, a terminate the session, anything else
        (NOTIFY, reload) only sets its flag and the wait goes on.  DeepWaitElapsed ends it by
        time.  Returns True if the statement was canceled.
        """
        c = self.c
        deadline = time.monotonic() + (b.sleep_request or 0.0)

        def ending() -> Choice:
            woken = bool(b.mailbox.peek()) or self.rt.stopping
            return Choice(Action.DEEP_WAIT_WAKE if woken else Action.DEEP_WAIT_ELAPSED, b)

        while True:
            if not self.rt.controlled:
                while not self.rt.stopping:
                    b.latch.reset()
                    remaining = deadline - time.monotonic()
                    if b.mailbox.peek() or remaining <= 0:
                        break
                    b.latch.wait(min(remaining, 0.2))
            action = c.choose(ending).action
            if action is Action.DEEP_WAIT_ELAPSED:
                with self.rt.recorder.step(action, c=c, b=b) as st:
                    st.params["result"] = "completed"
                    self._end_deep_wait(b, work, canceled=False)
                return False
            with self.rt.recorder.step(action, c=c, b=b, owns=MBOX) as st:  # the latch woke it
                bits = b.mailbox.consume()
                canceled = bool(bits & Interrupt.QUERY_CANCEL.bit)
                self._apply_interrupts(b, bits)
                if self.rt.stopping:
                    self._fatal(b, FATAL_TERMINATED)
                result = "terminated" if b.exiting else "canceled" if canceled else "waiting"
                st.params["result"] = result
                if b.exiting:
                    b.deep_wait = False
                    b.sleep_request = None
                elif canceled:
                    self._end_deep_wait(b, work, canceled=True)
            if result != "waiting":
                return canceled

    def _end_deep_wait(self, b: Backend, work: Work, canceled: bool) -> None:
        b.deep_wait = False
        b.sleep_request = None
        try:
            self._send(b, work.after_sleep(b, self.rt.notify_hub, canceled))
        except pq.ProtocolViolation as exc:
            self._fatal(b, ("08P01", str(exc)))
        if canceled or not work.more:
            self._end_message(b)

    # --- park (T1-T4) ------------------------------------------------------------------

    def prepare_park(self, b: Backend) -> bool:
        """T1 `PgBackendPrepareProtocolReadPark`."""
        conn = b.connection
        s = b.session
        with self.rt.recorder.step(Action.PREPARE_PARK, c=self.c, b=b) as st:
            if (
                conn is None
                or not s.doing_command_read
                or b.mid_msg
                or conn.comm_reading_msg
                or s.doing_extended_query_message  # S9: not between a batch's messages
            ):
                st.params["prepared"] = False
                return False
            if b.ps not in (ParkState.NONE, ParkState.COMMITTED) or b.carrier is not self.c:
                raise SchedulerError(f"prepare on {b} from carrier {self.c.index}")
            b.next_generation += 1
            b.spec = ParkSpec(
                generation=b.next_generation,
                transport_wait_events=WaitEvent.SOCKET_READABLE,
                transport_buffered_input=conn.buffered_input,
                transport_generation=conn.transport_generation,
                timeout_wake_at=b.timeouts.next_wake(),
                timeout_generation=b.timeouts.generation,
            )
            b.wake_reasons = WakeReason.NONE
            b.wake_events = WaitEvent.NONE
            b.wake_generation = 0
            b.notify_wake_generation = 0
            b.ps = ParkState.PREPARED
            return True

    def unwind_step(self, b: Backend) -> None:
        """T2: the step frame returns PG_STEP_PARK_PROTOCOL_READ and unwinds (S11)."""
        with self.rt.recorder.step(Action.UNWIND_STEP, c=self.c, b=b):
            b.session.step_error_boundary_active = False

    def commit_park(self, b: Backend) -> None:
        """T3, field half."""
        conn = b.connection
        with self.rt.recorder.step(Action.COMMIT_PARK, c=self.c, b=b):
            if b.ps is not ParkState.PREPARED or b.carrier is not self.c:
                raise SchedulerError(f"commit of {b} that is not prepared on carrier {self.c.index}")
            if b.mid_msg or (conn is not None and conn.comm_reading_msg):
                raise SchedulerError("cannot commit protocol read park during active message read")
            b.ps = ParkState.COMMITTED
            b.parked_carrier = self.c
            b.committed_at = time.monotonic()

    def detach(self, b: Backend) -> None:
        """T3, detach half (`PgCarrierDetachBackend`)."""
        with self.rt.recorder.step(Action.DETACH, c=self.c, b=b, locked=True):
            self.c.detach_locked(b)
            self.c.loc = CarrierLoc.COMMITTING  # the commit window (S8, H5)

    def enqueue_park(self, b: Backend) -> None:
        """T4 `PgRuntimeProtocolSchedulerParkBackend`."""
        with self.rt.recorder.step(Action.ENQUEUE_PARK, c=self.c, b=b, locked=True):
            self.rt.scheduler.park_locked(b)
            self.c.loc = CarrierLoc.STAGING_WAIT if self.c.staging else CarrierLoc.SCHEDULER_LOOP

    # --- resume (T12) and exit (T13) -----------------------------------------------------

    def resume(self, b: Backend) -> None:
        """T12 `PgBackendResumeProtocolReadPark`."""
        with self.rt.recorder.step(Action.RESUME, c=self.c, b=b, locked=True) as st:
            if b.carrier is not self.c or b.ps is not ParkState.COMMITTED or b.q is not QueueState.LEASED:
                raise SchedulerError(f"resume of inconsistent backend {b} on carrier {self.c.index}")
            if b.wake_generation not in (0, b.spec.generation):
                raise SchedulerError(f"resume of {b} with stale wake generation {b.wake_generation}")
            st.params["migrated"] = b.parked_carrier is not None and b.parked_carrier is not self.c
            self.rt.scheduler.record_resume_locked(b, self.c)
            now = time.monotonic()
            if b.committed_at is not None:
                b.last_park_duration_ms = int((now - b.committed_at) * 1000)
            if b.woken_at is not None:
                self.rt.wake_latencies_ms.append((now - b.woken_at) * 1000.0)
                b.woken_at = None
            b.last_wake_reasons = b.wake_reasons
            b.last_wake_events = b.wake_events
            b.last_wake_generation = b.wake_generation
            latch_wake = bool(b.wake_events & WaitEvent.LATCH_SET)
            b.ps = ParkState.NONE
            b.spec = ParkSpec()
            b.wake_reasons = WakeReason.NONE
            b.wake_events = WaitEvent.NONE
            b.wake_generation = 0
            b.notify_wake_generation = 0
            b.committed_at = None
            b.parked_carrier = None
            b.q = QueueState.NONE
            if latch_wake:
                b.latch.reset()
            self.c.loc = CarrierLoc.IN_STEP

    def logical_exit(self, b: Backend) -> None:
        """`backend_pooled_protocol_exit_logical`: T13, close, unpublish, detach (S28, S29)."""
        conn = b.connection
        if conn is not None:
            conn.close()  # the FATAL, if any, went out when it was raised
        self.rt.notify_hub.unlisten(b, "*")
        with self.rt.recorder.step(Action.LOGICAL_EXIT, c=self.c, b=b, locked=True) as st:
            fatal = None if b.exit_error is None else pq.parse_error_fields(b.exit_error[5:])
            st.params["fatal"] = None if fatal is None else fatal.code
            self.rt.scheduler.remove_locked(b)
            b.timeouts.disable()
            b.ps = ParkState.NONE
            b.mid_msg = False
            b.deep_wait = False
            b.exited = True
            self.c.detach_locked(b)
            self.c.loc = CarrierLoc.EXITING if self.c.staging else CarrierLoc.SCHEDULER_LOOP
        self.rt.unregister_backend(b)
