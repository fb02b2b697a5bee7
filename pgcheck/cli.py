"""The `pgcheck` command line (ARCHITECTURE Decision 4).

Results go to stdout, progress and diagnostics to stderr. Exit codes: 0 every checked
property holds within the bounds; 1 a violation was found; 2 bad usage or bad input
(one line saying what is wrong and how to fix it); 3 incomplete (a bound stopped the run).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from pgcheck import __version__
from pgcheck.checker.errors import UsageError
from pgcheck.checker.printable import printable

EXIT_OK, EXIT_VIOLATION, EXIT_BAD_INPUT, EXIT_INCOMPLETE = 0, 1, 2, 3

# Each verb lives in its own module under pgcheck/commands and exposes `command`.
VERBS = [
    "explore", "simulate", "list", "mutants", "show", "view", "serve", "report", "check_trace", "check_history",
    "export", "prove", "bmc",
]


class PgcheckGroup(click.Group):
    """A group whose bad-usage errors are one line and exit code 2, never a traceback."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.Exit as e:
            sys.exit(e.exit_code)
        except click.exceptions.Abort:
            click.echo("pgcheck: aborted", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except click.UsageError as e:
            hint = f" (see 'pgcheck {e.ctx.command_path.split(' ', 1)[-1]} --help')" if e.ctx else ""
            click.echo(f"pgcheck: {printable(e.format_message())}{hint}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except click.ClickException as e:
            click.echo(f"pgcheck: {printable(e.format_message())}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except UsageError as e:
            click.echo(f"pgcheck: {printable(str(e))}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except KeyboardInterrupt:
            click.echo("pgcheck: interrupted", err=True)
            sys.exit(130)


@click.group(cls=PgcheckGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pgcheck")
def main() -> None:
    """Model checking for the threaded PostgreSQL runtime with pooled protocol carriers."""


def _register() -> None:
    for verb in VERBS:
        try:
            module = importlib.import_module(f"pgcheck.commands.{verb}")
        except ModuleNotFoundError as e:
            if e.name == f"pgcheck.commands.{verb}":
                continue  # that verb is not built yet
            raise
        main.add_command(module.command)


_register()
