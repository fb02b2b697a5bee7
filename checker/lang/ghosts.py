"""Which ghosts the properties of a traced model read, and which ones no action writes.

A ghost (a history variable, `Spec.ghost` / `Spec.history`) that a property reads but no
action binding of the model writes keeps its initial value for ever: the property reading
it can never fail ("blind by construction"). `unwritten_ghosts` finds them.
"""

from __future__ import annotations

from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.spec import TracedModel


def slots_read(e: Expr, out: set[int] | None = None) -> set[int]:
    """Every state slot an expression reads."""
    out = set() if out is None else out
    stack = [e]
    while stack:
        x = stack.pop()
        if x.op == "slot":
            out.add(x.args[0])
            continue
        for a in x.args:
            if isinstance(a, Expr):
                stack.append(a)
            elif isinstance(a, (list, tuple)) and a and isinstance(a[0], Expr):
                stack.extend(a)
    return out


def ghosts_read_by_properties(model: TracedModel) -> dict[str, set[str]]:
    """Ghost field ("kind.field") -> ids of the properties that read it."""
    ghost_of = {
        j: f"{info.kind}.{info.field}"
        for j, info in enumerate(model.slots)
        if any(g.kind == info.kind and g.field == info.field for g in model.ghosts)
    }
    readers: list[tuple[str, Expr]] = [(p.id, e) for p, e in model.invariants + model.witnesses]
    readers += [(a.prop.id, a.cond) for a in model.action_checks]
    for t in model.temporal:
        readers.append((t.prop.id, t.q))
        if t.p is not None:
            readers.append((t.prop.id, t.p))
    out: dict[str, set[str]] = {}
    for pid, e in readers:
        for j in slots_read(e):
            if j in ghost_of:
                out.setdefault(ghost_of[j], set()).add(pid)
    return out


def unwritten_ghosts(model: TracedModel) -> dict[str, set[str]]:
    """Ghosts read by some property but written by no action binding -> the blind properties."""
    written = {
        f"{model.slots[j].kind}.{model.slots[j].field}" for b in model.bindings for j in b.updates
    }
    return {g: pids for g, pids in ghosts_read_by_properties(model).items() if g not in written}
