"""Spin beside pgcheck on the same configurations: states, states per second, time, memory.

    python benchmarks/spin_side.py [--budget SECONDS] [CONFIG ...]      # e.g. pooled-2x3 pooled-3x4

For each configuration (default options; symmetry and partial-order reduction are the
only knobs that change):

- Spin: `pgcheck export --format=promela` -> `spin -a` -> `gcc -O2 -DSAFETY [-DNOREDUCE]`
  -> `pan -m1000000 -w24` (exhaustive, full state vectors, 128 MiB hash table, stops at the
  first error). Partial-order reduction off, then on. Time is the wall time of pan alone;
  building (spin -a plus gcc) is reported apart. Memory is pan's peak RSS (wait4 rusage).
- pgcheck: `pgcheck explore --json -q --time-limit BUDGET` in a fresh process, symmetry on,
  then off (skipped when the symmetry run already ran out of budget: the space without
  symmetry is larger). Time and peak RSS as the explorer reports them.

Every run has the same budget; a run stopped by it is reported as incomplete with the
states it had stored. `spin_run(...)` and `pgcheck_run(...)` return one row each, so
benchmarks/run.py can import them. Prints a Markdown table; `--json` prints the rows.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from pgcheck.checker.promela import spec_to_promela
from pgcheck.checker.spin import spin_version, verify
from pgcheck.model import load, make_config

CONFIGS: dict[str, tuple[str, int | None, int]] = {
    "pooled-2x3": ("pooled", 2, 3),
    "pooled-3x4": ("pooled", 3, 4),
    "pooled-3x5": ("pooled", 3, 5),
    "pooled-2x2": ("pooled", 2, 2),
    "process-3": ("process", None, 3),
    "tps-3": ("thread-per-session", None, 3),
}
MEMORY_LIMIT_MB = 12_000  # pan stops itself (-DMEMLIM) rather than swap


def spin_run(mode: str, carriers: int | None, sessions: int, *, reduce: bool, budget: float) -> dict[str, Any]:
    """One Spin run on the exported model: states, states/s, seconds, peak memory."""
    pml = spec_to_promela(load(make_config(mode, carriers, sessions, {})))
    with tempfile.TemporaryDirectory(prefix="pgcheck-spin-") as where:
        run = verify(
            pml, Path(where), reduce=reduce, hash_bits=24, time_limit=budget, optimize="-O2", memory_limit_mb=MEMORY_LIMIT_MB
        )
    return {
        "engine": f"spin, POR {'on' if reduce else 'off'}",
        "complete": run.complete,
        "verdict": "ok" if run.complete and not run.errors else ("violation" if run.errors else "incomplete"),
        "states": run.states,
        "states_per_second": round(run.states_per_second),
        "seconds": round(run.pan_seconds, 2),
        "build_seconds": round(run.build_seconds, 1),
        "peak_rss_mib": round(run.peak_rss_bytes / 2**20),
        "vector_bytes": run.vector_bytes,
        "depth": run.depth,
        "message": run.message,
    }


def pgcheck_run(mode: str, carriers: int | None, sessions: int, *, symmetry: bool, budget: float) -> dict[str, Any]:
    """One `pgcheck explore` run in a fresh process."""
    cmd = [sys.executable, "-m", "pgcheck", "explore", f"--mode={mode}", f"--sessions={sessions}", "--json", "-q"]
    cmd += [f"--time-limit={budget}"] + ([f"--carriers={carriers}"] if carriers is not None else [])
    cmd += [] if symmetry else ["--no-symmetry"]
    with tempfile.TemporaryDirectory(prefix="pgcheck-explore-") as where:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=where)
    doc: dict[str, Any] = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
    states = int(doc.get("distinct_states", 0) or 0)
    seconds = float(doc.get("seconds", 0) or 0)
    return {
        "engine": f"pgcheck explore, symmetry {'on' if symmetry else 'off'}",
        "complete": doc.get("verdict") in ("ok", "violation", "vacuous"),
        "verdict": doc.get("verdict", done.stderr.strip()[:80]),
        "states": states,
        "states_per_second": round(states / seconds) if seconds else 0,
        "seconds": round(seconds, 2),
        "build_seconds": round(float(doc.get("compile_seconds", 0) or 0), 1),
        "peak_rss_mib": round(int(doc.get("peak_rss_bytes", 0) or 0) / 2**20),
        "vector_bytes": None,
        "depth": doc.get("depth"),
        "message": "",
    }


def measure(name: str, budget: float) -> list[dict[str, Any]]:
    mode, carriers, sessions = CONFIGS[name]
    rows = [
        spin_run(mode, carriers, sessions, reduce=False, budget=budget),
        spin_run(mode, carriers, sessions, reduce=True, budget=budget),
    ]
    with_symmetry = pgcheck_run(mode, carriers, sessions, symmetry=True, budget=budget)
    rows.append(with_symmetry)
    if with_symmetry["complete"]:
        rows.append(pgcheck_run(mode, carriers, sessions, symmetry=False, budget=budget))
    else:
        rows.append({"engine": "pgcheck explore, symmetry off", "complete": False, "verdict": "not run (symmetry on ran out of budget)"})
    for row in rows:
        row["config"] = name
    return rows


def table(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "| config | engine | verdict | states | states/s | seconds | build s | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        states = f"{r['states']:,}" if r.get("states") else "—"
        if r.get("states") and not r["complete"]:
            states = f"> {states}"
        rate = f"{r['states_per_second']:,}" if r.get("states_per_second") else "—"
        out.append(
            f"| {r['config']} | {r['engine']} | {r['verdict']} | {states} | {rate} | {r.get('seconds', '—')} | "
            f"{r.get('build_seconds', '—')} | {r.get('peak_rss_mib', '—')} |"
        )
    return out


def machine() -> str:
    return f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}, {spin_version()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=300, help="seconds per run (default 300)")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    ap.add_argument("configs", nargs="*", default=["pooled-2x3", "pooled-3x4", "pooled-3x5"], help=", ".join(CONFIGS))
    ns = ap.parse_args()
    unknown = [c for c in ns.configs if c not in CONFIGS]
    if unknown:
        ap.error(f"unknown configuration {', '.join(unknown)}; known: {', '.join(CONFIGS)}")
    rows: list[dict[str, Any]] = []
    if not ns.json:
        print(f"machine: {machine()}; budget {ns.budget:g} s per run", flush=True)
        print("\n".join(table([])), flush=True)
    for name in ns.configs:
        new = measure(name, ns.budget)
        rows += new
        if not ns.json:
            print("\n".join(table(new)[2:]), flush=True)
    if ns.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
