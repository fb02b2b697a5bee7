"""Client programs: a list of operations on numbered clients, run against a server target.

The same program runs against the real PostgreSQL server and the reference server (pooled
mode), each run recording every client's history. An operation on a client whose
connection has ended does nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

import psycopg
from pgcheck.reference.client_history import Event, History

from tests.realpg.clients import TracedClient

TIMEOUT_MS = 300  # idle_session_timeout / idle_in_transaction_session_timeout when a client sets one
SHORT_SLEEP_S = 0.02
BACKGROUND_SLEEP_S = 0.2
LONG_SLEEP_S = 5  # a pg_sleep that a cancel or a terminate ends
WAIT_S = 5.0  # bounded waits: a running sleep, an ended connection


@dataclass(frozen=True)
class Op:
    name: str  # one of OPS
    client: int
    other: int = 0  # the second client (notify's sender is `client`; terminate's target is `client`)

    def show(self) -> str:
        return f"{self.name}({self.client}{', ' + str(self.other) if self.name == 'notify' else ''})"


OPS = (
    "connect",  # open the next client (other: 0 no timeout, 1 idle_session_timeout, 2 idle_in_transaction)
    "select",
    "sql_error",  # a query that fails (division by zero)
    "begin",
    "commit",
    "rollback",
    "listen",
    "notify",  # client sends NOTIFY on the channel; every client that has sent LISTEN gets the interrupt
    "sleep",  # a short pg_sleep to its end
    "start_sleep",  # a pg_sleep the client does not wait for: other operations run meanwhile
    "cancel_sleep",  # a long pg_sleep, a cancel while it runs
    "cancel_idle",  # a cancel to the session (idle, or busy after start_sleep)
    "terminate",  # pg_terminate_backend of the session (idle, or busy after start_sleep)
    "terminate_sleep",  # pg_terminate_backend of a session in a long pg_sleep
    "wait_timeout",  # wait (bounded) for the session's idle timeout to end it
    "close",
)


class Target(Protocol):
    name: str
    version: str

    def conninfo(self) -> str: ...

    def terminate(self, pid: int) -> None: ...

    def wait_running(self, pid: int) -> None: ...


@dataclass
class Run:
    target: Target
    clients: list[TracedClient] = field(default_factory=list)

    def history(self) -> History:
        for c in self.clients:
            if c.busy:
                c.finish()
            c.poll()
        return History([c.history for c in self.clients], self.target.version)

    def close(self) -> None:
        for c in self.clients:
            c.close()


def apply(run: Run, op: Op) -> None:
    """Run one operation; a finished run keeps each client's history."""
    if op.name == "connect":
        timeouts = {1: {"idle_session_ms": TIMEOUT_MS}, 2: {"idle_xact_ms": TIMEOUT_MS}}.get(op.other, {})
        run.clients.append(TracedClient(f"c{len(run.clients)}", run.target.conninfo(), **timeouts))
        return
    if not 0 <= op.client < len(run.clients):
        return
    c = run.clients[op.client]
    if c.busy and op.name not in ("cancel_idle", "terminate"):
        c.finish()  # the client waits for its running command before its next operation
    c.poll()
    if c.gone:
        return
    status = c.status
    if op.name == "select":
        c.run("SELECT 1")  # in a failed block: ERROR 25P02
    elif op.name == "sql_error":
        c.run("SELECT 1/0")  # ERROR 22012
    elif op.name == "begin":
        c.run("BEGIN")  # inside a block: WARNING 25001, the status unchanged
    elif op.name in ("commit", "rollback"):
        c.run(op.name.upper())  # outside a block: WARNING 25P01
    elif op.name == "listen":
        c.listening = True
        c.run("LISTEN ch")
    elif op.name == "notify":
        for other in run.clients:
            if other.listening and not other.gone:
                other.note(Event("interrupt", "notify"))  # before the NOTIFY: a lower bound
        c.run("NOTIFY ch")
    elif op.name == "sleep":
        c.run(f"SELECT pg_sleep({SHORT_SLEEP_S})")
    elif op.name == "start_sleep":
        c.send(f"SELECT pg_sleep({BACKGROUND_SLEEP_S})")
    elif op.name in ("cancel_sleep", "terminate_sleep") and status != "E":  # in a failed block it would not sleep
        if c.send(f"SELECT pg_sleep({LONG_SLEEP_S})"):
            run.target.wait_running(c.pid)
            if op.name == "cancel_sleep":
                c.cancel()
            else:
                c.note(Event("interrupt", "die"))
                run.target.terminate(c.pid)
            c.finish()
    elif op.name == "cancel_idle":
        c.cancel()
        c.poll()
    elif op.name == "terminate":
        c.note(Event("interrupt", "die"))
        run.target.terminate(c.pid)
        c.wait_gone(WAIT_S)
    elif op.name == "wait_timeout":
        applies = c.history.idle_in_xact_timeout if status in ("T", "E") else c.history.idle_session_timeout
        if applies:
            c.wait_gone(WAIT_S)
    elif op.name == "close":
        c.close()


def run_program(target: Target, program: list[Op]) -> History:
    run = Run(target)
    try:
        for op in program:
            apply(run, op)
        return run.history()
    finally:
        run.close()


# ------------------------------------------------------------------ targets


class RealTarget:
    """The real server; an extra admin connection runs pg_terminate_backend and watches pg_stat_activity."""

    name = "postgresql"

    def __init__(self, conninfo: str, version: str) -> None:
        self._conninfo = conninfo
        self.version = version
        self.admin = psycopg.Connection.connect(conninfo, autocommit=True)

    def conninfo(self) -> str:
        return self._conninfo

    def terminate(self, pid: int) -> None:
        self.admin.execute("SELECT pg_terminate_backend(%s)", [pid])

    def wait_running(self, pid: int) -> None:
        """Poll pg_stat_activity (bounded) until the pg_sleep of backend `pid` is running."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            row = self.admin.execute(
                "SELECT state, wait_event FROM pg_stat_activity WHERE pid = %s", [pid]
            ).fetchone()
            if row is None or (row[0] == "active" and row[1] == "PgSleep"):
                return
            time.sleep(0.005)

    def close(self) -> None:
        self.admin.close()


class ReferenceTarget:
    """The reference server of reference/ in pooled mode, in this process."""

    name = "reference"

    def __init__(self, carriers: int = 2) -> None:
        from pgcheck.reference.runtime import Runtime, RuntimeConfig
        from pgcheck.reference.states import Mode

        self.rt = Runtime(RuntimeConfig(mode=Mode.POOLED, carriers=carriers, port=0), None).start()
        self.version = f"pgcheck reference, pooled, {carriers} carriers"

    def conninfo(self) -> str:
        return f"host=127.0.0.1 port={self.rt.port} user=pgcheck dbname=pgcheck"

    def terminate(self, pid: int) -> None:
        self.rt.terminate_backend(pid)

    def wait_running(self, pid: int) -> None:
        """Poll the backend's deep-wait flag (bounded) until its pg_sleep is running."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            b = self.rt.backend_by_pid(pid)
            if b is None or b.deep_wait:
                return
            time.sleep(0.005)

    def close(self) -> None:
        self.rt.stop()
