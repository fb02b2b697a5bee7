"""Is the model really symmetric where it says so? A check of its IR before a reduced search.

Symmetry reduction (symmetry.py, the native engine, native liveness) explores one state per
orbit, which is sound only if permuting a symmetric kind's instances maps the model onto
itself: every binding onto the binding with its instance parameters renamed, guard to
guard and update to update; every invariant, witness and quiescence condition onto itself;
an action property's check of a binding onto its check of the renamed binding; a temporal
obligation of instance i onto that of the renamed instance. A `symmetric()` declaration
the model does not honour (a guard that names session 0, an order on carriers, a "first
idle carrier" choice) would make the reduced search merge states that behave differently,
and its verdicts wrong without a word.

The check is syntactic, after renaming: slots move with their instance, constants of a
permuted kind are renamed, a deref through a permuted reference gets its candidates
reordered; `and` and `or` are compared as sets of operands, sums as multisets and
`eq`/`ne` as unordered pairs. Where the syntax still differs, the operands that do not
match are compared by value on every assignment of the slots they read: a pair written for
(0, 1) only, `a = none or a != b`, renamed is `b = none or b != a`, the same predicate.
Every operator of the IR commutes with renaming (the language has no order and no
arithmetic on references; an instance number kept in an int is not renamed, so a guard
that orders or compares it differs from its image). Passing it proves the model invariant
under each generator of each group (a transposition and an n-cycle, which generate every
permutation), hence under the whole group. A model symmetric only through an argument
about reachable states (a choice in index order among instances that are alike) is
refused unless the action declares it (`alike=`) with the invariant that keeps them alike,
which every run then checks.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from math import prod
from typing import Any

from pgcheck.checker.errors import ModelError
from pgcheck.checker.explicit.symmetry import Canonicalizer
from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.ghosts import slots_read
from pgcheck.checker.lang.interpret import evaluate
from pgcheck.checker.lang.spec import Binding, TracedModel
from pgcheck.checker.lang.types import NULL_REF, Bool, Enum, FieldType, Fifo, Int, Ref, Set

ENUMERATE = 200_000  # assignments tried before a difference in syntax counts as a difference
UNORDERED = ("and", "or")  # compared as sets of operands; "add" (of ints) as a multiset
PAIRS = ("eq", "ne")
SET_ELEMENT = ("set_has", "set_add", "set_del")
FIFO_ELEMENT = ("fifo_push", "fifo_has", "fifo_remove")


class NotSymmetric(ModelError):
    """A symmetric() declaration the model does not honour."""


class _Renamer:
    """Interned keys of expressions with one permutation of the groups' instances applied."""

    def __init__(self, model: TracedModel, group_of: dict[str, int], perms: list[tuple[int, ...]], table: dict[Any, int]) -> None:
        self.perms = perms
        self.group_of = group_of
        self.table = table  # shared by every renamer: equal keys get equal numbers
        self.memo: dict[tuple[int, int], int] = {}
        self.refs: dict[str, Ref] = {}
        self.bound: dict[str, int] = {}  # a filter's variable -> the number of filters around it
        self.depth = 0
        self.slot_to = list(range(len(model.slots)))
        for j, info in enumerate(model.slots):
            g = group_of.get(info.kind)
            if g is not None and info.instance is not None:
                self.slot_to[j] = model.slot_of[(info.kind, perms[g][info.instance], info.field)]

    def _perm_of(self, ty: FieldType | None) -> tuple[int, ...] | None:
        kind = ty.kind if isinstance(ty, (Ref, Fifo)) else ty.of if isinstance(ty, Set) and isinstance(ty.of, str) else None
        g = self.group_of.get(kind) if isinstance(kind, str) else None
        return None if g is None else self.perms[g]

    def _value(self, ty: FieldType | None, v: Any) -> Any:
        p = self._perm_of(ty)
        if p is None:
            return v
        if isinstance(ty, Ref):
            return v if v == NULL_REF else p[v]
        if isinstance(ty, Fifo):
            return tuple(p[x] for x in v)
        return sum(1 << p[i] for i in range(len(p)) if v >> i & 1)

    def _intern(self, key: tuple[Any, ...]) -> int:
        return self.table.setdefault(key, len(self.table))

    def key(self, e: Expr, expect: FieldType | None = None) -> int:
        """The number of e renamed. `expect`: the type a constant takes from its context
        (an element added to a set of sessions is traced as a plain int)."""
        ty = e.ty if self._is_ref_like(e.ty) or not self._is_ref_like(expect) else expect
        memo_key = (id(e), id(ty))
        got = self.memo.get(memo_key)
        if got is not None:
            return got
        op, a = e.op, e.args
        if op == "const":
            k = self._intern(("const", repr(e.ty), self._value(ty, a[0])))
        elif op == "slot":
            k = self._intern(("slot", self.slot_to[a[0]]))
        elif op == "var":  # bound by a fifo_filter: named by how deep its binder is, not by name
            k = self._intern(("var", self.bound.get(a[0], a[0])))
        elif op == "deref":
            kind, _, idx, cands = a
            g = self.group_of.get(kind)
            keys = [self.key(c, ty) for c in cands]
            if g is not None:  # candidate j is read when the index is j: after renaming, p[j]
                moved = [0] * len(keys)
                for j, kj in enumerate(keys):
                    moved[self.perms[g][j]] = kj
                keys = moved
            k = self._intern(("deref", self.key(idx), *keys))
        else:
            if op == "fifo_filter":
                self.bound[a[1].args[0]] = self.depth
                self.depth += 1
            expects = self._operand_types(e, ty)
            keys = [self.key(x, t) if isinstance(x, Expr) else self._intern(("lit", repr(x))) for x, t in zip(a, expects, strict=True)]
            if op == "fifo_filter":
                self.depth -= 1
            if op in UNORDERED or op == "add":
                flat = [self.key(x) for x in _flat(op, e)]
                keys = sorted(set(flat)) if op in UNORDERED else sorted(flat)  # a sum keeps repeats
            elif op in PAIRS:
                keys = sorted(keys)
            k = self._intern((op, *keys))
        self.memo[memo_key] = k
        return k

    def _ref(self, kind: str) -> Ref:
        """One Ref per kind, so a memo keyed by its identity stays right."""
        return self.refs.setdefault(kind, Ref(kind))

    @staticmethod
    def _is_ref_like(ty: FieldType | None) -> bool:
        return isinstance(ty, (Ref, Fifo)) or (isinstance(ty, Set) and isinstance(ty.of, str))

    def _operand_types(self, e: Expr, ty: FieldType | None) -> list[FieldType | None]:
        """What each operand of e means, where a constant operand's own type does not say."""
        op, a = e.op, e.args
        if op in SET_ELEMENT and isinstance(a[0].ty, Set) and isinstance(a[0].ty.of, str):
            return [None, self._ref(a[0].ty.of)]
        if op in FIFO_ELEMENT and isinstance(a[0].ty, Fifo):
            return [None, self._ref(a[0].ty.kind)]
        if op in PAIRS and len(a) == 2:
            return [a[1].ty if self._is_ref_like(a[1].ty) else None, a[0].ty if self._is_ref_like(a[0].ty) else None]
        if op == "if":
            return [None, ty, ty]
        return [None] * len(a)


def generators(n: int) -> list[tuple[int, ...]]:
    """A transposition and an n-cycle: together they generate every permutation of n."""
    if n < 2:
        return []
    swap = (1, 0, *range(2, n))
    cycle = tuple((i + 1) % n for i in range(n))
    return [swap] if n == 2 else [swap, cycle]


def check_symmetric(model: TracedModel, groups: list[list[str]] | None = None, remedy: str = "run with --no-symmetry") -> None:
    """Raise NotSymmetric, naming the first part of the model that a permutation of a
    symmetric kind's instances does not map onto its image (and `remedy`, the way to go
    without the reduction). Once per model and groups."""
    groups = model.symmetry if groups is None else groups
    done = model.meta.setdefault("_symmetry_checked", [])
    if groups in done:
        return
    group_of = {k: g for g, kinds in enumerate(groups) for k in kinds}
    counts = [model.kinds[kinds[0]].count or 0 for kinds in groups]
    table: dict[Any, int] = {}
    ident = [tuple(range(n)) for n in counts]
    same = _Renamer(model, group_of, ident, table)
    for g, kinds in enumerate(groups):
        for gen in generators(counts[g]):
            perms = list(ident)
            perms[g] = gen
            try:
                _Check(model, group_of, perms, same, _Renamer(model, group_of, perms, table), set(kinds)).run()
            except NotSymmetric as e:
                raise NotSymmetric(
                    f"the model is declared symmetric in {'/'.join(kinds)} but is not: {e} "
                    f"(renaming instances {_show(gen)}); fix its symmetric() declaration, or {remedy}"
                ) from None
    done.append(groups)


def _show(p: tuple[int, ...]) -> str:
    return ", ".join(f"{i}->{j}" for i, j in enumerate(p) if i != j)


class _Check:
    """One generator: every part of the model against its renamed image."""

    def __init__(self, model: TracedModel, group_of: dict[str, int], perms: list[tuple[int, ...]], same: _Renamer,
                 moved: _Renamer, kinds: set[str]) -> None:
        self.model, self.group_of, self.perms = model, group_of, perms
        self.same, self.moved, self.kinds = same, moved, kinds
        self.back = [0] * len(moved.slot_to)  # the slot that renaming moves onto slot j
        for j, k in enumerate(moved.slot_to):
            self.back[k] = j
        self.params_of = {a.name: a.params for a in model.actions}
        self.checks: dict[int, dict[str, Expr]] = {}  # binding -> action property -> its condition
        for c in model.action_checks:
            self.checks.setdefault(c.binding, {})[c.prop.id] = c.cond
        self._canon: Canonicalizer | None = None

    def equal(self, e: Expr, other: Expr) -> bool:
        """e renamed is other: the same syntax after renaming; or, for an `and`/`or`, the same
        value of the operands left once those that match one for one are set aside (enough,
        not needed: a set-aside operand may hide a difference); or the same value on every
        assignment of the slots they read (_same_values)."""
        if self.moved.key(e) == self.same.key(other):
            return True
        if e.op == other.op and e.op in UNORDERED:
            mine = {self.moved.key(x): x for x in _flat(e.op, e)}
            theirs = {self.same.key(x): x for x in _flat(e.op, other)}
            join = X.and_ if e.op == "and" else X.or_
            rest = self._same_values(join(*(x for k, x in mine.items() if k not in theirs)),
                                     join(*(x for k, x in theirs.items() if k not in mine)))
            if rest:
                return True
        return bool(self._same_values(e, other))

    def _same_values(self, e: Expr, other: Expr) -> bool | None:
        """Whether π(e(s)) = other(π(s)) for every assignment of the slots either reads (the
        others do not matter); None when there are more than ENUMERATE assignments."""
        slots = sorted(slots_read(e) | {self.back[j] for j in slots_read(other)})
        found = [_values(self.model, j) for j in slots]
        domains = [d for d in found if d is not None]
        if len(domains) < len(found) or prod(len(d) for d in domains) > ENUMERATE:
            return None
        if self._canon is None:
            self._canon = Canonicalizer(self.model, [list(k) for k in self.model.symmetry])
        base = list(self.model.init)
        for values in itertools.product(*domains):
            for j, v in zip(slots, values, strict=True):
                base[j] = v
            state = tuple(base)
            mine = _outcome(e, state, lambda v: self.moved._value(e.ty, v))
            theirs = _outcome(other, self._canon.permute(state, self.perms), lambda v: v)
            if mine != theirs:
                return False
        return True

    def run(self) -> None:
        model = self.model
        alike = {a.name: a.alike for a in model.actions}
        checked = {p.id for p, _ in model.invariants}
        for name, chooser in alike.items():
            if chooser is not None and chooser[0] in self.kinds and chooser[1] not in checked:
                raise NotSymmetric(f"action {name} picks {chooser[0]} instances it says invariant {chooser[1]} keeps alike, "
                                   "and the model has no such invariant")
        where = {(b.action, tuple(b.params.items())): b for b in model.bindings}
        for b in model.bindings:
            image = self._image(b)
            other = where.get((b.action, image))
            if other is None:
                shown = ", ".join(f"{p}={v}" for p, v in image)
                raise NotSymmetric(f"{b.label} has no image: the model has no binding {b.action}({shown})")
            chooser = alike[b.action]
            if chooser is not None and chooser[0] in self.kinds:
                continue  # it picks among instances kept alike (its declaration names the invariant that keeps them)
            self._binding(b, other)
        for kind, items in (("invariant", model.invariants), ("witness", model.witnesses)):
            for prop, e in items:
                if not self.equal(e, e):
                    raise NotSymmetric(f"{kind} {prop.id} is not invariant under the renaming")
        if not self.equal(model.quiescent, model.quiescent):
            raise NotSymmetric("the quiescence condition is not invariant under the renaming")
        self._temporal()

    def _image(self, b: Binding) -> tuple[tuple[str, Any], ...]:
        decl = self.params_of[b.action]
        return tuple(
            (p, self.perms[self.group_of[decl[p]]][v] if isinstance(decl[p], str) and decl[p] in self.group_of else v)
            for p, v in b.params.items()
        )

    def _binding(self, b: Binding, other: Binding) -> None:
        model = self.model
        if not self.equal(b.guard, other.guard):
            raise NotSymmetric(f"the guard of {other.label} is not that of {b.label} renamed")
        to = self.moved.slot_to
        slots = set(b.updates) | {self.back[k] for k in other.updates}
        for j in sorted(slots):
            mine, theirs = b.updates.get(j, self._read(j)), other.updates.get(to[j], self._read(to[j]))
            if not self.equal(mine, theirs):
                raise NotSymmetric(f"{other.label} does not write {model.slots[to[j]].label} as {b.label} writes {model.slots[j].label}")
        if not self.equal(X.and_(*(x for x, _ in b.asserts)), X.and_(*(x for x, _ in other.asserts))):
            raise NotSymmetric(f"the run-time checks of {other.label} are not those of {b.label} renamed")
        mine_checks, their_checks = self.checks.get(b.index, {}), self.checks.get(other.index, {})
        if set(mine_checks) != set(their_checks) or not all(self.equal(mine_checks[p], their_checks[p]) for p in mine_checks):
            raise NotSymmetric(f"the action properties checked on {other.label} are not those of {b.label} renamed")

    def _read(self, j: int) -> Expr:
        info = self.model.slots[j]
        return X.slot(j, info.ty, info.label)

    def _temporal(self) -> None:
        """Obligation i renamed is the obligation of instance p[i] (or itself, for a property
        of the whole state or of a kind the group does not permute)."""
        by = {(o.prop.id, o.index): o for o in self.model.temporal}
        for o in self.model.temporal:
            each = o.prop.each
            g = self.group_of.get(each) if each is not None else None
            target = by.get((o.prop.id, self.perms[g][o.index] if g is not None and o.index is not None else o.index))
            if target is None:
                raise NotSymmetric(f"{o.label} has no renamed obligation")
            for mine, theirs in ((o.p, target.p), (o.q, target.q)):
                if (mine is None) != (theirs is None) or (mine is not None and theirs is not None and not self.equal(mine, theirs)):
                    raise NotSymmetric(f"{target.label} is not {o.label} renamed")


def _flat(op: str, e: Expr) -> Iterator[Expr]:
    for x in e.args:
        if isinstance(x, Expr) and x.op == op:
            yield from _flat(op, x)
        else:
            yield x


def _values(model: TracedModel, j: int) -> list[Any] | None:
    """Every value slot j can hold (FIFOs: sequences of distinct instances up to capacity);
    None when they are too many to try."""
    ty = model.slots[j].ty
    if isinstance(ty, Bool):
        return [0, 1]
    if isinstance(ty, Enum):
        return list(range(len(ty.values)))
    if isinstance(ty, Int):
        return list(range(ty.lo, ty.hi + 1)) if ty.hi - ty.lo < ENUMERATE else None
    if isinstance(ty, Ref):
        return [NULL_REF, *range(model.kinds[ty.kind].count or 1)]
    if isinstance(ty, Set):
        size = len(ty.of.values) if isinstance(ty.of, Enum) else model.kinds[ty.of].count or 1
        return list(range(1 << size)) if size < 18 else None
    if isinstance(ty, Fifo):
        n = model.kinds[ty.kind].count or 1
        if n > 8:
            return None
        return [p for k in range(min(ty.capacity, n) + 1) for p in itertools.permutations(range(n), k)]
    return None


def _outcome(e: Expr, state: tuple[Any, ...], rename: Callable[[Any], Any]) -> tuple[str, Any]:
    """e's value on state (renamed), or the model error it raises (a null read on both sides is the same)."""
    try:
        return ("value", rename(evaluate(e, state)))
    except ModelError:
        return ("error", None)
