"""Controlled mode: a test chooses which carrier takes the next step.

    ctl = ControlledRuntime(carriers=2)
    alice = ctl.connect()            # ClientConnect; the postmaster role runs in the caller
    ctl.run_until_quiet()            # or: for c, action in ctl.enabled(): ... ctl.step(c)
    alice.send_query("SELECT 1")     # ClientSendByte + ClientSendBody, arrival guaranteed
    ctl.run_until_quiet()
    assert alice.messages()[-1] == (b"Z", b"I")
    ctl.close()

Determinism: every carrier thread blocks at a gate before each step and only one runs at
a time; clocks are replaced by explicit steps (TimeoutDue, DeepWaitElapsed, a zero poll
timeout, no sleeping); client bytes are known to have reached the server socket before the
client helper returns.  The same choices therefore give the same event log.
"""

from __future__ import annotations

import fcntl
import socket
import struct
import termios
import time
from dataclasses import dataclass
from typing import Any

from pgcheck.reference import protocol as pq
from pgcheck.reference.backend import Backend
from pgcheck.reference.client import query_message, startup_message
from pgcheck.reference.events import Action, Event, ListSink
from pgcheck.reference.gate import ControlledGate
from pgcheck.reference.mailbox import Interrupt
from pgcheck.reference.postmaster import read_startup
from pgcheck.reference.runtime import Runtime, RuntimeConfig
from pgcheck.reference.states import Mode

TCP_CLOSE_WAIT = 8
ARRIVAL_TIMEOUT = 5.0
# Steps that change nothing observable when nothing is ready: `run_until_quiet` stops on them.
# The steps of one poll call after T5 (one, or three with poll_steps).
POLL_CALL = frozenset({Action.POLL_PASS, Action.POLL_IMMEDIATE, Action.POLL_WAIT, Action.POLL_RECHECK})
IDLE_ACTIONS = frozenset({Action.CARRIER_SLEEP, Action.POLL_TAKE}) | POLL_CALL


@dataclass(frozen=True)
class Step:
    carrier: int
    action: str
    backend: int | None


class ControlledRuntime:
    def __init__(
        self,
        *,
        mode: Mode = Mode.POOLED,
        carriers: int = 2,
        affinity_enforced: bool = False,
        poll_steps: bool = False,
        seed: int = 0,
        idle_session_timeout_ms: int = 0,
        idle_in_transaction_timeout_ms: int = 0,
        mutations: frozenset[str] = frozenset(),
    ) -> None:
        self.sink = ListSink()
        config = RuntimeConfig(
            mode=mode,
            carriers=carriers,
            affinity_enforced=affinity_enforced,
            poll_steps=poll_steps,
            controlled=True,
            seed=seed,
            idle_session_timeout_ms=idle_session_timeout_ms,
            idle_in_transaction_timeout_ms=idle_in_transaction_timeout_ms,
            mutations=mutations,
        )
        self.rt = Runtime(config, sink=self.sink).start()
        gate = self.rt.gate
        assert gate is not None
        self.gate: ControlledGate = gate
        self.clients: list[ControlledClient] = []

    # --- choosing steps ----------------------------------------------------------------

    def enabled_steps(self) -> list[Step]:
        self.gate.settle()
        return [
            Step(c.index, choice.action.value, None if choice.backend is None else choice.backend.index)
            for c, choice in self.gate.offers()
        ]

    def enabled(self) -> list[tuple[int, str]]:
        """(carrier, action) for every carrier waiting at an enabled step, in carrier order."""
        return [(s.carrier, s.action) for s in self.enabled_steps()]

    def step(self, carrier: int) -> Step:
        """Let exactly `carrier` take its next step; return the step taken."""
        offered = {s.carrier: s for s in self.enabled_steps()}
        if carrier not in offered:
            raise ValueError(f"carrier {carrier} has no enabled step; enabled: {sorted(offered)}")
        self.gate.grant(carrier)
        self.gate.settle()
        return offered[carrier]

    def run_until_quiet(self, max_steps: int = 500) -> list[Step]:
        """Take the first enabled productive step until only idle steps remain.

        Poll rounds (PollTake and the rest of its call) are taken while they make some backend runnable.
        Deterministic: the choice depends only on the state.
        """
        taken: list[Step] = []
        for _ in range(max_steps):
            steps = self.enabled_steps()
            productive = [s for s in steps if Action(s.action) not in IDLE_ACTIONS]
            if productive:
                taken.append(self.step(productive[0].carrier))
                continue
            polls = [s for s in steps if s.action == Action.POLL_TAKE.value]
            if not polls:
                return taken
            carrier = polls[0].carrier
            before = self.rt.scheduler.counters.runnable_enqueue_count
            taken.append(self.step(carrier))
            taken.extend(self.finish_poll_call(carrier))
            if self.rt.scheduler.counters.runnable_enqueue_count == before:
                return taken
        raise RuntimeError(f"no quiescence within {max_steps} steps")

    def finish_poll_call(self, carrier: int) -> list[Step]:
        """After PollTake: the carrier's steps up to the end of its poll call."""
        taken: list[Step] = []
        while True:
            offered = {s.carrier: s for s in self.enabled_steps()}.get(carrier)
            if offered is None or Action(offered.action) not in POLL_CALL:
                return taken
            taken.append(self.step(carrier))

    # --- environment ---------------------------------------------------------------------

    def connect(self, user: str = "x", database: str = "x") -> ControlledClient:
        """A client connects and sends its startup packet; the postmaster queues it (ClientConnect)."""
        listener = self.rt.listener
        assert listener is not None
        sock = socket.create_connection(("127.0.0.1", self.rt.port), timeout=ARRIVAL_TIMEOUT)
        sock.sendall(startup_message(user, database))
        server_sock, _ = listener.accept()
        packet = read_startup(server_sock, ARRIVAL_TIMEOUT)
        b = self.rt.admit(server_sock, packet)
        assert b is not None
        client = ControlledClient(self, b, sock)
        self.clients.append(client)
        self.gate.settle()
        return client

    def backend(self, index: int) -> Backend:
        return self.rt.backends[index]

    def send_interrupt(self, b: int, kind: Interrupt) -> None:
        self.rt.send_interrupt(self.backend(b), kind)

    def terminate(self, b: int) -> bool:
        return self.rt.terminate_backend(self.backend(b).pid)

    def cancel(self, b: int, key: int | None = None) -> bool:
        backend = self.backend(b)
        return self.rt.cancel(backend.pid, backend.secret if key is None else key)

    def timeout_due(self, b: int) -> bool:
        """TimeoutDue(b): the armed logical timeout of b is now due (there is no clock)."""
        backend = self.backend(b)
        if backend.timeouts.active is None or backend.timeouts.forced_due:
            return False
        backend.timeouts.forced_due = True
        self.rt.events.emit(Action.TIMEOUT_DUE, {"b": b}, {f"backend[{b}].tdue": True})
        return True

    # --- observation ----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        self.gate.settle()
        return self.rt.snapshot()

    @property
    def events(self) -> list[Event]:
        return self.sink.events

    def event_lines(self) -> list[str]:
        return self.sink.lines()

    def close(self) -> None:
        for client in self.clients:
            client.sock.close()
        self.rt.stop()

    def __enter__(self) -> ControlledRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ControlledClient:
    """The client end of one connection; every send waits until the bytes reached the server."""

    def __init__(self, ctl: ControlledRuntime, b: Backend, sock: socket.socket) -> None:
        self.ctl = ctl
        self.b = b.index
        self.sock = sock
        self.sent = 0
        self.closed = False
        self._buf = bytearray()

    def _server_conn_pending(self) -> int | None:
        conn = self.ctl.rt.backends[self.b].connection
        if conn is None or conn.closed:
            return None
        out = fcntl.ioctl(conn.sock.fileno(), termios.FIONREAD, b"\0\0\0\0")
        return int(struct.unpack("i", out)[0]) + conn.bytes_received

    def _wait_arrival(self) -> None:
        deadline = time.monotonic() + ARRIVAL_TIMEOUT
        while True:
            seen = self._server_conn_pending()
            if seen is None or seen >= self.sent:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"client bytes for b{self.b} did not arrive")
            time.sleep(0.0005)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)
        self.sent += len(data)
        self._wait_arrival()

    def send_type_byte(self, type_byte: bytes = b"Q") -> None:
        self.send(type_byte)
        self.ctl.rt.events.emit(Action.CLIENT_SEND_BYTE, {"b": self.b, "cmd": type_byte.decode()})

    def send_body(self, body: bytes) -> None:
        """The rest of a message after its type byte (may be sent in parts)."""
        self.send(body)
        self.ctl.rt.events.emit(Action.CLIENT_SEND_BODY, {"b": self.b, "len": len(body)})

    def send_query(self, sql: str) -> None:
        message = query_message(sql)
        self.send_type_byte(message[:1])
        self.send_body(message[1:])

    def send_terminate(self) -> None:
        self.send_type_byte(b"X")
        self.send_body(pq.message(b"X")[1:])

    def close(self) -> None:
        """ClientClose(b): FIN reaches the server socket before this returns."""
        self.sock.shutdown(socket.SHUT_WR)
        self.closed = True
        self.ctl.rt.events.emit(Action.CLIENT_CLOSE, {"b": self.b})
        conn = self.ctl.rt.backends[self.b].connection
        deadline = time.monotonic() + ARRIVAL_TIMEOUT
        while conn is not None and not conn.closed and not conn.eof:
            info = conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
            if info[0] == TCP_CLOSE_WAIT:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"close of b{self.b} did not reach the server")
            time.sleep(0.0005)

    def messages(self) -> list[tuple[bytes, bytes]]:
        """All complete server messages that have arrived since the last call."""
        self.sock.setblocking(False)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self._buf += chunk
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            pass
        finally:
            self.sock.setblocking(True)
        out: list[tuple[bytes, bytes]] = []
        while len(self._buf) >= 5:
            (length,) = struct.unpack("!I", bytes(self._buf[1:5]))
            if len(self._buf) < 1 + length:
                break
            out.append((bytes(self._buf[:1]), bytes(self._buf[5 : 1 + length])))
            del self._buf[: 1 + length]
        return out
