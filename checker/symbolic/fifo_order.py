"""FIFOs of instances as membership and precedence, for `prove` at large sizes.

The slot encoding of `checker/symbolic/encode.py` keeps a FIFO as a length and `capacity` items;
filtering, removing and concatenating then place item i at the number of kept items
before it, and that positional arithmetic is what Z3 could not settle at 8x32 (T9's
`fifo_remove` from the runnable queue, PollPass's concatenation of two filtered batches).

Here a FIFO over the n instances of a kind is, per instance i,

- `mem[i]`:   i is in the FIFO,
- `dup[i]`:   i is in it at least twice (a ghost: the encoding cannot place duplicates),
- `before(i, j)`: i is ahead of j — read only when both are members,

and a length: the number of members in a pre-state, and from there what the operation
makes of it (push adds one, concatenation adds the lengths, filter counts the kept
members). Kept apart from `mem`, so "parked_count = len(P)" (S6) after PollPass's
concatenation is an addition on both sides, not an identity between two counts of
members that Z3 would have to prove by counting.

Without duplicates that is exact: a duplicate-free sequence is its set of members and
their order. Every operation is a Boolean function of these, with no positions:
filter and remove clear `mem`, concatenation puts every member of the first FIFO before
every member of the second, push puts the new item after every member, the head is the
member nobody is before, and the length is the number of members.

A duplicate (pushing a member, concatenating overlapping FIFOs) sets `dup`, and then the
rest of the value is approximate (`dup` itself only over-approximates: "maybe twice"; an
operation whose length or order would be wrong with a duplicate keeps its flag).
`prove` keeps every pre-state duplicate-free and asks, for each step, that no FIFO it
writes gets a duplicate (checker/symbolic/induction.py), so the approximation is never used to
prove anything. Pre-states put no constraint on `before` at all: every duplicate-free
sequence is represented, and no invariant reads the order, only guards (T9's head).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import z3
from pgcheck.checker.lang.types import NULL_REF
from pgcheck.checker.symbolic import terms as T
from pgcheck.checker.symbolic.terms import num

Bools = tuple[z3.BoolRef, ...]


class Prec:
    """before(i, j), built on demand: reading every pair of a 32-item FIFO costs 1,024 terms."""

    def __init__(self, fn: Callable[[int, int], z3.BoolRef]) -> None:
        self.fn = fn
        self.memo: dict[tuple[int, int], z3.BoolRef] = {}

    def __call__(self, i: int, j: int) -> z3.BoolRef:
        if i == j:
            return T.FALSE
        hit = self.memo.get((i, j))
        if hit is None:
            hit = self.memo[(i, j)] = self.fn(i, j)
        return hit


@dataclass(frozen=True)
class OrderFifo:
    mem: Bools
    dup: Bools
    before: Prec
    length: z3.BitVecRef


def fresh(name: str, n: int) -> OrderFifo:
    """A duplicate-free FIFO with free members and a free order (pre-states of `prove`)."""
    mem = tuple(z3.Bool(f"{name}#in{i}") for i in range(n))
    return OrderFifo(mem, (T.FALSE,) * n, Prec(lambda i, j: z3.Bool(f"{name}#{i}<{j}")), count(mem))


def const(items: Sequence[int], n: int) -> OrderFifo:
    first = {x: k for k, x in reversed(list(enumerate(items)))}
    mem = tuple(T.TRUE if i in first else T.FALSE for i in range(n))
    dup = tuple(T.TRUE if items.count(i) > 1 else T.FALSE for i in range(n))
    before = Prec(lambda i, j: T.TRUE if first.get(i, n) < first.get(j, n) else T.FALSE)
    return OrderFifo(mem, dup, before, num(len(items)))


def is_x(x: z3.BitVecRef, n: int) -> Bools:
    """Per instance i: x = i (folded when x is a constant)."""
    return tuple(T.eq(x, num(i)) for i in range(n))


def count(bits: Sequence[z3.BoolRef]) -> z3.BitVecRef:
    """The number of true bits, as a balanced sum."""
    vals: list[z3.BitVecRef] = [T.ite(b, num(1), num(0)) for b in bits if not T.is_false(b)]
    if not vals:
        return num(0)
    while len(vals) > 1:
        vals = [T.add(vals[k], vals[k + 1]) if k + 1 < len(vals) else vals[k] for k in range(0, len(vals), 2)]
    return vals[0]


def length(f: OrderFifo) -> z3.BitVecRef:
    return f.length


def empty(f: OrderFifo) -> z3.BoolRef:
    return T.not_(T.or_(list(f.mem)))


def has(f: OrderFifo, x: z3.BitVecRef) -> z3.BoolRef:
    return T.or_([T.and_([e, m]) for e, m in zip(is_x(x, len(f.mem)), f.mem, strict=True)])


def heads(f: OrderFifo) -> Bools:
    """Per instance: it is a member and no member is before it (T9: the head of the queue)."""
    n = len(f.mem)
    return tuple(
        T.and_([f.mem[i], *(T.not_(T.and_([f.mem[j], f.before(j, i)])) for j in range(n) if j != i)])
        for i in range(n)
    )


def head(f: OrderFifo) -> z3.BitVecRef:
    out: z3.BitVecRef = num(NULL_REF)  # the explicit engines stop with a model error here
    for i, h in reversed(list(enumerate(heads(f)))):
        out = T.ite(h, num(i), out)
    return out


def push(f: OrderFifo, x: z3.BitVecRef) -> OrderFifo:
    ex = is_x(x, len(f.mem))
    mem = tuple(T.or_([m, e]) for m, e in zip(f.mem, ex, strict=True))
    dup = tuple(T.or_([d, T.and_([e, m])]) for d, e, m in zip(f.dup, ex, f.mem, strict=True))
    old = f.before
    before = Prec(lambda i, j: T.or_([ex[j], T.and_([T.not_(ex[i]), old(i, j)])]))
    return OrderFifo(mem, dup, before, T.add(f.length, num(1)))


def pop(f: OrderFifo) -> OrderFifo:
    """The FIFO without the instance `head` names: one instance even if `before` is not a linear
    order (a pre-state of `prove` may have two members nobody is before). A duplicated head
    stays a member and stays flagged: an over-approximation."""
    h = is_x(head(f), len(f.mem))
    mem = tuple(T.and_([m, T.or_([T.not_(x), d])]) for m, x, d in zip(f.mem, h, f.dup, strict=True))
    return OrderFifo(mem, f.dup, f.before, T.ite(empty(f), num(0), T.sub(f.length, num(1))))


def keep(f: OrderFifo, kept: Sequence[z3.BoolRef]) -> OrderFifo:
    """fifo_filter (kept: the predicate per instance): its length counts the kept members."""
    mem = tuple(T.and_([m, k]) for m, k in zip(f.mem, kept, strict=True))
    dup = tuple(T.and_([d, k]) for d, k in zip(f.dup, kept, strict=True))
    return OrderFifo(mem, dup, f.before, count(mem))


def remove(f: OrderFifo, x: z3.BitVecRef) -> OrderFifo:
    """T9/T13: x leaves the FIFO; one item less if it was there (a duplicated x keeps its flag)."""
    ex = is_x(x, len(f.mem))
    mem = tuple(T.and_([m, T.not_(e)]) for m, e in zip(f.mem, ex, strict=True))
    return OrderFifo(mem, f.dup, f.before, T.sub(f.length, T.ite(has(f, x), num(1), num(0))))


def concat(a: OrderFifo, b: OrderFifo) -> OrderFifo:
    mem = tuple(T.or_([p, q]) for p, q in zip(a.mem, b.mem, strict=True))
    dup = tuple(T.or_([d, e, T.and_([p, q])]) for d, e, p, q in zip(a.dup, b.dup, a.mem, b.mem, strict=True))

    def before(i: int, j: int) -> z3.BoolRef:
        # Members of a first, in a's order, then those of b in b's order.
        return T.ite(a.mem[i], T.ite(a.mem[j], a.before(i, j), T.TRUE), T.ite(a.mem[j], T.FALSE, b.before(i, j)))

    return OrderFifo(mem, dup, Prec(before), T.add(a.length, b.length))


def at_most_one(f: OrderFifo, kept: Sequence[z3.BoolRef]) -> z3.BoolRef:
    """len(filter(f, kept)) <= 1 (S6, S27): no kept duplicate, and at most one kept member."""
    ks = [T.and_([m, k]) for m, k in zip(f.mem, kept, strict=True)]
    ok: list[z3.BoolRef] = [T.not_(T.and_([k, d])) for k, d in zip(ks, f.dup, strict=True)]
    seen: z3.BoolRef = T.FALSE
    for k in ks:
        ok.append(T.not_(T.and_([k, seen])))
        seen = T.or_([seen, k])
    return T.and_(ok)


def has_dup(f: OrderFifo) -> z3.BoolRef:
    return T.or_(list(f.dup))


def ite(c: z3.BoolRef, a: OrderFifo, b: OrderFifo) -> OrderFifo:
    if T.is_true(c):
        return a
    if T.is_false(c):
        return b
    mem = tuple(T.ite(c, p, q) for p, q in zip(a.mem, b.mem, strict=True))
    dup = tuple(T.ite(c, p, q) for p, q in zip(a.dup, b.dup, strict=True))
    before = Prec(lambda i, j: T.ite(c, a.before(i, j), b.before(i, j)))
    return OrderFifo(mem, dup, before, T.ite(c, a.length, b.length))


def equal(a: OrderFifo, b: OrderFifo) -> z3.BoolRef:
    """The same members in the same order (and the same duplicate flags)."""
    n = len(a.mem)
    cs = [T.eq(a.length, b.length), *(T.eq(p, q) for p, q in zip(a.mem, b.mem, strict=True))]
    cs += [T.eq(p, q) for p, q in zip(a.dup, b.dup, strict=True)]
    cs += [T.implies(T.and_([a.mem[i], a.mem[j]]), T.eq(a.before(i, j), b.before(i, j)))
           for i in range(n) for j in range(n) if i != j]
    return T.and_(cs)


def decode(m: z3.ModelRef, f: OrderFifo) -> tuple[int, ...]:
    """The members in order: each time, the first member no remaining member is before.

    A pre-state of a CTI may order its members cyclically (nothing constrains `before`);
    then the smallest remaining index comes next, so the head T9 saw is still first.
    """
    def val(x: Any) -> bool:
        return z3.is_true(m.eval(x, model_completion=True))

    left = [i for i, x in enumerate(f.mem) if val(x)]
    out: list[int] = []
    while left:
        free = [i for i in left if not any(val(f.before(j, i)) for j in left if j != i)]
        nxt = (free or left)[0]
        out.append(nxt)
        left.remove(nxt)
    return tuple(out)
