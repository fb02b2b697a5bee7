"""A psycopg 3 connection that records what its client sees, message by message.

libpq's own protocol trace (PQtrace, through psycopg's `PGconn.trace`) writes every message
the client receives, in order; the recorder turns each into an observation of
reference/client_history.py and adds the client's own sends, close and the interrupts the
test sends it. Every wait is bounded (select with a timeout), so a server that never
answers fails the test instead of hanging it.
"""

from __future__ import annotations

import re
import select
import tempfile
import time
from typing import Any

import psycopg
from pgcheck.reference.client_history import ClientHistory, Event, command_of, observation
from psycopg.pq import Trace

REPLY_TIMEOUT_S = 20.0  # a reply a test waits for (pg_sleep is at most 5 s)
_ERROR = re.compile(r'S "(ERROR|FATAL|PANIC)".*? C "([0-9A-Z]{5})"')


class ClientGone(Exception):
    """The connection is closed: the server ended it, or the client did."""


class TracedClient:
    def __init__(self, name: str, conninfo: str, *, idle_session_ms: int = 0, idle_xact_ms: int = 0) -> None:
        self.name = name
        self.conn = psycopg.Connection.connect(conninfo, autocommit=True, connect_timeout=10)
        self.pg = self.conn.pgconn
        self.pid = self.pg.backend_pid
        self.history = ClientHistory(name, [observation("rfq", "I")], bool(idle_session_ms), bool(idle_xact_ms))
        self._trace = tempfile.TemporaryFile()  # noqa: SIM115 - libpq writes to it for the connection's life
        self._offset = 0
        self._start_trace()
        self.status = "I"  # the transaction status of the last ReadyForQuery
        self.gone = False
        self.fatal = False  # a FATAL arrived: the server is closing the connection
        self.busy = False
        self.listening = False
        for setting, ms in (("idle_session_timeout", idle_session_ms), ("idle_in_transaction_session_timeout", idle_xact_ms)):
            if ms:
                self.run(f"SET {setting} = {ms}")

    # ---------------------------------------------------------------- recording

    def _start_trace(self) -> None:
        self.pg.trace(self._trace.fileno())
        self.pg.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS)

    def _sync(self) -> None:
        """Read what libpq traced since the last call (PQuntrace flushes the stream)."""
        self.pg.untrace()
        self._trace.seek(self._offset)
        data = self._trace.read()
        self._offset += len(data)
        if not self.gone:
            self._start_trace()
        for line in data.decode("utf-8", "replace").splitlines():
            self._traced(line)

    def _traced(self, line: str) -> None:
        parts = line.split("\t", 3)
        if len(parts) < 3 or parts[0] != "B":
            return
        kind, rest = parts[2], parts[3] if len(parts) > 3 else ""
        ev: Event | None = None
        if kind in ("CommandComplete", "EmptyQueryResponse"):
            ev = observation("result")
        elif kind == "ReadyForQuery":
            self.status = rest.strip()
            ev = observation("rfq", self.status)
        elif kind == "NotificationResponse":
            ev = observation("notification")
        elif kind == "ErrorResponse":
            m = _ERROR.search(rest)
            severity, code = (m.group(1), m.group(2)) if m else ("ERROR", "?????")
            ev = observation("error" if severity == "ERROR" else "fatal", code)
            self.fatal = self.fatal or severity != "ERROR"
        if ev is not None:
            self.history.events.append(ev)

    def note(self, event: Event) -> None:
        self.history.events.append(event)

    def _lost(self) -> None:
        if not self.gone:
            self.gone = True
            self.busy = False
            self._sync()
            self.note(observation("eof"))
            self.conn.close()

    # ---------------------------------------------------------------- operations

    def poll(self) -> None:
        """Read whatever the server has sent (notifications, a FATAL, EOF) without blocking."""
        if self.gone:
            return
        try:
            ready, _, _ = select.select([self.pg.socket], [], [], 0)
            if ready:
                self.pg.consume_input()
                while self.pg.notifies() is not None:
                    pass
                if not self.busy:
                    self._drain_results()
        except psycopg.OperationalError:
            self._lost()
            return
        if self.pg.status != psycopg.pq.ConnStatus.OK:
            self._lost()
            return
        self._sync()

    def send(self, sql: str) -> bool:
        """Send one simple Query; False when the connection is gone."""
        self.poll()
        if self.fatal and not self.gone:
            self._lost()
        if self.gone:
            return False
        assert not self.busy, "one query at a time"
        self.note(Event("send", command_of(sql), sql))
        try:
            self.pg.send_query(sql.encode())
        except psycopg.OperationalError:
            self._lost()
            return False
        self.busy = True
        return True

    def finish(self, timeout: float = REPLY_TIMEOUT_S) -> None:
        """Wait for the outstanding query's ReadyForQuery (or the connection's end)."""
        if not self.wait_reply(timeout):
            raise AssertionError(f"{self.name}: no reply within {timeout} s")

    def wait_reply(self, timeout: float) -> bool:
        """Wait at most `timeout` seconds for the reply; False if it has not come yet."""
        deadline = time.monotonic() + timeout
        try:
            while self.busy:
                self.pg.consume_input()
                if self._drain_results():
                    self.busy = False
                    break
                if self.pg.status != psycopg.pq.ConnStatus.OK:
                    raise psycopg.OperationalError("connection lost")
                left = deadline - time.monotonic()
                if left <= 0:
                    self._sync()
                    return False
                select.select([self.pg.socket], [], [], min(left, 0.2))
        except psycopg.OperationalError:
            self._lost()
            return True
        self._sync()
        return True

    def _drain_results(self) -> bool:
        """Take every available result; True once libpq has seen ReadyForQuery."""
        while not self.pg.is_busy():
            r = self.pg.get_result()
            if r is None:
                return True
            if r.status == psycopg.pq.ExecStatus.FATAL_ERROR and self.pg.status != psycopg.pq.ConnStatus.OK:
                raise psycopg.OperationalError("connection lost")
        return False

    def run(self, sql: str) -> None:
        if self.send(sql):
            self.finish()

    def cancel(self) -> None:
        """Send a CancelRequest (the interrupt is noted first: it may act any time after)."""
        if self.gone:
            return
        self.note(Event("interrupt", "cancel"))
        self.conn.cancel_safe(timeout=REPLY_TIMEOUT_S)  # non-blocking libpq cancel: waits in Python

    def close(self) -> None:
        if self.gone:
            return
        self.poll()
        if self.gone:
            return
        self.note(Event("close"))
        self.gone = True
        self._sync()
        self.conn.close()

    def wait_gone(self, timeout: float) -> bool:
        """Poll until the server ends the connection, at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not self.gone and time.monotonic() < deadline:
            if self.busy:
                self.wait_reply(max(0.01, deadline - time.monotonic()))
            else:
                select.select([self.pg.socket], [], [], 0.05)
                self.poll()
        return self.gone

    def __del__(self) -> None:
        conn: Any = getattr(self, "conn", None)
        if conn is not None and not conn.closed:
            conn.close()
        trace: Any = getattr(self, "_trace", None)
        if trace is not None:
            trace.close()
