"""One worker against two, side by side, on one configuration of the native engine.

    python benchmarks/workers.py [--reps N] [--workers K] [explore options...]

Runs `pgcheck explore --engine=native` with 1 and K workers alternately, N times each
(each run a fresh process, the C compile done once beforehand), checks that every run
found the same distinct/generated/depth, and prints each pair and the ratio of the
median times. Alternating keeps a change in the machine's load from favouring one side.
It also prints the CPU time each side used (less the start-up a depth-0 run uses): on a
machine shared with other jobs the wall-time ratio says little, while CPU time with K
workers over CPU time with one says how much work running in parallel adds.
Default configuration: pooled 4×6 without symmetry, bounded to depth 30.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
from typing import Any

DEFAULT = ["--carriers=4", "--sessions=6", "--no-symmetry", "--max-depth=30"]


def cpu_children() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(args: list[str], workers: int) -> dict[str, Any]:
    before = cpu_children()
    cmd = [sys.executable, "-m", "pgcheck", "explore", *args, "--engine=native", f"--workers={workers}", "--json", "-q"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if not out.stdout.strip().startswith("{"):
        sys.exit(f"explore failed: {out.stderr.strip()[:200]}")
    doc: dict[str, Any] = json.loads(out.stdout)
    doc["cpu"] = cpu_children() - before
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ns, rest = ap.parse_known_args()
    args = rest or DEFAULT
    subprocess.run([sys.executable, "-m", "pgcheck", "explore", *args, "--engine=native", "--max-states=1", "-q"],
                   capture_output=True, check=False)
    startup = run([a for a in args if not a.startswith("--max-")] + ["--max-depth=0"], 1)["cpu"]
    times: dict[int, list[float]] = {1: [], ns.workers: []}
    cpu: dict[int, list[float]] = {1: [], ns.workers: []}
    seen: set[tuple[Any, ...]] = set()
    for rep in range(ns.reps):
        pair = []
        for k in ((1, ns.workers) if rep % 2 == 0 else (ns.workers, 1)):
            d = run(args, k)
            seen.add((d.get("distinct_states"), d.get("generated_states"), d.get("depth")))
            times[k].append(d["seconds"])
            cpu[k].append(d["cpu"] - startup)
            pair.append(f"×{k} {d['seconds']:.2f} s, CPU {d['cpu'] - startup:.2f} s ({d.get('bytes_per_state', 0):.1f} B/state)")
        print(f"rep {rep + 1}: " + ", ".join(pair), flush=True)
    if len(seen) != 1:
        sys.exit(f"runs disagree: {sorted(seen, key=str)}")
    one, many = statistics.median(times[1]), statistics.median(times[ns.workers])
    print(f"{' '.join(args)}: {next(iter(seen))[0]:,} states; median ×1 {one:.2f} s, ×{ns.workers} {many:.2f} s; "
          f"{ns.workers} workers are {one / max(many, 1e-3):.2f}× one worker")
    c1, ck = statistics.median(cpu[1]), statistics.median(cpu[ns.workers])
    print(f"median CPU ×1 {c1:.2f} s, ×{ns.workers} {ck:.2f} s: parallel work overhead {ck / max(c1, 1e-3):.2f}× "
          f"(so at most {ns.workers * c1 / max(ck, 1e-3):.2f}× one worker on {ns.workers} idle cores)")


if __name__ == "__main__":
    main()
