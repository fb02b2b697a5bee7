"""Fixed scenarios against the real server: libpq's psql through a recording proxy, and
real histories that a broken model must reject (each check paired with its failure)."""

from __future__ import annotations

import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.model.config import ModelConfig
from pgcheck.model.mutations.base import patch
from pgcheck.reference.client_history import Event, History, check_client, check_history

from tests.realpg.clients import TracedClient
from tests.realpg.programs import Op, RealTarget, run_program
from tests.realpg.proxy import RecordingProxy
from tests.realpg.server import RealServer
from tests.realpg.stats import CHECKED


def _psql(server: RealServer, host: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(server.bindir / "psql"), "-X", "-q", "-h", host, "-U", server.superuser, "-d", "postgres"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _type(psql: subprocess.Popen[str], line: str) -> None:
    assert psql.stdin is not None
    psql.stdin.write(line + "\n")
    psql.stdin.flush()


def test_psql_sessions_are_allowed_by_the_model(real_server: RealServer) -> None:
    """psql LISTENs, gets a NOTIFY while idle and one held back by its transaction block, has a
    pg_sleep cancelled (SIGINT: psql sends the CancelRequest; a script's psql then exits); a
    second psql is terminated while idle."""
    target = RealTarget(real_server.conninfo(), real_server.version)
    histories = []
    with tempfile.TemporaryDirectory() as d:
        server_socket = str(Path(real_server.socket_dir) / ".s.PGSQL.5432")
        proxy = RecordingProxy(Path(d), server_socket)
        psql = _psql(real_server, d)
        notifier = TracedClient("notifier", real_server.conninfo())
        try:
            proxy.wait_for(1, "rfq_idle")
            _type(psql, "LISTEN ch;")
            proxy.wait_for(2, "rfq_idle")
            proxy.note(Event("interrupt", "notify"))
            notifier.run("NOTIFY ch")
            proxy.wait_for(1, "notification")  # delivered while psql is idle
            _type(psql, "BEGIN;")
            proxy.wait_for(1, "rfq_xact")
            proxy.note(Event("interrupt", "notify"))
            notifier.run("NOTIFY ch")
            _type(psql, "SELECT 1;")
            proxy.wait_for(2, "rfq_xact")
            _type(psql, "COMMIT;")
            proxy.wait_for(3, "rfq_idle")
            _type(psql, "SELECT pg_sleep(5);")
            proxy.wait_for(5, "send")
            target.wait_running(proxy.pid)
            psql.send_signal(signal.SIGINT)  # psql sends a CancelRequest through the proxy
            proxy.wait_for(1, "error")
            psql.wait(timeout=20)  # a script stopped with Ctrl-C ends
        finally:
            _end(psql)
            notifier.close()
            proxy.stop()
        histories.append(proxy.history)
        proxy = RecordingProxy(Path(d), server_socket, "psql-terminated")
        psql = _psql(real_server, d)
        try:
            proxy.wait_for(1, "rfq_idle")
            proxy.note(Event("interrupt", "die"))
            target.terminate(proxy.pid)
            proxy.wait_for(1, "eof")
            _type(psql, "\\q")
            psql.wait(timeout=20)
        finally:
            _end(psql)
            proxy.stop()
            target.close()
        histories.append(proxy.history)
    got = [[e.what for e in h.events if e.kind == "recv"] for h in histories]
    # The scenario did what it says: two notifications, the cancel's error, the terminate's FATAL.
    assert got[0].count("notification") == 2 and "error" in got[0] and "fatal_die" in got[1], got
    verdict = check_history(History(histories, real_server.version))
    assert verdict.ok, "\n".join(v.show(h) for v, h in zip(verdict.clients, histories, strict=True))
    CHECKED["client events (psql)"] += verdict.events


def _end(psql: subprocess.Popen[str]) -> None:
    if psql.poll() is None:
        psql.kill()
        psql.wait()




# Two seeded bugs of client-visible behaviour, written here for the pairing: a lost cancel
# (neither the dispatch nor a deep wait ever takes QUERY_CANCEL, so a cancelled command
# cannot end with 57014) and a blocked read that ignores NOTIFY (§3.4: an idle listener
# is not woken, so a notification waits for the next command).
def _cancel_lost(spec: Spec, cfg: ModelConfig) -> None:
    def no_cancel(s: Any, original: Any, c: int, b: int) -> None:
        require(~X.set_has(s.session[b].mbox, "cancel"))
        original(s, c=c, b=b)

    patch(spec, "Execute", no_cancel)
    patch(spec, "DeepWaitWake", no_cancel)


def _idle_notify_ignored(spec: Spec, cfg: ModelConfig) -> None:
    def BlockedReadWake(s: Any, original: Any, c: int, b: int) -> None:
        require(~X.set_has(s.session[b].mbox, "notify"))
        original(s, c=c, b=b)

    patch(spec, "BlockedReadWake", BlockedReadWake)


PAIRING_PROGRAM = [
    Op("connect", 0),
    Op("connect", 0),
    Op("listen", 0),
    Op("notify", 1),
    Op("select", 0),
    Op("cancel_sleep", 1),
    Op("select", 1),
]


@pytest.mark.parametrize(("mutate", "client", "rejected"), [(_cancel_lost, 1, "error"), (_idle_notify_ignored, 0, "notification")])
def test_a_broken_model_rejects_the_real_servers_history(real_server: RealServer, mutate: Any, client: int, rejected: str) -> None:
    target = RealTarget(real_server.conninfo(), real_server.version)
    try:
        history = run_program(target, PAIRING_PROGRAM)
    finally:
        target.close()
    h = history.clients[client]
    # The real server did what the scenario is about: the cancel's 57014, the idle notification.
    assert rejected in [e.what for e in h.events]
    assert check_client(h).ok, check_client(h).show(h)
    verdict = check_client(h, mutate=mutate)
    assert not verdict.ok and verdict.failed_at is not None
    assert h.events[verdict.failed_at].what == rejected, verdict.show(h)
