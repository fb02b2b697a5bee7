"""The explored state graph in a compact form for the liveness checker.

Built from what `Explorer(keep_graph=True)` records (its edge list and its state map),
never from the inner loop of the search, so any engine that records the same two
things can feed it. Nodes are numbered in the order they were found (node 0 is the
initial state); self-loops are dropped, because a step that changes nothing is a
stuttering step: it neither takes an action in the sense of fairness (TLA+ `<A>_vars`)
nor leaves the state.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pgcheck.checker.errors import ModelError
from pgcheck.checker.lang.compile import _Gen
from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.spec import TracedModel
from pgcheck.checker.lang.types import NULL_REF

State = tuple[Any, ...]


@dataclass
class StateGraph:
    states: list[State]
    succ: list[list[tuple[int, int]]]  # node -> [(binding, node)], no self-loops, no duplicates
    enabled: list[frozenset[int]]  # node -> bindings with a state-changing step there
    parent: list[tuple[int, int]]  # BFS tree from node 0: (parent node, binding); (-1, -1) at the root
    edge_count: int

    def __len__(self) -> int:
        return len(self.states)

    def path_from_init(self, node: int) -> list[tuple[int | None, int]]:
        """The shortest path from the initial state to `node`, as (binding into it, node) pairs."""
        out: list[tuple[int | None, int]] = []
        cur = node
        while True:
            p, b = self.parent[cur]
            out.append((b if p >= 0 else None, cur))
            if p < 0:
                break
            cur = p
        out.reverse()
        return out


def build_graph(init: int, states: dict[int, State], edges: Iterable[tuple[int, int, int]]) -> StateGraph:
    """Number the fingerprints (the initial one first) and index the edges."""
    index: dict[int, int] = {init: 0}
    order: list[State] = [states[init]]
    for fp, st in states.items():
        if fp not in index:
            index[fp] = len(order)
            order.append(st)
    n = len(order)
    seen: list[set[tuple[int, int]]] = [set() for _ in range(n)]
    for a, b, z in edges:
        u, v = index[a], index[z]
        if u != v:
            seen[u].add((b, v))
    succ = [sorted(s) for s in seen]
    count = sum(len(s) for s in succ)
    enabled = [frozenset(b for b, _ in s) for s in succ]
    return StateGraph(order, succ, enabled, _bfs_tree(succ), count)


def _bfs_tree(succ: list[list[tuple[int, int]]]) -> list[tuple[int, int]]:
    parent: list[tuple[int, int]] = [(-2, -2)] * len(succ)
    if not succ:
        return parent
    parent[0] = (-1, -1)
    queue = deque([0])
    while queue:
        u = queue.popleft()
        for b, v in succ[u]:
            if parent[v][0] == -2:
                parent[v] = (u, b)
                queue.append(v)
    if any(p[0] == -2 for p in parent):
        raise ModelError("internal: the recorded graph has states unreachable from the initial state")
    return parent


def compile_predicates(model: TracedModel, exprs: list[Expr]) -> list[Callable[[State], bool]]:
    """Python functions for state predicates of `model` (the compiler's code generator)."""
    g = _Gen(model)
    lines = [f"def pred_{i}(s): return bool({g.src(e)})" for i, e in enumerate(exprs)]
    sites = g.sites

    def _null(site: int) -> Any:
        raise ModelError(sites[site])

    namespace: dict[str, Any] = {"_null": _null, "NULL_REF": NULL_REF}
    exec(compile("\n".join(lines) + "\n", f"<pgcheck predicates {model.name}>", "exec"), namespace)
    return [namespace[f"pred_{i}"] for i in range(len(exprs))]
