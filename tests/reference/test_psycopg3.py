"""The real psycopg 3 client (libpq, extended query protocol: Parse/Bind/Describe/Execute/Sync)
against the pooled reference server in its own process (`pg_server`).

Each batch pins its carrier from the first message through Sync (S9): the event log shows
no park step and no other carrier for the backend in between, and the whole log of the
psycopg 3 sessions conforms to the model (check-trace).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import psycopg.errors
import pytest
from pg_server import PgServer
from pgcheck.reference.trace_check import check_events, trace_config
from pgcheck.reference.trace_events import read_events
from psycopg.pq import TransactionStatus

PARK_STEPS = {"PreparePark", "UnwindStep", "CommitPark", "Detach", "EnqueuePark"}
Connect = Callable[..., psycopg.Connection[Any]]


@pytest.fixture
def connect(pg_server: PgServer) -> Iterator[Connect]:
    opened: list[psycopg.Connection[Any]] = []

    def open_connection(**kwargs: Any) -> psycopg.Connection[Any]:
        conn = psycopg.connect(
            host="127.0.0.1", port=pg_server.port, user="x", dbname="x", connect_timeout=30, **kwargs
        )
        opened.append(conn)
        return conn

    yield open_connection
    for conn in opened:
        conn.close()


def _events(log: Path) -> list[dict[str, Any]]:
    out = []
    for line in log.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            break  # a line being written
    return out


def _wait_exits(server: PgServer, sessions: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if sum(e["action"] == "LogicalExit" for e in _events(server.events)) >= sessions:
            return
        time.sleep(0.05)
    raise AssertionError("sessions did not end")


def _assert_batches_pinned(server: PgServer) -> int:
    """From an extended-query type byte to the end of its command, the backend's steps run on
    the byte's carrier and none of them is a park step (S9).  Returns the number of batches."""
    open_batch: dict[int, int] = {}  # backend -> carrier
    batches = 0
    for e in _events(server.events):
        p = e.get("params", {})
        b, c = p.get("b"), p.get("c")
        if b is None:
            continue
        if e["action"] == "ConsumeTypeByte" and p.get("type") in tuple("PBDEHCS"):
            open_batch[b] = c
            batches += 1
        elif b in open_batch:
            assert e["action"] not in PARK_STEPS, e
            assert c in (None, open_batch[b]), e
            if e["action"] == "StepTop" or e["action"] == "LogicalExit":
                del open_batch[b]  # the command ended; StepTop sends ReadyForQuery
    return batches


def _assert_conforms(server: PgServer, sessions: int) -> None:
    _wait_exits(server, sessions)
    verdict = check_events(read_events(server.events), trace_config("pooled", server.carriers, sessions + 1))
    assert verdict.ok, verdict.mismatch


def test_select_1_and_parameters(pg_server: PgServer, connect: Connect) -> None:
    conn = connect(autocommit=True)
    cur = conn.execute("SELECT 1")
    assert cur.fetchall() == [(1,)]
    assert cur.description is not None and cur.description[0].name == "?column?"
    assert conn.execute("SELECT %s", (5,)).fetchone() == (5,)
    assert conn.execute("SELECT %t", (6,)).fetchone() == (6,)  # a text parameter
    # prepared on the server (named Parse, then Bind/Execute of the name), and closed again
    for _ in range(3):
        assert conn.execute("SELECT 2", prepare=True).fetchone() == (2,)
    conn.prepared_max = 0  # psycopg deallocates (Close) what no longer fits
    assert conn.execute("SELECT 3", prepare=True).fetchone() == (3,)
    assert conn.info.transaction_status == TransactionStatus.IDLE
    conn.close()
    assert _assert_batches_pinned(pg_server) >= 7
    types = [e["params"].get("types", "") for e in _events(pg_server.events) if e["action"] == "Execute"]
    assert "PBDES" in types and any(t.startswith("C") or "SC" in t for t in types), types
    _assert_conforms(pg_server, 1)


def test_begin_commit_transaction_status(pg_server: PgServer, connect: Connect) -> None:
    conn = connect(autocommit=True)
    conn.execute("BEGIN")
    assert conn.info.transaction_status == TransactionStatus.INTRANS
    assert conn.execute("SELECT 7").fetchone() == (7,)
    assert conn.info.transaction_status == TransactionStatus.INTRANS
    assert conn.execute("COMMIT").statusmessage == "COMMIT"
    assert conn.info.transaction_status == TransactionStatus.IDLE
    # psycopg's own transaction handling (BEGIN before the first statement)
    other = connect()
    assert other.execute("SELECT 8").fetchone() == (8,)
    assert other.info.transaction_status == TransactionStatus.INTRANS
    other.commit()
    assert other.info.transaction_status == TransactionStatus.IDLE
    with other.transaction():
        other.execute("SELECT 9")
    assert other.info.transaction_status == TransactionStatus.IDLE
    conn.close()
    other.close()
    _assert_batches_pinned(pg_server)
    _assert_conforms(pg_server, 2)


def test_error_skips_to_sync_and_session_goes_on(pg_server: PgServer, connect: Connect) -> None:
    conn = connect(autocommit=True)
    with pytest.raises(psycopg.errors.SyntaxError):
        conn.execute("SELEKT 1")
    assert conn.execute("SELECT 4").fetchone() == (4,)
    with pytest.raises(psycopg.errors.InFailedSqlTransaction):
        conn.execute("BEGIN")
        with pytest.raises(psycopg.errors.SyntaxError):
            conn.execute("nonsense")
        conn.execute("SELECT 1")
    assert conn.info.transaction_status == TransactionStatus.INERROR
    conn.execute("ROLLBACK")
    assert conn.info.transaction_status == TransactionStatus.IDLE
    conn.close()
    _assert_batches_pinned(pg_server)
    _assert_conforms(pg_server, 1)


def test_listen_notify_round_trip(pg_server: PgServer, connect: Connect) -> None:
    listener, notifier = connect(autocommit=True), connect(autocommit=True)
    listener.execute("LISTEN ping")
    notifier.execute("NOTIFY ping, 'from the notifier'")
    got = list(listener.notifies(timeout=60, stop_after=1))
    assert [(n.pid, n.channel, n.payload) for n in got] == [(notifier.info.backend_pid, "ping", "from the notifier")]
    # a notification sent while the listener is parked between commands reaches it too
    notifier.execute("NOTIFY ping, 'second'")
    got = list(listener.notifies(timeout=60, stop_after=1))
    assert [n.payload for n in got] == ["second"]
    listener.close()
    notifier.close()
    _assert_batches_pinned(pg_server)
    _assert_conforms(pg_server, 2)


def test_pg_sleep_canceled_from_another_connection(pg_server: PgServer, connect: Connect) -> None:
    conn = connect(autocommit=True)
    raised: list[BaseException] = []

    def sleeper() -> None:
        try:
            conn.execute("SELECT pg_sleep(60)")
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=sleeper, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60  # cancel once the deep wait runs (idle, a cancel is a no-op)
    while time.monotonic() < deadline and not pg_server.executed("pg_sleep(60)"):
        time.sleep(0.05)
    conn.cancel_safe(timeout=30)  # a CancelRequest on a new connection with the secret key
    thread.join(60)
    assert not thread.is_alive()
    assert len(raised) == 1 and isinstance(raised[0], psycopg.errors.QueryCanceled), raised
    assert raised[0].sqlstate == "57014"
    assert conn.execute("SELECT 9").fetchone() == (9,)  # the session goes on
    conn.close()
    _assert_batches_pinned(pg_server)
    _assert_conforms(pg_server, 1)
