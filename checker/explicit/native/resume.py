"""The run description kept beside a checkpoint, so `--resume DIR` needs nothing else."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pgcheck.checker.errors import UsageError

RUN_FILE = "run.json"
FORMAT = "pgcheck-checkpoint-1"


def save_run(directory: Path, run: dict[str, Any]) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create the checkpoint directory {directory}: {e.strerror}") from None
    if (directory / "search.ckpt").exists():
        raise UsageError(f"{directory} already holds a checkpoint; continue it with --resume {directory}, or pick another directory")
    tmp = directory / (RUN_FILE + ".tmp")
    tmp.write_text(json.dumps({"format": FORMAT, **run}, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, directory / RUN_FILE)


def load_run(directory: Path) -> dict[str, Any]:
    path = directory / RUN_FILE
    if not path.is_file():
        raise UsageError(f"{directory} is not a pgcheck checkpoint directory (no {RUN_FILE}); start one with --checkpoint")
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise UsageError(f"{path} is damaged ({e}); start a new run with --checkpoint") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise UsageError(f"{path} is not a checkpoint description this pgcheck writes (format {FORMAT})")
    if not (directory / "search.ckpt").is_file():
        raise UsageError(f"{directory} has no saved search yet (the run stopped before its first checkpoint); start it again")
    return doc
