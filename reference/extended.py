"""The extended query protocol subset: Parse, Bind, Describe, Execute, Close, Flush, Sync.

A batch is every message from the first extended-query type byte through its Sync.  The
session reads the whole batch while pinned (S9: no carrier swap mid-message; the protocol
boundary T1 is only before a new batch), and runs it in the Execute step as one model
message: ReadyForQuery follows the Sync at the next StepTop.  After an error the rest of
the batch is skipped up to the Sync (`ignore_till_sync`).  Replies are written when the
Execute step runs, so a Flush adds nothing.
"""

from __future__ import annotations

import re
import struct

from pgcheck.reference import protocol as pq
from pgcheck.reference import sql
from pgcheck.reference.backend import Backend
from pgcheck.reference.backend import PreparedStatement as Prepared
from pgcheck.reference.executor import ExecResult, finish_sleep, row_columns, run_statements
from pgcheck.reference.notify import NotifyHub

_PARAM = re.compile(r"'(?:[^']|'')*'|\$(\d+)")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_BINARY_DECODERS = {
    pq.INT2_OID: lambda raw: str(struct.unpack("!h", raw)[0]),
    pq.INT4_OID: lambda raw: str(struct.unpack("!i", raw)[0]),
    pq.INT8_OID: lambda raw: str(struct.unpack("!q", raw)[0]),
    pq.FLOAT8_OID: lambda raw: repr(struct.unpack("!d", raw)[0]),
}


class ExtendedError(Exception):
    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code


def _literal(value: str | None) -> str:
    if value is None:
        return "NULL"
    if _NUMBER.fullmatch(value):
        return value
    return "'" + value.replace("'", "''") + "'"


def substitute(text: str, values: list[str | None]) -> str:
    """Put the Bind values in for $n (outside string literals)."""

    def one(m: re.Match[str]) -> str:
        if m.group(1) is None:
            return m.group(0)
        n = int(m.group(1))
        if not 1 <= n <= len(values):
            raise ExtendedError("42P02", f"there is no parameter ${n}")
        return _literal(values[n - 1])

    return _PARAM.sub(one, text)


def _row_description(text: str) -> bytes:
    columns = row_columns(sql.parse(text))
    return pq.row_description(columns) if columns else pq.no_data()


class ExtendedBatch:
    """One batch, run message by message; a pg_sleep in an Execute stops it for the deep wait."""

    def __init__(self, messages: list[tuple[bytes, bytes]]) -> None:
        self.rest = list(messages)
        self.ignore_till_sync = False

    def statement_text(self, b: Backend) -> str:
        """The SQL of the batch's first Bind (else its first Parse), for the event's `sql`."""
        parsed: dict[str, str] = {}
        for kind, body in self.rest:
            r = pq.BodyReader(body)
            try:
                if kind == b"P":
                    name = r.cstr()
                    parsed[name] = r.cstr()
                elif kind == b"B":
                    r.cstr()
                    name = r.cstr()
                    stmt = b.session.prepared.get(name)
                    return parsed.get(name, "" if stmt is None else stmt.text)
            except pq.ProtocolViolation:
                break
        return next(iter(parsed.values()), "")

    @property
    def more(self) -> bool:
        return not self.ignore_till_sync and any(kind == b"E" for kind, _ in self.rest)

    def run(self, b: Backend, hub: NotifyHub) -> ExecResult:
        out = bytearray()
        while self.rest:
            kind, body = self.rest.pop(0)
            if kind == pq.SYNC:
                self.ignore_till_sync = False
                continue
            if self.ignore_till_sync:
                continue
            try:
                result = self._one(b, hub, kind, pq.BodyReader(body))
            except ExtendedError as exc:
                if b.session.in_transaction_block:
                    b.session.transaction_failed = True
                result = ExecResult(pq.error_response("ERROR", exc.code, str(exc)), failed=True)
            out += result.output
            if result.failed:
                self.ignore_till_sync = True
            if result.sleep is not None:
                return ExecResult(bytes(out), sleep=result.sleep, done=False)
        return ExecResult(bytes(out))

    def after_sleep(self, b: Backend, hub: NotifyHub, canceled: bool) -> bytes:
        out = finish_sleep(b, canceled)
        if canceled:
            self.ignore_till_sync = True
        if not self.more:
            out += self.run(b, hub).output  # the Sync (and any Close) after the Execute
        return out

    def _one(self, b: Backend, hub: NotifyHub, kind: bytes, r: pq.BodyReader) -> ExecResult:
        s = b.session
        if kind == b"P":
            name, text = r.cstr(), r.cstr()
            oids = [r.int32() for _ in range(r.int16())]
            if len(sql.split_statements(text)) > 1:
                raise ExtendedError("42601", "cannot insert multiple commands into a prepared statement")
            if name and name in s.prepared:
                raise ExtendedError("42P05", f'prepared statement "{name}" already exists')
            s.prepared[name] = Prepared(text, oids)
            return ExecResult(pq.parse_complete())
        if kind == b"B":
            portal, name = r.cstr(), r.cstr()
            formats = [r.int16() for _ in range(r.int16())]
            raw = [r.value() for _ in range(r.int16())]
            results = [r.int16() for _ in range(r.int16())]
            stmt = self._statement(b, name)
            if any(results):
                raise ExtendedError("0A000", "binary result format is not supported")
            values = [self._value(stmt, formats, i, v) for i, v in enumerate(raw)]
            s.portals[portal] = substitute(stmt.text, values)
            return ExecResult(pq.bind_complete())
        if kind == b"D":
            what, name = r.byte(), r.cstr()
            if what == b"S":
                stmt = self._statement(b, name)
                return ExecResult(pq.parameter_description(stmt.param_oids) + _row_description(stmt.text))
            return ExecResult(_row_description(self._portal(b, name)))
        if kind == b"E":
            text = self._portal(b, r.cstr())
            if not sql.split_statements(text):
                return ExecResult(pq.empty_query_response())
            result, _ = run_statements(b, [text], hub, describe=False)
            return result
        if kind == b"C":
            what, name = r.byte(), r.cstr()
            (s.prepared if what == b"S" else s.portals).pop(name, None)
            return ExecResult(pq.close_complete())
        return ExecResult()  # Flush: replies go out at the end of the step anyway

    def _statement(self, b: Backend, name: str) -> Prepared:
        stmt = b.session.prepared.get(name)
        if stmt is None:
            raise ExtendedError("26000", f'prepared statement "{name}" does not exist')
        return stmt

    def _portal(self, b: Backend, name: str) -> str:
        text = b.session.portals.get(name)
        if text is None:
            raise ExtendedError("34000", f'portal "{name}" does not exist')
        return text

    def _value(self, stmt: Prepared, formats: list[int], i: int, raw: bytes | None) -> str | None:
        if raw is None:
            return None
        fmt = formats[0] if len(formats) == 1 else formats[i] if i < len(formats) else 0
        if fmt == 0:
            return raw.decode("utf-8", "replace")
        oid = stmt.param_oids[i] if i < len(stmt.param_oids) else 0
        decode = _BINARY_DECODERS.get(oid)
        if decode is None:
            raise ExtendedError("0A000", f"binary parameter of type {oid} is not supported")
        try:
            return decode(raw)
        except struct.error:
            raise ExtendedError("22P03", "incorrect binary data format in bind parameter") from None
