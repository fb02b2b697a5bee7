"""Run pgcheck on hostile input and check every promise made about bad input.

`Sandbox` keeps one child process (tests/hostile/sandbox.py) with resource limits set by
`resource.setrlimit` before exec: 4 GiB of address space, CPU seconds, 256 open files. A
command that loops over a declared count or reads /dev/zero runs into them (MemoryError or
death) instead of taking the machine. Each case runs in its own working directory, which
holds the input files and a bystander folder of the user's files; `check_outcome` asserts:

- exit 2 with exactly one stderr line `pgcheck: ...`, or an allowed verdict (0/1/3);
- no traceback, no exception escaping the command, no hang (the child's interval timer);
- no control character (ESC, CR, BEL, C1, bidi) in what was printed;
- no file outside the command's own output paths created, changed or removed, and no
  output path that was not a regular file or a new name turned into one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import stat
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ADDRESS_SPACE = 4 << 30
CPU_SECONDS = 900
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def child_env() -> dict[str, str]:
    """The environment of a child: pgcheck from this checkout, or from HOSTILE_PYTHONPATH (another
    checkout, a tree with a `pgcheck` package folder), e.g. to see the suite fail on a version
    before the fixes."""
    return dict(os.environ, PYTHONPATH=os.environ.get("HOSTILE_PYTHONPATH", str(ROOT)), PYTHONWARNINGS="ignore")


def limit_child() -> None:
    """preexec_fn: the bounds every hostile case runs under."""
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


@dataclass
class Outcome:
    argv: list[str]
    code: int | None
    stdout: str
    stderr: str
    exception: str | None

    def describe(self) -> str:
        return f"pgcheck {self.argv!r}: exit {self.code}\nstdout: {self.stdout[-800:]!r}\nstderr: {self.stderr[-800:]!r}\n{self.exception or ''}"


class Sandbox:
    def __init__(self) -> None:
        env = child_env()
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("sandbox.py"))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, preexec_fn=limit_child, env=env, cwd=ROOT,
        )
        self.cases = 0

    def run(self, argv: list[str], cwd: Path) -> Outcome:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"argv": argv, "cwd": str(cwd)}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        self.cases += 1
        if not line:
            code = self.proc.wait()
            self.__init__()  # type: ignore[misc]  # the next case gets a fresh child
            return Outcome(argv, None, "", "", f"the sandbox died (exit {code}): a resource limit or a crash")
        doc: dict[str, Any] = json.loads(line)
        return Outcome(argv, doc["code"], doc["stdout"], doc["stderr"], doc["exception"])

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


# ---- the file system around a case ------------------------------------------------------


def snapshot(roots: Iterable[Path]) -> dict[str, tuple[Any, ...]]:
    """Every entry under the roots (not following symlinks): type, size, content digest, target."""
    out: dict[str, tuple[Any, ...]] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            for name in dirnames + filenames:
                p = Path(dirpath) / name
                out[str(p)] = describe(p)
        out[str(root)] = describe(root)
    return out


def describe(p: Path) -> tuple[Any, ...]:
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return ("absent",)
    kind = stat.S_IFMT(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        return (kind, os.readlink(p))
    if stat.S_ISREG(st.st_mode):
        return (kind, st.st_size, hashlib.sha256(p.read_bytes()).hexdigest(), st.st_ino)
    return (kind, st.st_ino, st.st_rdev)


def changed(before: dict[str, tuple[Any, ...]], after: dict[str, tuple[Any, ...]], allowed: set[str]) -> list[str]:
    """Entries created, changed or removed, other than the allowed output paths (and folders above them)."""
    keys = set(before) | set(after)
    out = []
    for k in sorted(keys):
        if before.get(k) == after.get(k):
            continue
        if k in allowed or any(a.startswith(k + os.sep) for a in allowed):
            continue
        out.append(f"{k}: {before.get(k, ('absent',))} -> {after.get(k, ('absent',))}")
    return out


def check_outcome(
    out: Outcome, *, verdicts: Iterable[int] = (0,), must_refuse: bool = False, where: str = ""
) -> None:
    """The promises about bad input (module docstring); `verdicts` are the allowed exit codes besides 2."""
    assert out.exception is None, out.describe()
    assert "Traceback" not in out.stdout + out.stderr, out.describe()
    assert out.code is not None, out.describe()
    if must_refuse or out.code == 2:
        assert out.code == 2, f"{where}: expected a refusal\n" + out.describe()
        lines = out.stderr.strip("\n").split("\n")
        assert len(lines) == 1 and lines[0].startswith("pgcheck: "), f"{where}: not one line\n" + out.describe()
    else:
        assert out.code in set(verdicts), f"{where}\n" + out.describe()
    bad = UNSAFE.search(out.stdout + out.stderr)
    assert bad is None, f"{where}: control character {bad.group()!r} printed\n" + out.describe()


def special_files(folder: Path) -> dict[str, Path]:
    """Paths that are not regular files, made inside `folder` (a FIFO, a symlink to a device,
    a symlink to a user's file, a directory), and devices of the system."""
    folder.mkdir(parents=True, exist_ok=True)
    fifo = folder / "a-fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    user_file = folder / "users-notes.txt"
    if not user_file.exists():
        user_file.write_text("the user's own notes\n")
    links = {"link-to-zero": Path("/dev/zero"), "link-to-notes": user_file}
    for name, target in links.items():
        if not (folder / name).is_symlink():
            (folder / name).symlink_to(target)
    (folder / "a-directory").mkdir(exist_ok=True)
    return {
        "fifo": fifo,
        "symlink to /dev/zero": folder / "link-to-zero",
        "symlink to a user file": folder / "link-to-notes",
        "directory": folder / "a-directory",
        "/dev/zero": Path("/dev/zero"),
        "/dev/null": Path("/dev/null"),
        "/dev/full": Path("/dev/full"),
    }
