"""Run the statements of a simple Query for an attached backend (the Execute step).

The executor only produces protocol output and session-state changes; a `pg_sleep`
stops it and asks the session step for a deep wait (S12), after which the remaining
statements run in the next Execute step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pgcheck.reference import protocol as pq
from pgcheck.reference import sql
from pgcheck.reference.backend import Backend
from pgcheck.reference.notify import NotifyHub


@dataclass
class ExecResult:
    output: bytes = b""
    sleep: float | None = None  # run a deep wait of this many seconds next
    done: bool = True  # the whole query string has been processed
    failed: bool = False  # an ErrorResponse was sent


class Work(Protocol):
    """What one frontend message asks the Execute steps to do (a simple Query's statements or
    an extended-query batch)."""

    @property
    def more(self) -> bool:
        """Another Execute step follows the current deep wait."""
        ...

    def run(self, b: Backend, hub: NotifyHub) -> ExecResult:
        """Run until the end or a pg_sleep (its deep wait comes next)."""
        ...

    def after_sleep(self, b: Backend, hub: NotifyHub, canceled: bool) -> bytes:
        """Output when the deep wait ended (and, if nothing more runs, the rest of the message)."""
        ...


class QueryWork:
    """The statements of a simple Query."""

    def __init__(self, statements: list[str]) -> None:
        self.rest = statements

    @property
    def more(self) -> bool:
        return bool(self.rest)

    def run(self, b: Backend, hub: NotifyHub) -> ExecResult:
        result, self.rest = run_statements(b, self.rest, hub)
        return result

    def after_sleep(self, b: Backend, hub: NotifyHub, canceled: bool) -> bytes:
        if canceled:
            self.rest = []
        return finish_sleep(b, canceled)


def _error(b: Backend, code: str, text: str) -> bytes:
    if b.session.in_transaction_block:
        b.session.transaction_failed = True
    return pq.error_response("ERROR", code, text)


def run_statements(
    b: Backend, statements: list[str], hub: NotifyHub, describe: bool = True
) -> tuple[ExecResult, list[str]]:
    """Run statements until the end, an error, or a pg_sleep; return the rest.
    `describe`: send RowDescription (a simple Query; an extended Execute does not)."""
    s = b.session
    out = bytearray()
    rest = list(statements)
    while rest:
        cmd = sql.parse(rest.pop(0))
        if s.transaction_failed and cmd.kind not in (sql.Kind.COMMIT, sql.Kind.ROLLBACK):
            out += _error(
                b, "25P02", "current transaction is aborted, commands ignored until end of transaction block"
            )
            return ExecResult(bytes(out), failed=True), []
        if cmd.kind is sql.Kind.EMPTY:
            continue
        if cmd.kind is sql.Kind.SELECT_INT:
            if describe:
                out += pq.row_description(row_columns(cmd))
            out += pq.data_row([str(cmd.value)])
            out += pq.command_complete("SELECT 1")
        elif cmd.kind is sql.Kind.PG_SLEEP:
            if describe:
                out += pq.row_description(row_columns(cmd))
            return ExecResult(bytes(out), sleep=cmd.seconds, done=False), rest
        elif cmd.kind is sql.Kind.BEGIN:
            s.in_transaction_block = True
            out += pq.command_complete("BEGIN")
        elif cmd.kind is sql.Kind.COMMIT:
            tag = "ROLLBACK" if s.transaction_failed else "COMMIT"
            outgoing = [] if s.transaction_failed else s.outgoing
            s.outgoing = []
            s.in_transaction_block = False
            s.transaction_failed = False
            for channel, payload in outgoing:
                hub.publish(b, channel, payload)
            out += pq.command_complete(tag)
        elif cmd.kind is sql.Kind.ROLLBACK:
            s.outgoing = []
            s.in_transaction_block = False
            s.transaction_failed = False
            out += pq.command_complete("ROLLBACK")
        elif cmd.kind is sql.Kind.LISTEN:
            s.listening.add(cmd.channel)
            hub.listen(b, cmd.channel)
            out += pq.command_complete("LISTEN")
        elif cmd.kind is sql.Kind.UNLISTEN:
            if cmd.channel == "*":
                s.listening.clear()
            else:
                s.listening.discard(cmd.channel)
            hub.unlisten(b, cmd.channel)
            out += pq.command_complete("UNLISTEN")
        elif cmd.kind is sql.Kind.NOTIFY:
            if s.in_transaction_block:
                s.outgoing.append((cmd.channel, cmd.payload))
            else:
                hub.publish(b, cmd.channel, cmd.payload)
            out += pq.command_complete("NOTIFY")
        elif cmd.kind is sql.Kind.SET:
            if cmd.name == "idle_session_timeout":
                b.timeouts.idle_session_ms = cmd.value
            elif cmd.name == "idle_in_transaction_session_timeout":
                b.timeouts.idle_in_transaction_ms = cmd.value
            out += pq.command_complete("SET")
        else:
            out += _error(b, "42601", cmd.name)
            return ExecResult(bytes(out), failed=True), []
    return ExecResult(bytes(out)), []


def row_columns(cmd: sql.Command) -> list[tuple[str, int, int]]:
    """The RowDescription of a command's result; empty if it returns no rows."""
    if cmd.kind is sql.Kind.SELECT_INT:
        return [("?column?", pq.INT4_OID, 4)]
    if cmd.kind is sql.Kind.PG_SLEEP:
        return [("pg_sleep", pq.VOID_OID, 4)]
    return []


def finish_sleep(b: Backend, canceled: bool) -> bytes:
    """Output of a pg_sleep that ended: its row, or the cancel error (57014)."""
    if canceled:
        return _error(b, "57014", "canceling statement due to user request")
    return pq.data_row([""]) + pq.command_complete("SELECT 1")
