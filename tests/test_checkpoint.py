"""Checkpoint and resume: a search killed with SIGKILL finishes from its checkpoint with the
counts and verdict of an uninterrupted run; damaged or foreign checkpoints are refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pgcheck.checker.run.check import native_unavailable
from pgcheck.model import load, make_config

pytestmark = pytest.mark.skipif(
    native_unavailable(load(make_config("pooled", 1, 1, {})).trace()) is not None, reason="no C compiler"
)

# Large enough that the search is still running well after its first checkpoint.
CONFIG = ["--carriers=3", "--sessions=4", "--no-symmetry"]


def pgcheck(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pgcheck", *args], capture_output=True, text=True, timeout=900)


def summary(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


@pytest.mark.parametrize("workers", [1, 2])
def test_killed_search_resumes_to_the_same_result(tmp_path: Path, workers: int) -> None:
    ckpt = tmp_path / "run1"
    child = subprocess.Popen(
        [sys.executable, "-m", "pgcheck", "explore", *CONFIG, f"--workers={workers}", "--checkpoint", str(ckpt), "--checkpoint-every", "0", "-q", "--json"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 600
    saved = ckpt / "search.ckpt"
    while not saved.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # a few more levels, so the kill lands between or during saves
    assert child.poll() is None, "the search ended before it could be killed: " + (child.stderr.read() if child.stderr else "")
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert saved.exists()

    resumed = summary(pgcheck("explore", "--resume", str(ckpt), "-q", "--json"))
    straight = summary(pgcheck("explore", *CONFIG, "-q", "--json"))
    for key in ("verdict", "distinct_states", "generated_states", "depth", "witnesses", "invariants"):
        assert resumed[key] == straight[key], key
    assert straight["verdict"] == "ok"


def test_damaged_and_foreign_checkpoints_are_refused(tmp_path: Path) -> None:
    small = ["--carriers=2", "--sessions=4", "--no-symmetry"]
    ckpt = tmp_path / "c"
    done = pgcheck("explore", *small, "--checkpoint", str(ckpt), "--checkpoint-every", "0", "-q", "--json")
    assert done.returncode == 0, done.stderr
    resumed = summary(pgcheck("explore", "--resume", str(ckpt), "-q", "--json"))
    assert resumed["distinct_states"] == summary(done)["distinct_states"]

    data = bytearray((ckpt / "search.ckpt").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (ckpt / "search.ckpt").write_bytes(bytes(data))
    bad = pgcheck("explore", "--resume", str(ckpt))
    assert bad.returncode == 2 and "damaged" in bad.stderr and "Traceback" not in bad.stderr
    # stderr: the run's configuration header (progress, printed before the search), then one line
    header = ("pgcheck ", "options ", "symmetry reduction: ")
    lines = [line for line in bad.stderr.strip().splitlines() if not line.startswith(header)]
    assert len(lines) == 1 and lines[0].startswith("pgcheck: ") and "damaged" in lines[0]

    (ckpt / "search.ckpt").write_bytes(bytes(data[:100]))
    assert pgcheck("explore", "--resume", str(ckpt)).returncode == 2

    other = tmp_path / "other"
    assert pgcheck("explore", "--carriers=2", "--sessions=3", "--no-symmetry", "--checkpoint", str(other),
                   "--checkpoint-every", "0", "-q").returncode == 0
    run = json.loads((other / "run.json").read_text())
    run["sessions"] = 4  # the description now names another configuration than the saved search
    (other / "run.json").write_text(json.dumps(run))
    foreign = pgcheck("explore", "--resume", str(other))
    assert foreign.returncode == 2 and "another model" in foreign.stderr

    missing = pgcheck("explore", "--resume", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "not a pgcheck checkpoint directory" in missing.stderr
    mixed = pgcheck("explore", "--resume", str(ckpt), "--sessions=5")
    assert mixed.returncode == 2 and "--sessions" in mixed.stderr
