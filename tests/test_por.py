"""Partial-order reduction (docs/reduction.md): the reduced search keeps every verdict.

The native engine with reduction on must agree with it off, and with the naive enumerator
of tests/naive.py, on: whether an invariant fails somewhere, whether a deadlock or a
run-time model error is reachable, on random specs (Hypothesis) and on every safety
mutation of the catalogue; and it must actually reduce where steps are independent.
"""

from __future__ import annotations

from typing import Any

import naive
import pytest
from hypothesis import event, given, settings
from pgcheck.checker.explicit.native.explorer import NativeExplorer
from pgcheck.checker.explicit.por import analyse
from pgcheck.checker.lang.compile import compile_model
from pgcheck.checker.lang.expr import and_, not_
from pgcheck.checker.lang.spec import Spec, TracedModel, require
from pgcheck.checker.lang.types import Int
from pgcheck.checker.run.check import POR_LIVENESS, native_unavailable, run_check
from pgcheck.model import load, make_config
from pgcheck.model.mutations import CATALOGUE
from test_random_specs import SETTINGS, naive_reachable, spec_descriptions, trace_or_none

pytestmark = pytest.mark.skipif(
    native_unavailable(load(make_config("pooled", 1, 1, {})).trace()) is not None, reason="no C compiler"
)


def workers(n: int, bad_pair: bool) -> Spec:
    """n workers counting 0..2 on their own; with bad_pair the invariant says workers 0 and
    n-1 are never both halfway, which only some interleavings break (a search that runs
    one worker to the end before the next never sees it)."""
    spec = Spec("workers", params={"n": n})
    spec.entity("w", n, {"pc": Int(0, 2)})

    @spec.action(p="w")
    def step(s: Any, p: int) -> None:
        require(s.w[p].pc < 2)
        s.w[p].pc = s.w[p].pc + 1

    if bad_pair:
        spec.invariant("W1", "workers 0 and n-1 are not both halfway")(
            lambda s: not_(and_(s.w[0].pc == 1, s.w[n - 1].pc == 1))
        )
    else:
        spec.invariant("W1", "worker 0 counts within range")(lambda s: s.w[0].pc <= 2)
    spec.quiescent(lambda s: and_(*(s.w[i].pc == 2 for i in range(n))))
    return spec


def explore(model: TracedModel, por: bool, *, deadlock: bool = True, symmetry: bool = False) -> Any:
    cm = compile_model(model)
    ex = NativeExplorer(cm, symmetry=symmetry, por=por, check_deadlock=deadlock)
    try:
        return ex.run()
    finally:
        ex.close()


def test_independent_workers_are_reduced_and_a_reachable_violation_is_still_found() -> None:
    model = workers(4, bad_pair=False).trace()
    full, reduced = explore(model, False), explore(model, True)
    assert full.verdict == reduced.verdict == "ok"
    assert full.distinct == 3**4
    assert reduced.por_reduced > 0
    assert reduced.distinct < full.distinct  # fewer interleavings, same verdict
    broken = workers(4, bad_pair=True).trace()
    full, reduced = explore(broken, False), explore(broken, True)
    assert full.verdict == reduced.verdict == "violation"
    assert reduced.violation is not None and reduced.violation.property_id == "W1"
    assert reduced.por_reduced > 0  # workers 1 and 2 were still left out somewhere


def test_dependency_tables_follow_reads_and_writes() -> None:
    model = workers(3, bad_pair=False).trace()
    red = analyse(model)
    # Each worker's step touches only its own counter: no binding depends on another.
    assert red.dependents == [[], [], []]
    # A step is enabled only by ... nobody else (only it writes its counter).
    assert all(e == [[]] for e in red.enablers)


def _has_deadlock(model: TracedModel, states: set[Any]) -> bool:
    return any(not list(naive.successors(model, s)) and not naive.holds(model.quiescent, s) for s in states)


@settings(SETTINGS, max_examples=30)  # each example compiles its own C library
@given(spec_descriptions())
def test_random_specs_keep_their_verdicts_under_reduction(desc: dict[str, Any]) -> None:
    model = trace_or_none(desc, with_invariant=True)
    if model is None:
        return
    expected = naive_reachable(model)
    if expected is None:
        return
    plain = trace_or_none(desc)  # the same spec without its invariant: errors and deadlocks
    assert plain is not None
    if isinstance(expected, str):
        event("model error")
        got = explore(plain, True, deadlock=False)
        assert got.verdict == "violation" and got.violation.kind == "model-error"
        return
    violated = any(naive.violated(model, s) for s in expected)
    event(f"invariant {'fails' if violated else 'holds'}")
    got = explore(model, True, deadlock=False)
    assert got.verdict == ("violation" if violated else "ok")
    if violated:  # the reported state does break it
        assert got.violation.property_id == "R1" and naive.violated(model, got.violation.trace[-1].state)
    deadlock = _has_deadlock(plain, expected)
    got = explore(plain, True)
    assert got.verdict == ("violation" if deadlock else "ok")
    if deadlock:
        last = got.violation.trace[-1].state
        assert got.violation.kind == "deadlock" and not list(naive.successors(plain, last))
    else:
        assert got.distinct <= len(expected)
        if got.por_reduced:
            event("reduced")


SAFETY_MUTATIONS = [m for m in CATALOGUE if not m.liveness]


@pytest.mark.parametrize("mutation", SAFETY_MUTATIONS, ids=[m.name for m in SAFETY_MUTATIONS])
def test_every_safety_mutation_is_caught_the_same_with_and_without_reduction(mutation: Any) -> None:
    outcomes = []
    for por in (False, True):
        run = run_check(mutation.build(None), engine="native", por=por, default_trace_dir=None, mutation=mutation.name)
        v = run.result.violation
        outcomes.append(v.property_id if v is not None else None)
        assert run.result.por == por
    assert outcomes[0] == outcomes[1] == mutation.expected


def test_liveness_runs_without_reduction_and_says_why() -> None:
    spec = load(make_config("pooled", 1, 1, {}))
    run = run_check(spec, engine="auto", por=True, liveness=True, default_trace_dir=None)
    assert not run.result.por and run.por_note == POR_LIVENESS


def test_a_step_left_out_along_a_cycle_is_still_taken() -> None:
    """One component cycles for ever; the other has one step that fails at run time. A
    reduction that always picked the cycling step would never fire the other (the ignoring
    problem); the breadth-first proviso expands a state fully when its reduced successor was
    seen before, so the failure is found."""
    spec = Spec("ignoring")
    spec.singleton("m", {"a": Int(0, 1), "x": Int(0, 1)})

    @spec.action()
    def flip(s: Any) -> None:
        s.m.a = 1 - s.m.a

    @spec.action()
    def bump(s: Any) -> None:
        s.m.x = s.m.x + 2  # out of range: a run-time check fails

    got = explore(spec.trace(), True, deadlock=False)
    assert got.verdict == "violation" and got.violation.kind == "model-error"
    assert "out-of-range write" in (got.violation.message or "")
