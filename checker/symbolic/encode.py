"""The IR in Z3: states as terms, actions as guarded frame-complete updates (Decision 1).

One `Encoder` per traced model serves `prove` and `bmc`. A state is one Z3 term per
slot, named `<slot label>@<step>`:

- enum, int, ref -> a 16-bit vector, signed (enum index, value, instance index, -1 for none)
- bool           -> Bool
- set            -> one Bool per member of the universe (enum values or instances)
- fifo           -> a length and `capacity` items, head first; items at and
                    beyond the length are -1, so equal FIFOs have equal terms
                    (`fifos="slots"`), or membership and precedence per instance
                    (`fifos="order"`, checker/symbolic/fifo_order.py, for `prove` at large sizes)

Bit vectors rather than mathematical integers: every domain is small and finite, and
Z3 bit-blasts them to SAT, which decides these formulas far faster than arithmetic.
16 bits hold every value the models use (sums of at most a few hundred ones).

Every operator mirrors `checker/lang/compile.py`. The explicit engines stop with a model
error where a value is undefined (a read through a null reference, the head of an
empty FIFO) or an action's run-time check fails (range, capacity, write through
null). Here the undefined reads give the last candidate and -1, the transition is the
guard and the update, and both engines ask separately whether some enabled action's
check can fail (`errors`): a model error is reported, never assumed away.

Why one module of this size: one Z3 rule per IR operator, kept together so each can be
read against checker/lang/compile.py; the FIFO order encoding is already its own module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import z3
from pgcheck.checker.errors import ModelError
from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.spec import Binding, TracedModel
from pgcheck.checker.lang.types import NULL_REF, Bool, Enum, FieldType, Fifo, Int, Ref, Set
from pgcheck.checker.symbolic import fifo_order as O
from pgcheck.checker.symbolic import terms as T
from pgcheck.checker.symbolic.fifo_order import OrderFifo
from pgcheck.checker.symbolic.terms import num, var


@dataclass(frozen=True)
class FifoVal:
    length: z3.BitVecRef
    items: tuple[z3.BitVecRef, ...]


SetVal = tuple[z3.BoolRef, ...]
Val = Any  # z3.BitVecRef | z3.BoolRef | SetVal | FifoVal | OrderFifo
FIFO_ENCODINGS = ("slots", "order")
State = list[Val]
Ren = tuple[tuple[str, str], ...]  # variable name -> its name by binding depth


def _pad(f: FifoVal, cap: int) -> FifoVal:
    """The same FIFO with room for `cap` items (FIFO types of one kind may differ in capacity)."""
    if len(f.items) >= cap:
        return f
    return FifoVal(f.length, f.items + (num(NULL_REF),) * (cap - len(f.items)))


class Encoder:
    """Z3 terms for the states, predicates and steps of one traced model."""

    def __init__(self, model: TracedModel, fifos: str = "slots") -> None:
        if fifos not in FIFO_ENCODINGS:
            raise ModelError(f"unknown FIFO encoding {fifos!r}; known: {', '.join(FIFO_ENCODINGS)}")
        self.model = model
        self.order = fifos == "order"  # checker/symbolic/fifo_order.py; only `prove` keeps pre-states duplicate-free
        self.counts = {k.name: len(k.instances) for k in model.kinds.values()}
        self._memo: dict[tuple[int, int, tuple[int, ...]], Val] = {}
        self._skeys: dict[tuple[int, Ren], int] = {}
        self._intern: dict[tuple[Any, ...], int] = {}
        self._tykeys: dict[int, str] = {}
        self._keep: list[Any] = []

    # ---------------------------------------------------------------- states

    def universe(self, ty: Set) -> int:
        return len(ty.of.values) if isinstance(ty.of, Enum) else self.counts[ty.of]

    def state(self, tag: str) -> State:
        """Fresh variables for one state, named `<slot>@<tag>`."""
        out: State = []
        for info in self.model.slots:
            name, ty = f"{info.label}@{tag}", info.ty
            if isinstance(ty, Bool):
                out.append(z3.Bool(name))
            elif isinstance(ty, Set):
                out.append(tuple(z3.Bool(f"{name}#{i}") for i in range(self.universe(ty))))
            elif isinstance(ty, Fifo) and self.order:
                out.append(O.fresh(name, self.counts[ty.kind]))
            elif isinstance(ty, Fifo):
                out.append(FifoVal(var(f"{name}#len"), tuple(var(f"{name}#{i}") for i in range(ty.capacity))))
            else:
                out.append(var(name))
        return out

    def domain(self, s: State) -> z3.BoolRef:
        """The values each slot's type allows (a state of the explicit engines)."""
        cs: list[z3.BoolRef] = []
        for info, v in zip(self.model.slots, s, strict=True):
            ty = info.ty
            if isinstance(ty, Enum):
                cs += [T.le(num(0), v), T.lt(v, num(len(ty.values)))]
            elif isinstance(ty, Int):
                cs += [T.le(num(ty.lo), v), T.le(v, num(ty.hi))]
            elif isinstance(ty, Ref):
                cs += [T.le(num(NULL_REF), v), T.lt(v, num(self.counts[ty.kind]))]
            elif isinstance(ty, Fifo) and self.order:
                if ty.capacity < self.counts[ty.kind]:
                    cs.append(T.le(O.length(v), num(ty.capacity)))
            elif isinstance(ty, Fifo):
                n = num(self.counts[ty.kind])
                cs += [T.le(num(0), v.length), T.le(v.length, num(ty.capacity))]
                for i, x in enumerate(v.items):
                    inside = T.and_([T.le(num(0), x), T.lt(x, n)])
                    cs.append(T.ite(T.lt(num(i), v.length), inside, T.eq(x, num(NULL_REF))))
        return T.and_(cs)

    def init(self, s: State) -> z3.BoolRef:
        pairs = zip(self.model.slots, s, self.model.init, strict=True)
        return T.and_([self.equal(v, self.const(raw, info.ty)) for info, v, raw in pairs])

    def equal(self, a: Val, b: Val) -> z3.BoolRef:
        if isinstance(a, OrderFifo):
            return O.equal(a, b)
        if isinstance(a, FifoVal):
            # Equal lengths leave only padding beyond the smaller capacity.
            return T.and_([T.eq(a.length, b.length), *(T.eq(x, y) for x, y in zip(a.items, b.items, strict=False))])
        if isinstance(a, tuple):
            return T.and_([T.eq(x, y) for x, y in zip(a, b, strict=True)])
        return T.eq(a, b)

    def const(self, raw: Any, ty: FieldType) -> Val:
        if isinstance(ty, Bool):
            return T.TRUE if raw else T.FALSE
        if isinstance(ty, Set):
            return tuple(T.TRUE if (raw >> i) & 1 else T.FALSE for i in range(self.universe(ty)))
        if isinstance(ty, Fifo) and self.order:
            return O.const(tuple(raw), self.counts[ty.kind])
        if isinstance(ty, Fifo):
            items = tuple(raw)
            pad = [NULL_REF] * (ty.capacity - len(items))
            return FifoVal(num(len(items)), tuple(num(x) for x in (*items, *pad)))
        return num(int(raw))

    # ---------------------------------------------------------------- values of a model

    def value(self, m: z3.ModelRef, v: Val, ty: FieldType) -> Any:
        """A Z3 model's value of one slot, in the explicit engines' encoding."""
        if isinstance(ty, Bool):
            return int(z3.is_true(m.eval(v, model_completion=True)))
        if isinstance(ty, Set):
            return sum(1 << i for i, b in enumerate(v) if z3.is_true(m.eval(b, model_completion=True)))
        if isinstance(ty, Fifo) and self.order:
            return O.decode(m, v)
        if isinstance(ty, Fifo):
            n = m.eval(v.length, model_completion=True).as_signed_long()
            return tuple(m.eval(x, model_completion=True).as_signed_long() for x in v.items[:n])
        return m.eval(v, model_completion=True).as_signed_long()

    def decode(self, m: z3.ModelRef, s: State) -> tuple[Any, ...]:
        return tuple(self.value(m, v, info.ty) for info, v in zip(self.model.slots, s, strict=True))

    # ---------------------------------------------------------------- expressions

    # Structurally equal expressions (the same read of the runnable queue in every binding
    # of an action, say) are encoded once: `skey` interns each tree to a number, naming
    # the variables bound by fifo_filter by depth so equal filters get equal keys.

    def skey(self, e: Expr, ren: Ren = ()) -> int:
        ck = (id(e), ren)
        hit = self._skeys.get(ck)
        if hit is not None:
            return hit
        op, a = e.op, e.args
        parts: list[Any] = [op, self._tykey(e.ty)]
        if op == "var":
            parts.append(dict(ren).get(a[0], a[0]))
        elif op == "fifo_filter":
            inner = (*ren, (a[1].args[0], f"#{len(ren)}"))
            parts += [self.skey(a[0], ren), self.skey(a[2], inner)]
        else:
            for x in a:
                if isinstance(x, Expr):
                    parts.append(self.skey(x, ren))
                elif isinstance(x, tuple) and x and isinstance(x[0], Expr):
                    parts.append(tuple(self.skey(y, ren) for y in x))
                else:
                    parts.append(x)
        key = tuple(parts)
        n = self._intern.setdefault(key, len(self._intern))
        self._skeys[ck] = n
        self._keep.append(e)  # keeps id(e) in the cache key valid
        return n

    def _tykey(self, ty: FieldType) -> str:
        k = self._tykeys.get(id(ty))
        if k is None:
            k = f"{ty.name}{sorted(ty.describe().items())}"
            self._tykeys[id(ty)] = k
            self._keep.append(ty)
        return k

    def expr(self, e: Expr, s: State, env: dict[str, Val] | None = None, ren: Ren = ()) -> Val:
        env = env or {}
        key = (self.skey(e, ren), id(s), tuple(id(env[raw]) for raw, _ in ren))
        hit = self._memo.get(key)
        if hit is None:
            hit = self._expr(e, s, env, ren)
            self._memo[key] = hit
            self._keep.append(s)
        return hit

    def pred(self, e: Expr, s: State) -> z3.BoolRef:
        v = self.expr(e, s)
        if not z3.is_bool(v):
            raise ModelError(f"expected a condition, got {e.show()}")
        return v

    def _expr(self, e: Expr, s: State, env: dict[str, Val], ren: Ren) -> Val:
        op, a = e.op, e.args

        def ev(x: Expr) -> Val:
            return self.expr(x, s, env, ren)

        if op == "const":
            return self.const(a[0], e.ty)
        if op == "slot":
            return s[a[0]]
        if op == "var":
            return env[a[0]]
        if op == "deref":
            idx = ev(a[2])
            cands = [ev(c) for c in a[3]]
            out = cands[-1]
            for i in range(len(cands) - 2, -1, -1):
                out = self.ite(T.eq(idx, num(i)), cands[i], out)
            return out
        if op in ("eq", "ne"):
            x, y = ev(a[0]), ev(a[1])
            same = self.equal(x, y)
            return same if op == "eq" else T.not_(same)
        if op == "le" and a[0].op == "fifo_len" and a[0].args[0].op == "fifo_filter" and a[1].op == "const" and a[1].args[0] == 1:
            return self._at_most_one(a[0].args[0], s, env, ren)
        if op in ("lt", "le", "gt", "ge", "add", "sub"):
            x, y = ev(a[0]), ev(a[1])
            if op in ("gt", "ge"):
                x, y, op = y, x, "lt" if op == "gt" else "le"
            return {"lt": T.lt, "le": T.le, "add": T.add, "sub": T.sub}[op](x, y)
        if op == "and":
            return T.and_([ev(x) for x in a])
        if op == "or":
            return T.or_([ev(x) for x in a])
        if op == "not":
            return T.not_(ev(a[0]))
        if op == "if":
            return self.ite(ev(a[0]), ev(a[1]), ev(a[2]))
        if op.startswith("set_"):
            return self._set(op, [ev(x) for x in a], a)
        if op.startswith("fifo_"):
            return self._fifo(e, s, env, ren)
        raise ModelError(f"the symbolic engines cannot encode IR operator {op!r}")

    def _kept(self, e: Expr, s: State, env: dict[str, Val], ren: Ren) -> tuple[FifoVal, list[z3.BoolRef]]:
        """A fifo_filter's source and, per item, whether it is present and kept."""
        f: FifoVal = self.expr(e.args[0], s, env, ren)
        name = e.args[1].args[0]
        inner = (*ren, (name, f"#{len(ren)}"))
        keep = [self.expr(e.args[2], s, {**env, name: item}, inner) for item in f.items]
        return f, [T.and_([T.lt(num(i), f.length), k]) for i, k in enumerate(keep)]

    def _at_most_one(self, e: Expr, s: State, env: dict[str, Val], ren: Ren) -> z3.BoolRef:
        """len(filter(f, p)) <= 1 (no duplicates, S6/S27) as a linear Boolean chain, not an adder."""
        if self.order:
            src: OrderFifo = self.expr(e.args[0], s, env, ren)
            return O.at_most_one(src, self._order_keep(e, src, s, env, ren))
        _, keep = self._kept(e, s, env, ren)
        seen: z3.BoolRef = T.FALSE
        ok: list[z3.BoolRef] = []
        for k in keep:
            ok.append(T.not_(T.and_([k, seen])))
            seen = T.or_([seen, k])
        return T.and_(ok)

    def ite(self, c: z3.BoolRef, x: Val, y: Val) -> Val:
        if isinstance(x, OrderFifo):
            return O.ite(c, x, y)
        if isinstance(x, FifoVal):
            x, y = _pad(x, len(y.items)), _pad(y, len(x.items))
            return FifoVal(T.ite(c, x.length, y.length), tuple(T.ite(c, p, q) for p, q in zip(x.items, y.items, strict=True)))
        if isinstance(x, tuple):
            return tuple(T.ite(c, p, q) for p, q in zip(x, y, strict=True))
        return T.ite(c, x, y)

    def _set(self, op: str, v: list[Val], a: tuple[Any, ...]) -> Val:
        if op == "set_empty":
            return T.not_(T.or_(v[0]))
        if op == "set_has":
            return T.or_([T.and_([T.eq(v[1], num(i)), b]) for i, b in enumerate(v[0])])
        if op == "set_add":
            return tuple(T.or_([b, T.eq(v[1], num(i))]) for i, b in enumerate(v[0]))
        if op == "set_del":
            return tuple(T.and_([b, T.not_(T.eq(v[1], num(i)))]) for i, b in enumerate(v[0]))
        x, y = v
        if op == "set_union":
            return tuple(T.or_([p, q]) for p, q in zip(x, y, strict=True))
        if op == "set_minus":
            return tuple(T.and_([p, T.not_(q)]) for p, q in zip(x, y, strict=True))
        if op == "set_inter":
            return tuple(T.and_([p, q]) for p, q in zip(x, y, strict=True))
        raise ModelError(f"the symbolic engines cannot encode IR operator {op!r}")

    def _order_keep(self, e: Expr, f: OrderFifo, s: State, env: dict[str, Val], ren: Ren) -> list[z3.BoolRef]:
        """A fifo_filter's predicate per instance (the order encoding asks it of every instance)."""
        name = e.args[1].args[0]
        inner = (*ren, (name, f"#{len(ren)}"))
        return [self.expr(e.args[2], s, {**env, name: num(i)}, inner) for i in range(len(f.mem))]

    def _order_fifo(self, e: Expr, s: State, env: dict[str, Val], ren: Ren) -> Val:
        """The FIFO operators on membership and precedence (checker/symbolic/fifo_order.py)."""
        op, a = e.op, e.args

        def ev(x: Expr) -> Val:
            return self.expr(x, s, env, ren)

        f: OrderFifo = ev(a[0])
        if op == "fifo_len":
            return O.length(f)
        if op == "fifo_empty":
            return O.empty(f)
        if op == "fifo_head":
            return O.head(f)
        if op == "fifo_has":
            return O.has(f, ev(a[1]))
        if op == "fifo_push":
            return O.push(f, ev(a[1]))
        if op == "fifo_pop":
            return O.pop(f)
        if op == "fifo_concat":
            return O.concat(f, ev(a[1]))
        if op == "fifo_remove":
            return O.remove(f, ev(a[1]))
        if op == "fifo_filter":
            return O.keep(f, self._order_keep(e, f, s, env, ren))
        raise ModelError(f"the symbolic engines cannot encode IR operator {op!r}")

    def has_dup(self, v: Val) -> z3.BoolRef:
        """Order encoding: the FIFO value may hold a duplicate (never in a pre-state of `prove`)."""
        return O.has_dup(v) if isinstance(v, OrderFifo) else T.FALSE

    def _fifo(self, e: Expr, s: State, env: dict[str, Val], ren: Ren) -> Val:
        if self.order:
            return self._order_fifo(e, s, env, ren)
        op, a = e.op, e.args

        def ev(x: Expr) -> Val:
            return self.expr(x, s, env, ren)

        if op == "fifo_len" and a[0].op == "fifo_filter":
            # Only the count is read: skip placing the kept items.
            total: z3.BitVecRef = num(0)
            for k in self._kept(a[0], s, env, ren)[1]:
                total = T.add(total, T.ite(k, num(1), num(0)))
            return total
        if op == "fifo_has" and a[0].op == "fifo_filter":
            # Membership in a filtered FIFO: some kept item equals x (no positions needed).
            src_f, keep = self._kept(a[0], s, env, ren)
            x = ev(a[1])
            return T.or_([T.and_([k, T.eq(item, x)]) for k, item in zip(keep, src_f.items, strict=True)])
        f: FifoVal = ev(a[0])
        cap = len(f.items)
        if op == "fifo_len":
            return f.length
        if op == "fifo_empty":
            return T.eq(f.length, num(0))
        if op == "fifo_head":
            return f.items[0]
        if op == "fifo_has":
            x = ev(a[1])
            return T.or_([T.and_([T.lt(num(i), f.length), T.eq(item, x)]) for i, item in enumerate(f.items)])
        if op == "fifo_push":
            x = ev(a[1])
            # One past the capacity is dropped here; the capacity check disables the step.
            items = tuple(T.ite(T.eq(f.length, num(i)), x, item) for i, item in enumerate(f.items))
            return FifoVal(T.add(f.length, num(1)), items)
        if op == "fifo_pop":
            items = (*f.items[1:], num(NULL_REF))
            return FifoVal(T.ite(T.lt(num(0), f.length), T.sub(f.length, num(1)), num(0)), tuple(items[:cap]))
        if op == "fifo_concat":
            g = ev(a[1])
            out = []
            for k in range(cap):
                tail: Val = num(NULL_REF)
                for j in range(min(k, len(g.items) - 1), -1, -1):
                    tail = T.ite(T.eq(f.length, num(k - j)), g.items[j], tail)
                out.append(T.ite(T.lt(num(k), f.length), f.items[k], tail))
            return FifoVal(T.add(f.length, g.length), tuple(out))
        if op == "fifo_remove":
            x = ev(a[1])
            return self._filter(f, [T.not_(T.eq(item, x)) for item in f.items])
        if op == "fifo_filter":
            name = a[1].args[0]
            inner = (*ren, (name, f"#{len(ren)}"))
            keep = [self.expr(a[2], s, {**env, name: item}, inner) for item in f.items]
            return self._filter(f, keep)
        raise ModelError(f"the symbolic engines cannot encode IR operator {op!r}")

    def _filter(self, f: FifoVal, pred: list[z3.BoolRef]) -> FifoVal:
        """The kept items, in order: item i lands at the number of kept items before it.

        That number is kept in unary (ge[k]: at least k kept so far), a chain of Boolean
        gates that SAT propagates well, rather than a bit-vector adder per item.
        """
        cap = len(f.items)
        keep = [T.and_([T.lt(num(i), f.length), p]) for i, p in enumerate(pred)]
        ge: list[z3.BoolRef] = [T.TRUE] + [T.FALSE] * cap  # before item 0: zero kept
        at: list[list[z3.BoolRef]] = []  # at[i][k]: exactly k kept before item i
        for k_i in keep:
            at.append([T.and_([ge[k], T.not_(ge[k + 1])]) for k in range(cap)])
            ge = [T.TRUE] + [T.or_([ge[k], T.and_([ge[k - 1], k_i])]) for k in range(1, cap + 1)]
        out = []
        for k in range(cap):
            v: Val = num(NULL_REF)
            for i in range(cap - 1, k - 1, -1):
                v = T.ite(T.and_([keep[i], at[i][k]]), f.items[i], v)
            out.append(v)
        count: z3.BitVecRef = num(0)
        for k in range(1, cap + 1):
            count = T.ite(ge[k], num(k), count)
        return FifoVal(count, tuple(out))

    # ---------------------------------------------------------------- steps

    def guard(self, b: Binding, s: State) -> z3.BoolRef:
        return self.pred(b.guard, s)

    def errors(self, s: State) -> list[tuple[str, z3.BoolRef]]:
        """Per run-time check of every action: the check fails while the guard holds."""
        out = []
        for b in self.model.bindings:
            for cond, msg in b.asserts:
                bad = T.and_([self.guard(b, s), T.not_(self.pred(cond, s))])
                if not T.is_false(bad):
                    out.append((f"action {b.label}: {msg}", bad))
        return out

    def step(self, b: Binding, s: State, t: State) -> z3.BoolRef:
        """`t` is the successor of `s` under binding `b` (every other slot unchanged)."""
        eqs = [self.equal(t[i], self.expr(b.updates[i], s) if i in b.updates else s[i]) for i in range(len(s))]
        return T.and_([self.guard(b, s), *eqs])

    def transition(self, s: State, t: State, act: z3.BitVecRef) -> list[z3.BoolRef]:
        """Next(s, t) with `act` naming the binding that fires: one If-chain per slot."""
        bindings = self.model.bindings
        if len(bindings) >= 2 ** (T.WIDTH - 1):
            raise ModelError(f"{len(bindings)} action bindings are more than the symbolic encoding numbers")
        cs: list[z3.BoolRef] = [T.le(num(0), act), T.lt(act, num(len(bindings)))]
        for b in bindings:
            cs.append(T.implies(T.eq(act, num(b.index)), self.guard(b, s)))
        writers: dict[int, list[Binding]] = {}
        for b in bindings:
            for i in b.updates:
                writers.setdefault(i, []).append(b)
        for i in range(len(s)):
            v: Val = s[i]
            for b in writers.get(i, []):
                v = self.ite(T.eq(act, num(b.index)), self.expr(b.updates[i], s), v)
            cs.append(self.equal(t[i], v))
        return cs
