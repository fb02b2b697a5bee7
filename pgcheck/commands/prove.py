"""`pgcheck prove`: are the safety invariants inductive (with the lemmas of specs/lemmas.py)?"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from pgcheck.checker.errors import UsageError
from pgcheck.checker.symbolic.smt import z3mod
from pgcheck.model import load, make_config, parse_options
from pgcheck.model.vocabulary import MODES

MAX_CARRIERS, MAX_SESSIONS = 64, 256


def _progress(enabled: bool, t0: float) -> Any:
    def show(p: Any) -> None:
        if enabled:
            where = f"round {p.round}" if hasattr(p, "round") else f"depth {p.depth}"
            sys.stderr.write(f"prove: {where}: {p.what} ({time.monotonic() - t0:.1f}s)\n")
            sys.stderr.flush()

    return show


def _line_progress(enabled: bool, t0: float) -> Any:
    def show(what: str) -> None:
        if enabled:
            sys.stderr.write(f"prove: {what} ({time.monotonic() - t0:.1f}s)\n")
            sys.stderr.flush()

    return show


@click.command("prove")
@click.option("--mode", type=click.Choice(MODES), default="pooled", show_default=True, help="runtime shape (§2.1)")
@click.option("--carriers", type=int, default=None, help="carrier threads in the pool (pooled mode only) [default: 2]")
@click.option("--sessions", type=int, default=3, show_default=True, help="client sessions")
@click.option("--option", "options", multiple=True, metavar="NAME=VALUE", help="model option or bound (see 'pgcheck list')")
@click.option("--invariant", "invariants", multiple=True, metavar="ID", help="prove only these invariants (repeatable)")
@click.option("--no-lemmas", is_flag=True, help="do not add the strengthening lemmas of specs/lemmas.py")
@click.option("--show-cti", is_flag=True, help="print each counterexample to induction and write it as ITF")
@click.option("--cti-dir", type=click.Path(file_okay=False), default=".", show_default=True, help="where --show-cti writes CTIs")
@click.option("--parametric", is_flag=True, help="prove at every size up to --max-size and report per invariant")
@click.option("--max-size", type=click.IntRange(1, MAX_SESSIONS), default=4, show_default=True, help="largest size for --parametric")
@click.option("--markdown", type=click.Path(dir_okay=False), default=None, help="with --parametric: write the table (docs/proofs.md)")
@click.option("--no-all-sizes", is_flag=True, help="with --parametric: skip the all-sizes proof (uninterpreted sorts)")
@click.option("--all-sizes-lemmas", is_flag=True,
              help="with --parametric: give the all-sizes proof the lemmas too (slow: see docs/symbolic.md)")
@click.option("--all-bindings", is_flag=True, help="check every action binding, not one per symmetry orbit")
@click.option("--find-lemmas", is_flag=True,
              help="search lemmas at this size; print them, or write them with --lemmas-out FILE or --write")
@click.option("--lemmas-out", type=click.Path(dir_okay=False), default=None,
              help="where --find-lemmas writes the found lemmas")
@click.option("--write", "write_lemmas", is_flag=True,
              help="with --find-lemmas: replace specs/lemmas_found.py of this checkout (the lemmas prove uses)")
@click.option("--query-limit", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
              help="seconds for one question to Z3; past it the question is split, then the candidate is unknown")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None, help="stop after this many seconds")
@click.option("--fifo-encoding", "fifo_choice", type=click.Choice(["auto", "slots", "order"]), default="auto",
              show_default=True,
              help="FIFOs as positional slots, or as membership and precedence (large sizes); auto: order once "
                   "a FIFO holds 5 or more items")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@click.option("--quiet", "-q", is_flag=True, help="no progress on stderr")
def command(
    mode: str,
    carriers: int | None,
    sessions: int,
    options: tuple[str, ...],
    invariants: tuple[str, ...],
    no_lemmas: bool,
    show_cti: bool,
    cti_dir: str,
    parametric: bool,
    max_size: int,
    markdown: str | None,
    no_all_sizes: bool,
    all_sizes_lemmas: bool,
    all_bindings: bool,
    find_lemmas: bool,
    lemmas_out: str | None,
    write_lemmas: bool,
    query_limit: float,
    time_limit: float | None,
    fifo_choice: str,
    as_json: bool,
    quiet: bool,
) -> None:
    """Prove the safety invariants inductive with Z3: Init ⇒ Inv and Inv ∧ Next ⇒ Inv'.

    Exit code 0: every selected invariant is proven; 1: some invariant has a counterexample
    to induction or is false initially; 2: bad input; 3: Z3 gave up (unknown or time limit).
    """
    z3mod()
    from pgcheck.checker.symbolic.prove import run_prove, verdict_lines
    from pgcheck.checker.traces.cti import changed_slots, write_cti

    opts = parse_options(list(options))
    if (no_all_sizes or all_sizes_lemmas) and not parametric:
        raise UsageError("--no-all-sizes and --all-sizes-lemmas belong to --parametric; add --parametric")
    if markdown and not parametric:
        raise UsageError("--markdown writes the --parametric table; add --parametric")
    if (lemmas_out or write_lemmas) and not find_lemmas:
        raise UsageError("--lemmas-out and --write belong to --find-lemmas; add --find-lemmas")
    if lemmas_out and write_lemmas:
        raise UsageError("--write replaces specs/lemmas_found.py, --lemmas-out writes elsewhere; give one of them")
    t0 = time.monotonic()
    if find_lemmas:
        if write_lemmas:
            from pgcheck.specs import lemmas_found

            lemmas_out = lemmas_found.__file__
        _find_lemmas(mode, carriers, sessions, opts, lemmas_out, time_limit, _progress(not quiet, t0))
        return
    if parametric:
        from pgcheck.checker.symbolic.allsizes.runtime import run_all_sizes
        from pgcheck.checker.symbolic.parametric import apply_all_sizes, markdown_table, sweep

        # The all-sizes proof first (seconds without lemmas), so a sweep that runs into
        # --time-limit does not leave it no time. Built for the pooled mode only.
        every = None if no_all_sizes or mode != "pooled" else run_all_sizes(
            mode, opts, list(invariants) or None, all_sizes_lemmas and not no_lemmas, query_limit=query_limit,
            time_limit=time_limit, on_progress=_line_progress(not quiet, t0))
        left = None if time_limit is None else max(1.0, time_limit - (time.monotonic() - t0))
        table = sweep(mode, opts, list(invariants) or None, not no_lemmas, max_size, left, _progress(not quiet, t0),
                      symmetric=not all_bindings, query_limit=query_limit, fifo_choice=fifo_choice)
        if every is not None:
            apply_all_sizes(table, every)
        lines = table.lines()
        if as_json:
            click.echo(json.dumps(table.as_dict(), indent=2))
        else:
            for line in lines:
                click.echo(line)
        if markdown:
            Path(markdown).write_text(markdown_table(table))
        sys.exit(table.exit_code())
    cfg = make_config(mode, carriers, sessions, opts, max_carriers=MAX_CARRIERS, max_sessions=MAX_SESSIONS)
    run = run_prove(
        load(cfg), mode, invariants=list(invariants) or None, with_lemmas=not no_lemmas,
        time_limit=time_limit, on_progress=_progress(not quiet, t0), symmetric=not all_bindings,
        query_limit=query_limit, fifo_choice=fifo_choice,
    )
    res = run.result
    statuses = [v.status for v in res.verdicts if not v.lemma]
    if as_json:
        click.echo(json.dumps({
            "config": {"mode": mode, "carriers": cfg.carriers, "sessions": cfg.sessions},
            "fifo_encoding": run.fifos,
            "verdicts": [{"id": v.id, "lemma": v.lemma, "status": v.status, "reason": v.reason} for v in res.verdicts],
            "model_errors_not_excluded": res.model_errors,
            "seconds": round(res.elapsed, 2),
        }, indent=2))
    else:
        click.echo(f"pgcheck prove: {mode}, {cfg.carriers} carriers, {cfg.sessions} sessions; "
                   f"{len(run.model.bindings)} action bindings, {len(run.model.slots)} state slots")
        click.echo(f"engine: Z3 (bit vectors, {run.fifos} FIFOs), induction with Houdini pruning of "
                   f"{len(res.verdicts)} candidates; "
                   f"{res.checked_bindings} action bindings checked"
                   + ("" if all_bindings else " (one per symmetry orbit)"))
        for line in verdict_lines(run):
            click.echo(line)
        proven = statuses.count("proven")
        click.echo(f"result: {proven} of {len(statuses)} invariants proven inductive "
                   f"in {res.elapsed:.1f} s ({res.rounds} rounds)")
        if res.model_errors:
            click.echo(f"note: {len(res.model_errors)} run-time checks (range, capacity) are not implied by the proven "
                       f"set, e.g. {res.model_errors[0]}; the proofs cover runs without model errors, "
                       "which 'pgcheck explore' and 'pgcheck bmc' check")
    if show_cti:
        for v in res.verdicts:
            if v.status == "cti":
                path = write_cti(run.model, v, run.props[v.id], cti_dir)
                if not as_json:
                    click.echo(f"\nCTI for {v.id} ({path}): {v.reason}")
                    for line in changed_slots(run.model, v):
                        click.echo(f"    {line}")
    if any(s in ("cti", "initial") for s in statuses):
        sys.exit(1)
    sys.exit(3 if any(s != "proven" for s in statuses) else 0)


def _find_lemmas(mode: str, carriers: int | None, sessions: int, opts: dict[str, Any], out: str | None,
                 time_limit: float | None, progress: Any) -> None:
    from pgcheck.checker.symbolic.lemma_search import group, render, search

    if mode != "pooled":
        raise UsageError("--find-lemmas: the lemma atoms (specs/lemma_atoms.py) are written for --mode=pooled")
    cfg = make_config(mode, carriers, sessions, opts, max_carriers=MAX_CARRIERS, max_sessions=MAX_SESSIONS)
    res = search(load(cfg).trace(), time_limit=time_limit, on_progress=progress)
    if res.stopped:
        click.echo(f"lemma search stopped: {res.stopped}; nothing written")
        sys.exit(3)
    groups = group(res.kept)
    how = (f"Mined at ({cfg.carriers},{cfg.sessions}) {mode} with options {opts or 'default'}: {res.states} reachable "
           f"states, {res.mined} clauses true in all of them, {len(res.kept)} left by Houdini "
           f"({res.seconds:.0f} s). Regenerate: pgcheck prove --find-lemmas --carriers={cfg.carriers} "
           f"--sessions={cfg.sessions} --write")
    summary = (f"lemma search: {res.states} states, {res.mined} clauses mined, {len(res.kept)} inductive, "
               f"{len(groups)} lemmas")
    if out is None:  # a tracked file is replaced only when asked (--write)
        click.echo(render(groups, how), nl=False)
        click.echo(f"{summary} in {res.seconds:.1f} s (printed; --write replaces specs/lemmas_found.py, "
                   "--lemmas-out FILE writes them elsewhere)", err=True)
        return
    try:
        Path(out).write_text(render(groups, how))
    except OSError as e:
        raise UsageError(f"cannot write the lemmas to {out}: {e.strerror}; choose another --lemmas-out") from None
    click.echo(f"{summary} written to {out} in {res.seconds:.1f} s")
