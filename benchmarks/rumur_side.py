"""Rumur on the exported model: one row of states, states per second, time and memory.

`rumur_run(mode, carriers, sessions, symmetry=..., budget=...)` exports the model with
`pgcheck export --format=murphi`'s translation (sessions and carriers as scalarsets), then
`rumur --symmetry-reduction off|heuristic|exhaustive --deadlock-detection stuck --threads N` -> `gcc -O2 -mcx16 ... -lpthread -latomic` -> the
verifier (breadth first, stops at the first error). Time is the wall time of the verifier
alone; building (rumur plus gcc) is reported apart. Memory is the verifier's peak RSS (wait4
rusage). benchmarks/run.py calls it beside pgcheck's engines and Spin in one run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from pgcheck.checker.export.murphi import spec_to_murphi
from pgcheck.checker.export.rumur import verify
from pgcheck.model import load, make_config


def rumur_run(
    mode: str, carriers: int | None, sessions: int, *, symmetry: str, budget: float, threads: int = 1
) -> dict[str, Any]:
    """One Rumur run on the exported model: states, states/s, seconds, peak memory."""
    murphi = spec_to_murphi(load(make_config(mode, carriers, sessions, {})))
    with tempfile.TemporaryDirectory(prefix="pgcheck-rumur-") as where:
        run = verify(murphi, Path(where), symmetry=symmetry, threads=threads, time_limit=budget, optimize="-O2")
    return {
        "engine": f"rumur, symmetry {symmetry}, {threads} thread{'s' if threads != 1 else ''}",
        "complete": run.complete,
        "verdict": "ok" if run.complete and not run.errors else ("violation" if run.errors else "incomplete"),
        "states": run.states,
        "states_per_second": round(run.states_per_second),
        "seconds": round(run.run_seconds, 2),
        "build_seconds": round(run.build_seconds, 1),
        "peak_rss_mib": round(run.peak_rss_bytes / 2**20),
        "message": run.message,
    }
