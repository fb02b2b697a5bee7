"""`pgcheck report --out DIR` / `--check DIR`: the design-review bundle, generated from the model."""

from __future__ import annotations

from pathlib import Path

import click

from pgcheck.checker.errors import UsageError
from pgcheck.checker.review.bundle import Settings, build_bundle
from pgcheck.model import parse_options


def stale_files(bundle: dict[str, bytes], folder: Path) -> list[str]:
    """One line per file of `folder` that differs from the bundle: changed, missing or extra."""
    lines = []
    for name, data in bundle.items():
        path = folder / name
        if not path.is_file():
            lines.append(f"missing: {name}")
        elif path.read_bytes() != data:
            lines.append(f"stale: {name}")
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if name not in bundle:
            lines.append(f"extra: {name}")
    return sorted(lines, key=lambda ln: ln.split(": ", 1)[1])


# Folders that hold only generated files: --out removes what a fresh bundle no longer has.
GENERATED_FOLDERS = ("diagrams", "witnesses", "bugs")


def write_bundle(bundle: dict[str, bytes], folder: Path) -> None:
    try:
        for sub in GENERATED_FOLDERS:
            for path in sorted((folder / sub).glob("*")):
                if path.is_file() and path.relative_to(folder).as_posix() not in bundle:
                    path.unlink()
        for name, data in bundle.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.is_file() or path.read_bytes() != data:
                path.write_bytes(data)
    except OSError as e:
        raise UsageError(f"cannot write {e.filename or folder} ({e.strerror}); choose another folder with --out") from None


@click.command(name="report", short_help="Write (or check) the design-review bundle.")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None, help="write the bundle into this folder")
@click.option("--check", "check", type=click.Path(path_type=Path), default=None,
              help="compare the bundle in this folder with a fresh one; exit 1 listing the stale files")
@click.option("--max-sessions", type=click.IntRange(1, 5), default=Settings.max_sessions, show_default=True,
              help="largest session count of the property matrix")
@click.option("--max-carriers", type=click.IntRange(1, 3), default=Settings.max_carriers, show_default=True,
              help="largest carrier count of the property matrix (pooled mode)")
@click.option("--budget", type=click.IntRange(min=1), default=Settings.budget, show_default=True,
              help="distinct states per matrix configuration")
@click.option("--diagram-sessions", type=click.IntRange(1, 3), default=Settings.diagram_sessions, show_default=True,
              help="sessions in the configurations the diagrams are drawn from")
@click.option("--option", "options", multiple=True, metavar="NAME=VALUE", help="model option or bound (see 'pgcheck list')")
def command(
    out: Path | None,
    check: Path | None,
    max_sessions: int,
    max_carriers: int,
    budget: int,
    diagram_sessions: int,
    options: tuple[str, ...],
) -> None:
    """Generate the design-review bundle from the model: state-machine diagrams per entity
    kind (SVG and Mermaid), the property catalogue over a matrix of configurations, action
    coverage, state-space sizes, the seeded-bug table and a page per witness trace.

    With --check, exit 1 and print one line per file that a fresh bundle would change.
    """
    if (out is None) == (check is None):
        raise UsageError("give exactly one of --out DIR (write the bundle) or --check DIR (compare with it)")
    folder = out if out is not None else check
    assert folder is not None
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is not a folder; give a folder for {'--out' if out else '--check'}")
    if check is not None and not check.is_dir():
        raise UsageError(f"--check {check}: no such folder; generate it with 'pgcheck report --out {check}'")
    settings = Settings(
        diagram_sessions=diagram_sessions,
        max_carriers=max_carriers,
        max_sessions=max_sessions,
        budget=budget,
        options=tuple(sorted(parse_options(list(options)).items())),
    )
    bundle = build_bundle(settings)
    if check is not None:
        lines = stale_files(bundle, check)
        for line in lines:
            click.echo(line)
        if lines:
            click.echo(f"pgcheck: {len(lines)} file(s) in {check} are out of date; run 'pgcheck report --out {check}'",
                       err=True)
            raise SystemExit(1)
        click.echo(f"{check}: {len(bundle)} files up to date")
        return
    assert out is not None
    write_bundle(bundle, out)
    click.echo(f"{out}/README.md ({len(bundle)} files)")
