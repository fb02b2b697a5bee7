"""The state of an interactive exploration (`pgcheck serve`): a path through the model that
the user grows one chosen step at a time, can jump back along, and branch from.

Steps are taken with the interpreter (checker/lang/interpret.py), one binding at a time, so
what the page offers is exactly the model's enabled bindings. The path becomes an ITF trace
(the viewer's input) on demand; when its current state violates an invariant, the trace is a
counterexample that carries the explanation, as `explore` writes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pgcheck.checker.errors import ModelError, UsageError
from pgcheck.checker.explicit.explore import Step
from pgcheck.checker.lang.explain import explain
from pgcheck.checker.lang.interpret import apply_binding, evaluate
from pgcheck.checker.lang.query import parse_expression
from pgcheck.checker.lang.spec import Binding, TracedModel
from pgcheck.checker.traces.itf import state_from_itf, trace_to_itf
from pgcheck.checker.traces.itf_read import Trace, parse_trace
from pgcheck.checker.traces.why import culprit_instances, explanation_meta, property_expr

State = tuple[Any, ...]
MAX_PATH = 2000


@dataclass
class Choice:
    """An enabled binding at the current state."""

    binding: int
    action: str
    label: str  # with entity labels: `TakeNewConnection(c0, b=1)`


class ExplorerSession:
    def __init__(self, model: TracedModel, path: list[Step] | None = None, *, mutation: str | None = None) -> None:
        self.model = model
        self.mutation = mutation
        self.path: list[Step] = path or [Step(model.init, None)]
        self.cursor = len(self.path) - 1
        self.version = 0  # bumped on every change, so the page knows when to redraw

    # ---- where we are
    @property
    def state(self) -> State:
        return self.path[self.cursor].state

    def violated(self, index: int | None = None) -> list[str]:
        """Ids of the invariants false in state `index` (default: the current one)."""
        state = self.path[self.cursor if index is None else index].state
        out = []
        for prop, e in self.model.invariants:
            try:
                if not evaluate(e, state):
                    out.append(prop.id)
            except ModelError:
                out.append(prop.id)
        return out

    def witnessed(self) -> list[str]:
        out = []
        for prop, e in self.model.witnesses:
            try:
                if evaluate(e, self.state):
                    out.append(prop.id)
            except ModelError:
                continue
        return out

    def choices(self) -> tuple[list[Choice], list[str]]:
        """The enabled bindings at the current state, and the errors of those that fail there."""
        trace = self.as_trace(0)  # only for its entity labels
        out, errors = [], []
        for b in self.model.bindings:
            try:
                nxt = apply_binding(b, self.state)
            except ModelError as e:
                errors.append(str(e))
                continue
            if nxt is not None:
                out.append(Choice(b.index, b.action, _label(trace, b)))
        return out, errors

    # ---- changing the path
    def take(self, binding: int) -> None:
        """Take `binding` from the current state; a later part of the path is dropped (a branch)."""
        if isinstance(binding, bool) or not isinstance(binding, int) or not 0 <= binding < len(self.model.bindings):
            raise UsageError(f"no action binding {binding!r}")
        if self.cursor + 1 >= MAX_PATH:
            raise UsageError(f"the path is {MAX_PATH} steps long; save it and start from there")
        b = self.model.bindings[binding]
        try:
            nxt = apply_binding(b, self.state)
        except ModelError as e:
            raise UsageError(str(e)) from None
        if nxt is None:
            raise UsageError(f"{b.label} is not enabled in state {self.cursor}")
        self.path = [*self.path[: self.cursor + 1], Step(nxt, binding)]
        self.cursor += 1
        self.version += 1

    def goto(self, index: int) -> None:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self.path):
            raise UsageError(f"no state {index!r} on the path (0..{len(self.path) - 1})")
        self.cursor = index
        self.version += 1

    # ---- questions
    def evaluate(self, text: str = "", prop: str = "") -> dict[str, Any]:
        """A property (by id) or an expression of the language, evaluated as a tree on the current state."""
        if prop:
            found = property_expr(self.model, prop)
            if found is None:
                raise UsageError(f"no property {prop!r} in this model")
            e = found[1]
        else:
            e = parse_expression(self.model, text)
        return explain(self.model, e, self.state)

    # ---- as a trace
    def itf(self, upto: int | None = None) -> dict[str, Any]:
        """The path (to the cursor, or to state `upto`) as an ITF document; a counterexample
        with its explanation when its last state violates an invariant."""
        last = self.cursor if upto is None else upto
        steps = self.path[: last + 1]
        bad = self.violated(last)
        prop = next((p for p, _ in self.model.invariants if p.id in bad), None)
        doc = trace_to_itf(
            self.model, steps, kind="counterexample" if prop else "trace", prop=prop, engine="serve",
            mutation=self.mutation,
        )
        if prop is not None:
            why = explanation_meta(self.model, prop.id, steps[-1].state, len(steps) - 1)
            if why is not None:
                doc["#meta"]["explanation"] = why
                doc["#meta"]["highlight"] = culprit_instances(self.model, why["reads"], prop.about)
        return doc

    def as_trace(self, upto: int | None = None) -> Trace:
        return parse_trace(json.dumps(self.itf(upto)), "path.itf.json")


def _label(trace: Trace, b: Binding) -> str:
    params = trace.param_text(b.params)
    return f"{b.action}({params})" if params else b.action


def path_from_itf(model: TracedModel, doc: dict[str, Any], name: str) -> list[Step]:
    """Replay a trace file on the model: every step must be an enabled binding that leads to the
    next state of the file (one-line UsageError otherwise)."""
    states = doc.get("states")
    raw = doc.get("#meta")
    meta: dict[str, Any] = raw if isinstance(raw, dict) else {}
    steps_meta = meta.get("steps")
    if not isinstance(states, list) or not states or not isinstance(steps_meta, list) or len(steps_meta) != len(states):
        raise UsageError(f"{name}: a trace with '#meta.steps' (one per state) is needed to replay it on the model")
    by_key = {(b.action, tuple(sorted(b.params.items()))): b for b in model.bindings}
    path = [Step(state_from_itf(model, states[0]), None)]
    for i in range(1, len(states)):
        entry = steps_meta[i]
        params = entry.get("params") if isinstance(entry, dict) else None
        action = entry.get("action") if isinstance(entry, dict) else None
        key = (action, tuple(sorted(params.items()))) if isinstance(params, dict) else None
        b = by_key.get(key) if key is not None else None  # type: ignore[arg-type]
        if b is None:
            raise UsageError(f"{name}: step {i} ({action!r}) is not an action of this model and configuration")
        want = state_from_itf(model, states[i])
        try:
            got = apply_binding(b, path[-1].state)
        except ModelError as e:
            raise UsageError(f"{name}: step {i}: {e}") from None
        if got != want:
            raise UsageError(
                f"{name}: step {i} ({b.label}) does not lead to the trace's state {i} in this model; "
                "was it written for another configuration or mutation (see its #meta)?"
            )
        path.append(Step(got, b.index))
    return path
