"""One conjunct per orbit: the induction step asks a candidate's conjuncts only up to symmetry.

reduce.py picks one action binding per orbit. A binding's own parameters fix a few
instances; every permutation π of the *other* instances of a symmetry group maps the
binding to itself, H to itself (every candidate is symmetric), and a conjunct C to a
conjunct π·C with (π·C)(s) = C(π·s). If a state s satisfying H breaks π·C after the
step, π·s satisfies H and breaks C after the same step. So among the conjuncts a step
changes, those that are images of one another under such permutations need one
question: at 8x32, PollPass(c=0) fixes one carrier and no session, and "∀b: φ(b)"
becomes the single conjunct φ(0) instead of 32.

Images are found structurally: a canonical key of π·C (instance indices in slots,
reference constants and dereferences renamed by π; commutative operators' arguments
sorted) is compared with the keys of the other conjuncts, for two generators per
symmetry group — the cycle through the unfixed instances and the swap of the first two
of them, which together generate every permutation of them — and the classes are closed
under union. Conjuncts whose images do not match structurally are simply all asked (sound).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.spec import Binding, TracedModel
from pgcheck.checker.lang.types import NULL_REF, Fifo, Ref, Set

Perm = tuple[tuple[str, tuple[int, ...]], ...]  # per listed kind: instance i -> perm[i]
_COMMUTATIVE = {"and", "or", "add", "eq", "ne"}


class Orbits:
    """Canonical keys of permuted expressions, memoized per permutation (shared across bindings)."""

    def __init__(self, model: TracedModel) -> None:
        self.model = model
        self.slot_of = {(i.kind, i.instance, i.field): n for n, i in enumerate(model.slots)}
        self.intern: dict[Any, int] = {}
        self.memo: dict[tuple[int, Perm, tuple[tuple[str, str], ...]], int] = {}
        self._keep: list[Any] = []
        self._tys: dict[int, str] = {}
        self._maps: dict[Perm, dict[str, tuple[int, ...]]] = {}

    def generators(self, b: Binding) -> list[Perm]:
        """Per group: the cycle through the instances b's parameters leave unfixed, and the
        swap of the first two of them (together they generate every permutation of them)."""
        decl = next(a for a in self.model.actions if a.name == b.action)
        out: list[Perm] = []
        for kinds in self.model.symmetry:
            fixed = {v for name, v in b.params.items() if decl.params.get(name) in kinds}
            n = len(self.model.kinds[kinds[0]].instances)
            free = [i for i in range(n) if i not in fixed]
            if len(free) < 2:
                continue
            cycle, swap = list(range(n)), list(range(n))
            for i, j in pairwise([*free, free[0]]):
                cycle[i] = j
            swap[free[0]], swap[free[1]] = free[1], free[0]
            out += [tuple((k, tuple(p)) for k in kinds) for p in (cycle, swap) if p != list(range(n))]
        return list(dict.fromkeys(out))

    def representatives(self, b: Binding, exprs: list[Expr]) -> list[int]:
        """Indices into `exprs`, one per class of conjuncts that are images of one another."""
        if len(exprs) < 2 or not self.model.symmetry:
            return list(range(len(exprs)))
        parent = list(range(len(exprs)))

        def find(x: int) -> int:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        ident = [self.key(e, ()) for e in exprs]
        where: dict[int, int] = {}
        for n, k in enumerate(ident):
            where.setdefault(k, n)
        for g in self.generators(b):
            for n, e in enumerate(exprs):
                m = where.get(self.key(e, g))
                if m is not None:
                    parent[find(n)] = find(m)
        return sorted({find(n) for n in range(len(exprs))})

    # ---------------------------------------------------------------- keys

    def _swap(self, g: Perm, kind: str, i: int) -> int:
        m = self._maps.get(g)
        if m is None:
            m = self._maps[g] = dict(g)
        p = m.get(kind)
        return i if p is None else p[i]

    def _ty(self, e: Expr) -> str:
        k = self._tys.get(id(e.ty))
        if k is None:
            k = self._tys[id(e.ty)] = repr(e.ty.describe())
            self._keep.append(e.ty)
        return k

    def _const(self, e: Expr, g: Perm) -> Any:
        ty, v = e.ty, e.args[0]
        if isinstance(ty, Ref) and v != NULL_REF:
            return self._swap(g, ty.kind, v)
        if isinstance(ty, Fifo):
            return tuple(self._swap(g, ty.kind, x) for x in v)
        if isinstance(ty, Set) and isinstance(ty.of, str):
            return sum(1 << self._swap(g, ty.of, i) for i in range(v.bit_length()) if (v >> i) & 1)
        return v

    def key(self, e: Expr, g: Perm, ren: tuple[tuple[str, str], ...] = ()) -> int:
        ck = (id(e), g, ren)
        hit = self.memo.get(ck)
        if hit is not None:
            return hit
        op, a = e.op, e.args
        parts: list[Any] = [op, self._ty(e)]
        if op == "slot":
            info = self.model.slots[a[0]]
            inst = info.instance if info.instance is None else self._swap(g, info.kind, info.instance)
            parts.append(self.slot_of[(info.kind, inst, info.field)])
        elif op == "const":
            parts.append(self._const(e, g))
        elif op == "var":
            parts.append(dict(ren).get(a[0], a[0]))
        elif op == "deref":
            kind, fld, idx, cands = a
            moved = [0] * len(cands)
            for j, c in enumerate(cands):
                moved[self._swap(g, kind, j)] = self.key(c, g, ren)
            parts += [kind, fld, self.key(idx, g, ren), tuple(moved)]
        elif op == "fifo_filter":
            inner = (*ren, (a[1].args[0], f"#{len(ren)}"))
            parts += [self.key(a[0], g, ren), self.key(a[2], g, inner)]
        elif op in _COMMUTATIVE:
            parts.append(tuple(sorted(self.key(x, g, ren) for x in _flat(e))))
        else:
            for x in a:
                if isinstance(x, Expr):
                    parts.append(self.key(x, g, ren))
                elif isinstance(x, tuple) and x and isinstance(x[0], Expr):
                    parts.append(tuple(self.key(y, g, ren) for y in x))
                else:
                    parts.append(x)
        n = self.intern.setdefault(tuple(parts), len(self.intern))
        self.memo[ck] = n
        self._keep.append(e)  # keeps id(e) in the memo key valid
        return n


def _flat(e: Expr) -> list[Expr]:
    """The arguments of nested applications of one associative operator (and, or, add)."""
    if e.op in ("eq", "ne"):
        return list(e.args)
    out: list[Expr] = []
    for x in e.args:
        out += _flat(x) if x.op == e.op else [x]
    return out
