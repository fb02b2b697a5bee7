"""Shared checks of a counterexample: it replays step by step, from memory and from its ITF form."""

from __future__ import annotations

import itertools
import json

from pgcheck.checker.run.check import CheckRun
from pgcheck.checker.traces.itf import state_from_itf, trace_to_itf


def labels(run: CheckRun) -> list[str]:
    assert run.result.violation is not None
    return [run.model.bindings[st.binding].label for st in run.result.violation.trace[1:] if st.binding is not None]


def assert_replays_to(run: CheckRun, pid: str) -> None:
    """The violation's trace starts at the initial state, each state is its binding applied to the
    one before, only the last state violates anything, and `pid` is the first invariant it violates;
    the ITF document written for it replays the same way."""
    viol = run.result.violation
    assert viol is not None
    trace = viol.trace
    cm = run.compiled
    assert trace[0].binding is None
    assert trace[0].state == run.model.init
    for prev, st in itertools.pairwise(trace):
        assert st.binding is not None
        assert cm.binding_step[st.binding](prev.state) == st.state
    for st in trace[:-1]:
        assert cm.check(st.state) == []
    if viol.kind == "action":
        # A rule about steps: every earlier step is allowed, the last one breaks `pid` first.
        for prev, st in itertools.pairwise(trace[:-1]):
            assert st.binding is not None and cm.step_allowed(st.binding, prev.state) == []
        last = trace[-1].binding
        assert last is not None and cm.step_allowed(last, trace[-2].state)[0] == pid
    else:
        assert cm.check(trace[-1].state)[0] == pid

    prop = run.property_by_id(pid)
    doc = json.loads(json.dumps(trace_to_itf(run.model, trace, kind="counterexample", prop=prop)))
    assert doc["#meta"]["property"]["id"] == pid
    by_label = run.model.binding_by_label()
    states = [state_from_itf(run.model, rec) for rec in doc["states"]]
    assert states == [st.state for st in trace]
    for i, step in enumerate(doc["#meta"]["steps"][1:], start=1):
        label = step["action"] + "(" + ", ".join(f"{k}={val}" for k, val in step["params"].items()) + ")"
        assert cm.binding_step[by_label[label].index](states[i - 1]) == states[i]
