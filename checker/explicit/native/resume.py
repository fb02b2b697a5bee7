"""The run description kept beside a checkpoint, so `--resume DIR` needs nothing else.

A checkpoint directory is pgcheck's own: new, empty, or one it wrote (run.json in its
format); a folder with other files is refused, so nothing of the user's is replaced. One
run at a time uses a directory: an exclusive lock on it is held while the search runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pgcheck.checker.errors import UsageError
from pgcheck.checker.input import parse_json, read_input
from pgcheck.checker.output import write_output

RUN_FILE = "run.json"
FORMAT = "pgcheck-checkpoint-1"
OWN_FILES = {RUN_FILE, "search.ckpt", "search.ckpt.tmp"}

# The fields of run.json and the JSON types each may have (None: null allowed).
FIELDS: dict[str, tuple[type | None, ...]] = {
    "mode": (str,),
    "carriers": (int, None),
    "sessions": (int,),
    "options": (list,),
    "invariants": (list,),
    "symmetry": (bool,),
    "mutation": (str, None),
}


def check_new_checkpoint_dir(directory: Path) -> None:
    """Refuse (before any work) a --checkpoint directory that is not new, empty or pgcheck's own."""
    if not str(directory).strip():
        raise UsageError("--checkpoint is empty; give a directory name")
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise UsageError(f"--checkpoint {directory} is not a directory; give a new or empty one")
    if not directory.exists():
        return
    if (directory / "search.ckpt").exists():
        raise UsageError(f"{directory} already holds a checkpoint; continue it with --resume {directory}, or pick another directory")
    foreign = sorted(p.name for p in directory.iterdir() if p.name not in OWN_FILES)
    if foreign:
        raise UsageError(f"--checkpoint {directory} holds files pgcheck did not write ({foreign[0]}); give a new or empty directory")


def save_run(directory: Path, run: dict[str, Any]) -> None:
    """Write run.json into a directory `checkpoint_lock(..., create=True)` holds."""
    check_new_checkpoint_dir(directory)
    write_output(directory / RUN_FILE, json.dumps({"format": FORMAT, **run}, indent=2, sort_keys=True) + "\n", "--checkpoint")


def load_run(directory: Path) -> dict[str, Any]:
    path = directory / RUN_FILE
    if not directory.is_dir() or not path.exists():
        raise UsageError(f"{directory} is not a pgcheck checkpoint directory (no {RUN_FILE}); start one with --checkpoint")
    text = read_input(path, "checkpoint description", "start a new run with --checkpoint", limit=1 << 20)
    try:
        doc = parse_json(text)
    except ValueError as e:
        raise UsageError(f"{path} is damaged ({e}); start a new run with --checkpoint") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise UsageError(f"{path} is not a checkpoint description this pgcheck writes (format {FORMAT})")
    for name, types in FIELDS.items():
        value = doc.get(name, ...)
        ok = any(value is None if t is None else isinstance(value, t) for t in types)
        if value is ... or not ok or (isinstance(value, bool) and bool not in types):
            raise UsageError(f"{path} is damaged ({name!r} is missing or of the wrong type); start a new run with --checkpoint")
    for name in ("options", "invariants"):
        if not all(isinstance(x, str) for x in doc[name]):
            raise UsageError(f"{path} is damaged ({name!r} must list strings); start a new run with --checkpoint")
    if not (directory / "search.ckpt").is_file():
        raise UsageError(f"{directory} has no saved search yet (the run stopped before its first checkpoint); start it again")
    return doc


@contextlib.contextmanager
def checkpoint_lock(directory: Path, create: bool = False) -> Iterator[None]:
    """Hold an exclusive lock on the directory while a search saves into it or resumes from it."""
    if create:
        check_new_checkpoint_dir(directory)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError(f"cannot create the checkpoint directory {directory}: {e.strerror}") from None
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise UsageError(f"cannot open the checkpoint directory {directory}: {e.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"another pgcheck run is using the checkpoint in {directory}; wait for it to end") from None
        yield
    finally:
        os.close(fd)  # releases the lock
