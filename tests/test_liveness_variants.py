"""Each liveness property holds on the unmutated model and fails on its broken variant,
with a lasso that replays and whose cycle is fair."""

from __future__ import annotations

import itertools

import pytest
from liveness_variants import LIVENESS_VARIANTS, LivenessVariant
from pgcheck.checker.explicit.explore import Step
from pgcheck.checker.lang.compile import CompiledModel
from pgcheck.checker.run.check import run_check
from pgcheck.model.config import make_config
from pgcheck.model.runtime import build

FAIR = ("weak", "strong")


def changing(cm: CompiledModel, state: tuple[object, ...]) -> dict[int, tuple[object, ...]]:
    """Bindings with a state-changing step from `state` (stuttering steps do not count)."""
    return {bi: t for bi, t in cm.successors(state) if t != state}


def assert_lasso_replays_and_is_fair(cm: CompiledModel, trace: list[Step], loop: int) -> None:
    assert trace[0].state == cm.model.init
    for prev, st in itertools.pairwise(trace):
        assert st.binding is not None
        assert cm.binding_step[st.binding](prev.state) == st.state
    last = trace[-1].state
    cycle_states = [st.state for st in trace[loop:]]
    back = [bi for bi, t in changing(cm, last).items() if t == trace[loop].state]
    bindings = cm.model.bindings
    if back:  # a real cycle: pick the closing step, collect what the cycle takes
        taken = {st.binding for st in trace[loop + 1 :]} | {back[0]}
        enabled = [set(changing(cm, s)) for s in cycle_states]
        for bi, b in enumerate(bindings):
            if b.fairness == "weak" and all(bi in e for e in enabled):
                assert bi in taken, f"weak fairness of {b.label} refutes the cycle"
            if b.fairness == "strong" and any(bi in e for e in enabled):
                assert bi in taken, f"strong fairness of {b.label} refutes the cycle"
    else:  # stuttering in the last state: fair only if no fair binding can act there
        assert loop == len(trace) - 1
        assert not [bindings[bi].label for bi in changing(cm, last) if bindings[bi].fairness in FAIR]


@pytest.mark.parametrize("variant", LIVENESS_VARIANTS, ids=lambda v: v.id)
def test_property_holds_unmutated_and_fails_on_its_variant(variant: LivenessVariant) -> None:
    base = run_check(build(variant.cfg), properties=[variant.id], default_trace_dir=None)
    assert base.liveness is not None and base.result.violation is None
    (outcome,) = base.liveness.outcomes
    assert outcome.prop.id == variant.id and outcome.verdict == "holds"
    if outcome.prop.form == "leads-to":
        assert outcome.pending_states > 0  # the antecedent happens: the property is not vacuous here

    spec = variant.build()
    assert [a.name for a in spec.actions] == [a.name for a in build(variant.cfg).actions]
    run = run_check(spec, properties=[variant.id], default_trace_dir=None, check_deadlock=variant.check_deadlock)
    v = run.result.violation
    assert v is not None and v.kind == "liveness" and v.property_id == variant.id
    assert v.loop_index is not None and 0 <= v.loop_index < len(v.trace)
    assert_lasso_replays_and_is_fair(run.compiled, v.trace, v.loop_index)


def test_clients_finish_messages_assumption_excludes_a_pinned_carrier() -> None:
    """The same stuck behaviour is fair once the assumption that excludes it is switched off."""
    opts = {"messages": 1, "active_clients": 2, "commands": ("query",)}
    on = run_check(build(make_config("pooled", 1, 2, opts)), properties=["L1"], default_trace_dir=None)
    assert on.liveness is not None and on.result.violation is None
    off_cfg = make_config("pooled", 1, 2, {**opts, "clients_finish_messages": False})
    off = run_check(build(off_cfg), properties=["L1"], default_trace_dir=None)
    v = off.result.violation
    assert v is not None and v.property_id == "L1" and v.loop_index is not None
    assert_lasso_replays_and_is_fair(off.compiled, v.trace, v.loop_index)
    # the carrier waits for a message body that never comes: the run stutters there
    assert v.loop_index == len(v.trace) - 1
    assert any(st.state != v.trace[-1].state for st in v.trace)


def test_think_time_off_reproduces_b8_as_an_l3_lasso() -> None:
    cfg = make_config("pooled", 1, 2, {"think_time": False, "active_clients": 2, "commands": ("query",)})
    run = run_check(build(cfg), properties=["L3"], default_trace_dir=None)
    v = run.result.violation
    assert v is not None and v.property_id == "L3" and v.loop_index is not None
    assert v.loop_index < len(v.trace) - 1  # a real cycle: the other session keeps the carrier busy
    assert_lasso_replays_and_is_fair(run.compiled, v.trace, v.loop_index)
    sessions_served = {run.model.bindings[st.binding].params.get("b") for st in v.trace[v.loop_index + 1 :]}
    starved = int(v.message.split("=")[1].rstrip("]"))
    assert starved not in sessions_served
