"""A first run without friction: the README's commands run as written (through ./run, nothing
to activate), names get a "did you mean", a property that does not apply says why, and
commands that regenerate tracked files do so only when asked."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from pgcheck.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text[text.index("## What you can do"):text.index("Exit codes:")]
    return [line.strip() for line in block.splitlines() if line.startswith("    ")]


def test_every_readme_command_runs_through_run() -> None:
    commands = _readme_commands()
    assert len(commands) > 20
    assert [c for c in commands if not c.startswith("./run ")] == []


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "python").exists(), reason="./run has not set up .venv here")
def test_readme_forms_work_without_an_activated_environment() -> None:
    """`./run python -m pgcheck.reference` and `./run pgcheck` with a PATH that has no .venv."""
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = path
    for argv in (["./run", "python", "-m", "pgcheck.reference", "--help"], ["./run", "pgcheck", "list", "--json"]):
        proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, (argv, proc.stderr[-500:])
        assert proc.stdout.strip()


@pytest.mark.parametrize(("args", "needle"), [
    (["--invariant", "s15"], "did you mean S15?"),
    (["--invariant", "S99"], "did you mean S9"),
    (["--option", "cancel=1"], "did you mean cancels?"),
    (["--mutation", "stale-latch"], "did you mean stale-latch-after-migration?"),
    (["--witness", "W-prk"], "did you mean W-park?"),
    (["--property", "L33"], "did you mean L3?"),
])
def test_unknown_names_get_a_did_you_mean(args: list[str], needle: str) -> None:
    code, out, err = run("explore", "--carriers", "1", "--sessions", "2", "-q", *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and needle in err


def test_unrelated_name_gets_no_guess() -> None:
    code, _, err = run("explore", "--carriers", "1", "--sessions", "2", "-q", "--invariant", "zzz")
    assert code == 2 and "did you mean" not in err and "known: S1, S2" in err


def test_invariant_that_does_not_apply_says_why() -> None:
    code, _, err = run("explore", "--carriers", "1", "--sessions", "2", "-q", "--invariant", "S19")
    assert code == 2 and err.count("\n") == 1
    assert "invariant S19 does not apply to this configuration: structural" in err
    # the same reason `pgcheck list` gives
    code, listing, _ = run("list")
    assert code == 0 and re.search(r"S19\b.*structural", listing)


def test_prove_and_bmc_explain_an_inapplicable_invariant() -> None:
    for verb in (["prove"], ["bmc", "--depth", "1"]):
        code, _, err = run(*verb, "--carriers", "1", "--sessions", "1", "--invariant", "S21")
        assert code == 2 and "S21 does not apply" in err and "generations are abstracted" in err


def test_lemma_options_need_find_lemmas() -> None:
    code, _, err = run("prove", "--carriers", "1", "--sessions", "1", "--write")
    assert code == 2 and "--lemmas-out and --write belong to --find-lemmas" in err
    code, _, err = run("prove", "--carriers", "1", "--sessions", "1", "--find-lemmas", "--write", "--lemmas-out", "x.py")
    assert code == 2 and "give one of them" in err

