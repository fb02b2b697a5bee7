"""PostgreSQL frontend/backend protocol v3 framing: the subset the reference speaks."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

PROTOCOL_3_0 = 196608
SSL_REQUEST_CODE = 80877103
GSSENC_REQUEST_CODE = 80877104
CANCEL_REQUEST_CODE = 80877102
MAX_STARTUP_PACKET = 10000
MAX_MESSAGE = 1 << 20

INT2_OID = 21
INT4_OID = 23
INT8_OID = 20
TEXT_OID = 25
FLOAT8_OID = 701
VOID_OID = 2278

# Extended query protocol: Parse, Bind, Describe, Execute, Flush, Close, Sync.
EXTENDED_TYPES = frozenset({b"P", b"B", b"D", b"E", b"H", b"C", b"S"})
SYNC = b"S"


def message(type_byte: bytes, payload: bytes = b"") -> bytes:
    return type_byte + struct.pack("!I", len(payload) + 4) + payload


def cstr(text: str) -> bytes:
    return text.encode("utf-8") + b"\0"


def authentication_ok() -> bytes:
    return message(b"R", struct.pack("!I", 0))


def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", cstr(name) + cstr(value))


def backend_key_data(pid: int, key: int) -> bytes:
    return message(b"K", struct.pack("!II", pid, key))


def negotiate_protocol_version(newest_minor: int, unsupported: list[str]) -> bytes:
    payload = struct.pack("!II", (3 << 16) | newest_minor, len(unsupported))
    return message(b"v", payload + b"".join(cstr(o) for o in unsupported))


def ready_for_query(status: str) -> bytes:
    return message(b"Z", status.encode("ascii"))


def row_description(columns: list[tuple[str, int, int]]) -> bytes:
    """`columns`: (name, type oid, type length)."""
    payload = struct.pack("!H", len(columns))
    for name, oid, length in columns:
        payload += cstr(name) + struct.pack("!IhIhih", 0, 0, oid, length, -1, 0)
    return message(b"T", payload)


def data_row(values: list[str | None]) -> bytes:
    payload = struct.pack("!H", len(values))
    for value in values:
        if value is None:
            payload += struct.pack("!i", -1)
        else:
            raw = value.encode("utf-8")
            payload += struct.pack("!I", len(raw)) + raw
    return message(b"D", payload)


def command_complete(tag: str) -> bytes:
    return message(b"C", cstr(tag))


def empty_query_response() -> bytes:
    return message(b"I")


def error_response(severity: str, code: str, text: str) -> bytes:
    payload = (
        b"S" + cstr(severity) + b"V" + cstr(severity) + b"C" + cstr(code) + b"M" + cstr(text) + b"\0"
    )
    return message(b"E", payload)


def parse_complete() -> bytes:
    return message(b"1")


def bind_complete() -> bytes:
    return message(b"2")


def close_complete() -> bytes:
    return message(b"3")


def no_data() -> bytes:
    return message(b"n")


def parameter_description(oids: list[int]) -> bytes:
    return message(b"t", struct.pack("!H", len(oids)) + b"".join(struct.pack("!I", o) for o in oids))


def notification_response(pid: int, channel: str, payload: str) -> bytes:
    return message(b"A", struct.pack("!I", pid) + cstr(channel) + cstr(payload))


@dataclass
class StartupPacket:
    """The first packet on a new connection (already length-delimited)."""

    code: int
    body: bytes
    parameters: dict[str, str] = field(default_factory=dict)

    @property
    def major(self) -> int:
        return self.code >> 16

    @property
    def minor(self) -> int:
        return self.code & 0xFFFF


def parse_startup(packet: bytes) -> StartupPacket:
    """`packet` excludes the length word."""
    if len(packet) < 4:
        raise ProtocolViolation("invalid length of startup packet")
    (code,) = struct.unpack("!I", packet[:4])
    body = packet[4:]
    result = StartupPacket(code, body)
    if code >> 16 == 3:
        parts = body.split(b"\0")
        for i in range(0, len(parts) - 1, 2):
            if not parts[i]:
                break
            result.parameters[parts[i].decode("utf-8", "replace")] = parts[i + 1].decode("utf-8", "replace")
    return result


def parse_cancel(body: bytes) -> tuple[int, int]:
    if len(body) < 8:
        raise ProtocolViolation("invalid length of cancel request")
    pid, key = struct.unpack("!II", body[:8])
    return pid, key


class BodyReader:
    """Fields of one message body, in order; a short body is a protocol violation."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.body):
            raise ProtocolViolation("invalid message format")
        raw = self.body[self.pos : self.pos + n]
        self.pos += n
        return raw

    def int16(self) -> int:
        return int(struct.unpack("!h", self._take(2))[0])

    def int32(self) -> int:
        return int(struct.unpack("!i", self._take(4))[0])

    def byte(self) -> bytes:
        return self._take(1)

    def cstr(self) -> str:
        end = self.body.find(b"\0", self.pos)
        if end < 0:
            raise ProtocolViolation("invalid string in message")
        text = self.body[self.pos : end].decode("utf-8", "replace")
        self.pos = end + 1
        return text

    def value(self) -> bytes | None:
        n = self.int32()
        return None if n == -1 else self._take(n)


class ProtocolViolation(Exception):
    """The frontend broke the framing; the session ends with FATAL 08P01."""


@dataclass(frozen=True)
class ErrorFields:
    severity: str
    code: str
    message: str


def parse_error_fields(payload: bytes) -> ErrorFields:
    fields: dict[str, str] = {}
    for part in payload.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode("utf-8", "replace")
    return ErrorFields(fields.get("S", ""), fields.get("C", ""), fields.get("M", ""))
