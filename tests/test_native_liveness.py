"""The native liveness checker (checker/liveness/native.py, live.c) against the Python one.

On random specs with random weak and strong fairness and random temporal properties
(Hypothesis, the generators of tests/test_random_specs.py) and on every liveness mutation
of the catalogue: the same graph size, the same verdict per property, the same pending
counts, and every native lasso replays step by step, is fair, and really violates its
obligation (checked here from the property's own predicates, not from either checker).
"""

from __future__ import annotations

import contextlib
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import event as hypothesis_event
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from pgcheck.checker.errors import ModelError
from pgcheck.checker.explicit.explore import Bounds, Explorer, Step
from pgcheck.checker.lang.compile import CompiledModel, compile_model
from pgcheck.checker.lang.spec import Spec, TracedModel
from pgcheck.checker.liveness.check import check_liveness, select
from pgcheck.checker.liveness.graph import compile_predicates
from pgcheck.checker.liveness.native import NativeLiveness
from pgcheck.checker.run.check import native_unavailable, run_check
from pgcheck.model.mutations import CATALOGUE
from test_liveness_variants import assert_lasso_replays_and_is_fair
from test_random_specs import SETTINGS, _Ctx, build_spec, draw_cond, spec_descriptions

from pgcheck.cli import main


def event(text: str) -> None:
    """Hypothesis statistics inside a Hypothesis test; nothing in a plain one."""
    with contextlib.suppress(InvalidArgument):
        hypothesis_event(text)


FORMS = ("leads-to", "always-eventually", "eventually-always")
FAIRNESS = (None, "weak", "strong")


@pytest.fixture(autouse=True, scope="module")
def _compile_fast() -> Any:
    """These models are small: -O0 compiles the generated C several times faster, with the
    same semantics (checker/explicit/native/build.py, PGCHECK_OPT)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PGCHECK_OPT", "-O0")
    yield
    mp.undo()


def _skip_without_compiler() -> None:
    model = build_spec({"n": 1, "fields": [("f0", ("bool",))], "init": [], "actions": [], "invariant": ("read", ("c", 0), "f0")}).trace()
    reason = native_unavailable(model)
    if reason is not None:
        pytest.skip(reason)


@st.composite
def live_descriptions(draw: Any) -> dict[str, Any]:
    desc = draw(spec_descriptions())
    ctx = _Ctx(desc["n"], desc["fields"], False, False)
    props = []
    for _ in range(draw(st.integers(1, 3))):
        form = draw(st.sampled_from(FORMS))
        p = draw_cond(draw, ctx, 2) if form == "leads-to" else None
        props.append((form, p, draw_cond(draw, ctx, 2)))
    # mostly fair actions: with none, a violation is nearly always stuttering in the first pending state
    fairness = [draw(st.sampled_from(("weak", "strong", "weak", "strong", None))) for _ in desc["actions"]]
    return {**desc, "props": props, "fairness": fairness}


def build_live(desc: dict[str, Any]) -> Spec:
    """The random spec with its temporal properties T0.. and the drawn fairness per action."""
    spec = build_spec(desc)

    def cond_fn(c: Any) -> Any:  # build_spec's own reading of a condition, as an invariant's function
        other = build_spec({**desc, "invariant": c}, with_invariant=True)
        return next(p.fn for p in other.properties if p.id == "R1")

    for k, (form, p, q) in enumerate(desc["props"]):
        qf = cond_fn(q)
        if form == "leads-to":
            pf = cond_fn(p)
            spec.leads_to(f"T{k}", "random", "")(lambda s, pf=pf, qf=qf: (pf(s), qf(s)))
        elif form == "always-eventually":
            spec.always_eventually(f"T{k}", "random", "")(qf)
        else:
            spec.eventually_always(f"T{k}", "random", "")(qf)
    for a, f in zip(list(spec.actions), desc["fairness"], strict=True):
        spec.replace_action(a.name, a.fn, fairness=f)
    return spec


def assert_lasso_violates(model: TracedModel, label: str, trace: list[Step], loop: int) -> None:
    """The lasso's tail stays where the obligation is pending: from a state where it starts
    (at or before the loop) every later state is allowed, and a <>[] cycle visits not-Q."""
    ob = next(o for o in model.temporal if o.label == label)
    q = compile_predicates(model, [ob.q])[0]
    p = compile_predicates(model, [ob.p])[0] if ob.p is not None else None
    states = [st.state for st in trace]
    if ob.prop.form == "eventually-always":
        assert any(not q(s) for s in states[loop:])
        return
    allowed = [not q(s) for s in states]
    starts = [allowed[i] and (p is None or p(states[i])) for i in range(len(states))]
    assert any(starts[i] and all(allowed[i:]) for i in range(loop + 1))


def compare(cm: CompiledModel, check_deadlock: bool = False) -> tuple[Any, Any] | None:
    """Both checkers over the same compiled model; None when the Python search does not
    complete cleanly (a model error: neither checks liveness then)."""
    model = cm.model
    ex = Explorer(cm, symmetry=False, keep_graph=True, check_deadlock=check_deadlock)
    res = ex.run()
    if res.verdict != "ok":
        event(f"python search: {res.violation.kind if res.violation else res.verdict}")
        return None
    props = select(model, None, {})
    py = check_liveness(model, ex, props)
    nat = NativeLiveness(cm, check_deadlock=check_deadlock)
    try:
        nres = nat.run()
        assert nres.verdict == "ok" and nat.graph_complete
        assert (nat.graph_states, nat.graph_edges) == (py.graph_states, py.graph_edges)
        native = nat.check(props)
    finally:
        nat.close()
    assert [(o.prop.id, o.verdict, o.pending_states) for o in native.outcomes] == [
        (o.prop.id, o.verdict, o.pending_states) for o in py.outcomes
    ]
    for o in native.outcomes:
        if o.lasso is None:
            continue
        event(f"violated: {o.prop.form}, {'stutters' if o.lasso.stutters else 'cycle'}")
        steps = [Step(native.graph.states[n], b) for b, n in o.lasso.path]
        assert_lasso_replays_and_is_fair(cm, steps, o.lasso.loop_index)
        if o.lasso.closing is not None:  # the cycle closes by the binding the checker named
            assert cm.binding_step[o.lasso.closing](steps[-1].state) == steps[o.lasso.loop_index].state
        assert_lasso_violates(model, o.violated_instance or "", steps, o.lasso.loop_index)
        py_out = next(x for x in py.outcomes if x.prop.id == o.prop.id)
        assert py_out.lasso is not None
        # the stem is as short as the Python checker's (both take a shortest one)
        assert o.lasso.loop_index <= py_out.lasso.loop_index or o.violated_instance != py_out.violated_instance
    return py, native


def detour(fa0: str | None, fa2: str | None) -> dict[str, Any]:
    """f0 runs 0 -> 1 -> 2 -> 3 -> 0 (a0, not from 1), from 1 back to 0 (a1, weakly fair) or
    on to 2 (a2), with []<> f0 == 2 and the given fairness of a0 and a2."""
    f0 = ("read", ("c", 0), "f0")
    return {
        "n": 1, "fields": [("f0", ("int", 3))], "init": [],
        "actions": [
            {"param": False, "guard": ("not", ("eq", f0, ("const", 1))),
             "updates": [(("c", 0), "f0", ("when", ("lt", f0, ("const", 3)), ("raw_inc", f0), ("const", 0), "f0"))]},
            {"param": False, "guard": ("eq", f0, ("const", 1)), "updates": [(("c", 0), "f0", ("const", 0))]},
            {"param": False, "guard": ("eq", f0, ("const", 1)), "updates": [(("c", 0), "f0", ("const", 2))]},
        ],
        "invariant": ("eq", ("const", 0), ("const", 0)),
        "props": [("always-eventually", None, ("eq", f0, ("const", 2)))],
        "fairness": [fa0, "weak", fa2],
    }


@settings(SETTINGS, max_examples=30)
@given(live_descriptions())
@example(desc=detour("weak", "weak"))  # a fair cycle, whatever the generator draws
def test_random_specs_get_the_same_liveness_verdicts(desc: dict[str, Any]) -> None:
    _skip_without_compiler()
    try:
        model = build_live(desc).trace()
        cm = compile_model(model)
    except ModelError:
        event("refused at trace time")
        return
    if compare(cm) is None:
        return


LIVENESS_MUTATIONS = [m for m in CATALOGUE if m.liveness]


@pytest.mark.parametrize("mutation", LIVENESS_MUTATIONS, ids=[m.name for m in LIVENESS_MUTATIONS])
def test_every_liveness_mutation_is_caught_the_same_by_both_checkers(mutation: Any) -> None:
    _skip_without_compiler()
    runs = [
        run_check(mutation.build(None), engine=engine, symmetry=False, properties=[mutation.expected], default_trace_dir=None,
                  mutation=mutation.name)
        for engine in ("python", "native")
    ]
    found = [r.result.violation.property_id if r.result.violation is not None else None for r in runs]
    assert found == [mutation.expected, mutation.expected]
    py, nat = runs
    assert nat.liveness is not None and py.liveness is not None
    assert nat.liveness.graph_states == py.liveness.graph_states
    v = nat.result.violation
    assert v is not None and v.kind == "liveness" and v.loop_index is not None
    assert_lasso_replays_and_is_fair(nat.compiled, v.trace, v.loop_index)
    assert_lasso_violates(nat.model, v.message, v.trace, v.loop_index)
    # the same explanation as a Python lasso: the ITF file's loop, fairness notes and sentence
    assert nat.trace_doc is not None and py.trace_doc is not None
    for key in ("loop", "never"):
        assert (key in nat.trace_doc["#meta"]) == (key in py.trace_doc["#meta"])
    assert nat.trace_doc["#meta"]["fair_under"]


def test_a_safety_violation_does_not_stop_the_native_liveness_check() -> None:
    """The native search records an invariant violation and goes on: liveness is still
    reported over the whole graph; the Python checker stops at the violation."""
    _skip_without_compiler()
    desc = {
        "n": 1, "fields": [("f0", ("int", 2))], "init": [],
        "actions": [{"param": False, "guard": None, "updates": [(("c", 0), "f0", ("inc", ("read", ("c", 0), "f0"), 2))]}],
        "invariant": ("lt", ("read", ("c", 0), "f0"), ("const", 2)),
        "props": [("always-eventually", None, ("eq", ("read", ("c", 0), "f0"), ("const", 0)))],
        "fairness": ["weak"],
    }
    spec = build_live(desc)
    spec.invariant("R1", "random")(lambda s: s.e[0].f0 < 2)
    nat = run_check(spec, engine="native", liveness=True, default_trace_dir=None, check_deadlock=False)
    assert nat.result.violation is not None and nat.result.violation.property_id == "R1"
    assert nat.liveness is not None
    (out,) = nat.liveness.outcomes
    assert out.verdict == "VIOLATED"  # f0 counts up to 2 and stays there: never 0 again
    py = run_check(build_live(desc), engine="python", liveness=True, default_trace_dir=None, check_deadlock=False)
    assert py.liveness is not None and py.liveness.outcomes[0].verdict == "VIOLATED"
    # without the invariant both agree; with it, only the native search reports liveness
    spec2 = build_live(desc)
    spec2.invariant("R1", "random")(lambda s: s.e[0].f0 < 2)
    py2 = run_check(spec2, engine="python", liveness=True, default_trace_dir=None, check_deadlock=False)
    assert py2.liveness is None and py2.result.violation is not None


def test_weak_and_strong_fairness_of_a_detour_decide_the_verdict() -> None:
    """[]<> f0 == 2 fails on the cycle 0 -> 1 -> 0 unless a2, enabled at 1 only, is strongly
    fair (weak fairness does not force it: it is not enabled continuously), and by
    stuttering in 0 when a0 is not fair. Both checkers must agree on every combination."""
    _skip_without_compiler()
    verdicts = {}
    for fa0, fa2 in itertools.product((None, "weak"), (None, "weak", "strong")):
        got = compare(compile_model(build_live(detour(fa0, fa2)).trace()))
        assert got is not None
        verdicts[(fa0, fa2)] = got[1].outcomes[0].verdict
    assert verdicts == {
        (None, None): "VIOLATED", (None, "weak"): "VIOLATED", (None, "strong"): "VIOLATED",
        ("weak", None): "VIOLATED", ("weak", "weak"): "VIOLATED", ("weak", "strong"): "holds",
    }


def test_cli_native_and_python_lassos_read_the_same(tmp_path: Path) -> None:
    """`explore --liveness` with each engine: the same lasso shape in the ITF file, the same
    explanation in `#meta`, and `show` reads the native one as it reads the Python one."""
    _skip_without_compiler()
    b8 = ["explore", "--model", "design", "--carriers", "1", "--sessions", "2", "-q", "--option", "think_time=false",
          "--option", "active_clients=2", "--option", "commands=query", "--property", "L3"]
    docs = {}
    for engine in ("native", "python"):
        path = tmp_path / f"{engine}.itf.json"
        got = CliRunner().invoke(main, [*b8, "--engine", engine, "--trace-out", str(path)])
        assert got.exit_code == 1, got.output
        assert "result: VIOLATION: liveness property L3" in got.stdout
        docs[engine] = json.loads(path.read_text())
    nat, py = docs["native"], docs["python"]
    assert len(nat["states"]) == len(py["states"]) and nat["loop"] == py["loop"]
    for key in ("loop", "loop_closing", "never", "fair_under", "property"):
        assert nat["#meta"][key] == py["#meta"][key], key
    shown = CliRunner().invoke(main, ["show", str(tmp_path / "native.itf.json")])
    assert shown.exit_code == 0 and f"steps back to state {nat['loop']}" in shown.stdout


def test_cli_liveness_refuses_ray_and_checkpoints_in_one_line(tmp_path: Path) -> None:
    for extra in (["--engine", "ray"], ["--checkpoint", str(tmp_path / "ck")]):
        got = CliRunner().invoke(main, ["explore", "--carriers", "1", "--sessions", "1", "-q", "--liveness", *extra])
        assert got.exit_code == 2
        assert len(got.output.strip().splitlines()) == 1 and "--liveness" in got.output


def test_cli_native_liveness_progress_says_edges_and_obligations() -> None:
    _skip_without_compiler()
    got = CliRunner().invoke(main, ["explore", "--model", "design", "--carriers", "1", "--sessions", "2", "--liveness",
                                    "--engine", "native"])
    assert got.exit_code == 0, got.output
    assert "liveness graph:" in got.stderr and "bytes per state" in got.stderr
    assert "liveness: fair cycles for L3[session=1]" in got.stderr
    assert "partial-order reduction off" in got.stdout + got.stderr


def test_a_bound_after_a_safety_violation_leaves_liveness_unchecked() -> None:
    """A bound that stops the search after an invariant violation was recorded leaves the graph
    partial: the violation is reported, liveness is not checked (unexpanded states would look
    like states without successors)."""
    _skip_without_compiler()
    desc = {
        "n": 1, "fields": [("f0", ("int", 3))], "init": [],
        "actions": [{"param": False, "guard": None, "updates": [(("c", 0), "f0", ("inc", ("read", ("c", 0), "f0"), 3))]}],
        "invariant": ("eq", ("const", 0), ("const", 0)),
        "props": [("always-eventually", None, ("lt", ("read", ("c", 0), "f0"), ("const", 3)))],
        "fairness": ["weak"],
    }
    for bound, complete in ((Bounds(max_states=3), False), (Bounds(), True)):
        spec = build_live(desc)
        spec.invariant("R1", "random")(lambda s: s.e[0].f0 < 2)
        run = run_check(spec, engine="native", liveness=True, default_trace_dir=None, check_deadlock=False, bounds=bound)
        assert run.result.violation is not None and run.result.violation.property_id == "R1"
        if complete:  # f0 reaches 3 and stays: []<> f0 < 3 fails, and is reported beside R1
            assert run.liveness is not None and run.liveness.outcomes[0].verdict == "VIOLATED"
        else:  # the state with f0 = 2 is not expanded: nothing may be said of liveness
            assert run.liveness is None and "--max-states 3 reached" in run.liveness_note


def test_a_bound_in_a_graph_of_pairs_leaves_its_properties_unchecked() -> None:
    """With symmetry, per-session properties are checked on a second graph, of (state,
    session) pairs (docs/liveness.md); a bound met there ends the run as incomplete, with
    liveness not checked, as a bound in the first graph does."""
    _skip_without_compiler()
    from pgcheck.model import load, make_config

    def spec() -> Spec:
        return load(make_config("pooled", 1, 2, {}, model="design"))

    whole = run_check(spec(), engine="native", liveness=True, default_trace_dir=None)
    assert whole.liveness is not None and whole.result.verdict == "ok"
    states = whole.result.distinct
    assert whole.liveness.graph_states > states  # the graph of pairs is larger than the quotient
    cut = run_check(spec(), engine="native", liveness=True, default_trace_dir=None,
                    bounds=Bounds(max_states=states + 1))
    assert cut.result.verdict == "incomplete" and cut.liveness is None
    assert "paired with session" in cut.liveness_note and "--max-states" in cut.liveness_note
