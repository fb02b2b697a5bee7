"""One `pgcheck explore --json` run as its own process, for the benchmark scripts.

Each run is a process of its own so that its peak memory is its own. A run that prints no
JSON is reported, not raised: its last stderr line goes under "error" and, prefixed, under
"verdict", so a table can show it in place of the figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any


def explore(args: list[str], budget: float, *, hard_limit: float | None = None) -> dict[str, Any]:
    """`pgcheck explore ARGS --json -q --time-limit=BUDGET`; `hard_limit` kills a run that ignores its budget."""
    cmd = [sys.executable, "-m", "pgcheck", "explore", *args, "--json", "-q", f"--time-limit={budget}"]
    t0 = time.monotonic()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=hard_limit)
    except subprocess.TimeoutExpired:
        return failed(f"not finished in {hard_limit:.0f} s", t0)
    try:
        doc: dict[str, Any] = json.loads(out.stdout)
    except json.JSONDecodeError:
        return failed((out.stderr.strip().splitlines() or [f"no output (exit {out.returncode})"])[-1], t0)
    doc["wall"] = time.monotonic() - t0
    return doc


def failed(message: str, t0: float) -> dict[str, Any]:
    return {"error": message, "verdict": "error: " + message, "wall": time.monotonic() - t0}


def warm(args: list[str]) -> None:
    """Compile the native engine for this configuration once, outside the timings."""
    subprocess.run([sys.executable, "-m", "pgcheck", "explore", *args, "--engine=native", "--max-states=1", "-q"],
                   capture_output=True, check=False)


def peak_bytes(d: dict[str, Any]) -> int:
    """A run's peak RSS: with --liveness the fair-cycle pass's own peak is the later, larger one."""
    live = d.get("liveness") or {}
    return max(int(d.get("peak_rss_bytes") or 0), int(live.get("peak_rss_bytes") or 0))
