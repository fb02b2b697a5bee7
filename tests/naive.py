"""An independent, deliberately naive state enumerator for the tests.

It reads only the traced model (`Spec.trace()`) and evaluates it with the tree-walking
interpreter (`checker/lang/interpret.py`): no compiled code, no canonical forms, no
fingerprints, no explorer. States are plain tuples kept in a plain set. The explorer's
counts, verdicts and counterexamples are checked against what this file computes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.interpret import apply_binding, evaluate
from pgcheck.checker.lang.spec import TracedModel

State = tuple[Any, ...]


def successors(model: TracedModel, s: State) -> Iterator[tuple[int, State]]:
    """Every (binding index, successor) of `s`, one binding at a time."""
    for b in model.bindings:
        t = apply_binding(b, s)
        if t is not None:
            yield b.index, t


def reachable(model: TracedModel, limit: int | None = None) -> set[State]:
    """Every state reachable from the initial state (depth-first, with an explicit stack)."""
    seen: set[State] = {model.init}
    stack = [model.init]
    while stack:
        s = stack.pop()
        for _, t in successors(model, s):
            if t not in seen:
                seen.add(t)
                if limit is not None and len(seen) > limit:
                    raise RuntimeError(f"more than {limit} reachable states")
                stack.append(t)
    return seen


def depths(model: TracedModel) -> dict[State, int]:
    """Breadth-first distance of every reachable state from the initial state."""
    dist: dict[State, int] = {model.init: 0}
    frontier = [model.init]
    d = 0
    while frontier:
        d += 1
        nxt = []
        for s in frontier:
            for _, t in successors(model, s):
                if t not in dist:
                    dist[t] = d
                    nxt.append(t)
        frontier = nxt
    return dist


def holds(e: Expr, s: State) -> bool:
    return bool(evaluate(e, s))


def shallowest_violation(model: TracedModel, dist: dict[State, int] | None = None) -> int | None:
    """Depth of the shallowest state that breaks some invariant, or None if none does."""
    dist = depths(model) if dist is None else dist
    bad = [d for s, d in dist.items() if any(not holds(e, s) for _, e in model.invariants)]
    return min(bad) if bad else None


def violated(model: TracedModel, s: State) -> list[str]:
    return [p.id for p, e in model.invariants if not holds(e, s)]
