"""Faults for the reference server (items 4, 6, 7, 11 of the hostile-input work), each against
a real server process on real sockets:

- connection churn: the server forgets every backend that has exited, so its memory per
  connection is bounded (it kept every Backend, about 3.6 KB per connection);
- slow clients that send a type byte and part of a body pin a carrier only for
  --body-timeout, so other clients are served;
- SIGTERM and SIGKILL in the middle of a load: every client sees FATAL 57P01 or the end of
  the connection, nothing else; a session in pg_sleep gets FATAL 57P01, not its row;
- bad options are one line and exit code 2; a Query without its NUL is not executed.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from pgcheck.reference import Runtime, RuntimeConfig
from pgcheck.reference.client import ClientError, PgClient

from tests.hostile.harness import child_env, limit_child

CHURN_WARMUP, CHURN = 300, 1500


@contextmanager
def server(tmp_path: Path, *args: str) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """`python -m pgcheck.reference` on a free port, with the sandbox's resource limits."""
    log = tmp_path / f"server-{time.monotonic_ns()}.log"
    env = child_env()
    with log.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "pgcheck.reference", "--port", "0", *args],
                                stdout=subprocess.DEVNULL, stderr=err, env=env, preexec_fn=limit_child, cwd=tmp_path)
    try:
        port = 0
        for _ in range(600):
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", log.read_text())
            if m:
                port = int(m.group(1))
                break
            assert proc.poll() is None, log.read_text()
            time.sleep(0.05)
        assert port, "the server did not start: " + log.read_text()
        yield proc, port, log
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def churn(port: int, n: int) -> None:
    for i in range(n):
        c = PgClient("127.0.0.1", port).connect()
        if i % 3 == 0:
            c.query(f"LISTEN ch{i}")  # a channel of its own: the listener registry must forget it too
        c.query("SELECT 1")
        c.terminate()


def test_connection_churn_keeps_memory_per_connection_bounded(tmp_path: Path) -> None:
    """Item 6: 21.7 -> 51.5 MB over 8,000 sequential connections (3.6 KB each)."""
    with server(tmp_path, "--carriers", "2") as (proc, port, _):
        churn(port, CHURN_WARMUP)
        time.sleep(0.5)  # the last sessions' exits
        before = rss_bytes(proc.pid)
        churn(port, CHURN)
        time.sleep(0.5)
        grown = rss_bytes(proc.pid) - before
    assert grown / CHURN < 1024, f"{grown / CHURN:.0f} bytes per connection"


def test_an_exited_backend_is_forgotten() -> None:
    """The structure behind the bound: no Backend and no empty channel outlives its session."""
    with Runtime(RuntimeConfig(carriers=2)) as rt:
        churn(rt.port, 30)
        assert rt.wait_sessions_ended(10.0)
        assert rt.backends == {} and rt.live == {}
        assert rt.notify_hub._listeners == {}


def start_slow_client(port: int) -> socket.socket:
    """Startup done, then a Query's type byte, length word and half of its body; then nothing."""
    c = PgClient("127.0.0.1", port).connect()
    assert c.sock is not None
    body = b"SELECT 1\0"
    c.sock.sendall(b"Q" + struct.pack("!I", 4 + len(body)) + body[:4])
    return c.sock


@pytest.mark.parametrize(("body_timeout", "served"), [("1", True), (None, False)])
def test_slow_clients_pin_carriers_only_for_the_body_timeout(tmp_path: Path, body_timeout: str | None,
                                                             served: bool) -> None:
    """Item 7: four slow clients stalled a 4-carrier server for the default 30 s; with
    --body-timeout 1 a fifth client is served while they wait (and without it, it is not)."""
    extra = [] if body_timeout is None else ["--body-timeout", body_timeout]
    with server(tmp_path, "--carriers", "4", *extra) as (_, port, _log):
        slow = [start_slow_client(port) for _ in range(4)]
        time.sleep(1.0)  # their type bytes are consumed: four pinned carriers
        try:
            fifth = PgClient("127.0.0.1", port, timeout=8.0)
            try:
                fifth.connect()
                ok = fifth.query("SELECT 1").rows == [["1"]]
            except ClientError:
                ok = False
            assert ok == served
            if served:
                for s in slow:  # ended by the server: EOF, or FATAL then EOF
                    s.settimeout(10.0)
                    data = b""
                    with suppress(ConnectionResetError):
                        while chunk := s.recv(4096):
                            data += chunk
                    assert data == b"" or data.startswith(b"E"), data
        finally:
            for s in slow:
                s.close()


class LoadClient(threading.Thread):
    """Queries until the connection ends; records how it ended and any unexpected error."""

    def __init__(self, port: int, index: int) -> None:
        super().__init__(daemon=True)
        self.port, self.index = port, index
        self.queries = 0
        self.end = ""
        self.unexpected: list[str] = []

    def run(self) -> None:
        script = ["SELECT 1", "SELECT pg_sleep(0.05)", "BEGIN", "SELECT 1", "COMMIT", "LISTEN ch", "NOTIFY ch"]
        try:
            c = PgClient("127.0.0.1", self.port, timeout=20.0).connect()
        except (OSError, ClientError):
            self.end = "refused"
            return
        try:
            while True:
                result = c.query(script[self.queries % len(script)])
                self.queries += 1
                codes = [e.code for e in result.errors]
                if codes:
                    self.unexpected.append(f"errors {codes}")
        except ClientError as exc:
            text = str(exc)
            if c.fatal is not None:
                self.end = f"FATAL {c.fatal.code}"
            elif "closed" in text or "reset" in text.lower() or "lost" in text:
                self.end = "EOF"
            else:
                self.end = text
        except OSError as exc:  # sending into a closed connection
            self.end = "EOF" if exc.errno in (32, 104) else str(exc)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_server_stopped_under_load_ends_every_session_cleanly(tmp_path: Path, sig: signal.Signals) -> None:
    with server(tmp_path, "--carriers", "2") as (proc, port, log):
        clients = [LoadClient(port, i) for i in range(8)]
        for c in clients:
            c.start()
        deadline = time.monotonic() + 30
        while any(c.queries < 3 for c in clients) and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, sig)
        for c in clients:
            c.join(30)
        code = proc.wait(timeout=30)
        text = log.read_text()
    allowed = {"EOF", "refused"} | ({"FATAL 57P01"} if sig == signal.SIGTERM else set())
    assert [(c.index, c.end) for c in clients if c.end not in allowed] == []
    assert [(c.index, c.unexpected) for c in clients if c.unexpected] == []
    assert "Traceback" not in text
    if sig == signal.SIGTERM:
        assert code == 0, text[-2000:]
        assert any(c.end == "FATAL 57P01" for c in clients)


def test_a_session_in_pg_sleep_gets_fatal_at_shutdown(tmp_path: Path) -> None:
    """Item 11: on SIGTERM a session in pg_sleep got its result row, then EOF."""
    with server(tmp_path, "--carriers", "1") as (proc, port, _):
        c = PgClient("127.0.0.1", port, timeout=20.0).connect()
        assert c.sock is not None
        c.send_raw(b"Q" + struct.pack("!I", 4 + len(b"SELECT pg_sleep(30)\0")) + b"SELECT pg_sleep(30)\0")
        time.sleep(0.5)  # in the deep wait
        os.kill(proc.pid, signal.SIGTERM)
        with pytest.raises(ClientError, match="closed"):
            result = c.read_until_ready()
            raise AssertionError(f"the sleep finished: {result}")
        assert c.fatal is not None and c.fatal.code == "57P01"
        assert proc.wait(timeout=30) == 0


def test_a_query_without_its_nul_is_not_executed(tmp_path: Path) -> None:
    """Item 11: a Query message without its terminating NUL was executed."""
    with server(tmp_path, "--carriers", "1") as (_, port, _log):
        c = PgClient("127.0.0.1", port).connect()
        c.send_raw(b"Q" + struct.pack("!I", 4 + len(b"SELECT 1")) + b"SELECT 1")
        with pytest.raises(ClientError, match="closed"):
            c.read_until_ready()
        assert c.fatal is not None and c.fatal.code == "08P01"


@pytest.mark.parametrize("args", [
    ["--port", "99999"], ["--port", "-1"], ["--port", "x"], ["--carriers", "0"], ["--body-timeout", "nan"],
    ["--body-timeout", "-1"], ["--events", "/dev/full"], ["--events", ""], ["--events", "{tmp}/no/such/dir/e.jsonl"],
    ["--events", "{tmp}"], ["--sticky-idle-ms", "-5"], ["--mode", "\x1b[2J"],
], ids=lambda a: " ".join(a))
def test_bad_server_options_are_one_line(tmp_path: Path, args: list[str]) -> None:
    """Item 4: --port 99999 or -1 and an unwritable --events were tracebacks."""
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    env = child_env()
    done = subprocess.run([sys.executable, "-m", "pgcheck.reference", *argv], capture_output=True, text=True,
                          timeout=60, env=env, preexec_fn=limit_child, cwd=tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "\x1b" not in done.stderr
    assert Path("/dev/full").is_char_device()
