"""The symbolic IR (checker/symbolic/allsizes/trace.py) in Z3 with instances as uninterpreted sorts.

- every entity kind is a sort with a distinguished `none` element (null references);
  quantifiers and action parameters range over the other elements
- an entity field is a function from its kind's sort: enum -> a Z3 enumeration, bool,
  int -> Int, ref -> the referenced sort, a set over an enum -> one Bool function per
  member; a singleton field is a constant
- a FIFO is abstracted to two Boolean functions (docs/symbolic.md "All sizes"): `mem(y)`,
  y occurs in it, and `dup(y)`, y occurs more than once. push/remove/filter/concat are
  exact on that pair; head chooses some member and pop takes one occurrence of it (whether
  a third occurrence is left is a free choice). The length of a FIFO is a fresh Int tied
  only to emptiness, except the length of "the items equal to x": 0, 1, or some k >= 2 as
  mem/dup say. Order is lost, so a property that speaks of order (head) is refused by
  `checker/symbolic/allsizes/proof.py`, never proven here. Everything is Boolean: no arithmetic under
  the quantifiers.

Side conditions of the abstraction (the chosen head is a member) are collected in `side`.

Why one module of this size: the abstraction of FIFOs and references is one argument;
its operators and side conditions must be read (and reviewed for soundness) together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pgcheck.checker.errors import ModelError
from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.types import NULL_REF, Bool, Enum, FieldType, Fifo, Int, Ref, Set
from pgcheck.checker.symbolic.allsizes.trace import At, Base, FunState, Lam, SymBinding
from pgcheck.checker.symbolic.smt import z3mod

z3 = z3mod()


class Unsupported(ModelError):
    """An operator with no meaning in the all-sizes abstraction (counting, order)."""


@dataclass(eq=False)
class Bag:
    """A FIFO abstracted to membership: y occurs in it (`mem`), more than once (`dup`)."""

    kind: str
    mem: Callable[[Any], Any]
    dup: Callable[[Any], Any]


Env = dict[str, Any]


_ENUMS: dict[tuple[str, tuple[str, ...]], tuple[Any, list[Any]]] = {}  # one Z3 sort per enum
_FINITE: dict[tuple[str, int], tuple[Any, list[Any]]] = {}


class Sorts:
    """Z3 sorts of one model: a sort and a none element per entity kind, enumerations.

    `finite` (kind -> n) makes each kind a finite sort of none and n instances, with every
    quantifier expanded over them: the quick search for counterexamples to induction
    (a model there is one of the abstraction). Without it the sorts are uninterpreted and
    quantifiers stay quantifiers: that is the all-sizes question.
    """

    def __init__(self, kinds: dict[str, Any], finite: dict[str, int] | None = None) -> None:
        self.finite = finite
        self.sort: dict[str, Any] = {}
        self.none: dict[str, Any] = {}
        self.elems: dict[str, list[Any]] = {}
        for k, d in kinds.items():
            if d.count is None:
                continue
            if finite is None:
                self.sort[k] = z3.DeclareSort(k.capitalize())
                self.none[k] = z3.Const(f"none_{k}", self.sort[k])
                continue
            key = (k, finite.get(k, 3))
            if key not in _FINITE:
                _FINITE[key] = z3.EnumSort(f"{k.capitalize()}{key[1]}", [f"{k}_none", *(f"{k}{i}" for i in range(key[1]))])
            self.sort[k], vals = _FINITE[key]
            self.none[k], self.elems[k] = vals[0], list(vals[1:])
        self._n = 0

    def enum(self, ty: Enum) -> tuple[Any, list[Any]]:
        key = (ty.label, ty.values)
        if key not in _ENUMS:
            _ENUMS[key] = z3.EnumSort(f"E_{ty.label}", [f"{ty.label}.{v}" for v in ty.values])
        return _ENUMS[key]

    def forall(self, kind: str, body: Callable[[Any], Any], hint: str = "x") -> Any:
        """For every instance (none excluded) of kind."""
        if self.finite is not None:
            return z3.And(*(body(e) for e in self.elems[kind]))
        x = self.fresh(kind, hint)
        return z3.ForAll([x], z3.Implies(x != self.none[kind], body(x)))

    def exists(self, kind: str, body: Callable[[Any], Any], hint: str = "x") -> Any:
        if self.finite is not None:
            return z3.Or(*(body(e) for e in self.elems[kind]))
        x = self.fresh(kind, hint)
        return z3.Exists([x], z3.And(x != self.none[kind], body(x)))

    def of(self, ty: FieldType) -> Any:
        if isinstance(ty, Bool):
            return z3.BoolSort()
        if isinstance(ty, Enum):
            return self.enum(ty)[0]
        if isinstance(ty, Int):
            return z3.IntSort()
        if isinstance(ty, Ref):
            return self.sort[ty.kind]
        raise Unsupported(f"no scalar sort for a {ty.name}")

    def fresh(self, kind: str, hint: str) -> Any:
        self._n += 1
        return z3.Const(f"{hint}!{self._n}", self.sort[kind])

    def fresh_int(self, hint: str) -> Any:
        self._n += 1
        return z3.Int(f"{hint}!{self._n}")

    def fresh_bool(self, hint: str) -> Any:
        self._n += 1
        return z3.Bool(f"{hint}!{self._n}")


class State:
    """Reads of fields in one state."""

    def entity(self, kind: str, name: str, idx: Any) -> Any:
        raise NotImplementedError

    def single(self, kind: str, name: str) -> Any:
        raise NotImplementedError


class PreState(State):
    """A state as uninterpreted functions and constants named `<kind>.<field>@<tag>`."""

    def __init__(self, sorts: Sorts, kinds: dict[str, Any], tag: str) -> None:
        self.sorts, self.kinds, self.tag = sorts, kinds, tag
        self.funcs: dict[tuple[str, str], Any] = {}
        self.axioms: list[Any] = []  # dup(y) => mem(y)
        for k, d in kinds.items():
            dom = [] if d.count is None else [sorts.sort[k]]
            for f, ty in d.fields.items():
                self.funcs[(k, f)] = self._declare(f"{k}.{f}@{tag}", dom, ty, None if d.count is None else k)

    def _declare(self, name: str, dom: list[Any], ty: FieldType, owner: str | None) -> Any:
        z = self.sorts
        if isinstance(ty, Set):
            if not isinstance(ty.of, Enum):
                raise Unsupported("a set of instances")
            return tuple(z3.Function(f"{name}#{v}", *dom, z3.BoolSort()) for v in ty.of.values)
        if isinstance(ty, Fifo):
            mem = z3.Function(f"{name}#mem", *dom, z.sort[ty.kind], z3.BoolSort())
            dup = z3.Function(f"{name}#dup", *dom, z.sort[ty.kind], z3.BoolSort())
            kind = ty.kind

            def ax(*a: Any) -> Any:
                return z.forall(kind, lambda y: z3.Implies(dup(*a, y), mem(*a, y)))

            self.axioms.append(ax() if owner is None else z.forall(owner, ax))
            return (mem, dup)
        fn = z3.Function(name, *dom, z.of(ty))
        return fn

    def entity(self, kind: str, name: str, idx: Any) -> Any:
        return self._apply(self.funcs[(kind, name)], self.kinds[kind].fields[name], [idx])

    def single(self, kind: str, name: str) -> Any:
        return self._apply(self.funcs[(kind, name)], self.kinds[kind].fields[name], [])

    def _apply(self, fn: Any, ty: FieldType, args: list[Any]) -> Any:
        if isinstance(ty, Set):
            return tuple(f(*args) for f in fn)
        if isinstance(ty, Fifo):
            return Bag(ty.kind, lambda y: fn[0](*args, y), lambda y: fn[1](*args, y))
        return fn(*args) if args else fn()


class PostState(State):
    """The successor of `pre` under one symbolic binding with parameters `env`."""

    def __init__(self, enc: Encoder, pre: State, b: SymBinding, env: Env) -> None:
        self.enc, self.pre, self.b, self.env = enc, pre, b, env

    def entity(self, kind: str, name: str, idx: Any) -> Any:
        fs = self.b.funs.get((kind, name))
        if fs is None:
            return self.pre.entity(kind, name, idx)
        return self.enc.fun_at(fs, idx, self.pre, self.env)

    def single(self, kind: str, name: str) -> Any:
        e = self.b.singles.get((kind, name))
        return self.pre.single(kind, name) if e is None else self.enc.expr(e, self.pre, self.env)


def ite(c: Any, x: Any, y: Any) -> Any:
    if isinstance(x, Bag):
        return Bag(x.kind, lambda v: z3.If(c, x.mem(v), y.mem(v)), lambda v: z3.If(c, x.dup(v), y.dup(v)))
    if isinstance(x, tuple):
        return tuple(z3.If(c, p, q) for p, q in zip(x, y, strict=True))
    return z3.If(c, x, y)


def equal(x: Any, y: Any) -> Any:
    if isinstance(x, Bag):
        raise Unsupported("equality of FIFOs")
    if isinstance(x, tuple):
        return z3.And(*(p == q for p, q in zip(x, y, strict=True)))
    return x == y


class Encoder:
    def __init__(self, sorts: Sorts, kinds: dict[str, Any]) -> None:
        self.z, self.kinds = sorts, kinds
        self.side: list[Any] = []
        self._heads: dict[int, Any] = {}
        self._memo: dict[tuple[int, int, tuple[tuple[str, int], ...]], Any] = {}
        self._keep: list[Any] = []

    # ---- helpers on values
    def empty(self, f: Bag) -> Any:
        return self.z.forall(f.kind, lambda y: z3.Not(f.mem(y)), "e")

    def head(self, f: Bag) -> Any:
        """Some member of f (FIFO order is abstracted away), one per FIFO value and step."""
        h = self._heads.get(id(f))
        if h is None:
            h = self.z.fresh(f.kind, "head")
            self.side.append(z3.Or(self.empty(f), z3.And(h != self.z.none[f.kind], f.mem(h))))
            self._heads[id(f)] = h
            self._keep.append(f)
        return h

    def length(self, f: Bag) -> Any:
        n = self.z.fresh_int("len")
        e = self.empty(f)
        self.side += [n >= 0, z3.Or(e, n >= 1), z3.Or(z3.Not(e), n == 0)]
        return n

    def fun_at(self, fs: FunState, idx: Any, st: State, env: Env) -> Any:
        if isinstance(fs, Base):
            return st.entity(fs.kind, fs.field, idx)
        if isinstance(fs, At):
            return ite(idx == self.expr(fs.idx, st, env), self.expr(fs.value, st, env), self.fun_at(fs.prev, idx, st, env))
        assert isinstance(fs, Lam)
        return self.expr(fs.body, st, {**env, fs.var.args[1]: idx})

    # ---- expressions
    def expr(self, e: Expr, st: State, env: Env) -> Any:
        key = (id(e), id(st), tuple(sorted((k, v.get_id()) for k, v in env.items())))
        hit = self._memo.get(key)
        if hit is None:
            hit = self._expr(e, st, env)
            self._memo[key] = hit
            self._keep += [e, st]
        return hit

    def _expr(self, e: Expr, st: State, env: Env) -> Any:
        op, a = e.op, e.args

        def ev(x: Expr) -> Any:
            return self.expr(x, st, env)

        if op == "const":
            return self.const(a[0], e.ty)
        if op in ("param", "qvar"):
            return env[a[1]]
        if op == "var":
            return env[a[0]]
        if op == "sread":
            return st.single(a[0], a[1])
        if op == "fread":
            return self.fun_at(a[2], ev(a[3]), st, env)
        if op in ("forall", "exists"):
            kind, name = a[0].args[0], a[0].args[1]
            point = _one_point(op, a[1], name)
            if point is not None:
                # ∃x. x = t ∧ P(x) is t ≠ none ∧ P(t); ∀x. x = t ⇒ P(x) is t ≠ none ⇒ P(t): no quantifier.
                t = ev(point)
                body = self.expr(a[1], st, {**env, name: t})
                real = t != self.z.none[kind]
                return z3.And(real, body) if op == "exists" else z3.Implies(real, body)
            q = self.z.forall if op == "forall" else self.z.exists
            return q(kind, lambda x: self.expr(a[1], st, {**env, name: x}), name)
        if op == "count":
            raise Unsupported("counts instances")
        if op in ("eq", "ne"):
            same = equal(ev(a[0]), ev(a[1]))
            return same if op == "eq" else z3.Not(same)
        if op in ("lt", "le", "gt", "ge", "add", "sub"):
            x, y = ev(a[0]), ev(a[1])
            return {"lt": x < y, "le": x <= y, "gt": x > y, "ge": x >= y, "add": x + y, "sub": x - y}[op]
        if op == "and":
            return z3.And(*(ev(x) for x in a))
        if op == "or":
            return z3.Or(*(ev(x) for x in a))
        if op == "not":
            return z3.Not(ev(a[0]))
        if op == "if":
            return ite(ev(a[0]), ev(a[1]), ev(a[2]))
        if op.startswith("set_"):
            return self._set(e, ev)
        if op.startswith("fifo_"):
            return self._fifo(e, st, env)
        raise Unsupported(f"IR operator {op!r}")

    def const(self, raw: Any, ty: FieldType) -> Any:
        if isinstance(ty, Bool):
            return z3.BoolVal(bool(raw))
        if isinstance(ty, Enum):
            return self.z.enum(ty)[1][raw]
        if isinstance(ty, Int):
            return z3.IntVal(raw)
        if isinstance(ty, Ref):
            if raw != NULL_REF:
                raise Unsupported(f"a concrete {ty.kind} instance")
            return self.z.none[ty.kind]
        if isinstance(ty, Set) and isinstance(ty.of, Enum):
            return tuple(z3.BoolVal(bool((raw >> i) & 1)) for i in range(len(ty.of.values)))
        if isinstance(ty, Fifo):
            if tuple(raw):
                raise Unsupported("a FIFO of concrete instances")
            return Bag(ty.kind, lambda y: z3.BoolVal(False), lambda y: z3.BoolVal(False))
        raise Unsupported(f"a constant of type {ty.name}")

    def _member(self, s: Expr, x: Expr, ev: Callable[[Expr], Any]) -> list[Any]:
        """Per member of the set's enum universe: x is that member."""
        assert isinstance(s.ty, Set) and isinstance(s.ty.of, Enum)
        n = len(s.ty.of.values)
        if x.op == "const":
            return [z3.BoolVal(i == x.args[0]) for i in range(n)]
        xv = ev(x)
        return [xv == v for v in self.z.enum(s.ty.of)[1]]

    def _set(self, e: Expr, ev: Callable[[Expr], Any]) -> Any:
        op, a = e.op, e.args
        if not (isinstance(a[0].ty, Set) and isinstance(a[0].ty.of, Enum)):
            raise Unsupported("a set of instances")
        v = ev(a[0])
        if op == "set_empty":
            return z3.Not(z3.Or(*v))
        if op in ("set_has", "set_add", "set_del"):
            is_x = self._member(a[0], a[1], ev)
            if op == "set_has":
                return z3.Or(*(z3.And(i, b) for i, b in zip(is_x, v, strict=True)))
            if op == "set_add":
                return tuple(z3.Or(b, i) for i, b in zip(is_x, v, strict=True))
            return tuple(z3.And(b, z3.Not(i)) for i, b in zip(is_x, v, strict=True))
        w = ev(a[1])
        if op == "set_union":
            return tuple(z3.Or(p, q) for p, q in zip(v, w, strict=True))
        if op == "set_minus":
            return tuple(z3.And(p, z3.Not(q)) for p, q in zip(v, w, strict=True))
        if op == "set_inter":
            return tuple(z3.And(p, q) for p, q in zip(v, w, strict=True))
        raise Unsupported(f"IR operator {op!r}")

    def _fifo(self, e: Expr, st: State, env: Env) -> Any:
        op, a = e.op, e.args

        def ev(x: Expr) -> Any:
            return self.expr(x, st, env)

        if op == "fifo_len":
            item = _filter_on_item(a[0])
            if item is not None:
                # len([x in f if x == t]): 0, 1 or at least 2 (S6, S27 "at most once" are exact).
                src: Bag = ev(a[0].args[0])
                t = self.expr(item, st, env)
                k = self.z.fresh_int("many")
                self.side.append(k >= 2)
                return z3.If(src.mem(t), z3.If(src.dup(t), k, 1), 0)
            return self.length(ev(a[0]))
        if op == "fifo_filter":
            f: Bag = ev(a[0])
            name = a[1].args[0]
            keep = lambda y: self.expr(a[2], st, {**env, name: y})  # noqa: E731
            return Bag(f.kind, lambda y: z3.And(keep(y), f.mem(y)), lambda y: z3.And(keep(y), f.dup(y)))
        f = ev(a[0])
        if op == "fifo_empty":
            return self.empty(f)
        if op == "fifo_has":
            return f.mem(ev(a[1]))
        if op == "fifo_head":
            return self.head(f)
        if op == "fifo_push":
            x = ev(a[1])
            return Bag(f.kind, lambda y: z3.Or(f.mem(y), y == x), lambda y: z3.Or(f.dup(y), z3.And(y == x, f.mem(y))))
        if op == "fifo_pop":
            h = self.head(f)
            more = self.z.fresh_bool("more")  # a third occurrence of the head is left
            taken = lambda y: z3.And(y == h, f.mem(h))  # noqa: E731
            return Bag(f.kind, lambda y: z3.If(taken(y), f.dup(y), f.mem(y)),
                       lambda y: z3.If(taken(y), z3.And(f.dup(y), more), f.dup(y)))
        if op == "fifo_remove":
            x = ev(a[1])
            return Bag(f.kind, lambda y: z3.And(y != x, f.mem(y)), lambda y: z3.And(y != x, f.dup(y)))
        if op == "fifo_concat":
            g: Bag = ev(a[1])
            return Bag(f.kind, lambda y: z3.Or(f.mem(y), g.mem(y)),
                       lambda y: z3.Or(f.dup(y), g.dup(y), z3.And(f.mem(y), g.mem(y))))
        raise Unsupported(f"IR operator {op!r}")


def _one_point(op: str, body: Expr, name: str) -> Expr | None:
    """The t of a conjunct `x = t` (exists) or of a premise `x = t` (forall), t free of x."""
    parts = list(body.args) if body.op == ("and" if op == "exists" else "or") else [body]
    for p in parts:
        if op == "forall":
            if p.op != "not":
                continue
            p = p.args[0]
        if p.op != "eq":
            continue
        for x, t in (p.args, p.args[::-1]):
            if x.op == "qvar" and x.args[1] == name and not _mentions_q(t, name):
                return t
    return None


def _mentions_q(e: Expr, name: str) -> bool:
    if e.op == "qvar":
        return bool(e.args[1] == name)
    return any(isinstance(x, Expr) and _mentions_q(x, name) for x in e.args)


def _filter_on_item(e: Expr) -> Expr | None:
    """For `[x in f if x == t]` (t not mentioning x): t."""
    if e.op != "fifo_filter":
        return None
    var, pred = e.args[1], e.args[2]
    if pred.op != "eq":
        return None
    lhs, rhs = pred.args
    if lhs.op == "var" and lhs.args[0] == var.args[0] and not _mentions(rhs, var.args[0]):
        return rhs
    if rhs.op == "var" and rhs.args[0] == var.args[0] and not _mentions(lhs, var.args[0]):
        return lhs
    return None


def _mentions(e: Expr, name: str) -> bool:
    if e.op == "var":
        return bool(e.args[0] == name)
    return any(isinstance(x, Expr) and _mentions(x, name) for x in e.args)


def uses(e: Expr, ops: set[str], seen: set[int] | None = None) -> set[str]:
    """Which of `ops` occur in e (classifying a property before it is asked about)."""
    seen = set() if seen is None else seen
    if id(e) in seen:
        return set()
    seen.add(id(e))
    found = {e.op} & ops
    if e.op == "fifo_len" and _filter_on_item(e.args[0]) is not None:
        found.discard("fifo_len")
    for x in e.args:
        if isinstance(x, Expr):
            found |= uses(x, ops, seen)
    return found
