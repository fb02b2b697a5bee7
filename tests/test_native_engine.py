"""Differential tests: the native engine (generated C) against the reference explorer.

The native engine must give exactly the reference explorer's results: the same distinct
and generated counts, depth, witness depths and per-action coverage with symmetry off;
the same counts with it on (both canonical forms are exact, so both count orbits); the
same verdicts, violated property and counterexample length on every broken variant; the
same states on Hypothesis-generated specs. Several workers find the same states as one.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import test_random_specs as rs
from hypothesis import given, settings
from pgcheck.checker.errors import UsageError
from pgcheck.checker.explicit.explore import Bounds, Explorer, Result
from pgcheck.checker.explicit.native.explorer import NativeExplorer
from pgcheck.checker.lang.spec import Spec
from pgcheck.checker.run.check import native_unavailable, prepare, run_check
from pgcheck.model import load, make_config
from variants import VARIANTS, Variant

pytestmark = pytest.mark.skipif(
    native_unavailable(load(make_config("pooled", 1, 1, {})).trace()) is not None, reason="no C compiler"
)


def both(spec: Spec, symmetry: bool, workers: int = 1, invariants: list[str] | None = None) -> tuple[Result, Result]:
    _, cm, _ = prepare(spec, invariants)
    ref = Explorer(cm, symmetry=symmetry).run()
    nat = NativeExplorer(cm, symmetry=symmetry, workers=workers).run()
    return ref, nat


CONFIGS = [
    ("process", None, 2, {"messages": 1, "cancels": 1, "client_close": True}),
    ("thread-per-session", None, 2, {"messages": 1, "notifies": 1, "idle_session_timeout": True}),
    ("pooled", 1, 1, {"messages": 2, "cancels": 1, "terminates": 1, "reschedules": 1, "postmaster_death": True}),
    ("pooled", 2, 2, {"sticky_idle": True, "affinity_enforced": True}),
    ("pooled", 2, 3, {}),
]


@pytest.mark.parametrize("mode,carriers,sessions,options", CONFIGS)
def test_same_states_as_the_reference_explorer(mode: str, carriers: int | None, sessions: int, options: dict[str, Any]) -> None:
    spec = load(make_config(mode, carriers, sessions, options))
    for symmetry in (False, True):
        ref, nat = both(spec, symmetry)
        assert nat.verdict == ref.verdict == "ok"
        assert (nat.distinct, nat.generated, nat.depth) == (ref.distinct, ref.generated, ref.depth)
        assert nat.witnesses_reached == ref.witnesses_reached
        assert nat.quiescent_states == ref.quiescent_states
        if not symmetry:  # with symmetry the two engines pick different orbit representatives
            assert nat.fired == ref.fired
            assert nat.new_states == ref.new_states


def test_symmetry_reduces_and_two_workers_find_the_same_states() -> None:
    spec = load(make_config("pooled", 2, 3, {"messages": 1, "active_clients": 2}))
    _, cm, _ = prepare(spec)
    one = NativeExplorer(cm, symmetry=True).run()
    two = NativeExplorer(cm, symmetry=True, workers=2).run()
    full = NativeExplorer(cm, symmetry=False, workers=2).run()
    assert (two.distinct, two.generated, two.depth) == (one.distinct, one.generated, one.depth)
    assert two.fired == one.fired  # one canonical form, so the same states are expanded
    assert one.distinct < full.distinct


@pytest.mark.parametrize("carriers,sessions,symmetry", [(3, 4, True), (2, 4, False)])
@pytest.mark.parametrize("workers", [1, 2])
def test_at_most_16_bytes_per_state_and_witness_traces(carriers: int, sessions: int, symmetry: bool, workers: int) -> None:
    """The visited set stays at least 7/12 full and the parent map is on disk (docs/engines.md);
    ids given at a level's end still lead to the witnesses at their depths."""
    _, cm, _ = prepare(load(make_config("pooled", carriers, sessions, {})))
    ex = NativeExplorer(cm, symmetry=symmetry, workers=workers)
    r = ex.run()
    assert r.verdict == "ok" and r.bytes_per_state is not None and r.bytes_per_state <= 16
    assert r.witnesses_reached
    for wid, depth in r.witnesses_reached.items():
        assert len(ex.trace_to(r.witness_states[wid])) == depth + 1


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_same_counterexample_on_every_broken_variant(variant: Variant) -> None:
    invariants = [variant.id] if variant.only else None
    ref, nat = both(variant.build(), True, invariants=invariants)
    assert nat.verdict == ref.verdict == "violation"
    assert nat.violation is not None and ref.violation is not None
    assert (nat.violation.kind, nat.violation.property_id) == (ref.violation.kind, ref.violation.property_id)
    assert len(nat.violation.trace) == len(ref.violation.trace)
    # The native trace replays through the reference compiled steps.
    _, cm, _ = prepare(variant.build(), invariants)
    trace = nat.violation.trace
    for prev, step in itertools.pairwise(trace):
        assert step.binding is not None
        assert cm.binding_step[step.binding](prev.state) == step.state
    assert cm.invariant_ids[cm.first_violation(trace[-1].state)] == variant.id


def test_two_workers_find_the_same_shortest_violation() -> None:
    variant = next(v for v in VARIANTS if v.id == "S15")
    ref, nat = both(variant.build(), True, workers=2)
    assert nat.violation is not None and ref.violation is not None
    assert nat.violation.property_id == ref.violation.property_id == "S15"
    assert len(nat.violation.trace) == len(ref.violation.trace)


def test_bounds_stop_the_native_engine() -> None:
    spec = load(make_config("pooled", 2, 3, {}))
    _, cm, _ = prepare(spec)
    r = NativeExplorer(cm, bounds=Bounds(max_states=500)).run()
    assert r.verdict == "incomplete" and "--max-states" in r.stop_reason and r.distinct >= 500
    r = NativeExplorer(cm, bounds=Bounds(max_depth=5)).run()
    assert r.verdict == "incomplete" and "--max-depth" in r.stop_reason and r.depth == 5
    full = NativeExplorer(cm).run()
    assert full.verdict == "ok" and full.distinct > 500 and full.depth > 5


def test_engine_choice_errors_are_one_line_usage_errors() -> None:
    spec = load(make_config("pooled", 1, 1, {}))
    with pytest.raises(UsageError, match="--workers needs the native engine"):
        run_check(spec, engine="python", workers=2, default_trace_dir=None)
    with pytest.raises(UsageError, match="unknown engine"):
        run_check(spec, engine="gpu", default_trace_dir=None)
    run = run_check(spec, engine="auto", keep_graph=True, default_trace_dir=None)
    assert run.result.engine == "python"  # an explored graph is only kept by the Python engine
    run = run_check(spec, engine="auto", default_trace_dir=None)
    assert run.result.engine == "native" and run.result.bytes_per_state is not None


@settings(max_examples=25, deadline=None, suppress_health_check=rs.SETTINGS.suppress_health_check)
@given(rs.spec_descriptions())
def test_random_specs_agree_with_the_reference_explorer(desc: dict[str, Any]) -> None:
    spec = rs.build_spec(desc, with_invariant=True)
    try:
        _, cm, _ = prepare(spec)
    except Exception:  # a spec the language rejects at trace time is not an engine test
        return
    ref = Explorer(cm, symmetry=False, bounds=Bounds(max_states=rs.LIMIT)).run()
    nat = NativeExplorer(cm, symmetry=False, bounds=Bounds(max_states=rs.LIMIT)).run()
    assert nat.verdict == ref.verdict
    if ref.verdict == "ok":
        assert (nat.distinct, nat.generated, nat.depth) == (ref.distinct, ref.generated, ref.depth)
    if ref.violation is not None:
        assert nat.violation is not None
        assert (nat.violation.kind, nat.violation.property_id) == (ref.violation.kind, ref.violation.property_id)
        assert len(nat.violation.trace) == len(ref.violation.trace)
