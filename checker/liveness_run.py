"""Run the liveness checker over an explored graph for a model's temporal properties."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from pgcheck.checker.errors import UsageError
from pgcheck.checker.explore import Explorer, Step, Violation
from pgcheck.checker.graph import StateGraph, build_graph, compile_predicates
from pgcheck.checker.lasso_explain import lasso_meta
from pgcheck.checker.liveness import Lasso, find_lasso, obligation
from pgcheck.checker.memory import peak_rss_bytes
from pgcheck.checker.spec import Temporal, TracedModel, TracedTemporal

# Symmetry reduction is refused for liveness: the properties and the fairness are per
# instance (L3 for session 2, weak fairness of LeaseRunnable(c=1, b=2)), and a cycle of the
# quotient graph need not lift to a fair cycle of one behaviour; that is not shown sound here.
SYMMETRY_OFF = "liveness runs without symmetry reduction: per-instance fairness and obligations are not shown sound on the quotient graph"


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
    graph: StateGraph
    skipped: dict[str, str] = field(default_factory=dict)  # id -> why it does not apply here
    symmetry_note: str = SYMMETRY_OFF

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
        raise UsageError(f"unknown liveness property {pid}; this configuration has: {names}")
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


def lasso_steps(g: StateGraph, lasso: Lasso) -> list[Step]:
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
