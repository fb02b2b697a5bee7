"""Partial-order reduction on and off, side by side in one run (docs/reduction.md).

    python benchmarks/por.py [--budget SECONDS] [--no-write]

For each configuration: `pgcheck explore` with the native engine (1 worker), once with
--no-por and once with reduction on, each as its own process; distinct states, time, peak
memory, and how many expanded states the stubborn sets reduced. Writes the table between
its markers in benchmarks/RESULTS.md. Benchmarks are not tests: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
BEGIN, END = "<!-- benchmarks/por.py: begin -->", "<!-- benchmarks/por.py: end -->"

CONFIGS: list[tuple[str, list[str]]] = [
    ("pooled 3×5, defaults", ["--carriers=3", "--sessions=5"]),
    ("pooled 3×5, defaults, no symmetry", ["--carriers=3", "--sessions=5", "--no-symmetry"]),
    ("pooled 3×5, poll_steps", ["--carriers=3", "--sessions=5", "--option", "poll_steps=true"]),
    (
        "pooled 2×3, 2 active clients, 1 cancel, 1 NOTIFY",
        ["--carriers=2", "--sessions=3", "--option", "active_clients=2", "--option", "cancels=1", "--option", "notifies=1"],
    ),
    ("pooled 3×5, 1 cancel", ["--carriers=3", "--sessions=5", "--option", "cancels=1"]),
]


def explore(args: list[str], budget: float) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "pgcheck", "explore", *args, "--engine=native", "--json", "-q", f"--time-limit={budget}"]
    t0 = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    try:
        doc: dict[str, Any] = json.loads(out.stdout)
    except json.JSONDecodeError:
        return {"error": (out.stderr.strip().splitlines() or ["no output"])[-1], "wall": time.monotonic() - t0}
    doc["wall"] = time.monotonic() - t0
    return doc


def cell(d: dict[str, Any]) -> tuple[str, str, str, str]:
    if "error" in d:
        return ("error: " + d["error"][:60], "—", "—", "—")
    done = d["verdict"] != "incomplete"
    states = f"{d['distinct_states']:,}" + ("" if done else " (incomplete)")
    por = d.get("por") or {}
    share = "—"
    if por.get("on"):
        share = f"{por['reduced']:,} / {por['expanded']:,}"
        if por.get("dropped_at"):
            share += f" (off after {por['dropped_at']:,})"
    return states, f"{d['seconds']:.1f} s", f"{d['peak_rss_bytes'] / 2**20:.0f} MiB", share


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=300.0, help="seconds per run before it counts as not finished")
    ap.add_argument("--no-write", action="store_true", help="print, do not update RESULTS.md")
    opts = ap.parse_args()
    rows = [
        "| configuration | reduction | distinct | verdict | time | peak memory | reduced / expanded states | factor |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, args in CONFIGS:
        explore([*args, "--max-depth=1"], 60)  # compile once, outside the measurement
        off = explore([*args, "--no-por"], opts.budget)
        on = explore(args, opts.budget)
        factor = "—"
        if "error" not in off and "error" not in on and on["distinct_states"]:
            factor = f"{off['distinct_states'] / on['distinct_states']:.2f}×"
        for label, d in (("off", off), ("on", on)):
            states, secs, mem, share = cell(d)
            verdict = d.get("verdict", "—")
            rows.append(f"| {name} | {label} | {states} | {verdict} | {secs} | {mem} | {share} | {factor if label == 'on' else ''} |")
        print(rows[-2], rows[-1], sep="\n", flush=True)
    table = "\n".join(rows)
    if not opts.no_write:
        text = RESULTS.read_text()
        section = f"{BEGIN}\n{table}\n{END}"
        if BEGIN in text:
            text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END):]
        else:
            text += "\n## Partial-order reduction (benchmarks/por.py)\n\n" + section + "\n"
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
