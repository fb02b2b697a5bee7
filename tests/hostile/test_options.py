"""Hostile option strings and output paths for every verb (items 2, 4, 5, 8, 11 of the
hostile-input work): numbers that are NaN, infinite, negative, huge, empty or not numbers,
`--option NAME=VALUE` with broken names and values, control characters, and output paths
that are devices, FIFOs, directories, symlinks, empty names or folders of the user's
files. The verbs that would start a long run (bmc, prove, mutants, report) get only values
they must refuse before any work; the others may also run (bounded) and give a verdict."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.hostile.conftest import new_case_dir
from tests.hostile.harness import Sandbox, changed, check_outcome, snapshot, special_files
from tests.hostile.strategies import CONTROL_TEXT, NUMBER_TEXT

DEVICES = [Path("/dev/full"), Path("/dev/null"), Path("/dev/zero")]
EXAMPLES = 100

# Values no numeric option accepts (what bmc, prove and report get: none starts a run).
REFUSED_NUMBERS = ["nan", "NaN", "inf", "-inf", "1e309", "-1", "", " ", "0x10", "abc", "\x1b[2J", "1e", "--"]
OPTION_PAIRS = ["", "=", "messages", "messages=", "messages=nan", "messages=99", "messages=-1", "messages=1e999",
                "active_clients=12", "commands=", "commands=drop", "commands=query,\x1b[2J", "nosuch=1",
                "listeners=maybe", "cancels=" + "9" * 5000, "\x1b]0;x\x07=1", "messages=1", "listeners=false"]
PLAUSIBLE = ["1", "2", "3", "0.5", "20", "pooled", "process", "S1", "W-park", "python", "messages=2", "cancels=1"]
TEXT = st.sampled_from(PLAUSIBLE) | st.sampled_from(NUMBER_TEXT + OPTION_PAIRS + CONTROL_TEXT) | st.text(max_size=12)

# verb, the arguments before the hostile one, the options that get a hostile value, allowed verdicts
RUNNABLE = [
    ("explore", ["--engine", "python", "--max-states", "40", "-q"],
     ["--carriers", "--sessions", "--max-states", "--max-depth", "--time-limit", "--checkpoint-every", "--workers",
      "--option", "--mode", "--invariant", "--mutation", "--witness", "--engine"], (0, 1, 3)),
    ("list", [], ["--carriers", "--sessions", "--option", "--mode"], (0,)),
    ("export", [], ["--carriers", "--sessions", "--option", "--invariant", "--mode"], (0,)),
    ("check-trace", ["no-such-log.jsonl"], ["--carriers", "--sessions", "--mode"], ()),
    ("show", [], ["--full"], ()),
]
REFUSING = [
    ("bmc", [], ["--depth", "--time-limit", "--memory-limit", "--carriers", "--sessions"]),
    ("prove", [], ["--query-limit", "--time-limit", "--max-size", "--carriers", "--sessions", "--fifo-encoding"]),
    ("report", ["--check", "no-such-folder"], ["--max-sessions", "--max-carriers", "--budget", "--diagram-sessions"]),
]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(choice=st.sampled_from(RUNNABLE), data=st.data())
def test_runnable_verbs_refuse_or_run(sandbox: Sandbox, arena: Path, choice: tuple, data: st.DataObject) -> None:
    verb, prefix, options, verdicts = choice
    option = data.draw(st.sampled_from(options))
    value = data.draw(TEXT)
    case = new_case_dir(arena)
    argv = [verb, *prefix, option, value] if option != "--full" else [verb, value, option]
    roots = [case, arena / "bystander", *DEVICES]
    before = snapshot(roots)
    out = sandbox.run(argv, case)
    event(f"{verb}: exit {out.code}")
    check_outcome(out, verdicts=verdicts, where=f"{verb} {option} {value!r}")
    # explore may write a counterexample into the working folder (its documented default)
    made = {k for k in snapshot([case]) if Path(k).name.startswith("pgcheck-") and k.endswith(".itf.json")}
    assert changed(before, snapshot(roots), made if verb == "explore" else set()) == []


@settings(max_examples=EXAMPLES // 2, deadline=None, suppress_health_check=list(HealthCheck))
@given(choice=st.sampled_from(REFUSING), data=st.data())
def test_long_running_verbs_refuse_before_work(sandbox: Sandbox, arena: Path, choice: tuple, data: st.DataObject) -> None:
    verb, prefix, options = choice
    option = data.draw(st.sampled_from(options))
    values = [*REFUSED_NUMBERS, "999999", "0"] if option != "--fifo-encoding" else ["", "slot", "\x1b[2J"]
    value = data.draw(st.sampled_from(values))
    if option == "--depth" and value in ("0", "999999"):
        value = "-3"  # any depth >= 0 is valid and would start Z3
    if option in ("--time-limit", "--memory-limit", "--query-limit") and value == "999999":
        value = "nan"  # a large limit is valid and would start Z3
    case = new_case_dir(arena)
    roots = [case, arena / "bystander", *DEVICES]
    before = snapshot(roots)
    out = sandbox.run([verb, *prefix, option, value], case)
    check_outcome(out, must_refuse=True, where=f"{verb} {option} {value!r}")
    assert changed(before, snapshot(roots), set()) == []


# Output options: refused up front for anything but a regular file or a new name.
OUTPUTS = [
    ("explore", ["--engine", "python", "--max-states", "40", "-q"], "--trace-out"),
    ("bmc", ["--depth", "1", "-q"], "--trace-out"),
    ("prove", ["--parametric", "--max-size", "1", "-q"], "--markdown"),
    ("prove", ["--find-lemmas", "-q"], "--lemmas-out"),
    ("export", [], "--output"),
    ("mutants", [], "--doc"),
    ("check-trace", ["no-such-log.jsonl", "--sessions", "2"], "--trace-out"),
    ("view", ["tests/data/migrated_resume.itf.json"], "--out"),
]
SPECIAL = ["fifo", "symlink to /dev/zero", "symlink to a user file", "directory", "/dev/full", "/dev/null"]


@pytest.mark.parametrize(("verb", "prefix", "flag"), OUTPUTS, ids=[f"{v} {f}" for v, _, f in OUTPUTS])
@pytest.mark.parametrize("special", [*SPECIAL, "empty"])
def test_output_paths_that_are_not_files_are_refused(
    sandbox: Sandbox, arena: Path, verb: str, prefix: list[str], flag: str, special: str
) -> None:
    """Item 2: --trace-out /dev/full replaced the device node; a symlink was replaced too."""
    case = new_case_dir(arena)
    target = "" if special == "empty" else str(special_files(case / "specials")[special])
    here = Path(__file__).resolve().parents[2]
    args = [str(here / a) if a.startswith("tests/") else a for a in prefix]
    roots = [case, arena / "bystander", *DEVICES]
    before = snapshot(roots)
    out = sandbox.run([verb, *args, flag, target], case)
    check_outcome(out, must_refuse=True, where=f"{verb} {flag} {special}")
    assert changed(before, snapshot(roots), set()) == []


@pytest.mark.parametrize("folder", ["foreign readme", "foreign file in diagrams", "a file", "symlink", "fifo"])
def test_report_out_never_touches_the_users_files(sandbox: Sandbox, arena: Path, folder: str) -> None:
    """Item 5: report --out overwrote DIR/README.md and deleted files in DIR/diagrams/."""
    case = new_case_dir(arena)
    target = case / "review"
    if folder == "foreign readme":
        target.mkdir()
        (target / "README.md").write_text("my readme\n")
    elif folder == "foreign file in diagrams":
        (target / "diagrams").mkdir(parents=True)
        (target / "diagrams" / "mine.svg").write_text("<svg/>")
    elif folder == "a file":
        target.write_text("x")
    elif folder == "symlink":
        target.symlink_to(case / "elsewhere")
    else:
        target = special_files(case / "specials")["fifo"]
    roots = [case, arena / "bystander"]
    before = snapshot(roots)
    out = sandbox.run(["report", "--out", str(target), "--max-sessions", "1", "--max-carriers", "1",
                       "--budget", "30", "--diagram-sessions", "1"], case)
    check_outcome(out, must_refuse=True, where=folder)
    assert changed(before, snapshot(roots), set()) == []


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
@pytest.mark.parametrize("option", ["--time-limit", "--checkpoint-every"])
def test_nan_and_infinity_are_refused(sandbox: Sandbox, arena: Path, option: str, value: str) -> None:
    """Item 8: --checkpoint-every nan never checkpointed, --time-limit nan meant no limit."""
    case = new_case_dir(arena)
    out = sandbox.run(["explore", option, value, "-q"], case)
    check_outcome(out, must_refuse=True)
    assert "finite" in out.stderr or "range" in out.stderr


def test_more_active_clients_than_sessions_is_refused(sandbox: Sandbox, arena: Path) -> None:
    """Item 11: active_clients > sessions was accepted silently."""
    case = new_case_dir(arena)
    out = sandbox.run(["explore", "--sessions", "2", "--option", "active_clients=3", "-q"], case)
    check_outcome(out, must_refuse=True)
    assert "active_clients" in out.stderr
