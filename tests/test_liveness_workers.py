"""The native liveness graph is the same for any number of threads (checker/liveness/live.c,
"building, in batches"): threads expand a batch of states, the caller merges it in state
order. So states get the numbers one thread gives them, and everything read off the graph
is equal: the counts, the first safety violation and its trace, the verdicts, the pending
counts and the lassos, and the breadth-first path to any state.

The models are the code model's at sizes whose levels hold thousands of states, so every
batch is split between threads; with and without symmetry, with a liveness mutation, with
a safety violation, and with a state bound that stops the search inside a batch.
"""

from __future__ import annotations

from typing import Any

import pytest
from pgcheck.checker.explicit.explore import Bounds
from pgcheck.checker.lang.compile import compile_model
from pgcheck.checker.lang.spec import Spec
from pgcheck.checker.liveness.check import select
from pgcheck.checker.liveness.native import NativeLiveness
from pgcheck.model import load
from pgcheck.model.config import make_config
from pgcheck.model.mutations import CATALOGUE
from test_native_liveness import _skip_without_compiler

MUTATION = next(m for m in CATALOGUE if m.name == "busy-clients-no-budget")  # L3


def graph_facts(spec: Spec, workers: int, symmetry: bool, bounds: Bounds | None = None) -> dict[str, Any]:
    """Everything a run reads off the graph, from one build with this many threads."""
    cm = compile_model(spec.trace())
    nat = NativeLiveness(cm, symmetry=symmetry, workers=workers, bounds=bounds)
    try:
        res = nat.run()
        v = res.violation
        facts: dict[str, Any] = {
            "counts": (res.verdict, res.distinct, res.generated, res.depth, res.quiescent_states, nat.graph_edges),
            "fired": (res.fired, res.new_states),
            "violation": None if v is None else (v.property_id, [s.binding for s in v.trace]),
            "stop": nat.stop_reason,
        }
        n = nat.graph_states
        facts["paths"] = [nat.binding_path(i) for i in range(0, n, max(n // 40, 1))]
        if nat.graph_complete:
            report = nat.check(select(cm.model, None, {}))
            facts["liveness"] = [
                (o.prop.id, o.verdict, o.pending_states, o.violated_instance,
                 None if o.lasso is None else (o.lasso.path, o.lasso.loop_index, o.lasso.closing))
                for o in report.outcomes
            ]
        return facts
    finally:
        nat.close()


def assert_same_for_any_workers(spec: Spec, symmetry: bool, bounds: Bounds | None = None) -> dict[str, Any]:
    one = graph_facts(spec, 1, symmetry, bounds)
    for workers in (2, 3):
        assert graph_facts(spec, workers, symmetry, bounds) == one, workers
    return one


@pytest.mark.parametrize("symmetry", [False, True])
def test_a_liveness_mutation_gives_the_same_graph_and_lasso(symmetry: bool) -> None:
    _skip_without_compiler()
    c = MUTATION.smallest
    spec = MUTATION.build(make_config(c.mode, 2, 3, dict(c.options), model=c.model))
    one = assert_same_for_any_workers(spec, symmetry)
    assert one["counts"][1] > 5_000  # levels of hundreds of states: many pieces of 64 per batch
    assert (MUTATION.expected, "VIOLATED") in [(p, v) for p, v, *_ in one["liveness"]]


def test_a_safety_violation_gives_the_same_first_violation_and_trace() -> None:
    _skip_without_compiler()
    spec = load(make_config("pooled", 2, 3, {}, model="code"))  # the code model: S17c (c-code-notes C2a)
    one = assert_same_for_any_workers(spec, True)
    assert one["violation"] is not None and one["violation"][0] == "S17c"


def test_a_state_bound_stops_every_build_at_the_same_state() -> None:
    _skip_without_compiler()
    spec = load(make_config("pooled", 2, 3, {"fix_poller_ownership": True}, model="code"))
    one = assert_same_for_any_workers(spec, True, Bounds(max_states=10_000))
    assert one["stop"] == "--max-states 10000 reached" and "liveness" not in one
