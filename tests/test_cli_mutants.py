"""`pgcheck mutants`, `pgcheck explore --mutation` and the catalogue in `pgcheck list`."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from pgcheck.model.mutations import CATALOGUE, describe_config, get
from test_cli_explore import assert_bad_input, run, run_process

SAFE = "stale-latch-after-migration"
LIVE = "busy-clients-no-budget"


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["explore", "--mutation", "no-such-bug"], ["unknown mutation 'no-such-bug'", "known mutations:", SAFE]),
        (["explore", "--mode", "process", "--mutation", SAFE], [f"mutation {SAFE} applies to mode pooled"]),
        (["explore", "--mutation", "sticky-idle-no-cutoff"], ["no action StickyWaitEnd", "--option sticky_idle=true"]),
        (["mutants", "no-such-bug"], ["unknown mutation 'no-such-bug'", "known mutations:"]),
        (["mutants", "--doc", "x.md", SAFE], ["--doc writes the whole catalogue"]),
    ],
)
def test_bad_mutation_input_is_one_line_and_exit_2(args: list[str], fragments: list[str]) -> None:
    assert_bad_input(*run(*args), *fragments)


def test_unknown_mutation_in_a_real_process() -> None:
    p = run_process("explore", "--mutation", "nope")
    assert_bad_input(p.returncode, p.stdout, p.stderr, "unknown mutation 'nope'")


def test_explore_a_mutation_at_its_smallest_configuration(tmp_path: Path) -> None:
    m = get(SAFE)
    out = tmp_path / "b2.itf.json"
    code, stdout, _ = run("explore", *shlex.split(describe_config(m.smallest)), "--mutation", SAFE, "-q", "--trace-out", str(out))
    assert code == 1, stdout
    assert f"invariant {m.expected} violated" in stdout
    assert stdout.startswith(f"mutation {SAFE} (B2), expected to be caught by S15")
    meta = json.loads(out.read_text())["#meta"]
    assert meta["mutation"] == SAFE and meta["property"]["id"] == m.expected


def test_mutants_runs_the_named_ones_and_exits_0_when_caught() -> None:
    code, stdout, _ = run("mutants", SAFE, "wake-before-claim")
    assert code == 0, stdout
    rows = [line for line in stdout.splitlines() if line.startswith((SAFE, "wake-before-claim"))]
    assert len(rows) == 2 and all(line.rstrip().endswith("caught") for line in rows)
    assert "caught by the expected property: 2/2" in stdout
    assert "caught by another property:      0" in stdout and "not caught:                      0" in stdout


def test_mutants_json_reports_liveness_rows_honestly() -> None:
    code, stdout, _ = run("mutants", "--json", LIVE, SAFE)
    doc = json.loads(stdout)
    rows = {r["name"]: r for r in doc["mutations"]}
    assert rows[SAFE]["caught"] and rows[SAFE]["caught_by"] == "S15" and rows[SAFE]["length"] > 0
    assert rows[LIVE]["caught"] and rows[LIVE]["caught_by"] == rows[LIVE]["expected"] and rows[LIVE]["length"] > 0
    assert code == 0 and doc["caught"] == doc["total"] == 2


def test_whole_catalogue_exit_code_says_whether_all_were_caught(tmp_path: Path) -> None:
    doc_path = tmp_path / "bugs.md"
    code, stdout, _ = run("mutants", "--json", "--doc", str(doc_path))
    doc = json.loads(stdout)
    assert doc["total"] == len(CATALOGUE)
    assert code == (0 if doc["caught"] == doc["total"] else 1)
    assert all(r["caught"] for r in doc["mutations"])
    assert doc_path.read_text() == (Path(__file__).resolve().parent.parent / "docs" / "bugs.md").read_text()


def test_list_shows_the_catalogue() -> None:
    code, stdout, _ = run("list", "--json")
    assert code == 0
    names = [m["name"] for m in json.loads(stdout)["mutations"]]
    assert names == [m.name for m in CATALOGUE]


def test_uncaught_mutation_says_where_it_shows() -> None:
    """At the default size B8a cannot starve anyone (one active client): the run passes and
    names the smallest configuration, which does catch it."""
    code, stdout, _ = run("explore", "--carriers=2", "--sessions=2", "--mutation", LIVE, "-q")
    m = get(LIVE)
    assert code == 0
    assert f"it shows with --liveness and {describe_config(m.smallest)}" in stdout
    args = shlex.split(describe_config(m.smallest))
    code, stdout, _ = run("explore", *args, "--mutation", LIVE, "--liveness", "-q")
    assert code == 1 and f"{m.expected}   VIOLATED" in stdout and "was not caught here" not in stdout
