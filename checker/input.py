"""The one way pgcheck reads a file the user named (traces, event logs, checkpoints).

Only a regular file is read (a device such as /dev/zero, a FIFO or a directory is refused
before a byte is read), up to a size limit; JSON is parsed with bounded nesting, without
NaN/Infinity, and every failure — huge integers, lone surrogates, invalid UTF-8 — is one
`UsageError` line that names the file.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from pgcheck.checker.errors import UsageError

MAX_INPUT_BYTES = 256 * 1024 * 1024
MAX_JSON_DEPTH = 64


def read_input(path: str | Path, what: str, hint: str, limit: int = MAX_INPUT_BYTES) -> str:
    """The UTF-8 text of a regular file; `what` names it ("trace", "event log"), `hint` says how to get one."""
    p = Path(path)
    if not str(path).strip():
        raise UsageError(f"the {what} path is empty; {hint}")
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise UsageError(f"{p}: no such {what}; {hint}") from None
    except IsADirectoryError:
        raise UsageError(f"{p} is a directory; pass the {what} itself") from None
    except OSError as e:
        raise UsageError(f"{p}: cannot read it ({e.strerror}); check the path and permissions") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise UsageError(f"{p} is a directory; pass the {what} itself")
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(f"{p} is not a regular file (a device, FIFO or socket); pass the {what} itself")
        if st.st_size > limit:
            raise UsageError(f"{p} is {st.st_size:,} bytes, more than the {limit:,} pgcheck reads; {hint}")
        with os.fdopen(os.dup(fd), "rb") as fh:
            raw = fh.read(limit + 1)
    except OSError as e:
        raise UsageError(f"{p}: cannot read it ({e.strerror}); check the path and permissions") from None
    finally:
        os.close(fd)
    if len(raw) > limit:
        raise UsageError(f"{p} grew past {limit:,} bytes while being read; pass a finished {what}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{p} is not UTF-8 text (byte {e.start}); pass the {what} pgcheck wrote (JSON)") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(text: str) -> Any:
    """`json.loads` with pgcheck's limits; raises ValueError (with a reason) for what it refuses.

    json.JSONDecodeError (a ValueError) keeps its position attributes for callers that use them.
    """
    try:
        doc = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    check_json_value(doc)
    return doc


def check_json_value(doc: Any) -> None:
    """Refuse nesting deeper than MAX_JSON_DEPTH and strings that are not valid Unicode."""
    stack: list[tuple[Any, int]] = [(doc, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
        elif isinstance(value, dict):
            for k, v in value.items():
                _check_text(k)
                stack.append((v, depth + 1))


def _check_text(s: str) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a string holds a lone surrogate (\\ud800-\\udfff), which is not Unicode text") from None
