"""Long runs: the configuration header comes first, the C compile and checkpoint saves are
announced, and Ctrl-C (a real SIGINT to a real process) ends with the INCOMPLETE summary,
exit code 3, no traceback, and with --checkpoint a checkpoint that --resume continues."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# Big enough that neither engine finishes before the interrupt (minutes), small to start.
BIG = ["--carriers", "3", "--sessions", "6", "--option", "active_clients=3", "--time-limit", "120"]


def _start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pgcheck", "explore", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
        # A shell's background job ignores SIGINT; a user's terminal does not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for_line(proc: subprocess.Popen[str], needle: str, seen: list[str], limit: float = 90) -> None:
    assert proc.stderr is not None
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return
    proc.kill()
    pytest.fail(f"no {needle!r} on stderr: {''.join(seen)[-2000:]}")


def test_ctrl_c_ends_with_the_incomplete_summary_python_engine() -> None:
    proc = _start([*BIG, "--engine", "python"])
    seen: list[str] = []
    _wait_for_line(proc, "engine: breadth-first explicit state, python", seen)
    assert seen[0].startswith("pgcheck ") and "3 carriers x 6 sessions" in seen[0]  # the header comes first
    _wait_for_line(proc, "explore: ", seen)  # the search is under way
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert "Traceback" not in err and "Traceback" not in out
    assert "result: INCOMPLETE: interrupted (Ctrl-C); no violation among the states explored" in out
    assert "holds so far" in out


def test_ctrl_c_with_checkpoint_can_be_resumed(tmp_path: Path) -> None:
    cache = tmp_path / "cache"  # an empty cache: the compile is announced
    ck = tmp_path / "ck"
    env = {"PGCHECK_CACHE": str(cache)}
    proc = _start([*BIG, "--engine", "native", "--checkpoint", str(ck), "--checkpoint-every", "0"], env)
    seen: list[str] = []
    _wait_for_line(proc, "compiling the native engine", seen)
    _wait_for_line(proc, "compiled in ", seen)
    _wait_for_line(proc, " saved in ", seen)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert "Traceback" not in err + out
    assert "result: INCOMPLETE: interrupted (Ctrl-C)" in out
    hint = next(line for line in out.splitlines() if line.startswith("checkpoint "))
    assert f"continue with: pgcheck explore --resume {ck}" in hint
    saved = int(hint.split("(")[1].split(" distinct")[0].replace(",", ""))
    resumed = subprocess.run(
        [sys.executable, "-m", "pgcheck", "explore", "--resume", str(ck), "--max-states", str(saved + 1000), "-q"],
        capture_output=True, text=True, env={**os.environ, **env}, timeout=120, check=False,
    )
    assert resumed.returncode == 3, resumed.stderr
    assert f"--max-states {saved + 1000} reached" in resumed.stdout
    distinct = next(line for line in resumed.stdout.splitlines() if line.startswith("distinct states:"))
    assert int(distinct.split()[-1].replace(",", "")) >= saved
