"""`pgcheck explore`: explore every interleaving of the runtime model and check its properties."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from pgcheck.checker.errors import UsageError
from pgcheck.checker.explicit.coverage import coverage, coverage_lines, dead_line
from pgcheck.checker.explicit.explore import Bounds, Progress, StopRequested
from pgcheck.checker.explicit.native.explorer import Checkpointing
from pgcheck.checker.explicit.native.resume import check_new_checkpoint_dir, load_run
from pgcheck.checker.memory import human_bytes
from pgcheck.checker.output import check_output_path
from pgcheck.checker.run.check import ENGINES, CheckRun, run_check
from pgcheck.checker.run.summary import counterexample_lines, summary_dict, summary_lines
from pgcheck.checker.run.witness_trace import check_witness_id, write_witness_trace
from pgcheck.commands.options import FiniteFloatRange
from pgcheck.model import load, make_config, parse_options
from pgcheck.model.config import MODELS
from pgcheck.model.mutations import describe_config
from pgcheck.model.mutations import get as get_mutation
from pgcheck.model.vocabulary import MODES


class ProgressPrinter:
    """Progress on stderr: overwritten in place on a terminal, a line every few seconds in logs.

    It also carries Ctrl-C to the search: the first interrupt asks the engine to stop at its
    next progress report (the run ends INCOMPLETE with its summary), a second one stops at once.
    """

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.last_line = 0.0
        self.interrupted = False

    def on_interrupt(self, signum: int, frame: object) -> None:
        if self.interrupted:
            raise KeyboardInterrupt
        self.interrupted = True
        self.event("interrupted: stopping the search at its next progress report (Ctrl-C again to quit at once)")

    def event(self, text: str) -> None:
        """A line of its own (the header, the C compile, a checkpoint save)."""
        if not self.enabled:
            return
        sys.stderr.write(("\r\x1b[2K" if self.tty else "") + text + "\n")
        sys.stderr.flush()

    def checkpoint_saved(self, directory: Path) -> Callable[[int, int, int], None]:
        def announce(saves: int, distinct: int, depth: int) -> None:
            self.last_save = (saves, distinct, depth)
            self.event(f"checkpoint {saves} saved in {directory} ({distinct:,} distinct states so far, depth {depth})")

        return announce

    last_save: tuple[int, int, int] | None = None

    def __call__(self, p: Progress) -> None:
        if self.interrupted:
            raise StopRequested("interrupted (Ctrl-C)")
        if not self.enabled:
            return
        if not self.tty and p.elapsed - self.last_line < 10:
            return
        self.last_line = p.elapsed
        rate = p.distinct / p.elapsed if p.elapsed > 0 else 0.0
        text = (
            f"explore: {p.distinct:,} distinct, "
            + (f"{p.generated:,} generated" if p.edges is None else f"{p.edges:,} edges")
            + f", depth {p.depth}, "
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


@contextmanager
def interrupts_to(printer: ProgressPrinter) -> Iterator[None]:
    """Route SIGINT to `printer` while the search runs (a plain Ctrl-C would end in a traceback)."""
    try:
        previous = signal.signal(signal.SIGINT, printer.on_interrupt)
    except ValueError:  # not the main thread (e.g. inside a test runner's worker): leave it
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def resume_hint(directory: str | None, printer: ProgressPrinter) -> str:
    """After an interrupted or bounded run with --checkpoint: what is saved and how to go on."""
    if directory is None:
        return ""
    if printer.last_save is None:
        return (f"no checkpoint was saved yet in {directory} (one is saved at the end of a BFS level "
                "every --checkpoint-every seconds); rerun to start again")
    saves, distinct, depth = printer.last_save
    return (f"checkpoint {saves} in {directory} ({distinct:,} distinct states, depth {depth}); "
            f"continue with: pgcheck explore --resume {directory}")


# What a resumed run takes from the checkpoint directory instead of the command line.
RESUMED = ("model_name", "mode", "carriers", "sessions", "options", "invariants", "no_symmetry", "no_por", "mutation")


def exit_code(run: CheckRun) -> int:
    return {"ok": 0, "violation": 1, "vacuous": 1, "incomplete": 3}[run.verdict]


@click.command("explore")
@click.option("--model", "model_name", type=click.Choice(MODELS), default=None,
              help="code: the C scheduler at c2c6ec31 (docs/code-map.md); design: scheduler-digest.md "
              "[default: code; design with --mutation]")
@click.option("--mode", type=click.Choice(MODES), default="pooled", show_default=True, help="runtime shape (§2.1)")
@click.option("--carriers", type=int, default=None, help="carrier threads in the pool (pooled mode only) [default: 2]")
@click.option("--sessions", type=int, default=3, show_default=True, help="client sessions")
@click.option("--option", "options", multiple=True, metavar="NAME=VALUE", help="model option or bound (see 'pgcheck list')")
@click.option("--invariant", "invariants", multiple=True, metavar="ID", help="check only these invariants (repeatable)")
@click.option("--no-symmetry", is_flag=True, help="turn off symmetry reduction over sessions and carriers")
@click.option("--no-por", is_flag=True,
              help="turn off partial-order reduction (native engine, safety only; on by default, docs/reduction.md)")
@click.option("--keep-por", is_flag=True,
              help="keep partial-order reduction on for the whole run, even when its trial finds that it leaves "
              "out few steps (for measuring it; docs/reduction.md)")
@click.option("--max-states", type=click.IntRange(min=1), default=None, help="stop after this many distinct states")
@click.option("--max-depth", type=click.IntRange(min=0), default=None, help="stop at this BFS depth")
@click.option("--time-limit", type=FiniteFloatRange(min=0, min_open=True), default=None, help="stop after this many seconds")
@click.option("--trace-out", type=str, default=None, help="where to write a counterexample (ITF JSON)")
@click.option("--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
              help="native: the model generated as C (needs a C compiler); python: the reference explorer; "
              "ray: the native engine's states partitioned across Ray actors (pgcheck[distributed])")
@click.option("--workers", type=click.IntRange(min=1, max=64), default=1, show_default=True,
              help="threads exploring each level (native engine); actors (ray engine)")
@click.option("--address", default=None, metavar="ADDRESS",
              help="with --engine=ray: the cluster to join ('auto': the one 'ray start' runs here); default: a local one")
@click.option("--checkpoint", "checkpoint_dir", type=click.Path(file_okay=False), default=None,
              help="save the search in this directory periodically (native engine)")
@click.option("--checkpoint-every", type=FiniteFloatRange(min=0), default=60.0, show_default=True,
              help="seconds between checkpoints")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False), default=None,
              help="continue the search saved in this directory (its configuration comes from there)")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@click.option("--mutation", default=None, metavar="NAME", help="explore a seeded bug of the catalogue (see 'pgcheck mutants')")
@click.option("--quiet", "-q", is_flag=True, help="no progress on stderr")
@click.option("--liveness", is_flag=True, help="also check the liveness properties L1-L14 under fairness (symmetry off)")
@click.option("--property", "properties", multiple=True, metavar="ID", help="check only these liveness properties (implies --liveness)")
@click.option("--witness", "witness", default=None, metavar="ID", help="write an example trace reaching witness ID (to --trace-out)")
@click.option("--coverage", "show_coverage", is_flag=True, help="print per-action coverage")
@click.option("--fail-on-dead-actions", is_flag=True, help="exit 1 if an action never fired")
def command(
    model_name: str | None,
    mode: str,
    carriers: int | None,
    sessions: int,
    options: tuple[str, ...],
    invariants: tuple[str, ...],
    no_symmetry: bool,
    no_por: bool,
    keep_por: bool,
    max_states: int | None,
    max_depth: int | None,
    time_limit: float | None,
    trace_out: str | None,
    engine: str,
    workers: int,
    address: str | None,
    checkpoint_dir: str | None,
    checkpoint_every: float,
    resume_dir: str | None,
    as_json: bool,
    mutation: str | None,
    quiet: bool,
    liveness: bool,
    properties: tuple[str, ...],
    witness: str | None,
    show_coverage: bool,
    fail_on_dead_actions: bool,
) -> None:
    """Explore every reachable state of the runtime model and check its invariants
    (and with --liveness its liveness properties under the declared fairness).

    Exit code 0: every checked property holds; 1: a violation (or a witness that was never
    reached); 2: bad input; 3: a bound stopped the run first.
    """
    if trace_out is not None:
        check_output_path(trace_out, "--trace-out")
    for flag, value in (("--checkpoint", checkpoint_dir), ("--resume", resume_dir)):
        if value is not None and not value.strip():
            raise UsageError(f"{flag} is empty; give a directory name")
    checkpoint: Checkpointing | None = None
    if resume_dir is not None:
        given = [p for p in RESUMED if click.get_current_context().get_parameter_source(p) == ParameterSource.COMMANDLINE]
        if given or checkpoint_dir is not None:
            flags = ", ".join("--" + p.replace("_", "-") for p in given) or "--checkpoint"
            raise UsageError(f"--resume takes the configuration saved in {resume_dir}; drop {flags}")
        saved = load_run(Path(resume_dir))
        mode, carriers, sessions = saved["mode"], saved["carriers"], saved["sessions"]
        options, invariants, no_symmetry = tuple(saved["options"]), tuple(saved["invariants"]), not saved["symmetry"]
        mutation = saved.get("mutation")
        no_por = not saved.get("por", False)
        model_name = saved.get("model", "design")
        checkpoint = Checkpointing(Path(resume_dir), checkpoint_every, resume=True)
        engine = "native"
    if model_name is None:
        model_name = "design" if mutation is not None else "code"
    cfg = make_config(mode, carriers, sessions, parse_options(list(options)), model=model_name, given=True)
    spec = load(cfg, mutation)
    if witness is not None:
        check_witness_id(spec, witness)
    if checkpoint_dir is not None:
        check_new_checkpoint_dir(Path(checkpoint_dir))  # refused before any work; written once the run starts
        checkpoint = Checkpointing(Path(checkpoint_dir), checkpoint_every, run={
            "model": model_name, "mode": mode, "carriers": carriers, "sessions": sessions, "options": list(options),
            "invariants": list(invariants), "symmetry": not no_symmetry, "mutation": mutation,
            "por": not (no_por or show_coverage or fail_on_dead_actions),
        })
    progress = ProgressPrinter(enabled=not quiet)
    saved_in = resume_dir or checkpoint_dir
    if checkpoint is not None:
        checkpoint.on_save = progress.checkpoint_saved(checkpoint.directory)
    try:
        with interrupts_to(progress):
            run = _run(spec, progress, invariants, no_symmetry, max_states, max_depth, time_limit, witness,
                       trace_out, liveness, properties, engine, workers, checkpoint, mutation, address,
                       # Coverage counts firings in the explored graph: a reduced one leaves some out.
                       por=not (no_por or show_coverage or fail_on_dead_actions), keep_por=keep_por)
    except KeyboardInterrupt:
        progress.done()
        click.echo("result: INCOMPLETE: interrupted before the search finished; nothing to report")
        hint = resume_hint(saved_in, progress)
        if hint:
            click.echo(hint)
        sys.exit(3)
    progress.done()
    _report(run, progress, mutation, witness, trace_out, as_json, show_coverage, fail_on_dead_actions, saved_in)


def _run(
    spec: Any, progress: ProgressPrinter, invariants: tuple[str, ...], no_symmetry: bool, max_states: int | None,
    max_depth: int | None, time_limit: float | None, witness: str | None, trace_out: str | None, liveness: bool,
    properties: tuple[str, ...], engine: str, workers: int, checkpoint: Checkpointing | None, mutation: str | None,
    address: str | None, por: bool, keep_por: bool = False,
) -> CheckRun:
    return run_check(
        spec,
        invariants=list(invariants) or None,
        symmetry=not no_symmetry,
        bounds=Bounds(max_states, max_depth, time_limit),
        on_progress=progress,
        trace_out=None if witness is not None else trace_out,
        default_trace_dir=None if witness is not None else ".",
        liveness=liveness,
        properties=list(properties) or None,
        engine=engine,
        workers=workers,
        checkpoint=checkpoint,
        mutation=mutation,
        address=address,
        on_event=progress.event,
        por=por,
        keep_por=keep_por,
    )


def _report(
    run: CheckRun, progress: ProgressPrinter, mutation: str | None, witness: str | None, trace_out: str | None,
    as_json: bool, show_coverage: bool, fail_on_dead_actions: bool, saved_in: str | None,
) -> None:
    seeded = None if mutation is None else get_mutation(mutation)
    rows = coverage(run.model, run.result)
    extra: list[str] = [dead_line(rows)]
    if show_coverage:
        extra = coverage_lines(rows) + extra
    if witness is not None:
        extra.append(write_witness_trace(run, witness, trace_out))
    if as_json:
        doc: dict[str, Any] = summary_dict(run)
        doc["coverage"] = [vars(r) for r in rows]
        if seeded is not None:
            doc["mutation"] = {"name": seeded.name, "source": seeded.source, "expected": seeded.expected}
        click.echo(json.dumps(doc, indent=2))
    else:
        if seeded is not None:
            click.echo(f"mutation {seeded.name} ({seeded.source}), expected to be caught by {seeded.expected}")
        for line in summary_lines(run):
            click.echo(line)
        for line in extra:
            click.echo(line)
        if run.result.violation is not None:
            for line in counterexample_lines(run):
                click.echo(line)
        elif run.verdict == "incomplete" and resume_hint(saved_in, progress):
            click.echo(resume_hint(saved_in, progress))
        elif seeded is not None and run.verdict == "ok":
            # Most seeded bugs need more than the defaults give (more active clients than
            # carriers, an interrupt budget, ...): say where this one shows.
            need = "--liveness and " if seeded.expected.startswith("L") and run.liveness is None else ""
            click.echo(f"mutation {seeded.name} was not caught here; it shows with {need}{describe_config(seeded.smallest)}")
    code = exit_code(run)
    if code == 0 and fail_on_dead_actions and any(r.dead for r in rows):
        click.echo("result: FAILED: --fail-on-dead-actions and some action never fired")
        code = 1
    if code == 0 and witness is not None and witness not in run.result.witness_states:
        code = 1
    sys.exit(code)
