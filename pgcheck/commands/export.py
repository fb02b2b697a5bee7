"""`pgcheck export`: the runtime model for one configuration in another checker's language."""

from __future__ import annotations

import click

from pgcheck import __version__
from pgcheck.checker.export.murphi import spec_to_murphi
from pgcheck.checker.export.promela import spec_to_promela
from pgcheck.checker.output import check_output_path, write_output
from pgcheck.model import load, make_config, parse_options
from pgcheck.model.config import ModelConfig
from pgcheck.model.vocabulary import MODES

FORMATS = ["promela", "murphi"]


def describe(cfg: ModelConfig) -> list[str]:
    """Header lines naming the configuration, so an exported file says what it is."""
    params = cfg.as_params()
    def text(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        return ",".join(v) if isinstance(v, list) else str(v)

    opts = " ".join(f"{k}={text(v)}" for k, v in params.items())
    return [f"exported by pgcheck {__version__}: {opts}"]


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="promela", show_default=True, help="output language")
@click.option("--mode", type=click.Choice(MODES), default="pooled", show_default=True, help="runtime shape (§2.1)")
@click.option("--carriers", type=int, default=None, help="carrier threads in the pool (pooled mode only) [default: 2]")
@click.option("--sessions", type=int, default=3, show_default=True, help="client sessions")
@click.option("--option", "options", multiple=True, metavar="NAME=VALUE", help="model option or bound (see 'pgcheck list')")
@click.option("--invariant", "invariants", multiple=True, metavar="ID", help="assert only these invariants (repeatable)")
@click.option("--output", "-o", type=str, default=None, help="write to this file instead of stdout")
@click.option("--no-scalarsets", is_flag=True, help="murphi: instances as plain indices, one rule per binding (no symmetry for Rumur to reduce)")
def command(
    fmt: str,
    mode: str,
    carriers: int | None,
    sessions: int,
    options: tuple[str, ...],
    invariants: tuple[str, ...],
    output: str | None,
    no_scalarsets: bool,
) -> None:
    """Write the model of one configuration as Promela for Spin (docs/spin.md) or as
    Murphi for Rumur (docs/rumur.md).

    Promela: each action binding becomes one d_step, invariants and deadlock freedom become
    assertions, action properties assertions inside the d_step of each binding (one not
    expressible in Promela is named on stderr and left out); with partial-order reduction off,
    Spin stores exactly as many states as 'pgcheck explore --no-symmetry' finds. Murphi: each
    binding becomes one rule, invariants Murphi invariants; with 'rumur --deadlock-detection
    stuck --symmetry-reduction off' Rumur explores exactly as many states. Each symmetry group of
    the model is a Murphi scalarset (one rule per orbit of bindings, a ruleset over the instances it names), so
    with '--symmetry-reduction exhaustive' Rumur stores as many states as 'pgcheck explore' does.
    """
    if output is not None:
        check_output_path(output, "--output")
    cfg = make_config(mode, carriers, sessions, parse_options(list(options)), given=True)
    spec = load(cfg)
    if fmt == "murphi":
        text = spec_to_murphi(spec, list(invariants) or None, describe(cfg), scalarsets=not no_scalarsets)
    else:
        left_out: list[str] = []
        text = spec_to_promela(spec, list(invariants) or None, describe(cfg), not_expressible=left_out)
        if left_out:
            click.echo(f"export: action properties not expressible in Promela, not checked by Spin: {', '.join(left_out)}", err=True)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_output(output, text, "--output")
