"""The real psycopg2 client (libpq, simple Query protocol) against the pooled reference server.

The server runs in its own process (the `pg_server` fixture): psycopg2's `cancel()` holds the
GIL while libpq sends the CancelRequest, so an in-process server could not accept it.
"""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Callable, Iterator

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import pytest
from pg_server import PgServer

STATUS_IDLE = psycopg2.extensions.TRANSACTION_STATUS_IDLE
STATUS_INTRANS = psycopg2.extensions.TRANSACTION_STATUS_INTRANS


@pytest.fixture
def connect(pg_server: PgServer) -> Iterator[Callable[[], psycopg2.extensions.connection]]:
    opened: list[psycopg2.extensions.connection] = []

    def open_connection() -> psycopg2.extensions.connection:
        conn = psycopg2.connect(host="127.0.0.1", port=pg_server.port, user="x", dbname="x", connect_timeout=30)
        opened.append(conn)
        return conn

    yield open_connection
    for conn in opened:
        conn.close()


def test_select_1(connect: Callable[[], psycopg2.extensions.connection]) -> None:
    conn = connect()
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchall() == [(1,)]
        assert cur.description is not None and cur.description[0].name == "?column?"
    assert conn.info.transaction_status == STATUS_IDLE


def test_begin_commit_transaction_status(connect: Callable[[], psycopg2.extensions.connection]) -> None:
    conn = connect()
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        assert conn.info.transaction_status == STATUS_INTRANS
        cur.execute("SELECT 7")
        assert cur.fetchone() == (7,)
        assert conn.info.transaction_status == STATUS_INTRANS
        cur.execute("COMMIT")
        assert cur.statusmessage == "COMMIT"
        assert conn.info.transaction_status == STATUS_IDLE
    # psycopg2's own transaction handling (it sends BEGIN before the first statement)
    conn.autocommit = False
    with conn.cursor() as cur:
        cur.execute("SELECT 8")
        assert cur.fetchone() == (8,)
        assert conn.info.transaction_status == STATUS_INTRANS
    conn.commit()
    assert conn.info.transaction_status == STATUS_IDLE


def test_listen_notify_round_trip(connect: Callable[[], psycopg2.extensions.connection]) -> None:
    listener, notifier = connect(), connect()
    listener.autocommit = notifier.autocommit = True
    with listener.cursor() as cur:
        cur.execute("LISTEN ping")
    with notifier.cursor() as cur:
        cur.execute("NOTIFY ping, 'from the notifier'")
    deadline = time.monotonic() + 60
    while not listener.notifies and time.monotonic() < deadline:
        select.select([listener], [], [], 1.0)
        listener.poll()
    assert [(n.pid, n.channel, n.payload) for n in listener.notifies] == [
        (notifier.get_backend_pid(), "ping", "from the notifier")
    ]


def test_pg_sleep_canceled_from_another_connection(
    pg_server: PgServer, connect: Callable[[], psycopg2.extensions.connection]
) -> None:
    conn = connect()
    conn.autocommit = True
    raised: list[BaseException] = []

    def sleeper() -> None:
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_sleep(60)")
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=sleeper, daemon=True)
    thread.start()
    # cancel only once the session is in its deep wait (a cancel while idle is a no-op)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not pg_server.executed("pg_sleep(60)"):
        time.sleep(0.05)
    conn.cancel()  # libpq's PQcancel: a CancelRequest on a new connection with the secret key
    thread.join(60)
    assert not thread.is_alive()
    assert len(raised) == 1 and isinstance(raised[0], psycopg2.errors.QueryCanceled), raised
    assert raised[0].pgcode == "57014"
    # the session goes on after the cancel
    with conn.cursor() as cur:
        cur.execute("SELECT 9")
        assert cur.fetchone() == (9,)
