"""Read an event log (docs/trace-validation.md) into checked `Event`s; bad input is a
`UsageError` with one line that names the file, the line and what is wrong."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pgcheck.checker.errors import UsageError
from pgcheck.checker.input import parse_json, read_input
from pgcheck.checker.printable import printable
from pgcheck.reference.events import Action, Event

KNOWN = {a.value for a in Action}


HOW_TO_RECORD = "record one with 'python -m pgcheck.reference --events FILE'"
WRITE_KEY = re.compile(r"(?:(?:backend|carrier)\[(0|[1-9][0-9]{0,8})\]|scheduler|postmaster)\.[A-Za-z_][A-Za-z0-9_]*")
INDEX_LISTS = ("ready", "reparked", "batch")
# The actions that name no backend (docs/trace-validation.md, "Actions").
WITHOUT_BACKEND = frozenset({"StartCarrier", "PollTake", "PollPass", "PollImmediate", "PollWait", "PollRecheck", "CarrierSleep"})


def read_events(path: str | Path) -> list[Event]:
    text = read_input(path, "event log", HOW_TO_RECORD)
    where = printable(str(path))
    events: list[Event] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        events.append(_event(f"{where}:{n}", line))
    if not events:
        raise UsageError(f"{where}: the event log is empty")
    for expected, event in enumerate(events, events[0].seq):
        if event.seq < expected:
            raise UsageError(
                f"{where}: seq {event.seq} follows seq {expected - 1}; each event needs its own, increasing seq "
                "(a repeated or reordered line?)"
            )
        if event.seq != expected:
            raise UsageError(
                f"{where}: seq {event.seq} follows seq {expected - 1}; seq must be gap-free (events lost?)"
            )
    return events


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _is_value(value: Any) -> bool:
    """What the schema allows for a parameter or a written field: a scalar or a list of scalars."""
    return _is_scalar(value) or (isinstance(value, list) and all(_is_scalar(x) for x in value))


def _event(where: str, line: str) -> Event:
    try:
        raw: Any = parse_json(line)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{where}: not a JSON object ({exc.msg}); one event per line, see docs/trace-validation.md"
        ) from None
    except ValueError as exc:
        raise UsageError(f"{where}: not an event pgcheck can read ({exc}); see docs/trace-validation.md") from None
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: an event must be a JSON object with seq, action, params, writes")
    missing = [k for k in ("seq", "action", "params", "writes") if k not in raw]
    if missing:
        raise UsageError(f"{where}: event lacks {', '.join(missing)}")
    seq, action, params, writes = raw["seq"], raw["action"], raw["params"], raw["writes"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise UsageError(f"{where}: seq must be a positive integer, got {_short(seq)}")
    if not isinstance(action, str) or action not in KNOWN:
        raise UsageError(f"{where}: unknown action {_short(action)}; the actions are listed in docs/trace-validation.md")
    if not isinstance(params, dict) or not isinstance(writes, dict):
        raise UsageError(f"{where}: params and writes must be JSON objects")
    if "b" not in params and action not in WITHOUT_BACKEND:
        raise UsageError(f"{where}: {action} needs parameter b (the backend index)")
    for key in ("b", "c", "by"):
        if key in params and not _is_index(params[key]):
            raise UsageError(f"{where}: parameter {key} must be an index >= 0, got {_short(params[key])}")
    for key in INDEX_LISTS:
        if key in params and not (isinstance(params[key], list) and all(_is_index(x) for x in params[key])):
            raise UsageError(f"{where}: parameter {key} must be a list of backend indices, got {_short(params[key])}")
    for key in ("sql", "msg", "kind", "types", "type", "rfq", "result", "cmd"):
        if key in params and not isinstance(params[key], str):
            raise UsageError(f"{where}: parameter {key} must be a string, got {_short(params[key])}")
    for key, value in params.items():
        if not _is_value(value):
            raise UsageError(f"{where}: parameter {key} must be a scalar or a list of scalars, got {_short(value)}")
    for key, value in writes.items():
        if not WRITE_KEY.fullmatch(key):
            raise UsageError(
                f"{where}: written field {_short(key)} is not entity[index].field, scheduler.field or postmaster.field"
            )
        if not _is_value(value):
            raise UsageError(f"{where}: written field {key} must be a scalar or a list of scalars, got {_short(value)}")
    return Event(seq, action, params, writes)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
