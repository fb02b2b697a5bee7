"""The breadth-first explorer: exact state counts, shortest counterexamples, bounds.

Counts are checked against numbers worked out by hand (the mutex) and against
tests/naive.py, an enumerator that shares nothing with the explorer but the traced IR.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import naive
import pytest
from pgcheck.checker.examples import mutex
from pgcheck.checker.explicit.explore import Bounds, Explorer, Progress
from pgcheck.checker.lang.compile import compile_model
from pgcheck.checker.lang.interpret import apply_binding
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.checker.lang.types import Bool, Enum, Int
from pgcheck.checker.run.check import run_check
from pgcheck.model import load, make_config

# ------------------------------------------------------------------ the mutex, by hand
#
# A state is (pc of every process, lock holder). From the initial state (all idle, no
# holder) `request` moves idle -> waiting, `acquire` waiting -> critical and sets the
# holder, `release` critical -> idle and clears it. So a reachable state has at most one
# critical process, the holder is exactly that process, and every other process is idle
# or waiting, independently:
#
#   no process critical:   2^n states (each idle or waiting, holder None)
#   one process critical:  n * 2^(n-1) (which one, and idle/waiting for the others)
#
#   procs=2:  4 + 2*2  =  8        procs=3:  8 + 3*4 = 20
#
# Up to renaming processes (symmetry) only the number of waiting processes matters:
#
#   no process critical:   n + 1 orbits (0..n waiting)
#   one process critical:  n orbits (0..n-1 of the others waiting)
#
#   procs=2:  3 + 2  =  5          procs=3:  4 + 3 = 7
#
# The diameter: all n processes waiting takes n steps; the deepest states are those
# with one critical and the others waiting, n + 1 steps (n requests, one acquire).

MUTEX_COUNTS = {2: (8, 5), 3: (20, 7)}


@pytest.mark.parametrize("procs", [2, 3])
def test_mutex_state_counts_by_hand_and_by_naive_enumeration(procs: int) -> None:
    nosym, sym = MUTEX_COUNTS[procs]
    model = mutex.build(procs).trace()
    assert len(naive.reachable(model)) == nosym
    off = Explorer(compile_model(model), symmetry=False).run()
    on = Explorer(compile_model(model), symmetry=True).run()
    assert (off.verdict, off.distinct) == ("ok", nosym)
    assert (on.verdict, on.distinct) == ("ok", sym)
    assert off.depth == procs + 1
    assert on.depth == procs + 1
    assert max(naive.depths(model).values()) == procs + 1


def test_mutex_witness_is_reached_at_depth_two() -> None:
    run = run_check(mutex.build(2), default_trace_dir=None)
    assert run.verdict == "ok"
    assert run.result.witnesses_reached == {"MXW": 2}  # request, acquire
    assert run.unreached_witnesses == []


def test_broken_mutex_shortest_counterexample() -> None:
    run = run_check(mutex.build(2, broken=True), default_trace_dir=None)
    v = run.result.violation
    assert run.verdict == "violation" and v is not None
    assert v.property_id == "MX1"
    # request p, request q, acquire p, acquire q: four steps, five states.
    assert len(v.trace) == 5
    assert naive.shallowest_violation(run.model) == 4
    labels = [run.model.bindings[s.binding].action for s in v.trace[1:]]  # type: ignore[index]
    assert sorted(labels) == ["acquire", "acquire", "request", "request"]
    assert "MX1" in naive.violated(run.model, v.trace[-1].state)


def test_counterexample_replays_from_the_initial_state() -> None:
    model = mutex.build(3, broken=True).trace()
    cm = compile_model(model)
    for sym in (False, True):
        r = Explorer(cm, symmetry=sym).run()
        assert r.violation is not None
        trace = r.violation.trace
        assert trace[0].state == model.init and trace[0].binding is None
        for prev, cur in itertools.pairwise(trace):
            assert cur.binding is not None
            assert apply_binding(model.bindings[cur.binding], prev.state) == cur.state


# ------------------------------------------------------------------ the runtime model, 1 x 1

# Every budget on (pinned here, so the test does not follow changes of the defaults).
SMALL = {
    "messages": 1,
    "active_clients": 1,
    "cancels": 1,
    "terminates": 1,
    "notifies": 1,
    "reschedules": 1,
    "commands": ("query", "begin", "commit", "sleep"),
}


@pytest.mark.parametrize("mode", ["process", "thread-per-session", "pooled"])
def test_runtime_one_session_count_equals_naive_enumeration(mode: str) -> None:
    carriers = 1 if mode == "pooled" else None
    opts = dict(SMALL)
    model = load(make_config(mode, carriers, 1, opts)).trace()
    t0 = time.monotonic()
    expected = naive.reachable(model, limit=200_000)
    naive_seconds = time.monotonic() - t0
    result = Explorer(compile_model(model), symmetry=False, check_deadlock=False).run()
    assert result.verdict == "ok"
    assert result.distinct == len(expected)
    assert naive_seconds < 20
    # The explorer's states are exactly the naive ones, not just as many.
    ex = Explorer(compile_model(model), symmetry=False, check_deadlock=False, keep_graph=True)
    ex.run()
    assert set(ex.states.values()) == expected


def test_runtime_one_session_passes_every_invariant() -> None:
    spec = load(make_config("pooled", 1, 1, SMALL))
    run = run_check(spec, symmetry=False, default_trace_dir=None)
    assert run.result.verdict == "ok", run.result.violation
    model = run.model
    for s in list(naive.reachable(model))[:2000]:
        assert naive.violated(model, s) == []


# ------------------------------------------------------------------ explorer mechanics


def counter_spec(hi: int = 5, deadlock: bool = True) -> Spec:
    spec = Spec("counter")
    spec.singleton("c", {"n": Int(0, hi), "done": Bool()})

    @spec.action()
    def inc(s: Any) -> None:
        require(s.c.n < hi)
        s.c.n = s.c.n + 1

    if not deadlock:

        @spec.action()
        def finish(s: Any) -> None:
            require((s.c.n == hi) & ~s.c.done)
            s.c.done = True

        spec.quiescent(lambda s: s.c.done)
    return spec


def test_deadlock_is_reported_with_a_trace_and_can_be_switched_off() -> None:
    cm = compile_model(counter_spec(3).trace())
    r = Explorer(cm).run()
    assert r.verdict == "violation"
    assert r.violation is not None and r.violation.kind == "deadlock"
    assert len(r.violation.trace) == 4  # n = 0, 1, 2, 3
    r2 = Explorer(cm, check_deadlock=False).run()
    assert (r2.verdict, r2.distinct) == ("ok", 4)


def test_quiescent_states_are_not_deadlocks() -> None:
    r = Explorer(compile_model(counter_spec(3, deadlock=False).trace())).run()
    assert (r.verdict, r.distinct, r.quiescent_states) == ("ok", 5, 1)


def test_max_states_and_max_depth_make_the_run_incomplete() -> None:
    cm = compile_model(counter_spec(9, deadlock=False).trace())
    r = Explorer(cm, bounds=Bounds(max_states=4)).run()
    assert r.verdict == "incomplete" and "--max-states 4" in r.stop_reason
    assert r.distinct == 4
    r = Explorer(cm, bounds=Bounds(max_depth=3)).run()
    assert r.verdict == "incomplete" and "--max-depth 3" in r.stop_reason
    assert r.distinct == 4  # depths 0..3
    r = Explorer(cm, bounds=Bounds(max_depth=11)).run()
    assert r.verdict == "ok" and r.distinct == 11


def test_time_limit_stops_a_long_run() -> None:
    cm = compile_model(load(make_config("pooled", 2, 3, dict(SMALL, messages=2, active_clients=3))).trace())
    calls: list[Progress] = []
    r = Explorer(cm, symmetry=False, bounds=Bounds(time_limit=0.3), on_progress=calls.append, progress_every=0.1).run()
    assert r.verdict == "incomplete" and "--time-limit" in r.stop_reason
    assert r.elapsed < 10
    assert calls and calls[-1].distinct > 0


def test_fired_and_new_state_counts() -> None:
    model = mutex.build(2).trace()
    r = Explorer(compile_model(model), symmetry=False).run()
    assert sum(r.new_states) == r.distinct - 1
    assert sum(r.fired) == r.generated - 1
    # Every transition of the naive graph is generated exactly once.
    edges = sum(len(list(naive.successors(model, s))) for s in naive.reachable(model))
    assert r.generated - 1 == edges


def test_invariant_failing_in_the_initial_state() -> None:
    spec = counter_spec(2)
    spec.invariant("Z", "n is positive")(lambda s: s.c.n > 0)
    r = Explorer(compile_model(spec.trace())).run()
    assert r.verdict == "violation" and r.violation is not None
    assert r.violation.property_id == "Z" and len(r.violation.trace) == 1


def test_only_the_chosen_invariants_are_checked() -> None:
    spec = mutex.build(2, broken=True)
    run = run_check(spec, invariants=["MX2"], default_trace_dir=None)
    assert run.result.violation is not None and run.result.violation.property_id == "MX2"
    assert run.compiled.invariant_ids == ["MX2"]


def test_enum_parameter_domains() -> None:
    spec = Spec("colors")
    color = Enum("color", ["red", "green", "blue"])
    spec.singleton("light", {"c": color})

    @spec.action(to=color)
    def paint(s: Any, to: str) -> None:
        require(s.light.c != to)
        s.light.c = to

    model = spec.trace()
    assert [b.label for b in model.bindings] == ["paint(to=red)", "paint(to=green)", "paint(to=blue)"]
    r = Explorer(compile_model(model)).run()
    assert (r.verdict, r.distinct, r.generated) == ("ok", 3, 1 + 3 * 2)
