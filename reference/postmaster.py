"""The postmaster side: accept, answer SSLRequest/GSSENCRequest with 'N', read the
startup packet (or a CancelRequest), and hand the logical start to the runtime
(`postmaster_pooled_protocol_launch`, §2.5 "New connection arrival").
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
from typing import TYPE_CHECKING

from pgcheck.checker.printable import printable
from pgcheck.reference import protocol as pq

if TYPE_CHECKING:
    from pgcheck.reference.runtime import Runtime

log = logging.getLogger("pgcheck.reference")


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("client closed during startup")
        data += chunk
    return bytes(data)


def read_startup(sock: socket.socket, timeout: float) -> pq.StartupPacket:
    """Read packets until a StartupMessage or CancelRequest; refuse encryption with 'N'."""
    sock.settimeout(timeout)
    while True:
        (length,) = struct.unpack("!I", _recv_exact(sock, 4))
        if length < 8 or length > pq.MAX_STARTUP_PACKET:
            raise pq.ProtocolViolation("invalid length of startup packet")
        packet = pq.parse_startup(_recv_exact(sock, length - 4))
        if packet.code in (pq.SSL_REQUEST_CODE, pq.GSSENC_REQUEST_CODE):
            sock.sendall(b"N")
            continue
        return packet


class Postmaster(threading.Thread):
    """Accept loop of the free-running runtime; one short handshake thread per client."""

    def __init__(self, rt: Runtime, listener: socket.socket) -> None:
        super().__init__(name="postmaster", daemon=True)
        self.rt = rt
        self.listener = listener

    def run(self) -> None:
        self.listener.settimeout(0.2)
        while not self.rt.stopping:
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self.rt.stopping:
                    return
                raise
            threading.Thread(target=self._handshake, args=(sock,), name="handshake", daemon=True).start()

    def _handshake(self, sock: socket.socket) -> None:
        try:
            packet = read_startup(sock, self.rt.config.handshake_timeout_s)
            self.rt.admit(sock, packet)
        except (OSError, ConnectionError, pq.ProtocolViolation) as exc:
            log.debug("startup failed: %s", printable(str(exc)))  # may quote the client's bytes
            sock.close()
