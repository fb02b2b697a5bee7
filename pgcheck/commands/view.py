"""`pgcheck view TRACE.itf.json`: write the trace as one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

import click

from pgcheck.checker.errors import UsageError
from pgcheck.checker.output import check_output_path, write_output
from pgcheck.checker.printable import printable
from pgcheck.checker.traces.itf_read import load_trace
from pgcheck.checker.traces.viewer import default_output, render_html


@click.command(name="view", short_help="Write a trace as one self-contained HTML page.")
@click.argument("trace_file", metavar="TRACE.itf.json", type=str)
@click.option(
    "--out", "out", type=str, default=None,
    help="Where to write the page (default: next to the trace, TRACE.html).",
)
def command(trace_file: str, out: str | None) -> None:
    """Write a counterexample page (lanes per carrier, session, queue and client; step list;
    state with changed fields) that opens from disk in any browser; print its path."""
    trace = load_trace(trace_file)
    if out is not None:
        check_output_path(out, "--out")  # an empty name is refused here, not read as "."
    target = Path(out) if out is not None else default_output(Path(trace_file))
    if target.is_dir():
        raise UsageError(f"--out {target} is a directory; give a file name such as {target / 'trace.html'}")
    check_output_path(target, "--out")  # refused before the page is rendered
    write_output(target, render_html(trace), "--out")
    click.echo(printable(str(target)))
