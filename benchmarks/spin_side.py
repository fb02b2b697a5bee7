"""Spin on the exported model: one row of states, states per second, time and memory.

`spin_run(mode, carriers, sessions, reduce=..., budget=...)` exports the model with
`pgcheck export --format=promela`'s translation, then `spin -o2 -a` -> `gcc -O2 -DSAFETY
[-DNOREDUCE]` -> `pan -m1000000 -w24` (exhaustive, full state vectors, 128 MiB hash table,
stops at the first error). Time is the wall time of pan alone; building (spin -a plus gcc)
is reported apart. Memory is pan's peak RSS (wait4 rusage). benchmarks/run.py calls it
beside pgcheck's engines in one run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from pgcheck.checker.export.promela import spec_to_promela
from pgcheck.checker.export.spin import verify
from pgcheck.model import load, make_config

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
