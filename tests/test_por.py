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
from hypothesis import strategies as st
from pgcheck.checker.explicit.native.explorer import NativeExplorer
from pgcheck.checker.explicit.por import analyse, reads
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


def _reduced_invariant_verdict(model: TracedModel, expected: set[Any], pid: str) -> tuple[Any, bool]:
    """The reduced search's verdict on invariant `pid`, held to the naive enumerator's reachable
    states: a violation exactly when one of them breaks it, at a state that does."""
    violated = any(naive.violated(model, s) for s in expected)
    event(f"invariant {'fails' if violated else 'holds'}")
    got = explore(model, True, deadlock=False)
    assert got.verdict == ("violation" if violated else "ok")
    if violated:  # the reported state does break it
        assert got.violation.property_id == pid and naive.violated(model, got.violation.trace[-1].state)
    return got, violated


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
    _reduced_invariant_verdict(model, expected, "R1")
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


# ------------------------------------------------------------------ value-aware changers


def phases(n: int, moves: list[tuple[int, int]], bad: int, invariant_on: list[int]) -> Spec:
    """n workers whose phase (0..3) moves by `moves`: (from, to) pairs, each an action that
    requires phase == from and writes the constant to. The invariant says the workers in
    `invariant_on` never reach phase `bad`."""
    spec = Spec("phases", params={"n": n})
    spec.entity("w", n, {"phase": Int(0, 3)})

    def mover(a: int, b: int) -> Any:
        def move(s: Any, p: int) -> None:
            require(s.w[p].phase == a)
            s.w[p].phase = b

        return move

    for k, (a, b) in enumerate(moves):
        spec.action(name=f"move{k}", p="w")(mover(a, b))
    spec.invariant("P1", "the watched workers never reach the bad phase")(
        lambda s: and_(*(s.w[i].phase != bad for i in invariant_on))
    )
    return spec


def test_a_phase_no_step_writes_needs_no_goal_and_the_search_is_reduced() -> None:
    """Every step writes the phase slot the invariant reads, so "writers of what it reads"
    would put every step of every worker in the goal set; only changers that can write the
    bad phase count, and none can, so the independent workers are reduced."""
    model = phases(3, [(0, 1), (1, 2)], bad=3, invariant_on=[0, 1, 2]).trace()
    red = analyse(model)
    inv = model.invariants[0][1]
    assert red.writers_of(reads(inv)) == list(range(len(model.bindings)))  # the static rule: everything
    full, reduced = explore(model, False, deadlock=False), explore(model, True, deadlock=False)
    assert full.verdict == reduced.verdict == "ok"
    assert full.distinct == 3**3
    assert reduced.por_reduced > 0 and reduced.distinct < full.distinct
    # One worker can reach the bad phase: the search must still find it.
    broken = phases(3, [(0, 1), (1, 2), (2, 3)], bad=3, invariant_on=[2]).trace()
    full, reduced = explore(broken, False, deadlock=False), explore(broken, True, deadlock=False)
    assert full.verdict == reduced.verdict == "violation"
    assert reduced.violation.property_id == "P1"
    assert reduced.violation.trace[-1].state is not None


def test_changers_follow_the_guard_pin_and_the_written_constants() -> None:
    model = phases(1, [(0, 1), (1, 2), (2, 0)], bad=3, invariant_on=[0]).trace()
    red = analyse(model)
    (slot,) = red.changers
    ch = {c.binding: c for c in red.changers[slot]}
    assert [(c.pin, c.values) for c in ch.values()] == [(0, frozenset({1})), (1, frozenset({2})), (2, frozenset({0}))]
    assert ch[0].changes_from(0) and not ch[0].changes_from(1)  # pinned to phase 0
    assert ch[1].changes_from(1, to=2) and not ch[1].changes_from(1, to=3)  # writes only 2
    assert not any(c.changes_from(x, to=3) for c in ch.values() for x in range(4))


@st.composite
def phase_specs(draw: Any) -> tuple[int, list[tuple[int, int]], int, list[int]]:
    n = draw(st.integers(1, 3))
    moves = draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=5))
    bad = draw(st.integers(0, 3))
    watched = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    return n, moves, bad, watched


@settings(SETTINGS, max_examples=25)  # each example compiles its own C library
@given(phase_specs())
def test_random_phase_machines_keep_their_verdicts_under_value_aware_reduction(
    case: tuple[int, list[tuple[int, int]], int, list[int]],
) -> None:
    """Guards pin a slot and updates write constants: the cases where the changers of
    por.Changer leave writers out. The verdict must be the naive enumerator's."""
    n, moves, bad, watched = case
    model = phases(n, moves, bad, watched).trace()
    expected = naive_reachable(model)
    assert isinstance(expected, set)
    got, violated = _reduced_invariant_verdict(model, expected, "P1")
    if not violated:
        assert got.distinct <= len(expected)
    if got.por_reduced:
        event("reduced")


def counters(n: int, top: int, watch_all: bool) -> Spec:
    """n independent counters 0..top; the invariant reads all of them (every step may break
    it, so every stubborn set is full) or only counter 0."""
    spec = Spec("counters", params={"n": n})
    spec.entity("w", n, {"pc": Int(0, top)})

    @spec.action(p="w")
    def step(s: Any, p: int) -> None:
        require(s.w[p].pc < top)
        s.w[p].pc = s.w[p].pc + 1

    watched = range(n) if watch_all else range(1)
    spec.invariant("C1", "the watched counters stay in range")(lambda s: and_(*(s.w[i].pc <= top for i in watched)))
    spec.quiescent(lambda s: and_(*(s.w[i].pc == top for i in range(n))))
    return spec


def test_the_trial_switches_off_a_reduction_that_leaves_nothing_out_unless_kept() -> None:
    """Past 20,000 expanded states the engine keeps stubborn sets only if they leave out at
    least 1 in 5 firings (docs/reduction.md); --keep-por keeps them regardless."""
    def run(model: TracedModel, keep: bool) -> Any:
        ex = NativeExplorer(compile_model(model), symmetry=False, por=True, keep_por=keep)
        try:
            return ex.run()
        finally:
            ex.close()

    full_sets = counters(4, 12, watch_all=True).trace()  # 13**4 = 28,561 states
    dropped, kept = run(full_sets, False), run(full_sets, True)
    assert dropped.verdict == kept.verdict == "ok"
    assert dropped.distinct == kept.distinct == 13**4
    assert dropped.por_dropped_at >= 20_000 and not kept.por_dropped_at
    assert kept.por_reduced == 0  # every set was full: nothing to keep it for
    reducing = counters(4, 12, watch_all=False).trace()
    got = run(reducing, False)
    assert got.verdict == "ok" and not got.por_dropped_at and got.por_reduced > 0
    assert got.distinct < 13**4


def test_the_runtime_model_with_one_carrier_and_every_interrupt_kind_is_reduced() -> None:
    """With one carrier the interrupts, the client's steps and the timeouts commute with the
    session's steps often enough for the changers to leave them out (docs/reduction.md)."""
    mix = {"cancels": 1, "terminates": 1, "notifies": 1, "reloads": 1, "client_close": True,
           "idle_session_timeout": True, "idle_in_xact_timeout": True}
    spec = load(make_config("pooled", 1, 1, mix, model="design"))
    runs = [run_check(spec, engine="native", por=por, default_trace_dir=None) for por in (False, True)]
    off, on = (r.result for r in runs)
    assert off.verdict == on.verdict == "ok"
    assert on.por_reduced > 0 and on.distinct < off.distinct
