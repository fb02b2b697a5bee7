"""`PgConnection`: one client socket with a buffered input side (§1.1, §2.7 4b).

The socket is non-blocking.  `probe()` moves whatever the kernel has into the input
buffer and answers NONE / AVAILABLE / EOF without consuming anything; only
`take_type_byte()` consumes, and only the attached session calls it (S9, S23).
Buffering is invisible to the protocol: bytes are consumed only at the boundary.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import struct
import time
from enum import StrEnum

from pgcheck.reference import fdwait
from pgcheck.reference.protocol import EXTENDED_TYPES, MAX_MESSAGE, SYNC, ProtocolViolation

MAX_BATCH = 4 * MAX_MESSAGE


class ProbeResult(StrEnum):
    NONE = "none"
    AVAILABLE = "available"
    EOF = "eof"


class ConnectionClosed(Exception):
    """The peer went away (EOF or reset) while we needed bytes or were writing."""


class Connection:
    def __init__(self, sock: socket.socket, initial: bytes = b"") -> None:
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as PostgreSQL does
        self.sock = sock
        self.inbuf = bytearray(initial)
        self.eof = False
        self.closed = False
        self.transport_generation = 1
        self.bytes_received = 0  # bytes moved from the kernel into inbuf
        self.comm_reading_msg = False  # `reading(b)` in §4: between type byte and end of body

    def fileno(self) -> int:
        return -1 if self.closed else self.sock.fileno()

    # --- input -------------------------------------------------------------

    def fill(self) -> None:
        """Move available kernel bytes into the buffer without blocking."""
        if self.closed or self.eof:
            return
        while True:
            try:
                chunk = self.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN, errno.EBADF):
                    self.eof = True
                    return
                raise
            if not chunk:
                self.eof = True
                return
            self.inbuf += chunk
            self.bytes_received += len(chunk)

    def probe(self) -> ProbeResult:
        """`PgConnectionProbeBufferedMessageType`: tri-state, consumes nothing."""
        if not self.inbuf:
            self.fill()
        if self.inbuf:
            return ProbeResult.AVAILABLE
        return ProbeResult.EOF if self.eof or self.closed else ProbeResult.NONE

    @property
    def buffered_input(self) -> bool:
        return bool(self.inbuf)

    def wait_readable(self, timeout: float) -> bool:
        """Wait (attached, e.g. sticky idle) until the socket is readable or `timeout` passes."""
        if self.inbuf or self.eof or self.closed:
            return True
        readable = fdwait.wait([self.sock.fileno()], max(0.0, timeout))
        return bool(readable)

    def peek_eof(self) -> bool:
        """True if the kernel says the peer closed and nothing is left to read (no consumption)."""
        if self.closed:
            return True
        try:
            return self.sock.recv(1, socket.MSG_PEEK) == b""
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True

    def peek_terminate(self) -> bool:
        """True if the next unread byte is a Terminate ('X'): an orderly close (§2.7 5)."""
        if self.closed:
            return False
        if self.inbuf:
            return self.inbuf[:1] == b"X"
        try:
            return self.sock.recv(1, socket.MSG_PEEK) == b"X"
        except OSError:
            return False

    def take_type_byte(self) -> bytes:
        if not self.inbuf:
            raise ProtocolViolation("no type byte buffered")
        byte = bytes(self.inbuf[:1])
        del self.inbuf[:1]
        self.comm_reading_msg = True
        return byte

    def body_ready(self) -> bool:
        """True when the whole body of the current message is buffered, or EOF came first."""
        self.fill()
        if len(self.inbuf) >= 4:
            (length,) = struct.unpack("!I", bytes(self.inbuf[:4]))
            if len(self.inbuf) >= length:
                return True
        return self.eof or self.closed

    def read_body(self, timeout: float) -> bytes:
        """Read the length word and body of the message whose type byte was taken.

        Blocks (carrier-pinned) for at most `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            if len(self.inbuf) >= 4:
                (length,) = struct.unpack("!I", bytes(self.inbuf[:4]))
                if length < 4 or length > MAX_MESSAGE:
                    raise ProtocolViolation(f"invalid message length {length}")
                if len(self.inbuf) >= length:
                    body = bytes(self.inbuf[4:length])
                    del self.inbuf[:length]
                    self.comm_reading_msg = False
                    return body
            if self.eof or self.closed:
                raise ConnectionClosed("unexpected EOF within message")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConnectionClosed("timed out reading message body")
            fdwait.wait([self.sock.fileno()], min(remaining, 0.5))
            self.fill()

    def _batch_end(self, first: bytes) -> int | None:
        """Buffered bytes of the extended-query batch whose first type byte was taken, up to
        and including its Sync; None while incomplete."""
        buf = self.inbuf
        offset, kind = 0, first
        while True:
            if len(buf) < offset + 4:
                return None
            (length,) = struct.unpack("!I", bytes(buf[offset : offset + 4]))
            if length < 4 or length > MAX_MESSAGE or offset > MAX_BATCH:
                raise ProtocolViolation(f"invalid message length {length}")
            if len(buf) < offset + length:
                return None
            offset += length
            if kind == SYNC:
                return offset
            if len(buf) < offset + 1:
                return None
            kind = bytes(buf[offset : offset + 1])
            if kind not in EXTENDED_TYPES:
                raise ProtocolViolation(f"unexpected message type {kind!r} before Sync")
            offset += 1

    def batch_ready(self, first: bytes) -> bool:
        """True when the batch through its Sync is buffered, or EOF came first."""
        self.fill()
        try:
            return self._batch_end(first) is not None or self.eof or self.closed
        except ProtocolViolation:
            return True  # read_batch reports it

    def read_batch(self, first: bytes, timeout: float) -> list[tuple[bytes, bytes]]:
        """Read an extended-query batch (S9: the carrier stays pinned until its Sync): the
        body of the message whose type byte was taken, then whole messages through Sync.
        Blocks for at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while (end := self._batch_end(first)) is None:
            if self.eof or self.closed:
                raise ConnectionClosed("unexpected EOF within extended-query batch")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConnectionClosed("timed out reading extended-query batch")
            fdwait.wait([self.sock.fileno()], min(remaining, 0.5))
            self.fill()
        raw = bytes(self.inbuf[:end])
        del self.inbuf[:end]
        self.comm_reading_msg = False
        out: list[tuple[bytes, bytes]] = []
        offset, kind = 0, first
        while offset < len(raw):
            (length,) = struct.unpack("!I", raw[offset : offset + 4])
            out.append((kind, raw[offset + 4 : offset + length]))
            offset += length
            kind = raw[offset : offset + 1]
            offset += 1
        return out

    # --- output ------------------------------------------------------------

    def send(self, data: bytes, timeout: float = 30.0) -> None:
        """Carrier-pinned output flush."""
        if self.closed:
            raise ConnectionClosed("connection closed")
        view = memoryview(data)
        deadline = time.monotonic() + timeout
        while view:
            try:
                sent = self.sock.send(view)
                view = view[sent:]
            except (BlockingIOError, InterruptedError):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ConnectionClosed("timed out writing to client") from None
                fdwait.wait([self.sock.fileno()], min(remaining, 0.5), fdwait.WRITE)
            except OSError as exc:
                raise ConnectionClosed(str(exc)) from exc

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.transport_generation += 1
        with contextlib.suppress(OSError):
            self.sock.close()
