"""`#meta.explanation` of a trace: why the property has its value in the last state.

Written by the commands that have the model (`explore`, `serve`), read by those that do not
(`show`, `view`): the property evaluated as a tree of its sub-expressions on the violating
(or witnessing) state, the fields its deciding part reads, and every field it reads at all,
so a page can mark them on every step.
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang.explain import explain, fields_read
from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.spec import Property, TracedModel

State = tuple[Any, ...]


def property_expr(model: TracedModel, pid: str) -> tuple[Property, Expr] | None:
    """The traced predicate of invariant or witness `pid`."""
    return next(((p, e) for p, e in model.invariants + model.witnesses if p.id == pid), None)


def explanation_meta(model: TracedModel, pid: str, state: State, index: int) -> dict[str, Any] | None:
    """The `#meta.explanation` entry for property `pid` on `state` (state number `index`)."""
    found = property_expr(model, pid)
    if found is None:
        return None
    _, e = found
    out = explain(model, e, state)
    out["state"] = index
    out["property_reads"] = fields_read(e)
    return out


def culprit_instances(model: TracedModel, reads: list[str], kind: str | None) -> list[dict[str, Any]]:
    """The instances of `kind` whose fields the deciding part reads: `session[0].latch` -> session 0."""
    if kind is None:
        return []
    out: list[dict[str, Any]] = []
    for info in model.slots:
        if info.kind == kind and info.label in reads:
            item = {"kind": kind, "index": info.instance}
            if item not in out:
                out.append(item)
    return out


def step_explanation_meta(model: TracedModel, pid: str, trace: list[Any]) -> dict[str, Any] | None:
    """The `#meta.explanation` of an action property broken by the last step of `trace`: the
    rule as traced for that step's binding (its update substituted for the post-state), a
    condition on the state before the step, evaluated there."""
    if len(trace) < 2 or trace[-1].binding is None:
        return None
    check = next((a for a in model.action_checks if a.prop.id == pid and a.binding == trace[-1].binding), None)
    if check is None:
        return None
    index = len(trace) - 2
    out = explain(model, check.cond, trace[-2].state)
    out["state"] = index
    out["step"] = index + 1
    out["property_reads"] = fields_read(check.cond)
    return out
