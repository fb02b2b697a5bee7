"""Compile the native engine for one model with the system C compiler, cached by content.

The library is keyed by a hash of its whole source and the compiler command, so a model,
configuration or mutation compiles once per machine; concurrent runs write to a temporary
file and rename it into place.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from pgcheck.checker.errors import UsageError

CFLAGS = ["-fPIC", "-shared", "-pthread", "-fno-strict-aliasing", "-Wno-unused-function"]
OPT_LEVELS = ("-O0", "-O1", "-O2", "-O3")


def optimization() -> str:
    """-O2, or PGCHECK_OPT (tests of small models compile at -O0: the same semantics, compiled
    several times faster)."""
    opt = os.environ.get("PGCHECK_OPT") or "-O2"
    if opt not in OPT_LEVELS:
        raise UsageError(f"PGCHECK_OPT={opt!r} is not an optimization level; use one of {', '.join(OPT_LEVELS)}")
    return opt


class NoCompiler(Exception):
    """No C compiler on this machine."""


def compiler() -> str:
    cc = os.environ.get("PGCHECK_CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        raise NoCompiler("no C compiler found (install gcc, or set PGCHECK_CC)")
    return cc


def cache_dir() -> Path:
    base = os.environ.get("PGCHECK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pgcheck"
    )
    path = Path(base) / "native"
    path.mkdir(parents=True, exist_ok=True)
    return path


def engine_source(model_part: str) -> str:
    here = resources.files("pgcheck.checker.explicit.native")
    prelude = (here / "prelude.c").read_text()
    engine = (here / "engine.c").read_text()
    return prelude + "\n" + model_part + "\n" + engine


def build(source: str, on_event: Callable[[str], None] | None = None) -> Path:
    """The path of a shared library built from `source`, compiling it if not cached
    (`on_event` hears when a compile starts and how long it took: it can take seconds)."""
    cc = compiler()
    flags = [optimization(), *CFLAGS]
    key = hashlib.sha256("\0".join([cc, *flags, source]).encode()).hexdigest()[:24]
    lib = cache_dir() / f"engine-{key}.so"
    if lib.exists():
        return lib
    if on_event is not None:
        lines = source.count("\n")
        on_event(f"compiling the native engine: {lines:,} lines of generated C with {Path(cc).name} {flags[0]} (once per model and configuration; cached in {cache_dir()})")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pgcheck-cc-") as tmp:
        src = Path(tmp) / "engine.c"
        src.write_text(source)
        out = Path(tmp) / "engine.so"
        proc = subprocess.run([cc, *flags, "-o", str(out), str(src)], capture_output=True, text=True)
        if proc.returncode == -signal.SIGINT:  # Ctrl-C reached the compiler too
            raise KeyboardInterrupt
        if proc.returncode != 0:
            first = next((line for line in proc.stderr.splitlines() if "error" in line), proc.stderr.strip()[:300])
            raise RuntimeError(f"the C compiler rejected the generated engine: {first}")
        partial = lib.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(out, partial)
        os.replace(partial, lib)
    if on_event is not None:
        on_event(f"compiled in {time.monotonic() - t0:.1f} s")
    return lib


def load(source: str, on_event: Callable[[str], None] | None = None) -> ctypes.CDLL:
    return ctypes.CDLL(str(build(source, on_event)))
