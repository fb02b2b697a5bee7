"""The liveness checker: fair cycles that violate a temporal property (digest §5).

A behaviour violates
- `P ~> Q`  if it reaches a state with P and not Q and then stays in not-Q for ever;
- `[]<> Q`  if from some point on it stays in not-Q for ever;
- `<>[] Q`  if it visits not-Q infinitely often.
"For ever" is either a cycle of the state graph or stuttering in one state (every
behaviour may end by repeating its last state). Either is reported only if it is
*fair*: for every binding with weak fairness, the binding is taken in the cycle or
disabled in some state of it; for every binding with strong fairness, it is taken in
the cycle or enabled in none of its states. Stuttering in a state is fair only if no
fair binding is enabled there.

The search restricts the graph to the states where the obligation is pending (not-Q,
reached from a P state through not-Q states), splits it into strongly connected
components (networkx), drops a component that a weakly fair binding refutes (enabled
everywhere, never taken) and removes from it the states where a strongly fair binding
that is never taken is enabled, then splits again (the usual Streett emptiness check).
Every component that survives carries a fair cycle.

Lassos: the stem is a shortest path to the nearest state of a fair component (breadth
first from the initial state, then from the P states), so the stem is as short as the
graph allows for that component. The cycle is built greedily: from the entry state it
walks to the nearest state or edge that discharges an unmet fairness requirement, until
none is left, then takes a shortest way back. The cycle is therefore short but NOT
guaranteed to be the shortest fair cycle (finding that is a covering problem).
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
from pgcheck.checker.liveness.graph import State, StateGraph

FAIR = ("weak", "strong")


@dataclass
class Lasso:
    """A path from the initial state whose tail from `loop_index` repeats for ever.

    `path[k]` = (binding that led to node k, node); `closing` is the binding that steps
    from the last node back to `path[loop_index]`, or None when the behaviour stutters in
    its last state (then `loop_index` is the last index).
    """

    path: list[tuple[int | None, int]]
    loop_index: int
    closing: int | None

    @property
    def stutters(self) -> bool:
        return self.closing is None

    def cycle_bindings(self) -> list[int]:
        tail = [b for b, _ in self.path[self.loop_index + 1 :] if b is not None]
        return [*tail, self.closing] if self.closing is not None else tail

    def cycle_nodes(self) -> list[int]:
        return [n for _, n in self.path[self.loop_index :]]


@dataclass
class Obligation:
    """One instance of a temporal property, as node predicates.

    `allowed`: states the violating tail may stay in; `start`: states where the
    obligation becomes pending; `must`: states the cycle must visit (for `<>[]`)."""

    allowed: Callable[[int], bool]
    start: Callable[[int], bool]
    must: Callable[[int], bool] | None = None


def obligation(form: str, p: Callable[[State], bool] | None, q: Callable[[State], bool], g: StateGraph) -> Obligation:
    """Turn a property form and its compiled predicates into node predicates."""
    st = g.states
    qv = [q(s) for s in st]
    if form == "leads-to":
        assert p is not None
        pv = [p(s) for s in st]
        return Obligation(lambda n: not qv[n], lambda n: pv[n] and not qv[n])
    if form == "always-eventually":
        return Obligation(lambda n: not qv[n], lambda n: not qv[n])
    if form == "eventually-always":
        return Obligation(lambda n: True, lambda n: True, lambda n: not qv[n])
    raise ValueError(form)


def find_lasso(g: StateGraph, fairness: Sequence[str | None], ob: Obligation) -> Lasso | None:
    """A fair lasso violating the obligation, or None if there is none."""
    dist, via = _reach(g, ob)
    if not dist:
        return None
    best: tuple[int, int, frozenset[int] | None] | None = None  # (distance, entry node, component)
    for n in dist:  # stuttering in a state where no fair binding is enabled
        quiet = not any(fairness[b] in FAIR for b in g.enabled[n])
        if quiet and (ob.must is None or ob.must(n)) and (best is None or (dist[n], n) < best[:2]):
            best = (dist[n], n, None)
    for comp in fair_components(g, fairness, set(dist)):
        if ob.must is not None and not any(ob.must(n) for n in comp):
            continue
        entry = min(comp, key=lambda n: (dist[n], n))
        if best is None or (dist[entry], entry) < best[:2]:
            best = (dist[entry], entry, frozenset(comp))
    if best is None:
        return None
    _, entry, chosen = best
    stem = _stem(g, via, entry)
    if chosen is None:
        return Lasso(stem, len(stem) - 1, None)
    cycle = fair_cycle(g, fairness, chosen, entry, ob.must)
    path = stem + cycle[:-1]
    return Lasso(path, len(stem) - 1, cycle[-1][0])


def fair_components(g: StateGraph, fairness: Sequence[str | None], region: set[int]) -> list[set[int]]:
    """Strongly connected components of the region that contain a fair cycle."""
    out: list[set[int]] = []
    work = [region]
    while work:
        part = work.pop()
        dg = nx.DiGraph()
        dg.add_nodes_from(part)
        dg.add_edges_from((u, v) for u in part for _, v in g.succ[u] if v in part)
        for comp in nx.strongly_connected_components(dg):
            if len(comp) == 1:
                continue  # no self-loops are kept: a single state has no cycle (stuttering is handled apart)
            taken = {b for u in comp for b, v in g.succ[u] if v in comp}
            seen_fair = {b for u in comp for b in g.enabled[u] if fairness[b] in FAIR}
            everywhere = set.intersection(*(set(g.enabled[u]) for u in comp))
            if any(fairness[b] == "weak" and b not in taken for b in everywhere):
                continue  # weak fairness: continuously enabled but never taken
            refuting = {b for b in seen_fair if fairness[b] == "strong" and b not in taken}
            if refuting:
                rest = {u for u in comp if not (g.enabled[u] & refuting)}
                if rest:
                    work.append(rest)
                continue
            out.append(set(comp))
    return out


def _reach(g: StateGraph, ob: Obligation) -> tuple[dict[int, int], dict[int, int]]:
    """Length of the shortest stem to each state reachable through pending states.

    A stem runs from the initial state to a start state along any path (distance = BFS
    depth), then from there through `allowed` states only; `via` holds the predecessor
    on the second part (-1 at the start state)."""
    depth: dict[int, int] = {}
    queue = deque([0])
    depth[0] = 0
    while queue:  # BFS depths (the graph's BFS tree gives the same, but unit weights need them all)
        u = queue.popleft()
        for _, v in g.succ[u]:
            if v not in depth:
                depth[v] = depth[u] + 1
                queue.append(v)
    dist: dict[int, int] = {}
    via: dict[int, int] = {}
    heap = [(depth[n], n, -1) for n in range(len(g)) if ob.allowed(n) and ob.start(n)]
    heapq.heapify(heap)
    while heap:
        d, n, prev = heapq.heappop(heap)
        if n in dist:
            continue
        dist[n] = d
        via[n] = prev
        for _, v in g.succ[n]:
            if v not in dist and ob.allowed(v):
                heapq.heappush(heap, (d + 1, v, n))
    return dist, via


def _stem(g: StateGraph, via: dict[int, int], entry: int) -> list[tuple[int | None, int]]:
    chain = [entry]
    while via[chain[-1]] != -1:
        chain.append(via[chain[-1]])
    chain.reverse()
    path = g.path_from_init(chain[0])
    for u, v in itertools.pairwise(chain):
        path.append((_binding(g, u, v), v))
    return path


def _binding(g: StateGraph, u: int, v: int) -> int:
    return min(b for b, w in g.succ[u] if w == v)


def fair_cycle(
    g: Any,
    fairness: Sequence[str | None],
    comp: Container[Any],
    entry: Any,
    must: Callable[[Any], bool] | None,
    fair_here: set[int] | None = None,
) -> list[tuple[int, Any]]:
    """A cycle from `entry` back to it inside `comp` that meets every fairness requirement.

    g: a StateGraph, or anything with `succ[node]` and `enabled[node]` (the native checker
    walks concrete states this way, checker/liveness/native.py). `fair_here`: the fair
    bindings enabled somewhere in the component, when `comp` cannot be listed."""
    if fair_here is None:
        assert isinstance(comp, frozenset)
        fair_here = {b for u in comp for b in g.enabled[u] if fairness[b] in FAIR}
    need_take = {b for b in fair_here if fairness[b] == "strong"}
    need_weak = {b for b in fair_here if fairness[b] == "weak"}  # taken, or disabled in a visited state
    need_must = must is not None

    def visit(n: int) -> None:
        nonlocal need_must
        need_weak.difference_update(need_weak - g.enabled[n])
        if need_must and must is not None and must(n):
            need_must = False

    def take(b: int) -> None:
        need_take.discard(b)
        need_weak.discard(b)

    def useful(b: int, v: int) -> bool:
        if b in need_take or b in need_weak:
            return True
        if need_weak - g.enabled[v]:
            return True
        return need_must and must is not None and must(v)

    cycle: list[tuple[int, int]] = []
    cur = entry
    visit(cur)
    while need_take or need_weak or need_must:
        seg = _shortest(g, comp, cur, lambda b, v: useful(b, v))
        for b, v in seg:
            take(b)
            visit(v)
        cycle += seg
        cur = seg[-1][1]
    seg = _shortest(g, comp, cur, lambda b, v: v == entry)
    cycle += seg
    return cycle


def _shortest(g: Any, comp: Container[Any], src: Any, goal: Callable[[int, Any], bool]) -> list[tuple[int, Any]]:
    """Shortest non-empty path in `comp` from `src` whose last edge (binding, node) meets `goal`."""
    prev: dict[int, tuple[int, int]] = {}
    queue = deque([src])
    seen = {src}
    while queue:
        u = queue.popleft()
        for b, v in g.succ[u]:
            if v not in comp:
                continue
            if goal(b, v):
                path = [(b, v)]
                while u != src:
                    pu, pb = prev[u]
                    path.append((pb, u))
                    u = pu
                path.reverse()
                return path
            if v not in seen:
                seen.add(v)
                prev[v] = (u, b)
                queue.append(v)
    raise AssertionError("internal: no path inside a strongly connected component")
