"""Run Spin on an exported model and read pan's report.

    spin -o2 -a model.pml                   # generate the verifier pan.c, keeping write-only variables
    gcc -O2 -DSAFETY [-DNOREDUCE] pan.c     # compile it (partial-order reduction off or on)
    ./pan -m DEPTH -w BITS                  # exhaustive search, stopping at the first error

`-o2` matters for the state count: by default Spin leaves variables that nothing reads out
of the state vector, and so merges states that pgcheck (which stores every field) tells
apart. pan searches depth first; `-m` bounds its stack. When pan says the depth bound was too
small the search is incomplete, so `verify` runs it again with a ten times larger bound.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from pgcheck.checker.errors import UsageError


@dataclass
class SpinRun:
    """What one pan run reported, plus what it cost to get there."""

    states: int  # "states, stored": distinct states
    transitions: int
    depth: int  # deepest point of the depth-first search
    errors: int
    message: str  # pan's first error line ("pan:1: assertion violated invariant_S1 ..."), or ""
    vector_bytes: int  # bytes of one state vector
    pan_memory_mb: float  # pan's "total actual memory usage"
    peak_rss_bytes: int  # peak resident memory of the pan process
    pan_seconds: float  # wall time of the pan process
    build_seconds: float  # spin -a plus gcc
    complete: bool  # False when the depth bound or the time limit cut the search
    reduced: bool  # partial-order reduction on
    output: str

    @property
    def states_per_second(self) -> float:
        return self.states / self.pan_seconds if self.pan_seconds > 0 else 0.0

    @property
    def violation(self) -> str | None:
        """The name pan reports for an assertion (invariant_S1, deadlock, model_error), else None."""
        m = re.search(r"assertion violated (\w+)", self.message)
        if m:
            return m.group(1)
        return "model_error" if self.errors else None


def missing_tools() -> list[str]:
    return [t for t in ("spin", "gcc") if shutil.which(t) is None]


def build(
    pml: str, workdir: Path, *, reduce: bool = False, optimize: str = "-O2", memory_limit_mb: int | None = None
) -> tuple[Path, float]:
    """Write `pml`, generate pan.c and compile it. Returns the pan binary and the seconds spent."""
    missing = missing_tools()
    if missing:
        raise UsageError(f"{' and '.join(missing)} not found; install the Debian packages spin and gcc")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "model.pml").write_text(pml)
    start = time.monotonic()
    _run(["spin", "-o2", "-a", "model.pml"], workdir, "spin -a")
    flags = [optimize, "-DSAFETY", "-w"] + ([] if reduce else ["-DNOREDUCE"])
    flags += [f"-DMEMLIM={memory_limit_mb}"] if memory_limit_mb else []
    _run(["gcc", *flags, "-o", "pan", "pan.c"], workdir, "gcc")
    return workdir / "pan", time.monotonic() - start


def _run(cmd: list[str], cwd: Path, what: str) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise UsageError(f"{what} failed in {cwd}: {detail[0] if detail else 'exit ' + str(done.returncode)}")


def run_pan(
    pan: Path, *, hash_bits: int = 20, max_depth: int = 1_000_000, time_limit: float | None = None
) -> tuple[str, int, float, bool]:
    """Run pan; returns its output, its peak RSS in bytes, wall seconds, and whether it finished
    (False when the time limit stopped it)."""
    log = pan.parent / "pan.out"
    start = time.monotonic()
    with log.open("w") as fh:
        proc = subprocess.Popen([str(pan), f"-m{max_depth}", f"-w{hash_bits}"], cwd=pan.parent, stdout=fh, stderr=subprocess.STDOUT)
        killed = threading.Event()

        def stop() -> None:
            killed.set()
            proc.kill()

        timer = threading.Timer(time_limit, stop) if time_limit else None
        if timer is not None:
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)  # the rusage of this one child
        proc.returncode = os.waitstatus_to_exitcode(status)
        if timer is not None:
            timer.cancel()
    elapsed = time.monotonic() - start
    return log.read_text(), int(usage.ru_maxrss) * 1024, elapsed, not killed.is_set()


def parse(output: str) -> dict[str, float]:
    """The numbers of pan's final report."""
    patterns = {
        "states": r"(\d+) states, stored",
        "transitions": r"(\d+) transitions \(= stored\+matched\)",
        "depth": r"depth reached (\d+)",
        "errors": r"errors: (\d+)",
        "vector_bytes": r"State-vector (\d+) byte",
        "pan_memory_mb": r"([\d.]+)\s+total actual memory usage",
    }
    out: dict[str, float] = {}
    for key, pat in patterns.items():
        m = re.search(pat, output)
        out[key] = float(m.group(1)) if m else 0.0
    return out


def verify(
    pml: str,
    workdir: Path,
    *,
    reduce: bool = False,
    hash_bits: int = 20,
    max_depth: int = 1_000_000,
    time_limit: float | None = None,
    optimize: str = "-O2",
    memory_limit_mb: int | None = None,
) -> SpinRun:
    """Build and run pan on `pml` in `workdir` (which keeps model.pml, pan.c and any trail)."""
    pan, build_s = build(pml, workdir, reduce=reduce, optimize=optimize, memory_limit_mb=memory_limit_mb)
    while True:
        out, rss, elapsed, finished = run_pan(pan, hash_bits=hash_bits, max_depth=max_depth, time_limit=time_limit)
        if "max search depth too small" not in out or not finished or max_depth >= 10**8:
            break
        max_depth *= 10
    nums = parse(out)
    first_error = next((line.strip() for line in out.splitlines() if line.startswith("pan:1:")), "")
    complete = finished and "max search depth too small" not in out and "MEMLIM" not in out
    return SpinRun(
        states=int(nums["states"]),
        transitions=int(nums["transitions"]),
        depth=int(nums["depth"]),
        errors=int(nums["errors"]),
        message=first_error,
        vector_bytes=int(nums["vector_bytes"]),
        pan_memory_mb=nums["pan_memory_mb"],
        peak_rss_bytes=rss,
        pan_seconds=elapsed,
        build_seconds=build_s,
        complete=complete,
        reduced=reduce,
        output=out,
    )


def spin_version() -> str:
    done = subprocess.run(["spin", "-V"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"
