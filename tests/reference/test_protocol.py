"""Protocol v3 subset over real sockets, in both runtime shapes."""

from __future__ import annotations

from collections.abc import Callable

from pgcheck.reference import Runtime
from pgcheck.reference.client import PgClient


def test_startup_reports_parameters_and_key(connect: Callable[[], PgClient]) -> None:
    client = connect()
    assert client.status == "I"
    assert client.pid > 0
    for name in ("server_version", "client_encoding", "DateStyle", "integer_datetimes", "TimeZone"):
        assert name in client.parameters
    assert client.parameters["client_encoding"] == "UTF8"
    assert client.parameters["standard_conforming_strings"] == "on"


def test_select_int_returns_one_row(connect: Callable[[], PgClient]) -> None:
    result = connect().query("SELECT 1")
    assert result.rows == [["1"]]
    assert result.tags == ["SELECT 1"]
    assert result.status == "I"
    assert connect().query("select -42").rows == [["-42"]]


def test_transaction_status_bytes(connect: Callable[[], PgClient]) -> None:
    client = connect()
    assert client.query("BEGIN").status == "T"
    assert client.query("SELECT 2").status == "T"
    failed = client.query("nonsense")
    assert failed.error_codes == ["42601"] and failed.status == "E"
    ignored = client.query("SELECT 3")
    assert ignored.error_codes == ["25P02"] and ignored.status == "E"
    commit = client.query("COMMIT")
    assert commit.tags == ["ROLLBACK"] and commit.status == "I"
    assert client.query("BEGIN").status == "T"
    assert client.query("COMMIT").tags == ["COMMIT"]
    assert client.status == "I"


def test_multi_statement_and_empty_query(connect: Callable[[], PgClient]) -> None:
    client = connect()
    result = client.query("BEGIN; SELECT 7; COMMIT")
    assert result.tags == ["BEGIN", "SELECT 1", "COMMIT"] and result.rows == [["7"]] and result.status == "I"
    assert client.query("").empty
    error = client.query("SELECT 1; frobnicate; SELECT 2")
    assert error.rows == [["1"]] and error.error_codes == ["42601"]


def test_terminate_closes_session(runtime: Runtime, connect: Callable[[], PgClient]) -> None:
    client = connect()
    pid = client.pid
    client.terminate()
    _wait_gone(runtime, pid)


def test_terminate_backend_sends_fatal_57P01(runtime: Runtime, connect: Callable[[], PgClient]) -> None:
    client = connect()
    assert runtime.terminate_backend(client.pid)
    fatal = client.read_fatal()
    assert (fatal.severity, fatal.code) == ("FATAL", "57P01")
    assert client.at_eof()
    _wait_gone(runtime, client.pid)


def test_client_disconnect_ends_parked_session(runtime: Runtime, connect: Callable[[], PgClient]) -> None:
    client = connect()
    pid = client.pid
    client.close()
    _wait_gone(runtime, pid)  # L6


def _wait_gone(runtime: Runtime, pid: int, timeout: float = 5.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while runtime.backend_by_pid(pid) is not None:
        assert time.monotonic() < deadline, f"backend {pid} did not exit"
        time.sleep(0.01)
