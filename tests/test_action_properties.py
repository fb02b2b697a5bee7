"""Action properties (rules about steps): semantics, engines, traces.

An action property `fn(pre, step, post)` is traced once per binding with the binding's
update substituted for the post-state. These tests hold that substitution to an
independent reading: on random specs the pre- and post-conditions are traced as plain
state predicates and evaluated by the tree-walking interpreter on each (state, successor)
pair that the naive enumerator finds; the Python explorer must report the shallowest
offending step, with a trace that replays and ends with that step, and the native engine
(generated C) must give the same verdict, property and length.
"""

from __future__ import annotations

from typing import Any

import naive
import pytest
import test_random_specs as rs
from hypothesis import event, given, settings
from hypothesis import strategies as st
from pgcheck.checker.errors import ModelError, UsageError
from pgcheck.checker.examples import mutex
from pgcheck.checker.explicit.explore import Explorer
from pgcheck.checker.lang.compile import compile_model
from pgcheck.checker.lang.interpret import apply_binding, evaluate
from pgcheck.checker.lang.spec import Spec, TracedModel, require
from pgcheck.checker.lang.types import Bool, Int
from pgcheck.checker.run.check import native_unavailable, run_check
from pgcheck.checker.run.summary import counterexample_lines

NATIVE = native_unavailable(mutex.build().trace()) is None


@st.composite
def with_action_property(draw: Any) -> tuple[dict[str, Any], tuple[Any, Any, int | None]]:
    desc = draw(rs.spec_descriptions())
    ctx = rs._Ctx(desc["n"], desc["fields"], False, False)
    before = rs.draw_cond(draw, ctx, 2)
    after = rs.draw_cond(draw, ctx, 2)
    only = draw(st.one_of(st.none(), st.integers(0, len(desc["actions"]) - 1)))
    return desc, (before, after, only)


def _predicate(desc: dict[str, Any], cond: Any) -> Any:
    """The condition traced as an invariant of the same spec: the same slots, read plainly."""
    model = rs.build_spec({**desc, "invariant": cond}, with_invariant=True).trace()
    return model.invariants[0][1]


def _expected(model: TracedModel, desc: dict[str, Any], ap: tuple[Any, Any, int | None]) -> int | None:
    """Depth of the shallowest offending step, from the naive enumeration and plain predicates."""
    before, after = _predicate(desc, ap[0]), _predicate(desc, ap[1])
    dist = naive.depths(model)
    worst: int | None = None
    for s, d in dist.items():
        for b in model.bindings:
            if ap[2] is not None and b.action != f"a{ap[2]}":
                continue
            t = apply_binding(b, s)
            if t is not None and evaluate(before, s) and not evaluate(after, t):
                worst = d + 1 if worst is None else min(worst, d + 1)
    return worst


@settings(rs.SETTINGS, max_examples=30)  # each example compiles a C library too
@given(with_action_property())
def test_random_action_properties_agree_with_the_naive_reading(case: Any) -> None:
    desc, ap = case
    try:
        model = rs.build_spec(desc, action_property=ap).trace()
        _predicate(desc, ap[0]), _predicate(desc, ap[1])
    except ModelError:
        return
    if isinstance(rs.naive_reachable(model), (str, type(None))):
        return
    try:
        want = _expected(model, desc, ap)
    except ModelError:
        return  # a predicate that errs on some state (a null read): the engines report a model error
    cm = compile_model(model)
    result = Explorer(cm, symmetry=False, check_deadlock=False).run()
    if want is None:
        event("action property holds")
        assert result.verdict == "ok"
    else:
        event("action property fails")
        v = result.violation
        assert v is not None and v.kind == "action" and v.property_id == "A1"
        assert len(v.trace) - 1 == want
        for prev, cur in zip(v.trace, v.trace[1:], strict=False):
            assert cur.binding is not None
            assert apply_binding(model.bindings[cur.binding], prev.state) == cur.state
        last = v.trace[-1]
        assert last.binding is not None and "A1" in cm.step_allowed(last.binding, v.trace[-2].state)
    if NATIVE:
        spec = rs.build_spec(desc, action_property=ap)
        nat = run_check(spec, engine="native", symmetry=False, check_deadlock=False, default_trace_dir=None).result
        assert nat.verdict == result.verdict
        if result.violation is not None:
            assert nat.violation is not None
            assert (nat.violation.kind, nat.violation.property_id) == ("action", "A1")
            assert len(nat.violation.trace) == len(result.violation.trace)


@pytest.mark.parametrize("engine", ["python", "native"] if NATIVE else ["python"])
def test_mutex_holds_and_the_stealing_variant_breaks_mx3_on_its_last_step(engine: str) -> None:
    ok = run_check(mutex.build(history=True), engine=engine, default_trace_dir=None)
    assert ok.result.verdict == "ok" and "MXW2" in ok.result.witnesses_reached
    bad = run_check(mutex.build(steal=True), engine=engine, default_trace_dir=None)
    v = bad.result.violation
    assert v is not None and (v.kind, v.property_id) == ("action", "MX3")
    assert len(v.trace) - 1 == 3  # request, acquire by one process, release by the other
    last = v.trace[-1]
    assert last.binding is not None and bad.model.bindings[last.binding].action == "release"
    assert "the offending step" in counterexample_lines(bad)[-2] or any(
        "offending step" in line for line in counterexample_lines(bad)
    )


def test_action_properties_refuse_writes_and_require() -> None:
    spec = Spec("bad", {})
    spec.entity("e", 1, {"x": Bool()})

    @spec.action(p="e")
    def flip(s: Any, p: int) -> None:
        s.e[p].x = ~s.e[p].x

    @spec.action_property("W", "writes")
    def writes(pre: Any, step: Any, post: Any) -> object:
        post.e[0].x = True
        return True

    with pytest.raises(ModelError, match="must not assign"):
        spec.trace()
    spec.action_properties.clear()

    @spec.action_property("R", "requires")
    def requires(pre: Any, step: Any, post: Any) -> object:
        require(pre.e[0].x)
        return True

    with pytest.raises(ModelError, match="require"):
        spec.trace()


def test_a_per_session_ghost_on_a_singleton_is_refused_when_symmetry_would_not_permute_it() -> None:
    spec = Spec("ghosts", {})
    spec.entity("proc", 2, {"on": Bool()})
    spec.singleton("sched", {"n": Int(0, 2)})
    spec.ghost("sched", "last_proc_on", Int(0, 1), "which proc turned on last", per="proc")
    spec.symmetric("proc")
    with pytest.raises(UsageError) as e:
        spec.trace()
    msg = str(e.value)
    assert "sched.last_proc_on" in msg and "\n" not in msg
    # Declared on the kind it speaks of, the same history is permuted with its instance: accepted.
    ok = Spec("ghosts", {})
    ok.entity("proc", 2, {"on": Bool()})
    ok.ghost("proc", "was_last_on", Bool(), "this proc turned on last")
    ok.symmetric("proc")
    assert [g.field for g in ok.trace().ghosts] == ["was_last_on"]
