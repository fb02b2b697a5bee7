"""Read an event log (docs/trace-validation.md) into checked `Event`s; bad input is a
`UsageError` with one line that names the file, the line and what is wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pgcheck.checker.errors import UsageError
from pgcheck.reference.events import Action, Event

KNOWN = {a.value for a in Action}


def read_events(path: Path) -> list[Event]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such event log; record one with 'python -m pgcheck.reference --events FILE'") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the event log: {exc}") from None
    events: list[Event] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        events.append(_event(path, n, line))
    if not events:
        raise UsageError(f"{path}: the event log is empty")
    for expected, event in enumerate(events, events[0].seq):
        if event.seq != expected:
            raise UsageError(
                f"{path}: seq {event.seq} follows seq {expected - 1}; seq must be gap-free (events lost?)"
            )
    return events


def _event(path: Path, n: int, line: str) -> Event:
    where = f"{path}:{n}"
    try:
        raw: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{where}: not a JSON object ({exc.msg}); one event per line, see docs/trace-validation.md"
        ) from None
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: an event must be a JSON object with seq, action, params, writes")
    missing = [k for k in ("seq", "action", "params", "writes") if k not in raw]
    if missing:
        raise UsageError(f"{where}: event lacks {', '.join(missing)}")
    seq, action, params, writes = raw["seq"], raw["action"], raw["params"], raw["writes"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise UsageError(f"{where}: seq must be a positive integer, got {seq!r}")
    if action not in KNOWN:
        raise UsageError(f"{where}: unknown action {action!r}; the actions are listed in docs/trace-validation.md")
    if not isinstance(params, dict) or not isinstance(writes, dict):
        raise UsageError(f"{where}: params and writes must be JSON objects")
    for key in ("b", "c"):
        if key in params and (not isinstance(params[key], int) or isinstance(params[key], bool) or params[key] < 0):
            raise UsageError(f"{where}: parameter {key} must be an index >= 0, got {params[key]!r}")
    return Event(seq, action, params, writes)
