"""A minimal PostgreSQL v3 client (simple Query only) for tests and stress runs.

Every socket operation has a timeout, so a misbehaving server makes a test fail
instead of hang.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from dataclasses import dataclass, field

from pgcheck.reference import protocol as pq


class ClientError(Exception):
    """The server closed the connection or a timeout expired."""


@dataclass
class Notify:
    pid: int
    channel: str
    payload: str


@dataclass
class Result:
    rows: list[list[str | None]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    errors: list[pq.ErrorFields] = field(default_factory=list)
    status: str = ""
    notifications: list[Notify] = field(default_factory=list)
    empty: bool = False

    @property
    def error_codes(self) -> list[str]:
        return [e.code for e in self.errors]


def query_message(sql: str) -> bytes:
    return pq.message(b"Q", pq.cstr(sql))


def extended_batch(sql: str) -> bytes:
    """Parse, Bind, Describe (portal), Execute, Sync of one statement, as libpq's
    PQsendQueryParams sends it."""
    parse = pq.message(b"P", pq.cstr("") + pq.cstr(sql) + struct.pack("!H", 0))
    bind = pq.message(b"B", pq.cstr("") + pq.cstr("") + struct.pack("!HHH", 0, 0, 0))
    describe = pq.message(b"D", b"P" + pq.cstr(""))
    execute = pq.message(b"E", pq.cstr("") + struct.pack("!I", 0))
    return parse + bind + describe + execute + pq.message(b"S")


def startup_message(user: str, database: str) -> bytes:
    body = struct.pack("!I", pq.PROTOCOL_3_0) + pq.cstr("user") + pq.cstr(user)
    body += pq.cstr("database") + pq.cstr(database) + b"\0"
    return struct.pack("!I", len(body) + 4) + body


def cancel_message(pid: int, key: int) -> bytes:
    return struct.pack("!IIII", 16, pq.CANCEL_REQUEST_CODE, pid, key)


class PgClient:
    def __init__(self, host: str, port: int, *, user: str = "x", database: str = "x", timeout: float = 10.0):
        self.host = host
        self.port = port
        self.user = user
        self.database = database
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self._buf = bytearray()
        self.pid = 0
        self.key = 0
        self.parameters: dict[str, str] = {}
        self.status = ""
        self.notifications: list[Notify] = []
        self.fatal: pq.ErrorFields | None = None

    # --- connection -----------------------------------------------------------------

    def connect(self, ssl_request: bool = True) -> PgClient:
        """Open the socket, refuse-tolerant SSLRequest like libpq, startup, wait for ReadyForQuery."""
        self.open_socket()
        if ssl_request:
            self.send_raw(struct.pack("!II", 8, pq.SSL_REQUEST_CODE))
            answer = self._recv_exact(1)
            if answer != b"N":
                raise ClientError(f"unexpected answer to SSLRequest: {answer!r}")
        self.send_raw(startup_message(self.user, self.database))
        self.read_until_ready()
        return self

    def open_socket(self) -> None:
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send_raw(self, data: bytes) -> None:
        assert self.sock is not None
        self.sock.sendall(data)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def terminate(self) -> None:
        with contextlib.suppress(OSError):
            self.send_raw(pq.message(b"X"))
        self.close()

    def cancel(self, key: int | None = None) -> None:
        """Send a CancelRequest for this session on a new connection (wrong `key` to test refusal)."""
        with socket.create_connection((self.host, self.port), timeout=self.timeout) as s:
            s.sendall(cancel_message(self.pid, self.key if key is None else key))
            s.settimeout(self.timeout)
            with contextlib.suppress(OSError):
                s.recv(1)  # the server closes the connection

    # --- messages ---------------------------------------------------------------------

    def _recv_exact(self, n: int, timeout: float | None = None) -> bytes:
        assert self.sock is not None
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while len(self._buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ClientError("timed out waiting for the server")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                raise ClientError("timed out waiting for the server") from None
            except OSError as exc:
                raise ClientError(f"connection lost: {exc}") from exc
            if not chunk:
                raise ClientError("server closed the connection")
            self._buf += chunk
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def read_message(self, timeout: float | None = None) -> tuple[bytes, bytes]:
        header = self._recv_exact(5, timeout)
        (length,) = struct.unpack("!I", header[1:5])
        return header[:1], self._recv_exact(length - 4, timeout)

    def _handle_async(self, kind: bytes, payload: bytes, result: Result | None) -> bool:
        if kind == b"A":
            (pid,) = struct.unpack("!I", payload[:4])
            channel, rest = payload[4:].split(b"\0", 1)
            note = Notify(pid, channel.decode(), rest.split(b"\0", 1)[0].decode())
            self.notifications.append(note)
            if result is not None:
                result.notifications.append(note)
            return True
        if kind == b"S":
            name, value = payload.split(b"\0")[:2]
            self.parameters[name.decode()] = value.decode()
            return True
        return kind == b"N"

    def read_until_ready(self, timeout: float | None = None) -> Result:
        result = Result()
        while True:
            kind, payload = self.read_message(timeout)
            if self._handle_async(kind, payload, result):
                continue
            if kind == b"R":
                (code,) = struct.unpack("!I", payload[:4])
                if code != 0:
                    raise ClientError(f"authentication method {code} not supported")
            elif kind == b"K":
                self.pid, self.key = struct.unpack("!II", payload[:8])
            elif kind in (b"T", b"1", b"2", b"3", b"n", b"t"):
                pass  # descriptions and the extended protocol's completions
            elif kind == b"D":
                (count,) = struct.unpack("!H", payload[:2])
                pos = 2
                row: list[str | None] = []
                for _ in range(count):
                    (size,) = struct.unpack("!i", payload[pos : pos + 4])
                    pos += 4
                    if size < 0:
                        row.append(None)
                    else:
                        row.append(payload[pos : pos + size].decode())
                        pos += size
                result.rows.append(row)
            elif kind == b"C":
                result.tags.append(payload.rstrip(b"\0").decode())
            elif kind == b"I":
                result.empty = True
            elif kind == b"E":
                fields = pq.parse_error_fields(payload)
                result.errors.append(fields)
                if fields.severity == "FATAL":
                    self.fatal = fields
            elif kind == b"Z":
                self.status = result.status = payload.decode()
                return result
            elif kind == b"v":
                pass
            else:
                raise ClientError(f"unexpected message {kind!r}")

    def query(self, sql: str, timeout: float | None = None) -> Result:
        self.send_raw(query_message(sql))
        return self.read_until_ready(timeout)

    def query_extended(self, sql: str, timeout: float | None = None) -> Result:
        """The statement as one extended-query batch (Parse, Bind, Describe, Execute, Sync)."""
        self.send_raw(extended_batch(sql))
        return self.read_until_ready(timeout)

    def wait_notification(self, timeout: float = 5.0) -> Notify:
        """Wait for a NotificationResponse while idle."""
        deadline = time.monotonic() + timeout
        while not self.notifications:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ClientError("no notification arrived")
            kind, payload = self.read_message(remaining)
            if not self._handle_async(kind, payload, None):
                raise ClientError(f"unexpected message while idle: {kind!r}")
        return self.notifications.pop(0)

    def read_fatal(self, timeout: float = 5.0) -> pq.ErrorFields:
        """Wait for a FATAL ErrorResponse (e.g. a timeout or termination) and the close."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ClientError("no FATAL arrived")
            kind, payload = self.read_message(remaining)
            if kind == b"E":
                self.fatal = pq.parse_error_fields(payload)
                return self.fatal
            self._handle_async(kind, payload, None)

    def at_eof(self, timeout: float = 5.0) -> bool:
        try:
            self._recv_exact(1, timeout)
        except ClientError as exc:
            return "closed" in str(exc) or "lost" in str(exc)
        return False
