"""`pgcheck bmc`: symbolic search for short counterexamples with Z3."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from pgcheck.checker.errors import check_names
from pgcheck.checker.symbolic.smt import z3mod
from pgcheck.model import load, make_config, parse_options
from pgcheck.model.vocabulary import MODES

MAX_CARRIERS, MAX_SESSIONS = 64, 256


@click.command("bmc")
@click.option("--mode", type=click.Choice(MODES), default="pooled", show_default=True, help="runtime shape (§2.1)")
@click.option("--carriers", type=int, default=None, help="carrier threads in the pool (pooled mode only) [default: 2]")
@click.option("--sessions", type=int, default=3, show_default=True, help="client sessions")
@click.option("--option", "options", multiple=True, metavar="NAME=VALUE", help="model option or bound (see 'pgcheck list')")
@click.option("--invariant", "invariants", multiple=True, metavar="ID", help="check only these invariants (repeatable)")
@click.option("--depth", type=click.IntRange(min=0), default=10, show_default=True, help="steps to unroll")
@click.option("--no-model-errors", is_flag=True, help="do not look for failing run-time checks (range, capacity)")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None, help="stop after this many seconds")
@click.option("--memory-limit", type=click.FloatRange(min=0, min_open=True), default=None, metavar="GIB",
              help="stop before using more memory than this (default: 80% of what is available)")
@click.option("--trace-out", type=click.Path(dir_okay=False), default=None, help="where to write a counterexample (ITF JSON)")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@click.option("--quiet", "-q", is_flag=True, help="no progress on stderr")
def command(
    mode: str,
    carriers: int | None,
    sessions: int,
    options: tuple[str, ...],
    invariants: tuple[str, ...],
    depth: int,
    no_model_errors: bool,
    time_limit: float | None,
    memory_limit: float | None,
    trace_out: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Unroll the transition relation DEPTH steps from the initial state and ask Z3 for a violation.

    Depths are tried in order, so a counterexample is a shortest one. Exit code 0: no
    violation within the depth; 1: a violation; 2: bad input; 3: Z3 gave up (unknown, time
    or memory limit) before the depth was reached.
    """
    z3mod()
    from pgcheck.checker.symbolic.bmc import BmcProgress, run_bmc
    from pgcheck.checker.traces.itf import trace_to_itf, write_trace

    cfg = make_config(mode, carriers, sessions, parse_options(list(options)), max_carriers=MAX_CARRIERS, max_sessions=MAX_SESSIONS)
    spec = load(cfg)
    t0 = time.monotonic()
    model = spec.trace()
    known = [p.id for p, _ in model.invariants]
    check_names("invariant", invariants, known, model.meta.get("invariants_not_applicable"))

    def progress(p: BmcProgress) -> None:
        if not quiet:
            sys.stderr.write(f"bmc: depth {p.depth}: {p.what} ({time.monotonic() - t0:.1f}s)\n")
            sys.stderr.flush()

    res = run_bmc(model, depth, invariant_ids=list(invariants) or None, time_limit=time_limit,
                  check_errors=not no_model_errors, on_progress=progress,
                  memory_limit=None if memory_limit is None else int(memory_limit * (1 << 30)))
    path: Path | None = None
    if res.verdict == "violation":
        prop = next((p for p, _ in model.invariants if p.id == res.property_id), None)
        doc = trace_to_itf(model, res.trace, kind="counterexample", prop=prop, engine="z3-bmc", message=res.message)
        if prop is None:
            doc["#meta"]["property"] = {"id": res.property_id, "kind": res.kind, "statement": res.message, "citation": ""}
        path = write_trace(doc, trace_out or f"pgcheck-bmc-{res.property_id}.itf.json")
    steps = [model.bindings[st.binding].label for st in res.trace[1:] if st.binding is not None]
    if as_json:
        out: dict[str, Any] = {
            "config": {"mode": mode, "carriers": cfg.carriers, "sessions": cfg.sessions},
            "depth": depth, "verdict": res.verdict, "depth_checked": res.depth_reached,
            "property": res.property_id, "kind": res.kind, "steps": steps, "trace": str(path) if path else None,
            "seconds": round(res.elapsed, 2), "reason": res.reason,
        }
        click.echo(json.dumps(out, indent=2))
    else:
        click.echo(f"pgcheck bmc: {mode}, {cfg.carriers} carriers, {cfg.sessions} sessions, depth {depth}; "
                   f"{len(model.bindings)} action bindings, {len(model.slots)} state slots; engine: Z3 (bit vectors)")
        if res.verdict == "violation":
            click.echo(f"result: VIOLATION of {res.property_id} after {len(steps)} steps ({res.elapsed:.1f} s): {res.message}")
            for i, label in enumerate(steps, 1):
                click.echo(f"  {i:>3}. {label}")
            click.echo(f"trace: {path}")
        elif res.verdict == "ok":
            click.echo(f"result: no violation in any run of at most {depth} steps ({res.elapsed:.1f} s)")
        else:
            click.echo(f"result: {res.verdict.upper()} — checked every run of at most {res.depth_reached} steps; "
                       f"Z3 stopped at depth {res.depth_reached + 1}: {res.reason} ({res.elapsed:.1f} s)")
    sys.exit({"ok": 0, "violation": 1}.get(res.verdict, 3))
