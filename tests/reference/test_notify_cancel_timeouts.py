"""LISTEN/NOTIFY (S24 deferral), pg_sleep deep waits and cancel (S12), logical timeouts (§2.10)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from pgcheck.reference import Runtime
from pgcheck.reference.client import ClientError, PgClient


def test_notify_reaches_idle_listener(connect: Callable[[], PgClient]) -> None:
    listener, sender = connect(), connect()
    assert listener.query("LISTEN ch").tags == ["LISTEN"]
    assert sender.query("NOTIFY ch, 'hello'").tags == ["NOTIFY"]
    note = listener.wait_notification(timeout=5.0)
    assert (note.channel, note.payload, note.pid) == ("ch", "hello", sender.pid)


def test_notify_to_self_arrives_before_ready(connect: Callable[[], PgClient]) -> None:
    client = connect()
    client.query("LISTEN me")
    result = client.query("NOTIFY me, 'x'")
    assert [n.payload for n in result.notifications] == ["x"]


def test_notify_is_deferred_until_listener_transaction_ends(
    runtime: Runtime, connect: Callable[[], PgClient]
) -> None:
    listener, sender = connect(), connect()
    listener.query("LISTEN ch")
    assert listener.query("BEGIN").status == "T"
    sender.query("NOTIFY ch, 'later'")
    b = runtime.backend_by_pid(listener.pid)
    assert b is not None
    deadline = time.monotonic() + 5
    while b.deferred_notify_generation == 0:  # T14 ran: woken, serviced, deferred, re-parked
        assert time.monotonic() < deadline, "listener was never woken to defer the notification"
        time.sleep(0.005)
    with pytest.raises(ClientError):  # S24: nothing while in the transaction block
        listener.wait_notification(timeout=0.3)
    assert listener.query("SELECT 1").notifications == []
    commit = listener.query("COMMIT")
    assert [n.payload for n in commit.notifications] == ["later"]


def test_notify_inside_sender_transaction_waits_for_commit(connect: Callable[[], PgClient]) -> None:
    listener, sender = connect(), connect()
    listener.query("LISTEN ch")
    sender.query("BEGIN")
    sender.query("NOTIFY ch, 'a'")
    with pytest.raises(ClientError):
        listener.wait_notification(timeout=0.2)
    sender.query("ROLLBACK")
    sender.query("BEGIN; NOTIFY ch, 'b'; COMMIT")
    assert listener.wait_notification().payload == "b"


def test_pg_sleep_completes_and_pins_the_carrier(runtime: Runtime, connect: Callable[[], PgClient]) -> None:
    client = connect()
    client.send_raw(_query("SELECT pg_sleep(0.4)"))
    b = runtime.backend_by_pid(client.pid)
    assert b is not None
    _wait(lambda: b.deep_wait)
    # S12: a deep wait keeps the backend attached, unparked, unqueued
    assert b.carrier is not None and b.ps.value == "none" and b.q.value == "none"
    result = client.read_until_ready()
    assert result.rows == [[""]] and result.tags == ["SELECT 1"] and not result.errors


def test_cancel_with_wrong_key_cancels_nothing_right_key_cancels(
    runtime: Runtime, connect: Callable[[], PgClient]
) -> None:
    client = connect()
    b = runtime.backend_by_pid(client.pid)
    assert b is not None
    client.send_raw(_query("SELECT pg_sleep(1.0)"))
    _wait(lambda: b.deep_wait)
    client.cancel(key=client.key ^ 0x5A5A)
    started = time.monotonic()
    result = client.read_until_ready()
    assert not result.errors and time.monotonic() - started > 0.5, "wrong key must not cancel"
    client.send_raw(_query("SELECT pg_sleep(20)"))
    _wait(lambda: b.deep_wait)
    started = time.monotonic()
    client.cancel()
    result = client.read_until_ready(timeout=5.0)
    assert result.error_codes == ["57014"]
    assert result.errors[0].message == "canceling statement due to user request"
    assert time.monotonic() - started < 2.0
    assert client.query("SELECT 1").rows == [["1"]]


def test_cancel_inside_transaction_aborts_it(runtime: Runtime, connect: Callable[[], PgClient]) -> None:
    client = connect()
    b = runtime.backend_by_pid(client.pid)
    assert b is not None
    client.query("BEGIN")
    client.send_raw(_query("SELECT pg_sleep(20)"))
    _wait(lambda: b.deep_wait)
    client.cancel()
    result = client.read_until_ready(timeout=5.0)
    assert result.error_codes == ["57014"] and result.status == "E"
    assert client.query("ROLLBACK").status == "I"


def test_idle_session_timeout_is_fatal_57P05(connect: Callable[[], PgClient]) -> None:
    client = connect()
    assert client.query("SET idle_session_timeout = 150").tags == ["SET"]
    started = time.monotonic()
    fatal = client.read_fatal(timeout=5.0)
    assert (fatal.severity, fatal.code) == ("FATAL", "57P05")
    assert 0.1 < time.monotonic() - started < 3.0
    assert client.at_eof()


def test_idle_in_transaction_timeout_is_fatal_25P03(connect: Callable[[], PgClient]) -> None:
    client = connect()
    client.query("SET idle_in_transaction_session_timeout = 150")
    client.query("SELECT 1")
    time.sleep(0.3)  # idle outside a transaction: nothing happens
    assert client.query("BEGIN").status == "T"
    fatal = client.read_fatal(timeout=5.0)
    assert (fatal.severity, fatal.code) == ("FATAL", "25P03")


def _query(sql: str) -> bytes:
    from pgcheck.reference.client import query_message

    return query_message(sql)


def _wait(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.002)
