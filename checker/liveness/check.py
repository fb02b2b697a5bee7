"""Run the liveness checker over an explored graph for a model's temporal properties."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from pgcheck.checker.errors import UsageError, did_you_mean
from pgcheck.checker.explicit.explore import Explorer, Step, Violation
from pgcheck.checker.lang.spec import Binding, Temporal, TracedModel, TracedTemporal
from pgcheck.checker.liveness.fair_cycles import FAIR, Lasso, find_lasso, obligation
from pgcheck.checker.liveness.graph import State, StateGraph, build_graph, compile_predicates
from pgcheck.checker.memory import peak_rss_bytes

# This checker judges components of the concrete graph: the properties and the fairness are
# per instance (L3 for session 2, weak fairness of LeaseRunnable(c=1, b=2)), and a cycle of
# the quotient need not be one of a behaviour. The native checker judges the quotient by
# lifting (checker/liveness/native.py, docs/liveness.md).
SYMMETRY_OFF = (
    "liveness with the python engine runs without symmetry reduction: it judges components of the concrete "
    "graph only (the native engine checks the quotient, docs/liveness.md)"
)


@dataclass
class LassoNodes:
    """The states of a lasso found by the native engine and the bindings enabled in each (a
    step that changes the state), keyed by state number: what the explanations read of a graph."""

    states: dict[int, State]
    enabled: dict[int, frozenset[int]]


@dataclass
class PropertyOutcome:
    prop: Temporal
    verdict: str  # "holds" | "VIOLATED"
    pending_states: int  # states where some instance's obligation is pending
    violated_instance: str | None = None
    lasso: Lasso | None = None


@dataclass
class LivenessReport:
    outcomes: list[PropertyOutcome]
    graph_states: int
    graph_edges: int
    seconds: float
    peak_rss_bytes: int
    graph: StateGraph | LassoNodes  # the whole graph (Python) or the lassos' states (native)
    skipped: dict[str, str] = field(default_factory=dict)  # id -> why it does not apply here

    def violated(self) -> list[PropertyOutcome]:
        return [o for o in self.outcomes if o.lasso is not None]


def select(model: TracedModel, ids: list[str] | None, skipped: dict[str, str]) -> list[Temporal]:
    """The temporal properties to check: all of the model's, or those named (UsageError otherwise)."""
    props: list[Temporal] = []
    for o in model.temporal:
        if o.prop not in props:
            props.append(o.prop)
    if not ids:
        return props
    known = {p.id: p for p in props}
    for pid in ids:
        if pid in known:
            continue
        if pid in skipped:
            raise UsageError(f"property {pid} does not apply to this configuration: {skipped[pid]}")
        names = ", ".join(known) or "none"
        raise UsageError(f"unknown liveness property {pid}{did_you_mean(pid, known) or ';'} this configuration has: {names}")
    return [known[i] for i in dict.fromkeys(ids)]


def graph_of(explorer: Explorer) -> StateGraph:
    init = hash(explorer.normalize(explorer.cm.model.init))
    return build_graph(init, explorer.states, explorer.edges)


def check_liveness(
    model: TracedModel, explorer: Explorer, props: list[Temporal], skipped: dict[str, str] | None = None
) -> LivenessReport:
    t0 = time.monotonic()
    g = graph_of(explorer)
    fairness = [b.fairness for b in model.bindings]
    chosen = [o for o in model.temporal if o.prop in props]
    exprs = []
    for o in chosen:
        exprs += [o.p, o.q] if o.p is not None else [o.q]
    fns = compile_predicates(model, [e for e in exprs if e is not None])
    outcomes: dict[str, PropertyOutcome] = {p.id: PropertyOutcome(p, "holds", 0) for p in props}
    pending: dict[str, set[int]] = {p.id: set() for p in props}
    k = 0
    for o in chosen:
        if o.p is not None:
            p_fn, q_fn = fns[k], fns[k + 1]
            k += 2
        else:
            p_fn, q_fn = None, fns[k]
            k += 1
        ob = obligation(o.prop.form, p_fn, q_fn, g)
        pending[o.prop.id].update(n for n in range(len(g)) if ob.start(n) and (ob.must is None or ob.must(n)))
        out = outcomes[o.prop.id]
        if out.lasso is not None:
            continue
        lasso = find_lasso(g, fairness, ob)
        if lasso is not None:
            out.verdict, out.violated_instance, out.lasso = "VIOLATED", o.label, lasso
    for pid, nodes in pending.items():
        outcomes[pid].pending_states = len(nodes)
    return LivenessReport(
        [outcomes[p.id] for p in props],
        len(g),
        g.edge_count,
        time.monotonic() - t0,
        peak_rss_bytes(),
        g,
        dict(skipped or {}),
    )


def lasso_steps(g: StateGraph | LassoNodes, lasso: Lasso) -> list[Step]:
    return [Step(g.states[n], b) for b, n in lasso.path]


def first_violation(report: LivenessReport) -> Violation | None:
    """The first violated property (in declaration order) as a `Violation` with its lasso."""
    for out in report.violated():
        assert out.lasso is not None
        steps = lasso_steps(report.graph, out.lasso)
        return Violation("liveness", out.prop.id, steps, out.violated_instance or "", loop_index=out.lasso.loop_index)
    return None


def instance_of(model: TracedModel, label: str) -> TracedTemporal | None:
    return next((o for o in model.temporal if o.label == label), None)


def lasso_itf_meta(model: TracedModel, report: LivenessReport, pid: str) -> dict[str, Any]:
    out = next(o for o in report.outcomes if o.prop.id == pid)
    ob = instance_of(model, out.violated_instance or "")
    assert out.lasso is not None and ob is not None
    return lasso_meta(model, report.graph, ob, out.lasso)


# Explaining a lasso: why its cycle is fair, and in one sentence what never happens.

def fairness_notes(model: TracedModel, g: StateGraph | LassoNodes, lasso: Lasso) -> list[str]:
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


def lasso_meta(model: TracedModel, g: StateGraph | LassoNodes, ob: TracedTemporal, lasso: Lasso) -> dict[str, Any]:
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
