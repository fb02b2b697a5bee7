"""`pgcheck check-trace`: event logs recorded from the reference server under real load (real
sockets, real threads) conform to the model; corrupted logs are rejected."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pgcheck.reference import FileSink, Runtime, RuntimeConfig
from pgcheck.reference.stress import run_stress

from tests.conformance.harness import Conformance

ROOT = Path(__file__).resolve().parents[1]
CLIENTS, CARRIERS = 20, 4


def check_trace(log: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    args = [sys.executable, "-m", "pgcheck", "check-trace", str(log), *extra]
    return subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)


def assert_bad_input(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pgcheck: "), done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def load_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 clients on 4 pooled carriers: queries with think time, LISTEN/NOTIFY, cancels of a
    pg_sleep, three sessions terminated by pg_terminate_backend, Terminate at the end; every session has ended before the server stops."""
    log = tmp_path_factory.mktemp("load") / "events.jsonl"
    rt = Runtime(RuntimeConfig(carriers=CARRIERS), sink=FileSink(log)).start()
    try:
        result = run_stress(
            rt.port, clients=CLIENTS, queries_per_client=12, think_ms=(0, 20), seconds=20.0, seed=5,
            terminate=rt.terminate_backend,
        )
        assert result.terminates == 3
        assert result.failures == []
        assert rt.wait_sessions_ended(30.0)
    finally:
        rt.stop()
    assert not rt.errors
    return log


def lines_of(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def write(path: Path, events: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n" for e in events))
    return path


def test_log_of_real_load_conforms(load_log: Path) -> None:
    events = lines_of(load_log)
    actions = {e["action"] for e in events}
    assert {"PollPass", "Resume", "SendInterrupt", "DeepWaitWake", "ReadEOF", "LogicalExit"} <= actions
    done = check_trace(load_log, "--mode", "pooled", "--carriers", str(CARRIERS), "--sessions", str(CLIENTS))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"ok - {len(events)} events match the model" in done.stdout


def test_a_changed_write_is_reported_with_seq_action_and_fields(load_log: Path, tmp_path: Path) -> None:
    events = lines_of(load_log)
    target = next(e for e in events if e["action"] == "EnqueuePark" and int(e["seq"]) > 50)  # type: ignore[call-overload]
    b = target["params"]["b"]  # type: ignore[index]
    target["writes"][f"backend[{b}].q"] = "runnable"  # type: ignore[index]
    done = check_trace(write(tmp_path / "bad.jsonl", events), "--carriers", "4", "--sessions", "20")
    assert done.returncode == 1, done.stdout + done.stderr
    first = done.stdout.splitlines()[0]
    assert f"MISMATCH at event seq {target['seq']}: EnqueuePark(" in first
    assert f"backend[{b}].q: model 'parked', log 'runnable'" in done.stdout


def test_events_out_of_order_are_rejected(load_log: Path, tmp_path: Path) -> None:
    events = lines_of(load_log)
    i = next(
        i
        for i, e in enumerate(events)
        if e["action"] == "Resume"
        and i > 50
        and events[i - 1]["action"] == "AttachLeased"
        and events[i - 1]["params"].get("b") == e["params"].get("b")  # type: ignore[attr-defined]
    )
    events[i - 1], events[i] = events[i], events[i - 1]  # Resume before its AttachLeased
    events[i - 1]["seq"], events[i]["seq"] = events[i]["seq"], events[i - 1]["seq"]
    done = check_trace(write(tmp_path / "swapped.jsonl", events), "--carriers", "4", "--sessions", "20")
    assert done.returncode == 1
    assert f"MISMATCH at event seq {events[i - 1]['seq']}: Resume(" in done.stdout


def test_a_log_of_a_seeded_bug_is_rejected(tmp_path: Path) -> None:
    """Recorded in controlled mode from the reference with B1 seeded (wake before claim)."""
    h = Conformance(carriers=1, sessions=2, mutations=frozenset({"wake_before_claim"}), timeouts=False)
    try:
        h.settle()
        h.ctl.clients[0].send_query("SELECT 1")
        while not any(e.action == "PollPass" and e.params["ready"] for e in h.ctl.events):
            h.ctl.step(h.ctl.enabled()[0][0])
        lines = h.ctl.event_lines()
    finally:
        h.close()
    log = tmp_path / "bugged.jsonl"
    log.write_text("\n".join(lines) + "\n")
    done = check_trace(log, "--carriers", "1", "--sessions", "2")
    assert done.returncode == 1
    assert "MISMATCH" in done.stdout and "PollPass" in done.stdout


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"seq":1,"action":"StepTop"', "not a JSON object"),
        ('{"seq":1,"action":"Teleport","params":{},"writes":{}}', "unknown action 'Teleport'"),
        ('{"seq":1,"action":"StepTop","params":{}}', "event lacks writes"),
        ('[1, 2]', "must be a JSON object"),
        ("", "the event log is empty"),
    ],
)
def test_bad_files_are_one_line_and_exit_2(tmp_path: Path, content: str, fragment: str) -> None:
    assert_bad_input(check_trace(write_raw(tmp_path / "e.jsonl", content), "--sessions", "3"), fragment)


def write_raw(path: Path, content: str) -> Path:
    path.write_text(content + "\n" if content else "")
    return path


def test_gaps_and_out_of_range_indices_are_bad_input(load_log: Path, tmp_path: Path) -> None:
    events = lines_of(load_log)
    assert_bad_input(check_trace(write(tmp_path / "gap.jsonl", events[:10] + events[11:]), "--sessions", "20"), "gap-free")
    assert_bad_input(check_trace(load_log, "--carriers", "4", "--sessions", "5"), "raise --sessions")
    assert_bad_input(check_trace(tmp_path / "missing.jsonl", "--sessions", "3"), "no such event log")
    assert_bad_input(check_trace(load_log, "--mode", "process", "--sessions", "20"), "--mode pooled")


def test_log_of_real_load_with_the_poll_call_in_three_steps_conforms(tmp_path: Path) -> None:
    """The server with `poll_steps` (§2.6 steps 3-4, 5-8, 9-10 as three logged steps) under load;
    check-trace reads the three actions from the log and validates against the model's option."""
    log = tmp_path / "events.jsonl"
    rt = Runtime(RuntimeConfig(carriers=2, poll_steps=True), sink=FileSink(log)).start()
    try:
        result = run_stress(
            rt.port, clients=12, queries_per_client=10, think_ms=(0, 20), seconds=10.0, seed=3,
            terminate=rt.terminate_backend,
        )
        assert result.failures == []
        assert rt.wait_sessions_ended(30.0)
    finally:
        rt.stop()
    assert not rt.errors
    actions = {e["action"] for e in lines_of(log)}
    assert {"PollImmediate", "PollWait", "PollRecheck"} <= actions and "PollPass" not in actions
    done = check_trace(log, "--mode", "pooled", "--carriers", "2", "--sessions", "12")
    assert done.returncode == 0, done.stdout + done.stderr
