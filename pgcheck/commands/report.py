"""`pgcheck report --out DIR` / `--check DIR`: the design-review bundle, generated from the model."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import click

from pgcheck.checker.errors import UsageError
from pgcheck.checker.input import read_input
from pgcheck.checker.output import write_output
from pgcheck.checker.review.bundle import Settings, build_bundle
from pgcheck.model import parse_options

# What `--out` wrote, one name a line: the only files a later `--out` may replace or remove.
MANIFEST = ".pgcheck-report"


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
        if name not in bundle and name != MANIFEST:
            lines.append(f"extra: {name}")
    return sorted(lines, key=lambda ln: ln.split(": ", 1)[1])


def owned_files(folder: Path) -> set[str]:
    """The names an earlier `--out` wrote into `folder` (its manifest); refuses a folder that
    holds files pgcheck did not write, so a user's files are never replaced or removed."""
    if folder.is_symlink():  # checked first: a dangling link does not exist() either
        raise UsageError(f"--out {folder} is a symbolic link; give a new or empty folder")
    if not folder.exists():
        return set()
    if not folder.is_dir():
        raise UsageError(f"--out {folder} is not a folder; give a new or empty folder")
    manifest = folder / MANIFEST
    if manifest.is_symlink() or (manifest.exists() and not manifest.is_file()):
        raise UsageError(f"{manifest} is not a regular file; give a new or empty folder with --out")
    if not manifest.exists():
        if any(folder.iterdir()):
            raise UsageError(
                f"--out {folder} holds files pgcheck did not write (no {MANIFEST}); give a new or empty folder"
            )
        return set()
    text = read_input(manifest, "report manifest", "give a new or empty folder with --out", limit=1 << 20)
    names = {line for line in text.splitlines() if line and not line.startswith("#")}
    bad = sorted(n for n in names if n.startswith("/") or ".." in Path(n).parts)
    if bad:
        raise UsageError(f"{manifest} names {bad[0]!r}, outside the folder; give a new or empty folder with --out")
    return names


def write_bundle(bundle: dict[str, bytes], folder: Path) -> None:
    owned = owned_files(folder)
    foreign = sorted(n for n in bundle if n not in owned and os.path.lexists(folder / n))
    if foreign:
        raise UsageError(
            f"--out {folder}: {foreign[0]} exists and pgcheck did not write it; move it away or give another folder"
        )
    for sub in {Path(n).parent for n in bundle} - {Path(".")}:
        if (folder / sub).is_symlink():
            raise UsageError(f"--out {folder}: {sub} is a symbolic link; give a new or empty folder")
    # The manifest first and as the union: a run stopped halfway still owns what it wrote.
    write_output(folder / MANIFEST, _manifest_text(owned | set(bundle)), "--out")
    for name, data in bundle.items():
        path = folder / name
        if not path.is_file() or path.read_bytes() != data:
            write_output(path, data, "--out")
    for name in sorted(owned - set(bundle)):  # generated earlier, no longer part of the bundle
        with contextlib.suppress(OSError):
            (folder / name).unlink()
    write_output(folder / MANIFEST, _manifest_text(set(bundle)), "--out")


def _manifest_text(names: set[str]) -> str:
    header = "# Written by 'pgcheck report --out'; a later --out replaces or removes only these files.\n"
    return header + "".join(f"{n}\n" for n in sorted(names))


@click.command(name="report", short_help="Write (or check) the design-review bundle.")
@click.option("--out", "out_text", type=str, default=None, help="write the bundle into this folder")
@click.option("--check", "check_text", type=str, default=None,
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
    out_text: str | None,
    check_text: str | None,
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
    for flag, given in (("--out", out_text), ("--check", check_text)):
        if given is not None and not given.strip():
            raise UsageError(f"{flag} is empty; give a folder name")
    out = None if out_text is None else Path(out_text)
    check = None if check_text is None else Path(check_text)
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
    if out is not None:
        owned_files(out)  # refused before the bundle is built
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
