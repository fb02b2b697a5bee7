"""`pgcheck check-history HISTORY.json`: check what each client of a server saw against the model."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from pgcheck.reference.client_history import ClientVerdict, History, check_history, read_history


@click.command(name="check-history", short_help="Check client-visible histories against the model (process mode).")
@click.argument("history_file", metavar="HISTORY.json", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
def command(history_file: Path, as_json: bool) -> None:
    """Check HISTORY.json (docs/real-server.md) against the model in process mode: every
    client's received messages must be ones the model sends for its sends, closes and the
    interrupts sent to it.  Exit 0 allowed, 1 the first event the model does not allow, 2 bad input."""
    history = read_history(history_file)
    t0 = time.monotonic()
    verdicts: list[ClientVerdict] = []
    for i, client in enumerate(history.clients):
        click.echo(f"check-history: client {i + 1}/{len(history.clients)} {client.name}: {len(client.events)} events", err=True)
        verdicts.append(check_history(History([client], history.server)).clients[0])
    elapsed = time.monotonic() - t0
    ok = all(v.ok for v in verdicts)
    if as_json:
        click.echo(json.dumps(
            {
                "verdict": "ok" if ok else "not allowed",
                "server": history.server,
                "seconds": round(elapsed, 3),
                "clients": [
                    {"name": v.name, "ok": v.ok, "events": v.events, "failed_at": v.failed_at, "reason": v.reason,
                     "configurations": v.configurations}
                    for v in verdicts
                ],
            },
            indent=1,
        ))
    else:
        events = sum(v.events for v in verdicts)
        head = "ok" if ok else "NOT ALLOWED"
        click.echo(f"check-history: {history_file}: {head} - {len(verdicts)} clients, {events} events ({elapsed:.1f}s)")
        for v, client in zip(verdicts, history.clients, strict=True):
            if not v.ok:
                click.echo("  " + v.show(client))
    sys.exit(0 if ok else 1)
