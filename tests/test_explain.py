"""Counterexamples that explain themselves: the property's evaluation tree on the violating
state (`#meta.explanation`), printed by `explore` and `show`, drawn by `view`; the client lane;
the compact `explore` trace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pgcheck.checker.lang.explain import explain, fields_read
from pgcheck.checker.run.check import CheckRun, run_check
from pgcheck.checker.traces.explanation import read_explanation
from pgcheck.checker.traces.itf_read import load_trace, parse_trace
from pgcheck.checker.traces.show import plain, render
from pgcheck.checker.traces.viewer import page_model
from pgcheck.model import load, make_config, parse_options

from pgcheck.cli import main

# B2: the latch stays with the carrier a session parked on; after a migrated resume S15 fails.
S15_MUTATION = "stale-latch-after-migration"


def _s15_run(tmp_path: Path) -> CheckRun:
    spec = load(make_config("pooled", 2, 2, parse_options([])), S15_MUTATION)
    return run_check(spec, engine="python", trace_out=tmp_path / "s15.itf.json", mutation=S15_MUTATION)


@pytest.fixture(scope="module")
def s15(tmp_path_factory: pytest.TempPathFactory) -> CheckRun:
    return _s15_run(tmp_path_factory.mktemp("s15"))


def test_tree_descends_to_the_failing_instance(s15: CheckRun) -> None:
    v = s15.result.violation
    assert v is not None and v.property_id == "S15"
    expr = next(e for p, e in s15.model.invariants if p.id == "S15")
    why = explain(s15.model, expr, v.trace[-1].state)
    root = why["tree"]
    assert root["value"] == "false" and root["of"] == [1, 2]  # one of the two sessions fails
    (instance,) = root["children"]
    assert instance["value"] == "false" and "session[0]" in instance["text"] and "session[1]" not in instance["text"]
    leaves = {n["field"]: n["value"] for c in instance["children"] for n in c["children"] if "field" in n}
    assert leaves == {"session[0].car": "c1", "session[0].latch": "c0"}
    assert why["reads"] == ["session[0].car", "session[0].latch"]
    assert fields_read(expr) == ["session[0].car", "session[0].latch", "session[1].car", "session[1].latch"]


def test_tree_of_a_state_where_the_property_holds_is_true(s15: CheckRun) -> None:
    expr = next(e for p, e in s15.model.invariants if p.id == "S15")
    why = explain(s15.model, expr, s15.model.init)
    assert why["tree"]["value"] == "true"
    assert all(child["value"] == "true" for child in why["tree"]["children"])


def test_trace_carries_the_explanation_and_the_culprit_entity(s15: CheckRun) -> None:
    assert s15.trace_path is not None
    doc = json.loads(s15.trace_path.read_text())
    meta = doc["#meta"]
    assert meta["explanation"]["state"] == len(doc["states"]) - 1
    assert meta["explanation"]["reads"] == ["session[0].car", "session[0].latch"]
    assert meta["highlight"] == [{"kind": "session", "index": 0}]


def test_show_prints_why(s15: CheckRun) -> None:
    assert s15.trace_path is not None
    text = plain(render(load_trace(s15.trace_path)))
    assert "why: S15 is violated in state 15" in text
    assert "session[0].latch = c0" in text and "session[0].car = c1" in text
    assert text.index("why:") < text.index("state 0: initial state")


def test_view_marks_the_fields_the_property_reads(s15: CheckRun) -> None:
    assert s15.trace_path is not None
    model = page_model(load_trace(s15.trace_path))
    assert model["why"]["reads"] == ["session[0].car", "session[0].latch"]
    reads = [lane for lane in model["lanes"] if lane["group"] == "reads"]
    assert [lane["label"] for lane in reads] == ["session[0].car", "session[0].latch"]
    car = reads[0]["cells"]
    assert car[-1]["t"] == "c1" and car[-2]["t"] == "none"
    assert reads[1]["cells"][-1]["t"] == "c0"


def test_client_lane_shows_what_the_client_sent_and_the_socket_input(s15: CheckRun) -> None:
    assert s15.trace_path is not None
    model = page_model(load_trace(s15.trace_path))
    client = next(lane for lane in model["lanes"] if lane["group"] == "client" and lane["entity"] == "session[0]")
    last = client["cells"][-1]
    assert last["t"] == "sent type byte" and "socket: type byte" in last["s"]
    assert "pending" in last["c"]
    first = client["cells"][0]
    assert first["t"] == "connecting" and "socket empty" in first["s"] and "pending" not in first["c"]


def test_hostile_explanations_are_ignored_not_fatal() -> None:
    base = {"#meta": {"source": "pgcheck", "model": "pgruntime"}, "vars": ["x"], "states": [{"x": 1}]}
    for bad in ("text", {"tree": "x", "state": 0}, {"tree": {"children": "no"}, "state": 7},
                {"tree": {"text": 1, "children": [None, {"value": []}]}, "state": 0, "reads": [1, "a"]}):
        doc = json.loads(json.dumps(base))
        doc["#meta"]["explanation"] = bad
        trace = parse_trace(json.dumps(doc), "bad.itf.json")
        why = read_explanation(trace.meta, len(trace.states))
        assert why is None or (why.tree.text == "" and why.reads == ["a"])
        plain(render(trace))
        page_model(trace)


def test_explore_prints_the_compact_trace_with_show_names(tmp_path: Path) -> None:
    out_file = tmp_path / "s15.itf.json"
    args = ["explore", "--carriers", "2", "--sessions", "2", "--mutation", S15_MUTATION, "--engine", "python",
            "-q", "--trace-out", str(out_file)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    out = result.stdout
    assert "why: S15 is violated in state 15" in out and "session[0].latch = c0" in out
    assert "cur none -> s0" in out and "-1 -> 0" not in out
    assert f"pgcheck view {out_file}" in out
    assert "W-migrated-resume        not reached yet" in out and "NOT REACHED" not in out
    steps = out[out.index("counterexample (shortest"):]
    # one line per step and per changed entity, not one per changed field
    assert len(steps.splitlines()) < 70
    assert steps.count("step ") >= 15


def test_unchanged_steps_collapse_into_one_line() -> None:
    doc = json.loads((Path(__file__).parent / "data" / "migrated_resume.itf.json").read_text())
    doc["states"][3] = doc["states"][2]
    doc["states"].insert(3, doc["states"][2])
    doc["#meta"]["steps"].insert(3, {"action": "Noop", "params": {}})
    from pgcheck.checker.traces.show import compact_lines

    text = plain(compact_lines(parse_trace(json.dumps(doc), "t.itf.json")))
    assert "steps 3-4: Noop, " in text and "(no field changed)" in text


def test_witness_trace_says_the_search_stopped_first(tmp_path: Path) -> None:
    args = ["explore", "--carriers", "2", "--sessions", "2", "--mutation", S15_MUTATION, "--engine", "python",
            "-q", "--witness", "W-migrated-resume", "--trace-out", str(tmp_path / "w.itf.json")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "witness W-migrated-resume: not reached before the search stopped" in result.stdout
    assert not (tmp_path / "w.itf.json").exists()
