"""`--witness ID --trace-out FILE`: an example trace that reaches a witness."""

from __future__ import annotations

from pathlib import Path

from pgcheck.checker.errors import check_names
from pgcheck.checker.lang.spec import Spec
from pgcheck.checker.run.check import CheckRun
from pgcheck.checker.traces.itf import trace_to_itf, write_trace
from pgcheck.checker.traces.why import culprit_instances, explanation_meta


def check_witness_id(spec: Spec, wid: str) -> None:
    known = [p.id for p in spec.properties if p.kind == "witness"]
    check_names("witness", [wid], known)


def write_witness_trace(run: CheckRun, wid: str, trace_out: str | None) -> str:
    """Write the shortest trace to the state where witness `wid` was first reached; say where."""
    fp = run.result.witness_states.get(wid)
    if fp is None:
        if run.result.verdict != "ok":  # a violation or a bound ended the search first
            return f"witness {wid}: not reached before the search stopped, no example trace"
        return f"witness {wid}: NOT REACHED, no example trace"
    prop = next(p for p, _ in run.model.witnesses if p.id == wid)
    steps = run.explorer.trace_to(fp)
    doc = trace_to_itf(run.model, steps, kind="witness", prop=prop)
    why = explanation_meta(run.model, wid, steps[-1].state, len(steps) - 1)
    if why is not None:
        doc["#meta"]["explanation"] = why
        doc["#meta"]["highlight"] = culprit_instances(run.model, why["reads"], prop.about)
    path = write_trace(doc, Path(trace_out) if trace_out else Path(f"pgcheck-{wid}.itf.json"))
    return f"witness {wid}: example of {len(steps) - 1} steps written to {path}  (view: pgcheck view {path})"
