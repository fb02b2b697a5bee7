"""What `pgcheck explore --liveness` prints: property verdicts, figures, and a lasso."""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lasso_explain import fairness_notes, never_sentence
from pgcheck.checker.liveness_run import LivenessReport, instance_of
from pgcheck.checker.memory import human_bytes
from pgcheck.checker.session import CheckRun
from pgcheck.checker.summary import changed_fields


def liveness_lines(run: CheckRun) -> list[str]:
    out: list[str] = []
    if run.liveness_note:
        out.append(run.liveness_note)
    r = run.liveness
    if r is None:
        return out
    out.append(
        f"liveness ({r.graph_states:,} states, {r.graph_edges:,} edges, {r.seconds:.1f} s, "
        f"{human_bytes(r.peak_rss_bytes)} peak):"
    )
    for o in r.outcomes:
        note = f"pending in {o.pending_states:,} states" if o.pending_states else "never pending (vacuous here)"
        verdict = f"VIOLATED by {o.violated_instance}" if o.lasso is not None else "holds"
        out.append(f"  {o.prop.id:<4} {verdict:<26} {o.prop.form:<17} {o.prop.statement}  [{note}]")
    if r.skipped:
        out.append("  not checked here: " + "; ".join(f"{k}: {v}" for k, v in r.skipped.items()))
    return out


def lasso_lines(run: CheckRun) -> list[str]:
    """The lasso of the reported liveness violation: stem, marked cycle, fairness, one sentence."""
    v = run.result.violation
    r = run.liveness
    assert v is not None and r is not None and v.loop_index is not None
    out_ = next(o for o in r.outcomes if o.prop.id == v.property_id)
    ob = instance_of(run.model, out_.violated_instance or "")
    assert out_.lasso is not None and ob is not None
    lasso = out_.lasso
    model = run.model
    prop = ob.prop
    out = ["", f"lasso for {ob.label} ({prop.form}): {prop.statement}  [{prop.cite}]"]
    loop = v.loop_index
    for i, st in enumerate(v.trace):
        mark = "  |" if i > loop else "   "
        if st.binding is None:
            out.append(f"{mark} step 0: initial state")
        else:
            out.append(f"{mark} step {i}: {model.bindings[st.binding].label}")
            for change in changed_fields(model, v.trace[i - 1].state, st.state):
                out.append(f"{mark}     {change}")
        if i == loop and lasso.closing is not None:
            out.append(f"  --- cycle: from the state after step {loop}, the marked steps repeat for ever ---")
    if lasso.closing is None:
        out.append(f"  --- the behaviour stays in the state after step {loop} for ever (stuttering) ---")
    else:
        out.append(f"  | step {len(v.trace)}: {model.bindings[lasso.closing].label}  (back to the state after step {loop})")
    out.append("fair under the declared fairness (pgcheck list); the property relies on: " + _relies(prop.relies, model.params))
    for note in fairness_notes(model, r.graph, lasso):
        out.append(f"  {note}")
    out.append("never: " + never_sentence(model, ob, lasso))
    return out


def _relies(relies: tuple[str, ...], params: dict[str, Any]) -> str:
    """The assumptions a property relies on, each assumption option with its value in this run."""
    parts = []
    for r in relies:
        value = params.get(r)
        parts.append(f"{r} ({'on' if value else 'OFF in this run'})" if isinstance(value, bool) else r)
    return ", ".join(parts) or "nothing"


def liveness_dict(report: LivenessReport | None) -> dict[str, Any] | None:
    if report is None:
        return None
    return {
        "graph_states": report.graph_states,
        "graph_edges": report.graph_edges,
        "seconds": round(report.seconds, 3),
        "peak_rss_bytes": report.peak_rss_bytes,
        "properties": [
            {
                "id": o.prop.id,
                "form": o.prop.form,
                "verdict": "violated" if o.lasso is not None else "holds",
                "instance": o.violated_instance,
                "pending_states": o.pending_states,
                "relies": list(o.prop.relies),
            }
            for o in report.outcomes
        ],
        "skipped": report.skipped,
    }
