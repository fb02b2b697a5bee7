"""`pgcheck show`: the exact text for a known trace, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pgcheck.cli import main

DATA = Path(__file__).parent / "data"
MIGRATED = DATA / "migrated_resume.itf.json"
LASSO = DATA / "lasso_newconn.itf.json"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def block(text: str, first: str) -> list[str]:
    """The lines from `first` up to (not including) the next `step ` line."""
    lines = text.splitlines()
    start = lines.index(first)
    ends = (i for i in range(start + 1, len(lines)) if lines[i].startswith(("step ", "loop:")))
    end = next(ends, len(lines))
    return lines[start:end]


def test_header_names_property_configuration_and_entities() -> None:
    code, out, err = run("show", str(MIGRATED))
    assert code == 0, err
    assert out.splitlines()[:6] == [
        "counterexample: S13 (invariant) violated",
        "  MyProc is bound to exactly one logical backend  [scheduler-digest.md §4 S13]",
        "model pgruntime, mode pooled, mutation detach_keeps_myproc, engine bfs, seed none",
        "params: carriers=2 sessions=2 messages=1 interrupts=1 sticky_idle=false",
        "about: session[0], carrier[0], carrier[1]",
        "15 states, 14 steps",
    ]


def test_initial_state_is_printed_whole() -> None:
    _, out, _ = run("show", str(MIGRATED))
    assert block(out, "state 0: initial state")[1:3] == [
        "  carrier[0]: loc=loop cur=none proc=none batch=[]",
        "  carrier[1]: loc=loop cur=none proc=none batch=[]",
    ]
    assert "  sched: parked=[] runnable=[] newconn=[s0, s1] parks=0" in out.splitlines()


def test_steps_show_only_changed_fields() -> None:
    _, out, _ = run("show", str(MIGRATED))
    assert block(out, "step 4: CommitPark(c0, s0)") == [
        "step 4: CommitPark(c0, s0)",
        "  carrier[0].cur: s0 -> none",
        "  session[0].ps: prepared -> committed",
        "  session[0].car: c0 -> none",
        "  session[0].pcar: none -> c0",
    ]
    assert block(out, "step 7: TakeForPolling(c0, s0)") == [
        "step 7: TakeForPolling(c0, s0)",
        "  carrier[0].loc: loop -> polling",
        "  carrier[0].batch: [] -> [s0]",
        "  session[0].q: parked -> polling",
        "  sched.parked: [s0] -> []",
    ]


def test_migrated_resume_is_called_out() -> None:
    _, out, _ = run("show", str(MIGRATED))
    assert block(out, "step 14: Resume(c1, s0)") == [
        "step 14: Resume(c1, s0)",
        "  carrier[1].proc: s1 -> s0",
        "  session[0].pc: idle_read -> reading",
        "  session[0].ps: committed -> none",
        "  session[0].q: leased -> none",
        "  session[0].pcar: c0 -> none",
        "  session[0].wake: {socket} -> {}",
        "  => session[0]: migrated resume: parked on c0, resumed on c1",
    ]


def test_lasso_marks_the_loop() -> None:
    code, out, _ = run("show", str(LASSO))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "lasso: L10 (liveness) violated"
    assert "4 states, 3 steps; lasso: after state 3 the run steps back to state 1 and repeats" in lines
    assert "step 1: SendReady(c0, s0)   <- loop starts here" in lines
    assert lines[-1] == "loop: state 3 steps back to state 1"


def test_full_prints_whole_states() -> None:
    _, out, _ = run("show", str(LASSO), "--full")
    assert block(out, "step 2: ClientSend(s0)") == [
        "step 2: ClientSend(s0)",
        "  carrier[0]: loc=in_step cur=s0 proc=s0 batch=[]",
        "  session[0]: pc=idle_read ps=none q=none car=c0 pcar=none mbox={} wake={} cl_sent=1 cl_got=ready",
        "  session[1]: pc=start ps=none q=none car=none pcar=none mbox={} wake={} cl_sent=0 cl_got=nothing",
        "  sched: parked=[] runnable=[] newconn=[s1] parks=0",
        "  env: cancels_left=0 pm_alive=true",
    ]


def test_output_is_plain_text_off_a_terminal() -> None:
    _, out, _ = run("show", str(MIGRATED))
    assert "\x1b[" not in out


def test_trace_text_is_not_read_as_markup() -> None:
    _, out, _ = run("show", str(DATA / "hostile_strings.itf.json"))
    assert "</script><script>alert(1)</script>" in out
    assert "step 2: <img src=x onerror=alert(2)>(c0)" in out.splitlines()


# ---- bad input: one line on stderr, exit 2, for both readers -----------------------------------


def _truncated(tmp: Path) -> Path:
    text = MIGRATED.read_text(encoding="utf-8")
    path = tmp / "cut.itf.json"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    return path


def _write(tmp: Path, name: str, doc: object) -> Path:
    path = tmp / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _other_model(tmp: Path) -> Path:
    doc = json.loads(MIGRATED.read_text(encoding="utf-8"))
    doc["#meta"]["source"] = "apalache"
    doc["#meta"]["model"] = "Paxos"
    return _write(tmp, "paxos.itf.json", doc)


def _missing_var(tmp: Path) -> Path:
    doc = json.loads(MIGRATED.read_text(encoding="utf-8"))
    del doc["states"][3]["sched"]
    return _write(tmp, "holes.itf.json", doc)


def _bad_steps(tmp: Path) -> Path:
    doc = json.loads(MIGRATED.read_text(encoding="utf-8"))
    doc["#meta"]["steps"].pop()
    return _write(tmp, "steps.itf.json", doc)


def _bad_loop(tmp: Path) -> Path:
    doc = json.loads(LASSO.read_text(encoding="utf-8"))
    doc["loop"] = 9
    return _write(tmp, "loop.itf.json", doc)


def _not_json(tmp: Path) -> Path:
    path = tmp / "notes.itf.json"
    path.write_text("carrier 0 parked session 1\n", encoding="utf-8")
    return path


BAD_INPUTS = {
    "not JSON": (_not_json, "is not JSON"),
    "not ITF": (lambda tmp: _write(tmp, "list.json", {"hello": [1, 2]}), "not an ITF trace"),
    "truncated": (_truncated, "is truncated"),
    "another model": (_other_model, "model 'Paxos' from 'apalache'"),
    "missing var": (_missing_var, "state 3 has no value for sched"),
    "bad steps": (_bad_steps, "'#meta.steps' has 14 entries for 15 states"),
    "bad loop": (_bad_loop, "'loop' is 9"),
    "no states": (lambda tmp: _write(tmp, "empty.itf.json", {"vars": ["x"], "states": []}), "not"),
    "missing file": (lambda tmp: tmp / "nowhere.itf.json", "no such file"),
}


@pytest.mark.parametrize("verb", ["show", "view"])
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_and_exit_2(verb: str, case: str, tmp_path: Path) -> None:
    make, expected = BAD_INPUTS[case]
    path = make(tmp_path)
    code, out, err = run(verb, str(path), *(["--out", str(tmp_path / "o.html")] if verb == "view" else []))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("pgcheck: "), err
    assert expected in err
    assert "Traceback" not in err
    assert not (tmp_path / "o.html").exists()


def test_bad_input_exit_code_from_a_real_process(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pgcheck", "show", str(_truncated(tmp_path))],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1
    assert "is truncated" in proc.stderr
