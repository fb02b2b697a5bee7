"""The fair-cycle search on hand-built and random small graphs, against a naive checker."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st
from pgcheck.checker.liveness.fair_cycles import Lasso, Obligation, find_lasso
from pgcheck.checker.liveness.graph import StateGraph, build_graph

Edge = tuple[int, int, int]  # (from, binding, to)


def graph(n: int, edges: list[Edge]) -> StateGraph:
    states = {i: (i,) for i in range(n)}
    return build_graph(0, states, edges)


def reachable(g: StateGraph) -> set[int]:
    seen, todo = {0}, [0]
    while todo:
        u = todo.pop()
        for _, v in g.succ[u]:
            if v not in seen:
                seen.add(v)
                todo.append(v)
    return seen


def naive_has_violation(g: StateGraph, fairness: list[str | None], ob: Obligation) -> bool:
    """Every candidate set of states visited for ever, enumerated: a lasso exists iff some set X
    of allowed states reachable from a start through allowed states is a stuttering state with no
    fair binding enabled, or is strongly connected with an inner edge and fair when every inner
    edge is taken (taking more edges never hurts fairness)."""
    nodes = range(len(g))
    starts = [n for n in nodes if ob.allowed(n) and ob.start(n)]
    region: set[int] = set(starts)
    todo = list(starts)
    while todo:
        u = todo.pop()
        for _, v in g.succ[u]:
            if ob.allowed(v) and v not in region:
                region.add(v)
                todo.append(v)
    cand = sorted(region)
    for size in range(1, len(cand) + 1):
        for xs in itertools.combinations(cand, size):
            x = set(xs)
            if ob.must is not None and not any(ob.must(n) for n in x):
                continue
            inner = [(u, b, v) for u in x for b, v in g.succ[u] if v in x]
            if size == 1 and not inner:
                (n,) = xs
                if not any(fairness[b] for b in g.enabled[n]):
                    return True
                continue
            if not inner or not strongly_connected(x, inner):
                continue
            taken = {b for _, b, _ in inner}
            ok = True
            for b, f in enumerate(fairness):
                en = [b in g.enabled[n] for n in x]
                if f == "weak" and all(en) and b not in taken:
                    ok = False
                if f == "strong" and any(en) and b not in taken:
                    ok = False
            if ok:
                return True
    return False


def strongly_connected(x: set[int], inner: list[Edge]) -> bool:
    def closure(start: int, fwd: bool) -> set[int]:
        seen, todo = {start}, [start]
        while todo:
            u = todo.pop()
            for a, _, z in inner:
                src, dst = (a, z) if fwd else (z, a)
                if src == u and dst not in seen:
                    seen.add(dst)
                    todo.append(dst)
        return seen

    first = next(iter(x))
    return closure(first, True) == x and closure(first, False) == x


def assert_valid(g: StateGraph, fairness: list[str | None], ob: Obligation, lasso: Lasso) -> None:
    path = lasso.path
    assert path[0] == (None, 0)
    for (_, u), (b, v) in itertools.pairwise(path):
        assert (b, v) in g.succ[u]
    nodes = lasso.cycle_nodes()
    assert all(ob.allowed(n) for n in nodes)
    assert any(ob.start(n) for _, n in path[: lasso.loop_index + 1])
    if ob.must is not None:
        assert any(ob.must(n) for n in nodes)
    if lasso.closing is None:
        assert not any(fairness[b] for b in g.enabled[nodes[0]])
        return
    assert (lasso.closing, path[lasso.loop_index][1]) in g.succ[path[-1][1]]
    taken = set(lasso.cycle_bindings())
    for b, f in enumerate(fairness):
        en = [b in g.enabled[n] for n in nodes]
        if f == "weak" and all(en):
            assert b in taken
        if f == "strong" and any(en):
            assert b in taken


def leads_to(p: Callable[[int], bool], q: Callable[[int], bool]) -> Obligation:
    return Obligation(lambda n: not q(n), lambda n: p(n) and not q(n))


# ---------------------------------------------------------------- hand-built cases

# 0 <-> 1 by bindings 0 and 1; binding 2 leads from 0 and 1 to the goal state 2.
RING = [(0, 0, 1), (1, 1, 0), (0, 2, 2), (1, 2, 2), (2, 3, 2)]


def test_unfair_cycle_is_not_reported_until_its_fairness_is_removed() -> None:
    g = graph(3, RING)
    ob = leads_to(lambda n: n == 0, lambda n: n == 2)
    assert find_lasso(g, ["weak", "weak", "weak", None], ob) is None  # binding 2 always enabled, never taken
    lasso = find_lasso(g, ["weak", "weak", None, None], ob)
    assert lasso is not None and lasso.closing is not None
    assert sorted(lasso.cycle_bindings()) == [0, 1]
    assert [n for _, n in lasso.path] == [0, 1] or [n for _, n in lasso.path] == [0]


def test_weak_fairness_allows_what_strong_fairness_forbids() -> None:
    # binding 2 leads to the goal only from state 0: on the cycle it is enabled, then disabled
    edges = [(0, 0, 1), (1, 1, 0), (0, 2, 2)]
    g = graph(3, edges)
    ob = leads_to(lambda n: n == 0, lambda n: n == 2)
    weak = find_lasso(g, ["weak", "weak", "weak"], ob)
    assert weak is not None
    assert_valid(g, ["weak", "weak", "weak"], ob, weak)
    assert find_lasso(g, ["weak", "weak", "strong"], ob) is None


def test_stuttering_is_a_violation_only_where_no_fair_action_is_enabled() -> None:
    g = graph(2, [(0, 0, 1)])
    ob = leads_to(lambda n: n == 0, lambda n: n == 1)
    assert find_lasso(g, ["weak"], ob) is None
    lasso = find_lasso(g, [None], ob)
    assert lasso is not None and lasso.stutters and lasso.path == [(None, 0)]


def test_eventually_always_needs_a_cycle_through_a_bad_state() -> None:
    # 0 -> 1 -> 2 -> 1: state 0 is bad but visited once; then 1 bad makes it a violation
    g = graph(3, [(0, 0, 1), (1, 1, 2), (2, 2, 1)])
    fair: list[str | None] = ["weak", "weak", "weak"]
    assert find_lasso(g, fair, Obligation(lambda n: True, lambda n: True, lambda n: n == 0)) is None
    lasso = find_lasso(g, fair, Obligation(lambda n: True, lambda n: True, lambda n: n == 1))
    assert lasso is not None and 1 in lasso.cycle_nodes()


# ---------------------------------------------------------------- random graphs

FAIRNESS = st.sampled_from([None, "weak", "strong"])


@st.composite
def cases(draw: st.DrawFn) -> tuple[StateGraph, list[str | None], Obligation]:
    n = draw(st.integers(2, 6))
    nb = draw(st.integers(1, 4))
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, nb - 1), st.integers(0, n - 1)), max_size=14))
    # make every state reachable from 0 (the explorer only records reachable states)
    chain = [(i, draw(st.integers(0, nb - 1)), i + 1) for i in range(n - 1)]
    g = graph(n, chain + edges)
    fairness = draw(st.lists(FAIRNESS, min_size=nb, max_size=nb))
    p = draw(st.sets(st.integers(0, n - 1)))
    q = draw(st.sets(st.integers(0, n - 1)))
    form = draw(st.sampled_from(["leads-to", "always-eventually", "eventually-always"]))
    if form == "leads-to":
        ob = leads_to(lambda x: x in p, lambda x: x in q)
    elif form == "always-eventually":
        ob = Obligation(lambda x: x not in q, lambda x: x not in q)
    else:
        ob = Obligation(lambda x: True, lambda x: True, lambda x: x not in q)
    return g, fairness, ob


@settings(max_examples=300, deadline=None)
@given(cases())
def test_agrees_with_naive_enumeration(case: tuple[StateGraph, list[str | None], Obligation]) -> None:
    g, fairness, ob = case
    assert reachable(g) == set(range(len(g)))
    lasso = find_lasso(g, fairness, ob)
    assert (lasso is not None) == naive_has_violation(g, fairness, ob)
    if lasso is not None:
        assert_valid(g, fairness, ob, lasso)
