"""`PgRuntime`: the scheduler, the carriers, the backend registry and the postmaster.

    rt = Runtime(RuntimeConfig(carriers=4, port=54329), sink=FileSink("events.jsonl")).start()
    ...
    rt.stop()
"""

from __future__ import annotations

import contextlib
import logging
import random
import secrets
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from pgcheck.reference import protocol as pq
from pgcheck.reference.backend import Backend
from pgcheck.reference.carrier import Carrier
from pgcheck.reference.connection import Connection
from pgcheck.reference.events import INTERRUPT_NAMES, Action, EventLog, EventSink
from pgcheck.reference.gate import ControlledGate
from pgcheck.reference.mailbox import Interrupt, mask_names
from pgcheck.reference.mutations import Mutations
from pgcheck.reference.notify import NotifyHub
from pgcheck.reference.postmaster import Postmaster
from pgcheck.reference.scheduler import Scheduler
from pgcheck.reference.states import Mode
from pgcheck.reference.steps import StepRecorder
from pgcheck.reference.views import backend_view, carrier_view, scheduler_view

log = logging.getLogger("pgcheck.reference")

PID_BASE = 10000
WAKE_SAMPLES = 100_000  # wake latencies kept for measurement (the latest ones)


@dataclass
class RuntimeConfig:
    mode: Mode = Mode.POOLED
    carriers: int = 4  # `pooled_protocol_carriers` (pooled mode carrier limit)
    host: str = "127.0.0.1"
    port: int = 0  # 0: pick a free port
    affinity_enforced: bool = False  # §2.11 / S30: affine backends leased only by their parked carrier
    poll_steps: bool = False  # the poller's call as three steps (§2.6 steps 3-4, 5-8, 9-10), as the model's option
    sticky_idle_ms: int = 0  # `pooled_protocol_sticky_idle_ms` (free-running mode only)
    poll_timeout_ms: int = 10
    sleep_timeout_ms: int = 10
    body_timeout_s: float = 30.0
    handshake_timeout_s: float = 10.0
    controlled: bool = False
    seed: int = 0  # cancel keys in controlled mode
    idle_session_timeout_ms: int = 0  # server default of idle_session_timeout (0: off)
    idle_in_transaction_timeout_ms: int = 0  # server default of idle_in_transaction_session_timeout
    mutations: frozenset[str] = frozenset()  # seeded bugs, tests only (reference/mutations.py)
    server_version: str = "16.0 (pgcheck reference)"


class Runtime:
    def __init__(self, config: RuntimeConfig | None = None, sink: EventSink | None = None) -> None:
        self.config = config or RuntimeConfig()
        if self.config.host not in ("127.0.0.1", "localhost"):
            raise ValueError("the reference runtime binds 127.0.0.1 only")
        self.events = EventLog(sink)
        self.mutations = Mutations.of(self.config.mutations)
        pooled = self.config.mode is Mode.POOLED
        self.scheduler = Scheduler(self.config.carriers if pooled else 0, self.config.affinity_enforced)
        self.gate: ControlledGate | None = ControlledGate() if self.config.controlled else None
        self.recorder = StepRecorder(self)
        self.notify_hub = NotifyHub(self._signal_notify)
        self.stopping = False
        self.carriers: list[Carrier] = []
        # By index. A free-running server forgets a backend once it has exited, so memory per
        # connection is bounded under churn; a controlled run keeps them all (its snapshots
        # show every session, exited ones as `gone`, and its runs are small).
        self.backends: dict[int, Backend] = {}
        self._next_index = 0
        self.live: dict[int, Backend] = {}
        self.errors: list[BaseException] = []
        # first accepted T7 of a park to its T12, in ms (measurement only; appended by the
        # resuming carrier, list.append is atomic)
        self.wake_latencies_ms: deque[float] = deque(maxlen=WAKE_SAMPLES)
        self._registry_lock = threading.Lock()
        self._admit_lock = threading.Lock()  # the postmaster's launch decisions are serial
        self._queue_lock = threading.Lock()
        self._queue_cond = threading.Condition(self._queue_lock)
        self.new_connections: deque[Backend] = deque()
        self._rng = random.Random(self.config.seed)
        self.listener: socket.socket | None = None
        self.postmaster: Postmaster | None = None

    @property
    def controlled(self) -> bool:
        return self.config.controlled

    @property
    def connections_served(self) -> int:
        """Backends created so far (indices 0 .. n-1), exited ones included."""
        return self._next_index

    @property
    def port(self) -> int:
        assert self.listener is not None, "start() the runtime first"
        return int(self.listener.getsockname()[1])

    def _signal_notify(self, target: Backend, sender: Backend) -> None:
        if target is sender:
            # The sender is the current backend on this thread (§2.9: InterruptPending is set
            # directly): the notification goes out before its ReadyForQuery, as psql expects.
            target.session.notify_pending = True
            return
        self.send_interrupt(target, Interrupt.NOTIFY, sender)

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> Runtime:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.config.port))
        listener.listen(256)
        self.listener = listener
        if not self.controlled:
            self.postmaster = Postmaster(self, listener)
            self.postmaster.start()
        log.info(
            "reference runtime listening on 127.0.0.1:%d (%s, carriers=%d)",
            self.port,
            self.config.mode.value,
            self.config.carriers,
        )
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, end every session (EOF) and join the carrier threads."""
        self.stopping = True
        if self.gate is not None:
            self.gate.stop()
        if self.listener is not None:
            self.listener.close()
        if not self.controlled:
            self._terminate_sessions(min(timeout, 2.0))
        with self._registry_lock:
            live = list(self.live.values())
        for b in live:
            conn = b.connection
            if conn is not None and not conn.closed:
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_RDWR)
            b.latch.set()
        with self._queue_cond:
            self._queue_cond.notify_all()
        for c in list(self.carriers):
            # start_carrier registers a carrier before it starts it (§2.3): one may not have
            # started yet when stop() runs; wait (bounded) for it to start, then join it.
            deadline = time.monotonic() + timeout
            while c.ident is None and time.monotonic() < deadline:
                time.sleep(0.001)
            if c.ident is not None:
                c.join(timeout)
        for b in live:  # sessions no carrier will run again (e.g. left runnable at stop)
            if b.connection is not None and not b.exited:
                b.connection.close()
        for b in self.new_connections:
            if b.connection is not None:
                b.connection.close()
        if self.postmaster is not None:
            self.postmaster.join(timeout)
        with self._registry_lock:
            for b in self.backends.values():  # latch pipes of sessions that never exited
                b.latch.close()
        self.events.close()

    def _terminate_sessions(self, timeout: float) -> None:
        """Fast shutdown: every live session gets PROC_DIE and ends with FATAL 57P01 (a
        pg_sleep too, rather than finishing its row); sessions not gone by `timeout` get EOF."""
        with self._registry_lock:
            live = list(self.live.values())
        for b in live:
            if not b.exited:
                self.send_interrupt(b, Interrupt.PROC_DIE)
        self.wait_sessions_ended(timeout)

    def wait_sessions_ended(self, timeout: float) -> bool:
        """Wait until every session has exited (clients sent Terminate or closed); True if so."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._registry_lock:
                if not self.live:
                    return True
            time.sleep(0.01)
        return False

    def __enter__(self) -> Runtime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- postmaster side ------------------------------------------------------------------

    def parameter_status(self) -> list[tuple[str, str]]:
        return [
            ("server_version", self.config.server_version),
            ("server_encoding", "UTF8"),
            ("client_encoding", "UTF8"),
            ("DateStyle", "ISO, MDY"),
            ("integer_datetimes", "on"),
            ("standard_conforming_strings", "on"),
            ("TimeZone", "UTC"),
            ("application_name", ""),
        ]

    def protocol_minor(self, b: Backend) -> int:
        return b.startup_minor

    def admit(self, sock: socket.socket, packet: pq.StartupPacket) -> Backend | None:
        """A startup packet arrived: cancel, reject, or queue a logical start."""
        if packet.code == pq.CANCEL_REQUEST_CODE:
            pid, key = pq.parse_cancel(packet.body)
            self.cancel(pid, key)
            sock.close()
            return None
        if packet.major != 3:
            sock.sendall(pq.error_response("FATAL", "0A000", "unsupported frontend protocol"))
            sock.close()
            return None
        if self.stopping:
            sock.close()
            return None
        with self._registry_lock:
            index = self._next_index
            self._next_index += 1
            secret = self._rng.getrandbits(31) if self.controlled else secrets.randbits(31)
            b = Backend(index, PID_BASE + index, secret, Connection(sock), use_clock=not self.controlled)
            b.startup_minor = packet.minor
            b.session.user = packet.parameters.get("user", "")
            b.session.database = packet.parameters.get("database", b.session.user)
            self.backends[index] = b
            self.live[b.pid] = b
        if self.config.mode is Mode.THREAD_PER_SESSION:
            self.events.emit(Action.CLIENT_CONNECT, {"b": b.index}, {})
            self.start_carrier(staging_backend=b)
            return b
        # §2.5 arrival: enqueue, then demand-start a carrier if the pool is empty or queued
        # starts outnumber idle carriers.  The decision is taken under the scheduler and queue
        # locks (that order, as in TakeNewConnection) so that the events it emits are exact.
        started: Carrier | None = None
        with self._admit_lock, self.scheduler.lock, self._queue_cond:
            self.new_connections.append(b)
            queued = len(self.new_connections)
            self.events.emit(
                Action.CLIENT_CONNECT, {"b": b.index}, {"postmaster.new": [x.index for x in self.new_connections]}
            )
            self._queue_cond.notify()
            idle = self.scheduler.counters.idle_carrier_count
            if not self.carriers or (len(self.carriers) < self.config.carriers and queued > idle):
                started = self._new_carrier_locked(None)
        if started is not None:
            started.start()
        return b

    def _new_carrier_locked(self, staging_backend: Backend | None) -> Carrier:
        """Register a new carrier (§2.3 Register); the caller holds the scheduler lock."""
        c = Carrier(self, len(self.carriers), staging_backend)
        if not self.scheduler.register_locked(c):
            raise RuntimeError("carrier limit reached")
        self.carriers.append(c)
        if self.gate is not None:
            self.gate.add(c)
        if staging_backend is None:
            k = self.scheduler.counters
            self.events.emit(
                Action.START_CARRIER,
                {"c": c.index},
                {
                    f"carrier[{c.index}].reg": True,
                    f"carrier[{c.index}].idle": True,
                    "scheduler.registered": k.registered_carrier_count,
                    "scheduler.idle": k.idle_carrier_count,
                },
            )
        return c

    def start_carrier(self, staging_backend: Backend | None = None) -> Carrier:
        """Demand-start one carrier thread (registered before it runs, §2.3 Register)."""
        with self.scheduler.lock:
            c = self._new_carrier_locked(staging_backend)
        c.start()
        return c

    def peek_new_connection(self) -> Backend | None:
        with self._queue_lock:
            return self.new_connections[0] if self.new_connections else None

    def pop_new_connection(self) -> Backend | None:
        with self._queue_lock:
            return self.new_connections.popleft() if self.new_connections else None

    def signal_carriers(self, n: int) -> None:
        with self._queue_cond:
            self._queue_cond.notify(n)

    def wait_for_work(self, timeout: float) -> None:
        with self._queue_cond:
            if not self.new_connections and not self.stopping:
                self._queue_cond.wait(timeout)

    def carrier_finished(self, c: Carrier, error: BaseException | None) -> None:
        if error is not None:
            self.errors.append(error)

    # --- backends ----------------------------------------------------------------------

    def backend_by_pid(self, pid: int) -> Backend | None:
        with self._registry_lock:
            return self.live.get(pid)

    def unregister_backend(self, b: Backend) -> None:
        with self._registry_lock:
            self.live.pop(b.pid, None)
            if not self.controlled:
                self.backends.pop(b.index, None)
        b.latch.close()

    def send_interrupt(self, b: Backend, kind: Interrupt, sender: Backend | None = None) -> None:
        """`SendInterrupt` (§2.9): set the mailbox bit, SetLatch if newly set or NOTIFY."""
        if b.exited:
            return
        params: dict[str, Any] = {"b": b.index, "kind": INTERRUPT_NAMES[kind.name]}
        if sender is not None:
            params["by"] = sender.index
        with self.events.order:  # the bit and its event together (linearization, events.py)
            newly = b.mailbox.send(kind)
            self.events.emit(
                Action.SEND_INTERRUPT,
                params,
                {f"backend[{b.index}].mbox": mask_names(b.mailbox.peek())},
            )
        if newly:
            b.latch.set()

    def cancel(self, pid: int, key: int) -> bool:
        """A CancelRequest: QUERY_CANCEL to the backend if the secret key matches."""
        b = self.backend_by_pid(pid)
        if b is None or b.secret != key:
            log.info("cancel request for pid %d ignored (no such backend or wrong key)", pid)
            return False
        self.send_interrupt(b, Interrupt.QUERY_CANCEL)
        return True

    def terminate_backend(self, pid: int) -> bool:
        """pg_terminate_backend: PROC_DIE; the session ends with FATAL 57P01 once attached (L5)."""
        b = self.backend_by_pid(pid)
        if b is None:
            return False
        self.send_interrupt(b, Interrupt.PROC_DIE)
        return True

    def reload_config(self) -> None:
        with self._registry_lock:
            live = list(self.live.values())
        for b in live:
            self.send_interrupt(b, Interrupt.CONFIG_RELOAD)

    def observe_timeout_due(self, b: Backend) -> None:
        """Report TimeoutDue(b) once per armed timeout, when first seen due (free-running mode)."""
        if self.controlled or b.timeout_observed_generation == b.timeouts.generation:
            return
        b.timeout_observed_generation = b.timeouts.generation
        self.events.emit(Action.TIMEOUT_DUE, {"b": b.index}, {f"backend[{b.index}].tdue": True})

    # --- abstract state --------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The abstract state in model terms: carriers, backends, scheduler."""
        with self.scheduler.lock:
            sched = scheduler_view(self.scheduler)
            carriers = [carrier_view(c) for c in self.carriers]
            with self._registry_lock:
                backends = [backend_view(self.backends[i]) for i in sorted(self.backends)]
        with self._queue_lock:
            sched["new_connections"] = [b.index for b in self.new_connections]
        sched["carrier_limit"] = self.scheduler.carrier_limit
        return {"carriers": carriers, "backends": backends, "scheduler": sched}
