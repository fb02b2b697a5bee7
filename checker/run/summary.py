"""Human and JSON summaries of a check run (what `pgcheck explore` prints)."""

from __future__ import annotations

import json
from typing import Any

from pgcheck.checker.explicit.explore import Result
from pgcheck.checker.lang.spec import Binding
from pgcheck.checker.liveness.check import LivenessReport, fairness_notes, instance_of, never_sentence
from pgcheck.checker.memory import human_bytes
from pgcheck.checker.run.check import CheckRun, header_lines
from pgcheck.checker.traces.itf_read import Trace, trace_from_doc
from pgcheck.checker.traces.show import compact_lines, plain, why_lines

from pgcheck import __version__

State = tuple[Any, ...]


def property_verdicts(run: CheckRun) -> list[tuple[str, str, str]]:
    """(id, verdict, statement) for every checked invariant."""
    r = run.result
    v = r.violation
    rows = []
    for pid in run.compiled.invariant_ids:
        prop = run.property_by_id(pid)
        statement = prop.statement if prop else ""
        if v is not None and v.property_id == pid:
            verdict = "VIOLATED"
        elif r.verdict == "ok" or (v is not None and v.kind == "liveness"):
            verdict = "holds"  # a liveness check runs only after the whole graph was explored
        elif r.verdict == "incomplete":
            verdict = "holds so far"
        else:
            verdict = "not refuted"  # the run stopped at another violation first
        rows.append((pid, verdict, statement))
    return rows


def action_property_verdicts(run: CheckRun) -> list[tuple[str, str, str]]:
    """(id, verdict, statement) for every action property of the model."""
    r = run.result
    v = r.violation
    rows = []
    for prop in run.model.action_properties:
        if v is not None and v.kind == "action" and v.property_id == prop.id:
            verdict = "VIOLATED"
        elif r.verdict == "ok" or (v is not None and v.kind == "liveness"):
            verdict = "holds"
        elif r.verdict == "incomplete":
            verdict = "holds so far"
        else:
            verdict = "not refuted"
        rows.append((prop.id, verdict, prop.statement))
    return rows


def _per_state(r: Result) -> str:
    if r.bytes_per_state is None:
        return ""
    return f" ({r.bytes_per_state:.1f} bytes per state in memory for {r.bytes_per_state_of})"


def _por_lines(run: CheckRun) -> list[str]:
    r = run.result
    if not r.por:
        return [run.por_note] if run.por_note else []
    share = r.por_reduced / r.por_expanded if r.por_expanded else 0.0
    line = f"partial-order reduction: on ({r.por_reduced:,} of {r.por_expanded:,} states expanded by a proper stubborn set, {share:.0%})"
    if r.por_dropped_at:
        line += f"; switched off after {r.por_dropped_at:,} states: it left out under 1 in 5 firings"
    return [line, "  (a counterexample need not be the shortest; --no-por gives the shortest)"]


def summary_lines(run: CheckRun) -> list[str]:
    r = run.result
    model = run.model
    rate = r.distinct / r.elapsed if r.elapsed > 0 else 0.0
    out = [
        *header_lines(model, r.engine, r.workers, r.symmetry),
        *_por_lines(run),
        f"distinct states:  {r.distinct:,}",
        f"generated states: {r.generated:,}",
        f"depth (diameter): {r.depth}",
        f"time:             {r.elapsed:.1f} s ({rate:,.0f} states/s; model compiled in {run.compile_seconds:.1f} s)",
        f"peak memory:      {human_bytes(r.peak_rss_bytes)}" + _per_state(r),
        f"fingerprint collision probability (optimistic): {r.collision_probability:.1e}",
        "",
        "invariants:",
    ]
    for pid, verdict, statement in property_verdicts(run):
        out.append(f"  {pid:<4} {verdict:<13} {statement}")
    if model.action_properties:
        out.append("action properties (checked on every step):")
        for pid, verdict, statement in action_property_verdicts(run):
            out.append(f"  {pid:<6} {verdict:<13} {statement}")
    if model.witnesses:
        out.append("witnesses:")
        for prop, _ in model.witnesses:
            depth = r.witnesses_reached.get(prop.id)
            if depth is not None:
                status = f"reached at depth {depth}"
            elif r.verdict == "ok":
                status = "NOT REACHED"
            else:  # the search stopped first (a violation or a bound): it may lie deeper
                status = "not reached yet"
            out.append(f"  {prop.id:<24} {status:<20} {prop.statement}")
    if run.liveness is not None or run.liveness_note:

        out += liveness_lines(run)
    out.append("")
    verdict = run.verdict
    if verdict == "ok" and run.liveness is not None:
        out.append("result: every invariant and liveness property holds and every witness was reached")
    elif verdict == "ok":
        out.append("result: every invariant holds and every witness was reached")
    elif verdict == "vacuous":
        ids = ", ".join(p.id for p in run.unreached_witnesses)
        out.append(f"result: VACUOUS: witness {ids} never reached; the checks do not cover it")
    elif verdict == "incomplete":
        out.append(f"result: INCOMPLETE: {r.stop_reason}; no violation among the states explored")
    else:
        assert r.violation is not None
        v = r.violation
        what = {
            "invariant": f"invariant {v.property_id} violated",
            "action": f"action property {v.property_id} violated by the last step",
            "deadlock": "deadlock",
        }.get(v.kind, v.kind)
        if v.kind == "liveness" and v.loop_index is not None:
            out.append(
                f"result: VIOLATION: liveness property {v.property_id} ({v.message}): a lasso of "
                f"{v.loop_index} stem steps and a {len(v.trace) - v.loop_index}-step cycle (short, not guaranteed shortest)"
            )
        else:
            out.append(f"result: VIOLATION: {what} after {len(v.trace) - 1} steps (shortest)")
        if v.message and v.kind != "liveness":
            out.append(f"  {v.message}")
        if run.trace_path is not None:
            out.append(f"counterexample written to {run.trace_path}  (view: pgcheck view {run.trace_path})")
    return out


def _trace(run: CheckRun) -> Trace:
    """The counterexample as `show` reads it, so `explore` prints the same names (`none -> s0`)."""
    assert run.trace_doc is not None
    return trace_from_doc(json.loads(json.dumps(run.trace_doc)), str(run.trace_path or "counterexample"))


def _view_hint(run: CheckRun) -> list[str]:
    if run.trace_path is None:
        return []
    return [f"the whole run, state by state: pgcheck view {run.trace_path} (a page) or pgcheck show {run.trace_path}"]


def counterexample_lines(run: CheckRun) -> list[str]:
    v = run.result.violation
    assert v is not None
    if v.kind == "liveness":
        return lasso_lines(run)
    trace = _trace(run)
    out = [""]
    why = why_lines(trace)
    if why:
        out += [*plain(why).splitlines(), ""]
    out += [f"counterexample (shortest, {len(trace.states) - 1} steps; unchanged fields left out):", "  state 0: initial state"]
    out += plain(compact_lines(trace)).splitlines()
    if v.kind == "action":
        out.append(f"  <- step {len(trace.states) - 1} is the offending step: it breaks {v.property_id}")
    return out + _view_hint(run)


def summary_dict(run: CheckRun) -> dict[str, Any]:
    r = run.result
    v = r.violation
    return {
        "pgcheck": __version__,
        "verdict": run.verdict,
        "params": run.model.params,
        "symmetry": r.symmetry,
        "por": {"on": r.por, "reduced": r.por_reduced, "expanded": r.por_expanded, "dropped_at": r.por_dropped_at or None},
        "engine": r.engine,
        "workers": r.workers,
        "compile_seconds": round(run.compile_seconds, 3),
        "bytes_per_state": None if r.bytes_per_state is None else round(r.bytes_per_state, 2),
        "distinct_states": r.distinct,
        "generated_states": r.generated,
        "depth": r.depth,
        "seconds": round(r.elapsed, 3),
        "states_per_second": round(r.distinct / r.elapsed, 1) if r.elapsed > 0 else None,
        "peak_rss_bytes": r.peak_rss_bytes,
        "collision_probability": r.collision_probability,
        "stop_reason": r.stop_reason or None,
        "invariants": [{"id": pid, "verdict": verdict} for pid, verdict, _ in property_verdicts(run)],
        "action_properties": [{"id": pid, "verdict": verdict} for pid, verdict, _ in action_property_verdicts(run)],
        "witnesses": {p.id: r.witnesses_reached.get(p.id) for p, _ in run.model.witnesses},
        "violation": None
        if v is None
        else {
            "kind": v.kind,
            "property": v.property_id,
            "length": len(v.trace) - 1,
            "message": v.message or None,
            "steps": [None if st.binding is None else run.model.bindings[st.binding].label for st in v.trace],
            "trace_file": str(run.trace_path) if run.trace_path else None,
            "loop_index": v.loop_index,
        },
        "liveness": _liveness_dict(run),
    }


def _liveness_dict(run: CheckRun) -> dict[str, Any] | None:

    return liveness_dict(run.liveness)


# What `pgcheck explore --liveness` adds: property verdicts, figures, and a lasso.

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
    trace = _trace(run)
    loop = v.loop_index
    out = ["", f"lasso for {ob.label} ({prop.form}): {prop.statement}  [{prop.cite}]", "  state 0: initial state"]
    out += plain(compact_lines(trace)).splitlines()[:-1]
    if lasso.closing is None:
        out.append(f"  --- the behaviour stays in the state after step {loop} for ever (stuttering) ---")
    else:
        out.append(f"  --- cycle: from the state after step {loop}, steps {loop + 1}-{len(v.trace) - 1} repeat for ever ---")
        out.append(f"  step {len(v.trace)}: {trace_label(trace, model.bindings[lasso.closing])}  (back to the state after step {loop})")
    out.append("fair under the declared fairness (pgcheck list); the property relies on: " + _relies(prop.relies, model.params))
    for note in fairness_notes(model, r.graph, lasso):
        out.append(f"  {note}")
    out.append("never: " + never_sentence(model, ob, lasso))
    return out + _view_hint(run)


def trace_label(trace: Trace, binding: Binding) -> str:
    params = trace.param_text(binding.params)
    return f"{binding.action}({params})" if params else binding.action


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
