"""One worker against several, side by side, on one configuration of the native engine.

    python benchmarks/workers.py [--reps N] [--workers K] [--carriers C] [--sessions S]
                                 [--mode M] [--no-symmetry] [--max-depth D]

Explores the configuration with 1 and K workers alternately, N times each, in this
process (the C library is compiled once), checks that every run found the same
distinct/generated/depth, and prints each run and the ratio of the median wall times.
Alternating keeps a change in the machine's load from favouring one side.

Wall time says little on a machine shared with other jobs, so it also prints the
library's CPU profile (pg_profile): CPU time of all threads, and the critical path (per
level the busiest worker, plus what runs alone: growing the visited set, the work between
levels). One worker's CPU time over K workers' critical path is the speed-up K workers
give on K idle cores; K workers' CPU time over one worker's says how much work running in
parallel adds. Default: pooled 4×6 without symmetry to depth 30 (10 M states).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

from pgcheck.checker.explicit.explore import Bounds
from pgcheck.checker.explicit.native.explorer import NativeExplorer, NativeModel
from pgcheck.checker.run.check import prepare
from pgcheck.model import load, make_config


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--mode", default="pooled")
    ap.add_argument("--carriers", type=int, default=4)
    ap.add_argument("--sessions", type=int, default=6)
    ap.add_argument("--no-symmetry", action="store_true")
    ap.add_argument("--max-depth", type=int, default=None)
    ns = ap.parse_args()
    named = {"--mode", "--carriers", "--sessions", "--no-symmetry", "--max-depth"}
    if not any(a.split("=")[0] in named for a in sys.argv[1:]):  # the default configuration
        ns.no_symmetry, ns.max_depth = True, 30
    if ns.reps < 1 or ns.workers < 2:
        print("workers.py: --reps must be at least 1 and --workers at least 2", file=sys.stderr)
        sys.exit(2)
    carriers = ns.carriers if ns.mode == "pooled" else None
    _, cm, _ = prepare(load(make_config(ns.mode, carriers, ns.sessions, {})))
    native = NativeModel(cm, not ns.no_symmetry)
    bounds = Bounds(max_depth=ns.max_depth)
    runs: dict[int, list[dict[str, Any]]] = {1: [], ns.workers: []}
    seen: set[tuple[int, int, int]] = set()
    for rep in range(ns.reps):
        line = []
        for k in (1, ns.workers) if rep % 2 == 0 else (ns.workers, 1):
            ex = NativeExplorer(cm, symmetry=native.symmetry, bounds=bounds, workers=k, native=native)
            t0 = time.monotonic()
            r = ex.run()
            d = {"wall": time.monotonic() - t0, **ex.profile(), "bps": r.bytes_per_state}
            ex.close()
            seen.add((r.distinct, r.generated, r.depth))
            runs[k].append(d)
            line.append(f"×{k} {d['wall']:.2f} s wall, CPU {d['cpu']:.2f} s, critical path {d['critical']:.2f} s "
                        f"(grow {d['grow']:.2f}, between levels {d['serial']:.2f}), {d['bps']:.1f} B/state")
        print(f"rep {rep + 1}: " + "; ".join(line), flush=True)
    if len(seen) != 1:
        sys.exit(f"runs disagree: {sorted(seen)}")
    distinct, generated, depth = next(iter(seen))

    def med(k: int, key: str) -> float:
        return statistics.median(d[key] for d in runs[k])

    k = ns.workers
    print(f"{ns.mode} {carriers}×{ns.sessions}, symmetry {'off' if ns.no_symmetry else 'on'}, "
          f"depth {depth}: {distinct:,} states, {generated:,} generated")
    print(f"wall: ×1 {med(1, 'wall'):.2f} s, ×{k} {med(k, 'wall'):.2f} s: {med(1, 'wall') / med(k, 'wall'):.2f}×")
    print(f"CPU: ×1 {med(1, 'cpu'):.2f} s, ×{k} {med(k, 'cpu'):.2f} s (parallel work overhead "
          f"{med(k, 'cpu') / med(1, 'cpu'):.2f}×); ×{k} critical path {med(k, 'critical'):.2f} s: "
          f"{med(1, 'cpu') / med(k, 'critical'):.2f}× one worker on idle cores")


if __name__ == "__main__":
    main()
