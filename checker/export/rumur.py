"""Run Rumur on an exported Murphi model and read the verifier's report.

    rumur --deadlock-detection stuck --symmetry-reduction off -o model.c model.m
    gcc -O2 -mcx16 -o model model.c -lpthread -latomic     # 16-byte compare-and-swap
    ./model                                                 # breadth first, multi-threaded

Rumur's verifier takes no options: the deadlock mode, symmetry reduction and thread count
are chosen when it is generated. Its summary line "State Space Explored: N states, M rules
fired" gives the distinct states; an error prints its kind and the trace leading there.
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

SYMMETRY = ("off", "heuristic", "exhaustive")


@dataclass
class RumurRun:
    """What one verifier run reported, plus what it cost to get there."""

    states: int  # distinct states explored
    rules_fired: int
    errors: int
    message: str  # the first error line ("invariant "S1" failed", "deadlock", ...), or ""
    peak_rss_bytes: int
    run_seconds: float  # wall time of the verifier
    build_seconds: float  # rumur plus gcc
    complete: bool  # False when the time limit stopped it
    symmetry: str
    output: str

    @property
    def states_per_second(self) -> float:
        return self.states / self.run_seconds if self.run_seconds > 0 else 0.0

    @property
    def violation(self) -> str | None:
        """The invariant or action property id, "deadlock" or "model_error"; None when the model passed."""
        if not self.errors and "Status:" in self.output and "No error found" in self.output:
            return None
        m = re.search(r'invariant "([^"]+)" failed', self.message)
        if m:
            return m.group(1)
        m = re.search(r"Assertion failed: .*: action (\S+)", self.message)
        if m:  # an action property, asserted in the rule of the step (murphi.ACTION_PREFIX)
            return m.group(1)
        if re.search(r"deadlock", self.message, re.IGNORECASE):
            return "deadlock"
        return "model_error" if self.errors else None


def missing_tools() -> list[str]:
    return [t for t in ("rumur", "gcc") if shutil.which(t) is None]


def build(
    murphi: str,
    workdir: Path,
    *,
    symmetry: str = "off",
    deadlock: bool = True,
    threads: int = 1,
    optimize: str = "-O2",
) -> tuple[Path, float]:
    """Write `murphi`, generate the verifier's C and compile it. Returns the binary and the seconds spent."""
    missing = missing_tools()
    if missing:
        raise UsageError(f"{' and '.join(missing)} not found; install the Debian packages rumur and gcc")
    if symmetry not in SYMMETRY:
        raise UsageError(f"unknown symmetry reduction {symmetry!r}; choose one of {', '.join(SYMMETRY)}")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "model.m").write_text(murphi)
    start = time.monotonic()
    _run(
        [
            "rumur", "--deadlock-detection", "stuck" if deadlock else "off", "--symmetry-reduction", symmetry,
            "--threads", str(threads), "--colour", "off", "--counterexample-trace", "off",
            "--output", "model.c", "model.m",
        ],
        workdir,
        "rumur",
    )
    _run(["gcc", optimize, "-mcx16", "-o", "model", "model.c", "-lpthread", "-latomic"], workdir, "gcc")
    return workdir / "model", time.monotonic() - start


def _run(cmd: list[str], cwd: Path, what: str) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise UsageError(f"{what} failed in {cwd}: {detail[0] if detail else 'exit ' + str(done.returncode)}")


def run_verifier(binary: Path, *, time_limit: float | None = None) -> tuple[str, int, float, bool]:
    """Run the verifier; its output, peak RSS in bytes, wall seconds, and whether it finished."""
    log = binary.parent / "model.out"
    start = time.monotonic()
    with log.open("w") as fh:
        proc = subprocess.Popen([str(binary)], cwd=binary.parent, stdout=fh, stderr=subprocess.STDOUT)
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
    return log.read_text(errors="replace"), int(usage.ru_maxrss) * 1024, time.monotonic() - start, not killed.is_set()


def verify(
    murphi: str,
    workdir: Path,
    *,
    symmetry: str = "off",
    deadlock: bool = True,
    threads: int = 1,
    optimize: str = "-O2",
    time_limit: float | None = None,
) -> RumurRun:
    """Build and run Rumur's verifier for `murphi` in `workdir` (which keeps model.m and model.c)."""
    binary, build_s = build(murphi, workdir, symmetry=symmetry, deadlock=deadlock, threads=threads, optimize=optimize)
    out, rss, elapsed, finished = run_verifier(binary, time_limit=time_limit)
    m = re.search(r"State Space Explored:\s*(\d+) states, (\d+) rules fired", out)
    errors = re.search(r"(\d+) error\(s\) found", out)
    n_errors = int(errors.group(1)) if errors else (0 if "No error found" in out else 1)
    message = _first_error(out)
    return RumurRun(
        states=int(m.group(1)) if m else 0,
        rules_fired=int(m.group(2)) if m else 0,
        errors=n_errors,
        message=message,
        peak_rss_bytes=rss,
        run_seconds=elapsed,
        build_seconds=build_s,
        complete=finished and m is not None,
        symmetry=symmetry,
        output=out,
    )


def _first_error(output: str) -> str:
    """The line naming the first error: the one after "...error trace for the error:" (or,
    with counterexample traces off, the first line that names a failure)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if line.startswith("The following is the error trace") and i + 1 < len(lines):
            return lines[i + 1]
    return next((line for line in lines if re.search(r"failed|deadlock|out of range|undefined", line, re.IGNORECASE)), "")


def rumur_version() -> str:
    done = subprocess.run(["rumur", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"
