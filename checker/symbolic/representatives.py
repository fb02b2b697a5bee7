"""What the induction step needs to look at: one binding per symmetry orbit, split properties.

Symmetry (docs/symbolic.md "Symmetric representatives"): when the model declares
symmetry groups (the same declaration the explorer's reduction relies on, Decision 2),
permuting the instances of a group maps the transition relation to itself and every
candidate of the proof (each is quantified over all instances) to itself. For a
permutation σ, H ∧ step(a(σ·p)) ⇒ H′ holds iff H ∧ step(a(p)) ⇒ H′ does (apply σ⁻¹ to
the two states). So one binding per orbit of parameter tuples suffices: the orbit of a
tuple is its pattern of equalities among parameters of one group, plus the values of
the parameters that are not permuted (enums, explicit lists).

Splitting: a property is a conjunction over instances; each conjunct that reads no slot
a binding writes is unchanged by the step and need not be asked about.
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.explicit.symmetry_check import check_symmetric
from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.spec import Binding, TracedModel


def orbit_key(model: TracedModel, b: Binding) -> tuple[Any, ...]:
    group_of = {k: gi for gi, kinds in enumerate(model.symmetry) for k in kinds}
    decl = next(a for a in model.actions if a.name == b.action)
    seen: dict[tuple[int, int], int] = {}
    key: list[Any] = [b.action]
    for name, value in b.params.items():
        dom = decl.params.get(name)
        g = group_of.get(dom) if isinstance(dom, str) else None
        if g is None:
            key.append(("v", value))
        else:
            nth = seen.setdefault((g, value), sum(1 for gg, _ in seen if gg == g))
            key.append(("g", g, nth))
    return tuple(key)


def representatives(model: TracedModel, symmetric: bool) -> list[Binding]:
    """Every binding, or (symmetric) the first binding of each orbit."""
    if not symmetric or not model.symmetry:
        return list(model.bindings)
    check_symmetric(model)
    out: dict[tuple[Any, ...], Binding] = {}
    for b in model.bindings:
        out.setdefault(orbit_key(model, b), b)
    return list(out.values())


def conjuncts(e: Expr) -> list[Expr]:
    """The top-level conjuncts of a predicate, nested `and`s flattened."""
    if e.op == "and":
        return [c for x in e.args for c in conjuncts(x)]
    return [e]


def reads(e: Expr, memo: dict[int, frozenset[int]] | None = None) -> frozenset[int]:
    """The slots an expression may read (deref candidates included)."""
    memo = {} if memo is None else memo
    hit = memo.get(id(e))
    if hit is not None:
        return hit
    if e.op == "slot":
        out = frozenset([e.args[0]])
    else:
        acc: set[int] = set()
        for x in e.args:
            if isinstance(x, Expr):
                acc |= reads(x, memo)
            elif isinstance(x, tuple):
                for y in x:
                    if isinstance(y, Expr):
                        acc |= reads(y, memo)
        out = frozenset(acc)
    memo[id(e)] = out
    return out
