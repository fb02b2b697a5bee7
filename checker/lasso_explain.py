"""Explaining a lasso: why its cycle is fair, and in one sentence what never happens."""

from __future__ import annotations

from typing import Any

from pgcheck.checker.graph import StateGraph
from pgcheck.checker.liveness import FAIR, Lasso
from pgcheck.checker.spec import Binding, TracedModel, TracedTemporal


def fairness_notes(model: TracedModel, g: StateGraph, lasso: Lasso) -> list[str]:
    """Why the repeating part is fair: every fairly scheduled binding enabled in it is taken
    in it, or (weak fairness) disabled at some step of it."""
    bindings = model.bindings
    nodes = lasso.cycle_nodes()
    start = lasso.loop_index
    if lasso.stutters:
        enabled = sorted(g.enabled[nodes[0]])
        others = _collapse([bindings[b] for b in enabled])
        line = f"the behaviour stays in step {start}: no action with weak or strong fairness is enabled there"
        return [line + (f"; enabled are only steps nobody is obliged to take: {others}" if others else "")]
    taken = set(lasso.cycle_bindings())
    fair_seen = sorted({b for n in nodes for b in g.enabled[n] if bindings[b].fairness in FAIR})
    took = [bindings[b] for b in fair_seen if b in taken]
    out = []
    if took:
        out.append("taken in the cycle: " + _collapse(took))
    for b in fair_seen:
        if b in taken:
            continue
        off = next(start + k for k, n in enumerate(nodes) if b not in g.enabled[n])
        out.append(f"weak fairness of {bindings[b].label}: enabled in the cycle but not continuously (disabled at step {off})")
    return out


def _collapse(bs: list[Binding]) -> str:
    """`PollTake(c=0), PollTake(c=1)` -> `PollTake(c=0|1)`: one entry per action."""
    by: dict[str, list[Binding]] = {}
    for b in bs:
        by.setdefault(b.action, []).append(b)
    parts = []
    for action, items in by.items():
        keys = list(items[0].params)
        if not keys:
            parts.append(action)
            continue
        vals = {k: sorted({str(b.params[k]) for b in items}) for k in keys}
        parts.append(f"{action}(" + ", ".join(f"{k}={'|'.join(v)}" for k, v in vals.items()) + ")")
    return ", ".join(parts)


def activity(model: TracedModel, lasso: Lasso) -> str:
    """Who keeps doing what along the cycle, grouped by the first entity parameter."""
    kinds = {a.name: a.params for a in model.actions}
    actors: dict[str, dict[str, set[str]]] = {}
    for bi in lasso.cycle_bindings():
        b = model.bindings[bi]
        params = kinds.get(b.action, {})
        ents = [(k, params[k], v) for k, v in b.params.items() if isinstance(params.get(k), str)]
        who = f"{ents[0][1]} {ents[0][2]}" if ents else "the environment"
        entry = actors.setdefault(who, {})
        served = ", ".join(f"{kind} {v}" for _, kind, v in ents[1:])
        entry.setdefault(served, set()).add(b.action)
    phrases = []
    for who, by in actors.items():
        for served, acts in by.items():
            what = ", ".join(sorted(acts))
            phrases.append(f"{who} keeps serving {served} ({what})" if served else f"{who} keeps doing {what}")
    return "; ".join(phrases)


def never_sentence(model: TracedModel, ob: TracedTemporal, lasso: Lasso) -> str:
    prop = ob.prop
    what = (prop.never or f"{prop.id} is never met").format(i=ob.index)
    if lasso.stutters:
        return f"{what}: the behaviour stops in a state where nothing obliged to act can act."
    return f"{what}, while {activity(model, lasso)}."


def lasso_meta(model: TracedModel, g: StateGraph, ob: TracedTemporal, lasso: Lasso) -> dict[str, Any]:
    """The `#meta` entries of a lasso's ITF file."""
    prop = ob.prop
    closing = None if lasso.closing is None else model.bindings[lasso.closing]
    return {
        "property": {
            "id": prop.id,
            "kind": "liveness",
            "form": prop.form,
            "statement": prop.statement,
            "citation": prop.cite,
            "relies": list(prop.relies),
            "instance": ob.label,
        },
        "loop": lasso.loop_index,
        "loop_closing": None if closing is None else {"action": closing.action, "params": dict(closing.params)},
        "fair_under": fairness_notes(model, g, lasso),
        "never": never_sentence(model, ob, lasso),
    }
