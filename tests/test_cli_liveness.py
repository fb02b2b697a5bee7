"""`pgcheck explore --liveness`, `--property`, `--witness`, coverage: outputs and bad input."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from pgcheck.checker.explicit.coverage import coverage
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.checker.lang.types import Int
from pgcheck.checker.run.check import run_check

from pgcheck.cli import main
from tests.design_pin import pin_design

SMALL = ["explore", "--carriers", "1", "--sessions", "2", "-q"]
B8 = [*SMALL, "--option", "think_time=false", "--option", "active_clients=2", "--option", "commands=query"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, pin_design(args))
    return result.exit_code, result.stdout, result.stderr


def test_liveness_holds_on_the_unmutated_model() -> None:
    for engine, symmetry in (("native", "symmetry reduction: on"), ("python", "liveness with the python engine runs without symmetry reduction")):
        code, out, _ = run(*SMALL, "--liveness", f"--engine={engine}")
        assert code == 0, out
        assert symmetry in out
        for pid in ("L1", "L3", "L10"):
            assert any(line.split()[:2] == [pid, "holds"] for line in out.splitlines())
        assert "every invariant and liveness property holds" in out


def test_b8_lasso_is_printed_and_written_with_its_loop(tmp_path: Path) -> None:
    trace = tmp_path / "l3.itf.json"
    code, out, _ = run(*B8, "--property", "L3", "--trace-out", str(trace))
    assert code == 1
    assert "result: VIOLATION: liveness property L3" in out
    assert "cycle: from the state after step" in out and "back to the state after step" in out
    assert "think_time (OFF in this run)" in out
    never = next(line for line in out.splitlines() if line.startswith("never: "))
    assert "stays runnable and is never leased" in never and "keeps serving" in never
    doc = json.loads(trace.read_text())
    assert 0 <= doc["loop"] < len(doc["states"])
    assert doc["#meta"]["kind"] == "lasso" and doc["#meta"]["property"]["id"] == "L3"
    assert doc["#meta"]["loop_closing"]["action"]


def test_json_carries_liveness_verdicts() -> None:
    code, out, _ = run(*SMALL, "--liveness", "--json")
    assert code == 0
    doc = json.loads(out)
    assert {p["id"]: p["verdict"] for p in doc["liveness"]["properties"]} == {
        "L1": "holds", "L3": "holds", "L10": "holds", "CL1": "holds", "CL4": "holds"
    }
    assert doc["liveness"]["graph_edges"] > 0 and "L13" in doc["liveness"]["skipped"]


def test_unknown_property_is_one_line_exit_2() -> None:
    code, out, err = run(*SMALL, "--property", "L99")
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and "unknown liveness property L99" in err and "L3" in err


def test_property_that_does_not_apply_says_why() -> None:
    code, _, err = run(*SMALL, "--property", "L5")
    assert code == 2 and err.strip().count("\n") == 0
    assert "L5 does not apply to this configuration: needs terminates > 0" in err


def test_witness_trace_is_written(tmp_path: Path) -> None:
    out_file = tmp_path / "w.itf.json"
    code, out, _ = run(*SMALL, "--witness", "W-park", "--trace-out", str(out_file))
    assert code == 0, out
    doc = json.loads(out_file.read_text())
    assert doc["#meta"]["kind"] == "witness" and doc["#meta"]["property"]["id"] == "W-park"
    assert doc["states"][-1]["session"][0]["q"] == "parked" or doc["states"][-1]["session"][1]["q"] == "parked"


def test_unknown_witness_is_one_line_exit_2() -> None:
    code, _, err = run(*SMALL, "--witness", "W-nope")
    assert code == 2 and "unknown witness W-nope" in err and err.strip().count("\n") == 0


def test_fail_on_dead_actions() -> None:
    code, out, _ = run(*SMALL, "--coverage")
    assert code == 0 and "action coverage" in out
    assert "actions that never fired: " in out and "LogicalExit" in out.split("actions that never fired: ")[1]
    code, out, _ = run(*SMALL, "--fail-on-dead-actions")
    assert code == 1 and "--fail-on-dead-actions" in out


def counter_spec() -> Spec:
    spec = Spec("counter")
    spec.singleton("k", {"n": Int(0, 2)})

    @spec.action()
    def inc(s: object) -> None:
        require(s.k.n < 2)  # type: ignore[attr-defined]
        s.k.n = s.k.n + 1  # type: ignore[attr-defined]

    @spec.action()
    def reset(s: object) -> None:
        require(s.k.n == 2)  # type: ignore[attr-defined]
        s.k.n = 0  # type: ignore[attr-defined]

    @spec.action()
    def never(s: object) -> None:
        require(s.k.n > 5)  # type: ignore[attr-defined]
        s.k.n = 0  # type: ignore[attr-defined]

    return spec


def test_coverage_counts_on_a_hand_checked_spec() -> None:
    # states 0, 1, 2; inc enabled in 0 and 1 (both new), reset enabled in 2 (back to 0: not new)
    run_ = run_check(counter_spec(), default_trace_dir=None)
    rows = {r.action: r for r in coverage(run_.model, run_.result)}
    assert (rows["inc"].enabled, rows["inc"].new_states) == (2, 2)
    assert (rows["reset"].enabled, rows["reset"].new_states) == (1, 0)
    assert rows["never"].dead and not rows["inc"].dead
