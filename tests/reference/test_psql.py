"""The real psql client against the reference server."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Callable

import pytest
from pgcheck.reference import Mode, Runtime
from pgcheck.reference.client import PgClient


def _find_psql() -> str | None:
    found = shutil.which("psql") or (shutil.which("/usr/bin/psql"))
    if found:
        return found
    try:  # the Debian package the suite uses for real (./run installs it too)
        install = ["apt-get", "install", "-y", "-q", "postgresql-client"]
        subprocess.run(install, capture_output=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return shutil.which("psql")


PSQL = _find_psql()
pytestmark = pytest.mark.skipif(PSQL is None, reason="psql not installed and apt-get install failed")


def psql(rt: Runtime, *commands: str, timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
    assert PSQL is not None
    args = [PSQL, f"host=127.0.0.1 port={rt.port} user=x dbname=x", "-X", "-v", "ON_ERROR_STOP=1"]
    for command in commands:
        args += ["-c", command]
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(params=[Mode.POOLED, Mode.THREAD_PER_SESSION], ids=["pooled", "thread-per-session"])
def server(request: pytest.FixtureRequest, make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime(mode=request.param, carriers=2)


def test_psql_select_1(server: Runtime) -> None:
    done = psql(server, "SELECT 1")
    assert done.returncode == 0, done.stderr
    assert "?column?" in done.stdout and "(1 row)" in done.stdout


def test_psql_transaction(server: Runtime) -> None:
    done = psql(server, "BEGIN", "SELECT 2", "COMMIT", "BEGIN; SELECT 3; COMMIT")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("BEGIN") == 2 and done.stdout.count("COMMIT") == 2
    assert "2" in done.stdout and "3" in done.stdout


def test_psql_reports_errors(server: Runtime) -> None:
    done = psql(server, "SELEC 1")
    assert done.returncode != 0 and "syntax error" in done.stderr


def test_psql_listen_notify_round_trip(server: Runtime) -> None:
    # psql notifies a listening test client
    listener = PgClient("127.0.0.1", server.port, timeout=5.0).connect()
    listener.query("LISTEN from_psql")
    done = psql(server, "NOTIFY from_psql, 'hi there'")
    assert done.returncode == 0, done.stderr
    assert listener.wait_notification().payload == "hi there"
    # a psql session listens; another psql notifies while the first is in pg_sleep
    result: dict[str, subprocess.CompletedProcess[str]] = {}
    listening = threading.Thread(
        target=lambda: result.setdefault("a", psql(server, "LISTEN to_psql", "SELECT pg_sleep(1.5)"))
    )
    listening.start()
    time.sleep(0.5)
    notifier = psql(server, "NOTIFY to_psql, 'payload'")
    assert notifier.returncode == 0, notifier.stderr
    listening.join(20)
    out = result["a"]
    assert out.returncode == 0, out.stderr
    assert 'Asynchronous notification "to_psql" with payload "payload" received' in out.stdout
    listener.terminate()
