"""Partial-order reduction computed from the IR: what each binding reads and writes (Decision 2).

As LTSmin's PINS dependency matrices do for its languages, everything here is derived
from the traced model alone, so it holds for any spec: per binding, the slots each guard
conjunct reads, the slots its body reads (updates and run-time checks) and the slots it
writes. From them:

- dependents(b): the bindings that write a slot b reads or writes, or read or write a
  slot b writes: the ones b may not commute with;
- enablers(b, j): the bindings that write a slot guard conjunct j of b reads: only they
  can make that conjunct true (a necessary enabling set);
- prefix_writers(b, j): the bindings that write a slot read by conjuncts 0..j of b: only
  they can change whether b's guard gets past conjunct j (for run-time checks);
- fallible(b): b's guard or body can fail at run time (a null reference, an empty or full
  FIFO, an out-of-range write): reaching such a failure is checked like an invariant.

The native engine builds a stubborn set per state from these tables
(checker/explicit/native/cgen_por.py, engine.c); docs/reduction.md gives the argument.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.spec import Binding, TracedModel
from pgcheck.checker.lang.types import Bool

# Operators that can fail at run time (as in checker/explicit/native/cgen.py); a set operator
# with a constant member cannot.
PARTIAL = {"deref", "set_has", "set_add", "set_del", "fifo_head", "fifo_push", "fifo_concat"}
CONST_MEMBER_OPS = {"set_has", "set_add", "set_del"}


def _children(x: Expr) -> list[Expr]:
    out: list[Expr] = []
    for a in x.args:
        if isinstance(a, Expr):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            out.extend(y for y in a if isinstance(y, Expr))
    return out


def reads(e: Expr, out: set[int] | None = None) -> set[int]:
    """Every slot an expression may read (through a reference: every candidate)."""
    out = set() if out is None else out
    stack, seen = [e], set()
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if x.op == "slot":
            out.add(x.args[0])
        else:
            stack.extend(_children(x))
    return out


def can_fail(e: Expr) -> bool:
    stack, seen = [e], set()
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if x.op in PARTIAL:
            const_member = (
                x.op in CONST_MEMBER_OPS
                and x.args[1].op == "const"
                and isinstance(x.args[1].args[0], int)
                and 0 <= x.args[1].args[0] <= 62
            )
            if not const_member:
                return True
        stack.extend(_children(x))
    return False


def conjuncts(guard: Expr) -> list[Expr]:
    """The top-level conjuncts of a guard, in evaluation order."""
    return list(guard.args) if guard.op == "and" else [guard]


def _pins(c: Expr) -> tuple[int, int, bool] | None:
    """(slot, value, equal) for a conjunct `slot == value` or `slot != value`."""
    neg = c.op == "not"
    if neg:
        c = c.args[0]
    if c.op == "slot" and isinstance(c.ty, Bool):  # a flag read as a condition: `flag == True`
        return c.args[0], 1, not neg
    if c.op not in ("eq", "ne") or len(c.args) != 2:
        return None
    a, b = c.args
    if a.op == "const" and b.op == "slot":
        a, b = b, a
    if a.op != "slot" or b.op != "const" or not isinstance(b.args[0], int):
        return None
    return a.args[0], b.args[0], (c.op == "eq") != neg


def new_values(e: Expr, slot: int, limit: int = 8) -> frozenset[int] | None:
    """The values an update `slot := e` can give the slot other than its own (None: any).

    A constant, or a choice (`when`) among constants and the slot itself: a write through a
    reference becomes `when(ref == i, value, slot_i)` for each candidate i, which leaves the
    slot as it is unless i is the one written.
    """
    out: set[int] = set()
    stack = [e]
    while stack:
        x = stack.pop()
        if x.op == "slot" and x.args[0] == slot:
            continue  # the slot keeps its value: no change
        if x.op == "const" and isinstance(x.args[0], int) and not isinstance(x.args[0], bool):
            out.add(x.args[0])
        elif x.op == "const" and isinstance(x.args[0], bool):
            out.add(int(x.args[0]))
        elif x.op == "if":
            stack += [x.args[1], x.args[2]]
        else:
            return None
        if len(out) > limit:
            return None
    return frozenset(out)


@dataclass
class Access:
    guard_reads: list[set[int]]  # per conjunct
    body_reads: set[int]
    writes: set[int]
    fallible: bool
    conj_fallible: list[bool]
    must: dict[int, int]  # slot -> the value the guard requires it to have
    must_not: set[tuple[int, int]]  # (slot, value) the guard excludes
    values: dict[int, frozenset[int] | None]  # per written slot: the new values it can get (None: any)

    @property
    def all_reads(self) -> set[int]:
        return self.body_reads.union(*self.guard_reads)


def access(b: Binding) -> Access:
    body: set[int] = set()
    for e in b.updates.values():
        reads(e, body)
    for cond, _ in b.asserts:
        reads(cond, body)
    fallible = bool(b.asserts) or can_fail(b.guard) or any(can_fail(e) for e in b.updates.values())
    parts = conjuncts(b.guard)
    must: dict[int, int] = {}
    must_not: set[tuple[int, int]] = set()
    for c in parts:
        pin = _pins(c)
        if pin is not None:
            if pin[2]:
                must[pin[0]] = pin[1]
            else:
                must_not.add((pin[0], pin[1]))
    values = {slot: new_values(e, slot) for slot, e in b.updates.items()}
    return Access(
        [reads(c) for c in parts], body, set(b.updates), fallible, [can_fail(c) for c in parts], must, must_not, values
    )


def pin_of(e: Expr) -> tuple[int, int, bool] | None:
    """(slot, value, equal) when e is `slot == value` or `slot != value` (possibly negated)."""
    return _pins(e)


def exclusive(a: Access, b: Access) -> bool:
    """The two guards can never hold in one state: they pin one slot to different values."""
    for slot, v in a.must.items():
        w = b.must.get(slot)
        if (w is not None and w != v) or (slot, v) in b.must_not:
            return True
    return any(b.must.get(slot) == v for slot, v in a.must_not)


@dataclass
class Changer:
    """A binding that writes a slot, with what its guard says of that slot and what it writes.

    Along any path, the first step that changes a slot from its value x is taken by a
    binding enabled while the slot is x that writes a value other than x: a changer of the
    slot at x. Whether it can be one is read off this record (docs/reduction.md).
    """

    binding: int
    pin: int | None  # the guard requires the slot to hold this value
    excluded: tuple[int, ...]  # values of the slot the guard excludes
    values: frozenset[int] | None  # the values it can write other than the slot's own (None: any)

    def changes_from(self, x: int, to: int | None = None) -> bool:
        """Can this binding be the first to move the slot off x (onto `to` when given)?"""
        if (self.pin is not None and self.pin != x) or x in self.excluded:
            return False
        if self.values is None:
            return True
        if to is not None:
            return to != x and to in self.values
        return any(v != x for v in self.values)


@dataclass
class Reduction:
    """The dependency tables of one model."""

    access: list[Access]
    writers: dict[int, list[int]]  # slot -> bindings that write it
    dependents: list[list[int]]
    enablers: list[list[list[int]]]  # per binding, per conjunct
    prefix_writers: list[list[list[int]]]  # per binding, per conjunct
    fail_writers: list[list[int]]  # per binding: every writer of a slot it reads (itself included)
    changers: dict[int, list[Changer]]  # slot -> its writers, as changers

    def writers_of(self, slots: set[int]) -> list[int]:
        return sorted({w for s in slots for w in self.writers.get(s, ())})


def analyse(model: TracedModel) -> Reduction:
    acc = [access(b) for b in model.bindings]
    writers: dict[int, list[int]] = {}
    for i, a in enumerate(acc):
        for slot in sorted(a.writes):
            writers.setdefault(slot, []).append(i)
    readers: dict[int, list[int]] = {}
    for i, a in enumerate(acc):
        for slot in sorted(a.all_reads | a.writes):
            readers.setdefault(slot, []).append(i)
    dependents: list[list[int]] = []
    for i, a in enumerate(acc):
        dep: set[int] = set()
        for slot in a.all_reads | a.writes:  # others write what i touches
            dep.update(writers.get(slot, ()))
        for slot in a.writes:  # others touch what i writes
            dep.update(readers.get(slot, ()))
        dep.discard(i)
        # Never enabled together with i: cannot run before i while i stays enabled.
        dependents.append(sorted(j for j in dep if not exclusive(a, acc[j])))
    enablers: list[list[list[int]]] = []
    prefix: list[list[list[int]]] = []
    for i, a in enumerate(acc):
        enablers.append([sorted({w for s in r for w in writers.get(s, ()) if w != i}) for r in a.guard_reads])
        rows, seen = [], set()
        for r in a.guard_reads:
            seen |= r
            rows.append(sorted({w for s in seen for w in writers.get(s, ())}))
        prefix.append(rows)
    fail = [sorted({w for s in a.all_reads for w in writers.get(s, ())}) for a in acc]
    changers = {
        slot: [
            Changer(
                w,
                acc[w].must.get(slot),
                tuple(sorted(v for sl, v in acc[w].must_not if sl == slot)),
                acc[w].values[slot],
            )
            for w in ws
        ]
        for slot, ws in writers.items()
    }
    return Reduction(acc, writers, dependents, enablers, prefix, fail, changers)
