"""`pgcheck mutants`: run the seeded-bug catalogue and check each bug is caught by its expected property."""

from __future__ import annotations

import json
import sys
import time

import click

from pgcheck.checker.errors import UsageError
from pgcheck.checker.output import check_output_path, write_output
from pgcheck.model.mutations import CATALOGUE, NOT_IN_CATALOGUE, get
from pgcheck.model.mutations.check import check_mutation
from pgcheck.model.mutations.report import as_json, doc_text, table_lines


@click.command("mutants")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option("--json", "as_json_flag", is_flag=True, help="print the results as JSON")
@click.option("--doc", "doc_path", type=click.Path(dir_okay=False), default=None, help="also write the catalogue document (docs/bugs.md)")
def command(names: tuple[str, ...], as_json_flag: bool, doc_path: str | None) -> None:
    """Run every mutation (or the NAMEd ones) at its smallest configuration.

    Exit code 0 only if each is caught by the property the design says it breaks; a
    liveness mutation without the liveness checker counts as not caught.
    """
    chosen = [get(n) for n in names] if names else CATALOGUE
    if doc_path is not None and names:
        raise UsageError("--doc writes the whole catalogue; drop the mutation names")
    if doc_path is not None:
        check_output_path(doc_path, "--doc")
    t0 = time.monotonic()
    outcomes = []
    for m in chosen:
        outcomes.append(check_mutation(m))
        if not as_json_flag:
            click.echo(f"mutants: {m.name} done", err=True)
    total = time.monotonic() - t0
    if as_json_flag:
        click.echo(json.dumps(as_json(outcomes, total), indent=2))
    else:
        for line in table_lines(outcomes, total):
            click.echo(line)
        click.echo("model: design (scheduler-digest.md): the seeded bugs are changes to design-model actions")
    if doc_path is not None:
        write_output(doc_path, doc_text(outcomes, NOT_IN_CATALOGUE), "--doc")
        click.echo(f"catalogue written to {doc_path}", err=True)
    sys.exit(0 if all(o.caught for o in outcomes) else 1)
