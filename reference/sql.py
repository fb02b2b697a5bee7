"""The SQL the reference understands, parsed into commands.

`SELECT <int>`, `SELECT pg_sleep(<seconds>)`, `BEGIN`/`START TRANSACTION`, `COMMIT`/`END`,
`ROLLBACK`/`ABORT`, `LISTEN ch`, `UNLISTEN ch|*`, `NOTIFY ch[, 'payload']`,
`SET name = value` (idle_session_timeout and idle_in_transaction_session_timeout take
effect, in milliseconds), the empty query.  Anything else is a syntax error (42601).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    EMPTY = "empty"
    SELECT_INT = "select_int"
    PG_SLEEP = "pg_sleep"
    BEGIN = "begin"
    COMMIT = "commit"
    ROLLBACK = "rollback"
    LISTEN = "listen"
    UNLISTEN = "unlisten"
    NOTIFY = "notify"
    SET = "set"
    ERROR = "error"


@dataclass(frozen=True)
class Command:
    kind: Kind
    text: str = ""
    value: int = 0
    seconds: float = 0.0
    channel: str = ""
    payload: str = ""
    name: str = ""


_IDENT = r'("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_SELECT_INT = re.compile(r"select\s+([+-]?\d+)", re.I)
_PG_SLEEP = re.compile(r"select\s+pg_sleep\s*\(\s*'?([0-9]*\.?[0-9]+)'?\s*\)", re.I)
_LISTEN = re.compile(r"listen\s+" + _IDENT, re.I)
_UNLISTEN = re.compile(r"unlisten\s+(\*|" + _IDENT[1:-1] + ")", re.I)
_NOTIFY = re.compile(r"notify\s+" + _IDENT + r"(?:\s*,\s*'((?:[^']|'')*)')?", re.I)
_SET = re.compile(r"set\s+(?:session\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*(?:=|\s+to\s+)\s*(.+)", re.I | re.S)


def _ident(raw: str) -> str:
    if raw.startswith('"'):
        return raw[1:-1].replace('""', '"')
    return raw.lower()


def split_statements(query: str) -> list[str]:
    """Split a simple-Query string on semicolons outside quotes."""
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for ch in query:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            current.append(ch)
        elif ch == ";":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    statements = [p.strip() for p in parts if p.strip()]
    return statements


def _set_value(raw: str) -> int | None:
    raw = raw.strip().strip("'").strip()
    match = re.fullmatch(r"(\d+)\s*(ms|s|min)?", raw, re.I)
    if not match:
        return None
    value = int(match.group(1))
    unit = (match.group(2) or "ms").lower()
    return value * {"ms": 1, "s": 1000, "min": 60000}[unit]


def parse(statement: str) -> Command:
    text = statement.strip().rstrip(";").strip()
    lowered = text.lower()
    if not text:
        return Command(Kind.EMPTY)
    if m := _PG_SLEEP.fullmatch(text):
        return Command(Kind.PG_SLEEP, text, seconds=float(m.group(1)))
    if m := _SELECT_INT.fullmatch(text):
        return Command(Kind.SELECT_INT, text, value=int(m.group(1)))
    if lowered in ("begin", "begin transaction", "begin work", "start transaction"):
        return Command(Kind.BEGIN, text)
    if lowered in ("commit", "commit transaction", "commit work", "end", "end transaction"):
        return Command(Kind.COMMIT, text)
    if lowered in ("rollback", "rollback transaction", "rollback work", "abort"):
        return Command(Kind.ROLLBACK, text)
    if m := _LISTEN.fullmatch(text):
        return Command(Kind.LISTEN, text, channel=_ident(m.group(1)))
    if m := _UNLISTEN.fullmatch(text):
        return Command(Kind.UNLISTEN, text, channel="*" if m.group(1) == "*" else _ident(m.group(1)))
    if m := _NOTIFY.fullmatch(text):
        payload = (m.group(2) or "").replace("''", "'")
        return Command(Kind.NOTIFY, text, channel=_ident(m.group(1)), payload=payload)
    if m := _SET.fullmatch(text):
        name = m.group(1).lower()
        if name in ("idle_session_timeout", "idle_in_transaction_session_timeout"):
            value = _set_value(m.group(2))
            if value is None:
                return Command(Kind.ERROR, text, name=f'invalid value for parameter "{name}"')
            return Command(Kind.SET, text, name=name, value=value)
        return Command(Kind.SET, text, name=name, value=-1)
    return Command(Kind.ERROR, text, name=f'syntax error at or near "{text.split()[0]}"')
