"""A counterexample to induction as a two-state ITF trace (Decision 3).

State 0 is not an initial state: it is any state satisfying every hypothesis of the
proof (the candidates still standing when the CTI was found); state 1 is its successor
under the action named in `#meta.steps[1]`, and violates the property.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pgcheck.checker.lang.spec import Property, TracedModel
from pgcheck.checker.symbolic.induction import Verdict
from pgcheck.checker.traces.itf import trace_to_itf, write_trace


def cti_document(model: TracedModel, v: Verdict, prop: Property, engine: str = "z3-induction") -> dict[str, Any]:
    doc = trace_to_itf(model, v.cti, kind="cti", prop=prop, engine=engine, message=v.reason)
    doc["#meta"]["note"] = (
        "counterexample to induction: state 0 satisfies the proof's hypotheses but need not be reachable; "
        "state 1 follows by the named action and violates the property"
    )
    return doc


def write_cti(model: TracedModel, v: Verdict, prop: Property, directory: str | Path) -> Path:
    return write_trace(cti_document(model, v, prop), Path(directory) / f"pgcheck-cti-{v.id}.itf.json")


def changed_slots(model: TracedModel, v: Verdict) -> list[str]:
    """`slot: before -> after` for every slot the breaking action changes."""
    before, after = v.cti[0].state, v.cti[1].state
    return [
        f"{info.label}: {info.ty.to_itf(before[i])} -> {info.ty.to_itf(after[i])}"
        for i, info in enumerate(model.slots)
        if before[i] != after[i]
    ]
