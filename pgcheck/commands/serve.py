"""`pgcheck serve`: explore the model by hand in a local web page."""

from __future__ import annotations

import json
import sys
import threading
import webbrowser
from pathlib import Path
from typing import Any

import click

from pgcheck.checker.errors import UsageError
from pgcheck.checker.explicit.explore import Step
from pgcheck.checker.lang.spec import TracedModel
from pgcheck.checker.run.check import run_check
from pgcheck.checker.run.witness_trace import check_witness_id
from pgcheck.checker.traces.explorer_server import ExplorerServer
from pgcheck.checker.traces.explorer_session import ExplorerSession, path_from_itf
from pgcheck.checker.traces.itf_read import load_trace
from pgcheck.model import load, make_config, parse_options
from pgcheck.model.vocabulary import MODES

CONFIG_PARAMS = ("mode", "carriers", "sessions")


def witness_path(spec: Any, wid: str) -> list[Step]:
    """The shortest path to a state where witness `wid` holds (a full search of the model)."""
    check_witness_id(spec, wid)
    run = run_check(spec, default_trace_dir=None, engine="auto", invariants=None)
    fp = run.result.witness_states.get(wid)
    if fp is None:
        why = f" (the search stopped first: {run.result.verdict})" if run.result.verdict != "ok" else ""
        raise UsageError(f"witness {wid} is not reachable in this configuration{why}; start from the initial state")
    return run.explorer.trace_to(fp)


def config_of_trace(meta: dict[str, Any]) -> tuple[str, int | None, int, dict[str, Any], str | None]:
    """The configuration a trace was written for, from its `#meta`."""
    raw = meta.get("params")
    params: dict[str, Any] = raw if isinstance(raw, dict) else {}
    mode = params.get("mode")
    sessions = params.get("sessions")
    if mode not in MODES or not isinstance(sessions, int):
        raise UsageError("the trace's #meta.params does not name a mode and a session count; pass --mode/--sessions")
    carriers = params.get("carriers") if mode == "pooled" else None
    options = {k: v for k, v in params.items() if k not in CONFIG_PARAMS}
    mutation = meta.get("mutation") if isinstance(meta.get("mutation"), str) else None
    return mode, carriers, sessions, options, mutation


@click.command("serve")
@click.option("--mode", type=click.Choice(MODES), default=None, help="runtime shape [default: pooled, or the trace's]")
@click.option("--carriers", type=int, default=None, help="carrier threads (pooled mode) [default: 2, or the trace's]")
@click.option("--sessions", type=int, default=None, help="client sessions [default: 2, or the trace's]")
@click.option("--option", "options", multiple=True, metavar="NAME=VALUE", help="model option or bound (see 'pgcheck list')")
@click.option("--mutation", default=None, metavar="NAME", help="a seeded bug of the catalogue (see 'pgcheck mutants')")
@click.option("--witness", default=None, metavar="ID", help="start from the end of a shortest path to witness ID")
@click.option("--trace", "trace_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="start from the end of this ITF trace (its configuration comes from the trace)")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="port on 127.0.0.1 (0: a free one)")
@click.option("--open", "open_browser", is_flag=True, help="open the page in the default browser")
def command(
    mode: str | None, carriers: int | None, sessions: int | None, options: tuple[str, ...], mutation: str | None,
    witness: str | None, trace_file: Path | None, port: int, open_browser: bool,
) -> None:
    """Explore the model by hand in a local web page (127.0.0.1 only): start from the initial
    state, a witness or a trace; pick one of the enabled actions at a time and watch the lanes
    grow; go back and branch; evaluate any property or expression on the current state; save
    the path as an ITF trace. Ctrl-C stops the server."""
    if witness and trace_file:
        raise UsageError("--witness and --trace both choose where to start; give one")
    opts = parse_options(list(options))
    doc: dict[str, Any] | None = None
    if trace_file is not None:
        load_trace(trace_file)  # the checks every trace reader makes, one line each
        doc = json.loads(trace_file.read_text(encoding="utf-8"))
        if mode is None and sessions is None and carriers is None and not options and mutation is None:
            mode, carriers, sessions, opts, mutation = config_of_trace(doc["#meta"])
    cfg = make_config(mode or "pooled", carriers, sessions or 2, opts)
    spec = load(cfg, mutation)
    model: TracedModel = spec.trace()
    path: list[Step] | None = None
    if doc is not None and trace_file is not None:
        path = path_from_itf(model, doc, str(trace_file))
    elif witness is not None:
        path = witness_path(spec, witness)
    session = ExplorerSession(model, path, mutation=mutation)
    title = f"pgcheck serve · {cfg.mode} {cfg.carriers}x{cfg.sessions}" + (f" · mutation {mutation}" if mutation else "")
    try:
        server = ExplorerServer(session, port, title)
    except OSError as e:
        raise UsageError(f"cannot listen on 127.0.0.1:{port} ({e.strerror}); choose another --port") from None
    click.echo(f"pgcheck serve: {server.url}")
    click.echo("open it in a browser on this machine; Ctrl-C stops the server")
    if open_browser:
        threading.Timer(0.3, webbrowser.open, (server.url,)).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("pgcheck serve: stopped")
    finally:
        server.server_close()
    sys.exit(0)
