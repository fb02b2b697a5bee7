"""Item 3 of the hostile-input work: a session that NOTIFYs a channel it listens on (in one
query, in two, inside a transaction) writes a log check-trace accepts; the model's
ExecuteNotifySelf is that step, and without it the same logs are a MISMATCH."""

from __future__ import annotations

from pathlib import Path

import pytest
from pgcheck.reference import FileSink, Runtime, RuntimeConfig
from pgcheck.reference.client import PgClient
from pgcheck.reference.trace_check import check_events, trace_config
from pgcheck.reference.trace_events import read_events

SCRIPTS = {
    "one query": ["LISTEN ch; NOTIFY ch"],
    "two queries": ["LISTEN ch", "NOTIFY ch, 'x'"],
    "in a transaction": ["LISTEN ch", "BEGIN", "NOTIFY ch", "SELECT 1", "COMMIT"],
}


def record(tmp_path: Path, script: list[str]) -> Path:
    log = tmp_path / "events.jsonl"
    rt = Runtime(RuntimeConfig(carriers=1), sink=FileSink(log)).start()
    try:
        client = PgClient("127.0.0.1", rt.port).connect()
        notified = []
        for sql in script:
            result = client.query(sql)
            notified += result.notifications
        client.terminate()
        assert [n.channel for n in notified] == ["ch"]  # delivered once, after the commit
        assert rt.wait_sessions_ended(10.0)
    finally:
        rt.stop()
    assert not rt.errors
    return log


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_self_notification_conforms(tmp_path: Path, name: str) -> None:
    events = read_events(record(tmp_path, SCRIPTS[name]))
    verdict = check_events(events, trace_config("pooled", 1, 1))
    assert verdict.ok, verdict.mismatch
    without = dict(trace_config("pooled", 1, 1).options, self_notify=False)
    cfg = trace_config("pooled", 1, 1)
    cfg.options.clear()
    cfg.options.update(without)
    broken = check_events(events, cfg)
    assert broken.mismatch is not None and broken.mismatch.action == "Execute"
    assert any(f.endswith("notify_pending") for f, _, _ in broken.mismatch.fields)
