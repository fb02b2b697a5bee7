"""`pgcheck show TRACE.itf.json`: a trace in the terminal, step by step."""

from __future__ import annotations

import sys

import click

from pgcheck.checker.traces.itf_read import load_trace
from pgcheck.checker.traces.show import print_trace


@click.command(name="show", short_help="Print a trace in the terminal, step by step.")
@click.argument("trace_file", metavar="TRACE.itf.json", type=str)
@click.option("--full", is_flag=True, help="Print the whole state after every step, not only what changed.")
def command(trace_file: str, full: bool) -> None:
    """Print a counterexample, witness or lasso: per step the action and the fields it changed."""
    trace = load_trace(trace_file)
    print_trace(trace, sys.stdout, full=full)
