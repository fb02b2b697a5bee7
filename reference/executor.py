"""Run the statements of a simple Query for an attached backend (the Execute step).

The executor only produces protocol output and session-state changes; a `pg_sleep`
stops it and asks the session step for a deep wait (S12), after which the remaining
statements run in the next Execute step.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgcheck.reference import protocol as pq
from pgcheck.reference import sql
from pgcheck.reference.backend import Backend
from pgcheck.reference.notify import NotifyHub


@dataclass
class ExecResult:
    output: bytes = b""
    sleep: float | None = None  # run a deep wait of this many seconds next
    done: bool = True  # the whole query string has been processed


def _error(b: Backend, code: str, text: str) -> bytes:
    if b.session.in_transaction_block:
        b.session.transaction_failed = True
    return pq.error_response("ERROR", code, text)


def run_statements(b: Backend, statements: list[str], hub: NotifyHub) -> tuple[ExecResult, list[str]]:
    """Run statements until the end, an error, or a pg_sleep; return the rest."""
    s = b.session
    out = bytearray()
    rest = list(statements)
    while rest:
        cmd = sql.parse(rest.pop(0))
        if s.transaction_failed and cmd.kind not in (sql.Kind.COMMIT, sql.Kind.ROLLBACK):
            out += _error(
                b, "25P02", "current transaction is aborted, commands ignored until end of transaction block"
            )
            return ExecResult(bytes(out)), []
        if cmd.kind is sql.Kind.EMPTY:
            continue
        if cmd.kind is sql.Kind.SELECT_INT:
            out += pq.row_description([("?column?", pq.INT4_OID, 4)])
            out += pq.data_row([str(cmd.value)])
            out += pq.command_complete("SELECT 1")
        elif cmd.kind is sql.Kind.PG_SLEEP:
            out += pq.row_description([("pg_sleep", pq.VOID_OID, 4)])
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
            return ExecResult(bytes(out)), []
    return ExecResult(bytes(out)), []


def finish_sleep(b: Backend, canceled: bool) -> bytes:
    """Output of a pg_sleep that ended: its row, or the cancel error (57014)."""
    if canceled:
        return _error(b, "57014", "canceling statement due to user request")
    return pq.data_row([""]) + pq.command_complete("SELECT 1")
