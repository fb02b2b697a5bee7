"""A recording proxy between a client program (psql) and the real server's Unix socket.

psql has no protocol trace of its own, so the proxy reads both directions of its
connection: the client's Query and Terminate messages become sends and a close, the
server's messages observations (reference/client_history.py), a CancelRequest that
passes through an interrupt. Everything is forwarded unchanged.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
import time
from pathlib import Path

from pgcheck.reference.client_history import ClientHistory, Event, command_of, observation

CANCEL_REQUEST_CODE = 80877102
SSL_REQUEST_CODE = 80877103
GSS_REQUEST_CODE = 80877104


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        try:
            chunk = sock.recv(n - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


def _error_fields(payload: bytes) -> tuple[str, str]:
    severity, code = "ERROR", "?????"
    for field in payload.split(b"\0"):
        if field[:1] == b"V":
            severity = field[1:].decode()
        elif field[:1] == b"C":
            code = field[1:].decode()
    return severity, code


class RecordingProxy:
    """Listens on DIR/.s.PGSQL.5432 and records the first client connection's history."""

    def __init__(self, directory: Path, server_socket: str, name: str = "psql") -> None:
        self.directory = directory
        self.server_socket = server_socket
        self.history = ClientHistory(name, [])
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        path = directory / ".s.PGSQL.5432"
        if path.exists():
            os.unlink(path)
        self._listener.bind(str(path))
        self._listener.listen(8)
        self._listener.settimeout(0.2)
        self._stopping = False
        self._recorded = False
        self.pid = 0
        self._threads: list[threading.Thread] = []
        self._spawn(self._accept_loop)

    def _spawn(self, target: object, *args: object) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        t.start()
        self._threads.append(t)

    def note(self, event: Event) -> None:
        with self._lock:
            self.history.events.append(event)

    def receives(self) -> list[str]:
        with self._lock:
            return [e.what for e in self.history.events if e.kind == "recv"]

    def sends(self) -> list[str]:
        with self._lock:
            return [e.what for e in self.history.events if e.kind == "send"]

    def wait_for(self, count: int, what: str, timeout: float = 20.0) -> None:
        """Poll (bounded) until `count` messages `what` have been received (or, for
        `what` = "send", sent) in all."""
        deadline = time.monotonic() + timeout
        while (len(self.sends()) if what == "send" else self.receives().count(what)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"psql: {count} x {what} not seen within {timeout} s; got {self.receives()}")
            time.sleep(0.01)

    def _accept_loop(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._spawn(self._serve, client)

    def _serve(self, client: socket.socket) -> None:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.connect(self.server_socket)
        header = _recv_exact(client, 8)
        if header is None:
            client.close()
            server.close()
            return
        length, code = struct.unpack("!II", header)
        body = _recv_exact(client, length - 8) or b""
        if code == CANCEL_REQUEST_CODE:
            self.note(Event("interrupt", "cancel"))  # before it reaches the server: a lower bound
        server.sendall(header + body)
        recorded = code not in (CANCEL_REQUEST_CODE, SSL_REQUEST_CODE, GSS_REQUEST_CODE) and not self._recorded
        if recorded:
            self._recorded = True
        self._spawn(self._pump, client, server, recorded, "client")
        self._pump(server, client, recorded, "server")

    def _pump(self, src: socket.socket, dst: socket.socket, recorded: bool, side: str) -> None:
        startup = side == "server"
        while True:
            head = _recv_exact(src, 5)
            if head is None:
                break
            kind, length = head[:1], struct.unpack("!I", head[1:])[0]
            payload = _recv_exact(src, length - 4)
            if payload is None:
                break
            if recorded:
                self._record(side, kind, payload, startup)
                if side == "server" and kind == b"Z":
                    startup = False
            try:
                dst.sendall(head + payload)
            except OSError:
                break
        if recorded:
            self._ended(side)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def _ended(self, side: str) -> None:
        """The client's end of the connection is its close; the server's is EOF unless the client closed first."""
        with self._lock:
            closed = any(e.kind == "close" for e in self.history.events)
            if not closed:
                self.history.events.append(Event("close") if side == "client" else observation("eof"))

    def _record(self, side: str, kind: bytes, payload: bytes, startup: bool) -> None:
        if side == "client":
            if kind == b"Q":
                self.note(Event("send", command_of(payload.rstrip(b"\0").decode()), payload.rstrip(b"\0").decode()))
            elif kind == b"X":
                self.note(Event("close"))
            return
        if kind == b"K":
            self.pid = struct.unpack("!I", payload[:4])[0]
        elif kind == b"Z":
            self.note(observation("rfq", payload[:1].decode()))
        elif kind in (b"C", b"I") and not startup:
            self.note(observation("result"))
        elif kind == b"A":
            self.note(observation("notification"))
        elif kind == b"E":
            severity, code = _error_fields(payload)
            self.note(observation("error" if severity == "ERROR" else "fatal", code))

    def stop(self) -> None:
        self._stopping = True
        self._listener.close()
        for t in self._threads:
            t.join(timeout=5)
