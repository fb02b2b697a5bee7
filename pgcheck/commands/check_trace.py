"""`pgcheck check-trace EVENTS.jsonl`: validate an implementation's event log against the model."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from pgcheck.checker.output import check_output_path
from pgcheck.checker.printable import printable
from pgcheck.checker.traces.itf import trace_to_itf, write_trace
from pgcheck.reference.trace_check import Verdict, check_events, trace_config, uses_poll_steps
from pgcheck.reference.trace_events import read_events


@click.command(name="check-trace", short_help="Validate an event log against the model.")
@click.argument("events_file", metavar="EVENTS.jsonl", type=str)
@click.option("--mode", default="pooled", show_default=True, help="Runtime shape of the log (pooled).")
@click.option("--carriers", type=int, default=None, help="Carrier limit of the run that wrote the log.")
@click.option("--sessions", type=int, required=True, help="At least the number of connections in the log.")
@click.option("--trace-out", type=str, default=None, help="Write the matched prefix as ITF here.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def command(
    events_file: str, mode: str, carriers: int | None, sessions: int, trace_out: str | None, as_json: bool
) -> None:
    """Replay EVENTS.jsonl (docs/trace-validation.md) against the model: every event must be an
    enabled model action whose writes match.  Exit 0 conforms, 1 a mismatch, 2 bad input."""
    if trace_out is not None:
        check_output_path(trace_out, "--trace-out")
    events = read_events(events_file)
    cfg = trace_config(mode, carriers, sessions, poll_steps=uses_poll_steps(events))
    t0 = time.monotonic()
    verdict = check_events(events, cfg)
    elapsed = time.monotonic() - t0
    if trace_out is not None:
        write_trace(_itf(verdict), trace_out)
    if as_json:
        click.echo(json.dumps(_as_dict(verdict, elapsed), indent=1))
    else:
        for line in _lines(verdict, elapsed, events_file, trace_out):
            click.echo(printable(line))  # the log's values and the path may hold control characters
    sys.exit(0 if verdict.ok else 1)


def _itf(v: Verdict) -> dict[str, Any]:
    message = "" if v.mismatch is None else f"event seq {v.mismatch.seq}: {v.mismatch.reason}"
    return trace_to_itf(v.model, v.steps, kind="trace-validation", prop=None, engine="check-trace", message=message)


def _as_dict(v: Verdict, elapsed: float) -> dict[str, Any]:
    m = v.mismatch
    return {
        "verdict": "ok" if v.ok else "mismatch",
        "events": v.events,
        "matched": v.matched,
        "inserted_client_steps": v.inserted,
        "seconds": round(elapsed, 3),
        "mismatch": None
        if m is None
        else {
            "seq": m.seq,
            "action": m.action,
            "params": m.params,
            "reason": m.reason,
            "fields": [{"field": f, "model": want, "log": got} for f, want, got in m.fields],
        },
    }


def _lines(v: Verdict, elapsed: float, path: str, trace_out: str | None) -> list[str]:
    if v.ok:
        out = [
            f"check-trace: {path}: ok - {v.events} events match the model (the design model, docs/trace-validation.md) "
            f"({v.inserted} client steps inferred, {elapsed:.1f}s)"
        ]
    else:
        m = v.mismatch
        assert m is not None
        params = ", ".join(f"{k}={val}" for k, val in m.params.items())
        out = [
            f"check-trace: {path}: MISMATCH at event seq {m.seq}: {m.action}({params}): {m.reason}",
            f"  {v.matched} events before it matched the model",
        ]
        out += [f"  {f}: model {want!r}, log {got!r}" for f, want, got in m.fields]
    if trace_out is not None:
        out.append(f"  matched prefix written to {trace_out}")
    return out
