"""`pgcheck explore` and `pgcheck list` on the command line (Decision 4).

Bad input is one line on stderr and exit code 2, never a traceback; results go to
stdout and progress to stderr; exit 0 when everything holds, 1 on a violation, 3 when
a bound stopped the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pgcheck.checker.examples import mutex
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.checker.lang.types import Int
from pgcheck.checker.run.check import run_check
from pgcheck.model.config import PARAMS
from pgcheck.specs.safety import NOT_APPLICABLE

from pgcheck.cli import main
from tests.design_pin import pin_design

ROOT = Path(__file__).resolve().parent.parent

# One carrier, one session, one message and no interrupts: a few hundred states, and
# (with the default commands) every witness of the configuration is reachable.
SMALL = [
    "--carriers", "1", "--sessions", "1",
    "--option", "messages=1", "--option", "cancels=0", "--option", "terminates=0",
    "--option", "notifies=0", "--option", "reschedules=0",
]  # fmt: skip


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, pin_design(args))
    return result.exit_code, result.stdout, result.stderr


def run_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "pgcheck", *pin_design(args)], capture_output=True, text=True, timeout=120, cwd=cwd or ROOT, env=env
    )


def assert_bad_input(code: int, out: str, err: str, *fragments: str) -> None:
    assert code == 2, (out, err)
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("pgcheck: ")
    for f in fragments:
        assert f in lines[0], lines[0]


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--option", "colour=blue"], ["unknown option 'colour'", "known options:"]),
        (["--option", "messages=many"], ["option messages takes a whole number 0..6", "'many'"]),
        (["--option", "messages=9"], ["option messages must be within 0..6, got 9"]),
        (["--option", "sticky_idle=perhaps"], ["option sticky_idle takes true or false"]),
        (["--option", "messages"], ["--option takes NAME=VALUE"]),
        (["--carriers", "0"], ["--carriers must be within 1..8, got 0"]),
        (["--carriers", "99"], ["--carriers must be within 1..8, got 99"]),
        (["--sessions", "0"], ["--sessions must be within 1..12, got 0"]),
        (["--mode", "process", "--carriers", "2"], ["--carriers applies to pooled mode only"]),
        (["--mode", "thread-per-session", "--carriers", "1"], ["--carriers applies to pooled mode only"]),
        (["--invariant", "S99"], ["unknown invariant S99", "known: S1"]),
        (["--mode", "fibers"], ["'fibers' is not one of", "process"]),
        (["--max-states", "0"], ["--max-states"]),
        (["--carriers", "two"], ["'two' is not a valid integer"]),
        (["--no-such-flag"], ["No such option"]),
    ],
)
def test_explore_bad_input_is_one_line_and_exit_2(args: list[str], fragments: list[str]) -> None:
    assert_bad_input(*run("explore", *args), *fragments)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--option", "colour=blue"], "unknown option 'colour'"),
        (["--carriers", "9"], "--carriers must be within 1..8"),
        (["--sessions", "0"], "--sessions must be within 1..12"),
        (["--mode", "process", "--carriers", "1"], "--carriers applies to pooled mode only"),
        (["--invariant", "NOPE"], "unknown invariant NOPE"),
        (["--mode", "fibers"], "'fibers' is not one of"),
    ],
)
def test_explore_bad_input_in_a_real_process(args: list[str], fragment: str) -> None:
    p = run_process("explore", *args)
    assert_bad_input(p.returncode, p.stdout, p.stderr, fragment)
    assert p.stdout == ""


def test_unknown_verb_is_bad_input() -> None:
    assert_bad_input(*run("explode"), "No such command")


# ------------------------------------------------------------------ results and exit codes


def test_small_configuration_passes_with_exit_0_and_progress_on_stderr() -> None:
    p = run_process("explore", *SMALL)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "result: every invariant holds and every witness was reached" in p.stdout
    assert "Traceback" not in p.stderr
    assert not any(line.startswith("explore: ") for line in p.stdout.splitlines())  # progress: stderr only
    lines = p.stdout.splitlines()
    assert lines[0].startswith("pgcheck ") and "mode pooled, 1 carriers x 1 sessions" in lines[0]
    assert any(line.startswith("distinct states:") for line in lines)


def test_progress_is_written_to_stderr() -> None:
    """A run long enough to report progress (stderr on a terminal: a report every second)."""
    import pty

    master, slave = pty.openpty()
    try:
        p = subprocess.run(
            [sys.executable, "-m", "pgcheck", "explore", "--model=design", "--carriers", "2", "--sessions", "3",
             "--option", "messages=2", "--option", "active_clients=3", "--no-symmetry", "--time-limit", "2.5"],
            stdout=subprocess.PIPE, stderr=slave, text=True, timeout=120, cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )  # fmt: skip
        os.close(slave)
        slave = -1
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    err = b"".join(chunks).decode()
    assert p.returncode == 3, err
    assert "explore: " in err and " distinct, " in err and "states/s" in err
    assert not any(line.startswith("explore: ") for line in p.stdout.splitlines())
    assert " distinct, " not in p.stdout
    assert p.stdout.startswith("pgcheck ")
    assert "result: INCOMPLETE: --time-limit 2.5s reached" in p.stdout


def test_quiet_prints_no_progress() -> None:
    p = run_process("explore", *SMALL, "--quiet")
    assert p.returncode == 0
    assert p.stderr == ""


def test_max_states_gives_exit_3() -> None:
    code, out, err = run("explore", "--max-states", "10", "--quiet")
    assert code == 3, out + err
    assert "result: INCOMPLETE: --max-states 10 reached" in out


def test_max_depth_gives_exit_3() -> None:
    code, out, _ = run("explore", *SMALL, "--max-depth", "2", "--quiet")
    assert code == 3
    assert "--max-depth 2 reached" in out


def test_json_output_parses() -> None:
    code, out, err = run("explore", *SMALL, "--json", "--quiet")
    assert code == 0, err
    doc = json.loads(out)
    assert isinstance(doc, dict)
    text = json.dumps(doc)
    assert "S1" in text  # the invariants are listed
    p = run_process("explore", "--max-states", "10", "--json")
    assert p.returncode == 3
    json.loads(p.stdout)  # progress on stderr leaves stdout pure JSON


def test_only_chosen_invariants_are_listed() -> None:
    code, out, _ = run("explore", *SMALL, "--invariant", "S1", "--invariant", "S2", "--quiet")
    assert code == 0
    rows = [line.split()[0] for line in out.split("invariants:")[1].split("witnesses:")[0].strip().splitlines()]
    assert rows == ["S1", "S2"]


def test_no_symmetry_flag_is_reported() -> None:
    code, out, _ = run("explore", *SMALL, "--no-symmetry", "--quiet")
    assert code == 0
    assert "symmetry reduction: off" in out


# ------------------------------------------------------------------ violations and trace files


def test_violation_writes_a_valid_itf_trace(tmp_path: Path) -> None:
    out = tmp_path / "mx.itf.json"
    run = run_check(mutex.build(2, broken=True), trace_out=out)
    assert run.verdict == "violation"
    assert run.trace_path is not None and run.trace_path.exists()
    doc = json.loads(run.trace_path.read_text())
    assert "#meta" in doc and "states" in doc and "vars" in doc
    assert len(doc["states"]) == 5
    assert doc["#meta"]["property"]["id"] == "MX1"
    # Every state lists every entity, and the trace reads back.
    for state in doc["states"]:
        assert set(state) >= {"proc", "lock"}
    steps = doc["#meta"]["steps"]
    assert len(steps) == 5 and steps[0] is None
    assert sorted(st["action"] for st in steps[1:]) == ["acquire", "acquire", "request", "request"]


def test_violation_default_trace_file_is_named_after_the_property(tmp_path: Path) -> None:
    run = run_check(mutex.build(3, broken=True), default_trace_dir=tmp_path)
    assert run.trace_path == tmp_path / "pgcheck-MX1.itf.json"
    assert run.trace_path.exists()
    doc = json.loads(run.trace_path.read_text())
    assert doc["#meta"]["property"]["id"] == "MX1" and len(doc["states"]) == 5


def test_deadlock_trace_names_the_kind(tmp_path: Path) -> None:
    spec = Spec("stuck")
    spec.singleton("c", {"n": Int(0, 2)})

    @spec.action()
    def inc(s: Any) -> None:
        require(s.c.n < 2)
        s.c.n = s.c.n + 1

    run = run_check(spec, default_trace_dir=tmp_path)
    assert run.result.violation is not None and run.result.violation.kind == "deadlock"
    doc = json.loads(run.trace_path.read_text())  # type: ignore[union-attr]
    assert doc["#meta"]["property"]["id"] == "deadlock"


def test_exit_code_1_for_a_violation() -> None:
    from pgcheck.commands.explore import exit_code

    run = run_check(mutex.build(2, broken=True), default_trace_dir=None)
    assert exit_code(run) == 1
    ok = run_check(mutex.build(2), default_trace_dir=None)
    assert exit_code(ok) == 0


# ------------------------------------------------------------------ pgcheck list


def test_list_prints_modes_options_actions_and_properties() -> None:
    code, out, err = run("list")
    assert code == 0, err
    assert out.startswith("modes: process, thread-per-session, pooled")
    for p in PARAMS:
        line = next(x for x in out.splitlines() if x.strip().startswith(p.name + " "))
        assert p.help in line
        if p.kind == "int":
            assert f"{p.lo}..{p.hi}" in line
    assert "actions of mode pooled, 2 carriers x 3 sessions:" in out
    assert "StartCarrier(c: carrier)" in out
    assert "fairness weak" in out
    inv = out.split("\ninvariants:\n")[1]
    assert inv.startswith("  S1 ")
    assert "witnesses:" in out
    for pid, reason in NOT_APPLICABLE.items():
        assert f"  {pid:<5} {reason}" in out


def test_list_for_another_mode() -> None:
    code, out, _ = run("list", "--mode", "process", "--sessions", "2")
    assert code == 0
    assert "actions of mode process, 2 sessions (each with its own carrier):" in out
    assert "StartCarrier" not in out  # the pool's actions exist only in pooled mode


def test_list_json() -> None:
    code, out, _ = run("list", "--json", "--carriers", "1", "--sessions", "2")
    assert code == 0
    doc = json.loads(out)
    assert doc["modes"] == ["process", "thread-per-session", "pooled"]
    assert doc["config"] == {"mode": "pooled", "carriers": 1, "sessions": 2}
    assert {o["name"] for o in doc["options"] + doc["bounds"] + doc["assumptions"]} == {p.name for p in PARAMS}
    messages = next(b for b in doc["bounds"] if b["name"] == "messages")
    assert (messages["min"], messages["max"]) == (0, 6)
    names = [a["name"] for a in doc["actions"]]
    assert "StartCarrier" in names and len(names) == len(set(names))
    start = doc["actions"][names.index("StartCarrier")]
    assert start["params"] == {"c": "carrier"} and start["fairness"] == "weak"
    assert start["citation"] and start["doc"]
    ids = [i["id"] for i in doc["invariants"]]
    assert ids[0] == "S1" and all(i["statement"] and "citation" in i for i in doc["invariants"])
    assert {x["id"] for x in doc["not_applicable"]} == set(NOT_APPLICABLE)
    assert not set(ids) & set(NOT_APPLICABLE)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--mode", "process", "--carriers", "2"], "--carriers applies to pooled mode only"),
        (["--sessions", "0"], "--sessions must be within"),
        (["--option", "nope=1"], "unknown option 'nope'"),
        (["--mode", "fibers"], "'fibers' is not one of"),
    ],
)
def test_list_bad_input(args: list[str], fragment: str) -> None:
    assert_bad_input(*run("list", *args), fragment)


def test_list_in_a_real_process() -> None:
    p = run_process("list", "--mode", "thread-per-session", "--sessions", "1")
    assert p.returncode == 0 and p.stderr == ""
    assert "actions of mode thread-per-session, 1 sessions" in p.stdout
