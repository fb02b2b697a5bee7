"""Concrete lassos from the native checker's quotient graph (symmetry, docs/liveness.md).

The quotient keeps one representative per orbit, so its paths are not behaviours. A path is
lifted step by step: from a concrete state, a successor whose representative is the next
state of the path (any one will do: the predicates are symmetric). A fair cycle is searched
among concrete states, expanded on demand, inside the chosen component's orbits, with the
requirements of the concrete component the stem entered, as fair_cycles builds one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pgcheck.checker.errors import ModelError
from pgcheck.checker.explicit.explore import Step
from pgcheck.checker.lang.compile import CompiledModel
from pgcheck.checker.lang.spec import TracedTemporal
from pgcheck.checker.liveness.check import LassoNodes
from pgcheck.checker.liveness.fair_cycles import Lasso, fair_cycle
from pgcheck.checker.liveness.graph import compile_predicates

State = tuple[Any, ...]


@dataclass
class Component:
    """The concrete states of a quotient component (`holds`: a state's representative is in it)
    and the fair bindings enabled somewhere in the concrete component a cycle must close in."""

    holds: Callable[[State], bool]
    fair_here: set[int]

    def __contains__(self, s: object) -> bool:
        return self.holds(s)  # type: ignore[arg-type]


def lift_path(cm: CompiledModel, node_of: Callable[[State], int], nodes: list[int]) -> list[Step]:
    """Concrete steps from the initial state through the representatives `nodes` (the first
    is the initial state's)."""
    cur = cm.model.init
    if node_of(cur) != nodes[0]:
        raise ModelError("internal: the initial state is not the quotient's first state")
    steps = [Step(cur, None)]
    for want in nodes[1:]:
        nxt = next(((b, t) for b, t in cm.successors(cur) if t != cur and node_of(t) == want), None)
        if nxt is None:
            raise ModelError("internal: a step of the liveness quotient has no concrete counterpart")
        steps.append(Step(nxt[1], nxt[0]))
        cur = nxt[1]
    return steps


def lifted_lasso(
    cm: CompiledModel, o: TracedTemporal, stem: list[Step], cycle: Component | None, nodes: LassoNodes, next_id: int
) -> tuple[Lasso, int]:
    """The lasso of a lifted stem: stuttering at its end when `cycle` is None, else closed by
    a fair cycle inside `cycle`. Its states are numbered from `next_id` downwards (apart from
    the graph's numbers) and recorded in `nodes`; returns the next free number too."""
    model = cm.model
    steps: list[tuple[int | None, State]] = [(st.binding, st.state) for st in stem]
    loop, close = len(steps) - 1, None
    if cycle is not None:
        must = None
        if o.prop.form == "eventually-always":
            q = compile_predicates(model, [o.q])[0]
            must = lambda s: not q(s)  # noqa: E731
        walk = fair_cycle(ConcreteGraph(cm), [b.fairness for b in model.bindings], cycle, steps[-1][1], must, cycle.fair_here)
        steps += [(b, s) for b, s in walk[:-1]]
        close = walk[-1][0]
    ids: dict[State, int] = {}
    path: list[tuple[int | None, int]] = []
    for b, s in steps:
        if s not in ids:
            ids[s] = next_id
            next_id -= 1
            nodes.states[ids[s]] = s
            nodes.enabled[ids[s]] = frozenset(x for x, t in cm.successors(s) if t != s)
        path.append((b, ids[s]))
    return Lasso(path, loop, close), next_id


class ConcreteGraph:
    """The concrete state graph, expanded on demand, read as fair_cycles reads a StateGraph."""

    def __init__(self, cm: CompiledModel) -> None:
        self.succ = _OnDemand(lambda s: [(b, t) for b, t in cm.successors(s) if t != s])
        self.enabled = _OnDemand(lambda s: frozenset(b for b, _ in self.succ[s]))


class _OnDemand(dict[Any, Any]):
    def __init__(self, fn: Callable[[Any], Any]) -> None:
        super().__init__()
        self.fn = fn

    def __missing__(self, key: Any) -> Any:
        value = self[key] = self.fn(key)
        return value
