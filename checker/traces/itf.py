"""Write traces as ITF (docs/traces.md), and read them back into model states for replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pgcheck.checker.errors import UsageError
from pgcheck.checker.explicit.explore import Step
from pgcheck.checker.lang.spec import Property, TracedModel
from pgcheck.checker.output import write_output

from pgcheck import __version__

State = tuple[Any, ...]


def state_to_itf(model: TracedModel, state: State) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in model.kinds.values():
        if kind.count is None:
            out[kind.name] = {
                f: ty.to_itf(state[model.slot_of[(kind.name, None, f)]]) for f, ty in kind.fields.items()
            }
        else:
            out[kind.name] = [
                {f: ty.to_itf(state[model.slot_of[(kind.name, i, f)]]) for f, ty in kind.fields.items()}
                for i in kind.instances
            ]
    return out


def state_from_itf(model: TracedModel, record: dict[str, Any]) -> State:
    values: list[Any] = [None] * len(model.slots)
    for kind in model.kinds.values():
        if kind.name not in record:
            raise UsageError(f"trace state has no variable {kind.name!r}; is it a trace of this model?")
        data = record[kind.name]
        instances = [data] if kind.count is None else data
        if kind.count is not None and (not isinstance(data, list) or len(data) != kind.count):
            raise UsageError(f"trace variable {kind.name!r} must list {kind.count} instances for this configuration")
        for i, inst in enumerate(instances):
            key_i = None if kind.count is None else i
            for f, ty in kind.fields.items():
                if not isinstance(inst, dict) or f not in inst:
                    raise UsageError(f"trace state lacks {kind.name}.{f}; is it a trace of this model version?")
                try:
                    values[model.slot_of[(kind.name, key_i, f)]] = ty.from_itf(inst[f])
                except TypeError as e:
                    raise UsageError(f"bad value for {kind.name}.{f} in trace: {e}") from None
    return tuple(values)


def trace_to_itf(
    model: TracedModel,
    steps: list[Step],
    *,
    kind: str,
    prop: Property | None,
    engine: str = "bfs",
    mutation: str | None = None,
    seed: int | None = None,
    loop: int | None = None,
    message: str = "",
) -> dict[str, Any]:
    bindings = model.bindings
    meta: dict[str, Any] = {
        "format": "ITF",
        "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
        "source": "pgcheck",
        "version": __version__,
        "model": model.name,
        "mode": model.params.get("mode"),
        "params": model.params,
        "mutation": mutation,
        "engine": engine,
        "seed": seed,
        "kind": kind,
        "property": None
        if prop is None
        else {"id": prop.id, "kind": prop.kind, "statement": prop.statement, "citation": prop.cite},
        "entities": model.describe_entities(),
        "steps": [
            None
            if st.binding is None
            else {"action": bindings[st.binding].action, "params": dict(bindings[st.binding].params)}
            for st in steps
        ],
        "highlight": [],
    }
    if message:
        meta["message"] = message
    doc: dict[str, Any] = {
        "#meta": meta,
        "vars": list(model.kinds),
        "states": [{"#meta": {"index": i}, **state_to_itf(model, st.state)} for i, st in enumerate(steps)],
    }
    if loop is not None:
        doc["loop"] = loop
    return doc


def write_trace(doc: dict[str, Any], path: str | Path, flag: str = "--trace-out") -> Path:
    """Write the trace into `path` itself (checker/output.py: a regular file or a new name)."""
    return write_output(path, json.dumps(doc, indent=1) + "\n", flag)
