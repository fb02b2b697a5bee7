"""`pgcheck explore`: explore every interleaving of the runtime model and check its properties."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from pgcheck.checker.explore import Bounds, Progress
from pgcheck.checker.memory import human_bytes
from pgcheck.checker.session import CheckRun, run_check
from pgcheck.checker.summary import counterexample_lines, summary_dict, summary_lines
from pgcheck.model import load, make_config, parse_options
from pgcheck.model.mutations import get as get_mutation
from pgcheck.model.vocabulary import MODES


class ProgressPrinter:
    """Progress on stderr: overwritten in place on a terminal, a line every few seconds in logs."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.last_line = 0.0

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        if not self.tty and p.elapsed - self.last_line < 10:
            return
        self.last_line = p.elapsed
        rate = p.distinct / p.elapsed if p.elapsed > 0 else 0.0
        text = (
            f"explore: {p.distinct:,} distinct, {p.generated:,} generated, depth {p.depth}, "
            f"queue {p.queue:,}, {rate:,.0f} states/s, {human_bytes(p.rss_bytes)} peak, {p.elapsed:.0f}s"
        )
        if self.tty:
            sys.stderr.write("\r\x1b[2K" + text)
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()


def exit_code(run: CheckRun) -> int:
    return {"ok": 0, "violation": 1, "vacuous": 1, "incomplete": 3}[run.verdict]


@click.command("explore")
@click.option("--mode", type=click.Choice(MODES), default="pooled", show_default=True, help="runtime shape (§2.1)")
@click.option("--carriers", type=int, default=None, help="carrier threads in the pool (pooled mode only) [default: 2]")
@click.option("--sessions", type=int, default=3, show_default=True, help="client sessions")
@click.option("--option", "options", multiple=True, metavar="NAME=VALUE", help="model option or bound (see 'pgcheck list')")
@click.option("--invariant", "invariants", multiple=True, metavar="ID", help="check only these invariants (repeatable)")
@click.option("--no-symmetry", is_flag=True, help="turn off symmetry reduction over sessions and carriers")
@click.option("--max-states", type=click.IntRange(min=1), default=None, help="stop after this many distinct states")
@click.option("--max-depth", type=click.IntRange(min=0), default=None, help="stop at this BFS depth")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None, help="stop after this many seconds")
@click.option("--trace-out", type=click.Path(dir_okay=False), default=None, help="where to write a counterexample (ITF JSON)")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@click.option("--mutation", default=None, metavar="NAME", help="explore a seeded bug of the catalogue (see 'pgcheck mutants')")
@click.option("--quiet", "-q", is_flag=True, help="no progress on stderr")
def command(
    mode: str,
    carriers: int | None,
    sessions: int,
    options: tuple[str, ...],
    invariants: tuple[str, ...],
    no_symmetry: bool,
    max_states: int | None,
    max_depth: int | None,
    time_limit: float | None,
    trace_out: str | None,
    as_json: bool,
    mutation: str | None,
    quiet: bool,
) -> None:
    """Explore every reachable state of the runtime model and check its invariants.

    Exit code 0: every checked property holds; 1: a violation (or a witness that was never
    reached); 2: bad input; 3: a bound stopped the run first.
    """
    cfg = make_config(mode, carriers, sessions, parse_options(list(options)))
    spec = load(cfg, mutation)
    progress = ProgressPrinter(enabled=not quiet)
    run = run_check(
        spec,
        invariants=list(invariants) or None,
        symmetry=not no_symmetry,
        bounds=Bounds(max_states, max_depth, time_limit),
        on_progress=progress,
        trace_out=trace_out,
        mutation=mutation,
    )
    progress.done()
    seeded = None if mutation is None else get_mutation(mutation)
    if as_json:
        doc: dict[str, Any] = summary_dict(run)
        if seeded is not None:
            doc["mutation"] = {"name": seeded.name, "source": seeded.source, "expected": seeded.expected}
        click.echo(json.dumps(doc, indent=2))
    else:
        if seeded is not None:
            click.echo(f"mutation {seeded.name} ({seeded.source}), expected to be caught by {seeded.expected}")
        for line in summary_lines(run):
            click.echo(line)
        if run.result.violation is not None:
            for line in counterexample_lines(run):
                click.echo(line)
    sys.exit(exit_code(run))
