"""The expression IR: trees over typed state slots that every engine reads.

Actions and predicates of a model are ordinary-looking Python over a tracing proxy;
every read of a field builds one of these nodes, and Python operators on nodes
build more nodes. Nodes carry a static type so that mistakes (comparing an enum with
a value it does not have, adding to a bool) are reported when the model is traced,
with the action name, not later inside an engine.

Why one module of this size: the node classes and the Python operators that build them
are the language's whole expression vocabulary; a model author reads them as one page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pgcheck.checker.errors import ModelError
from pgcheck.checker.lang.types import NULL_REF, Bool, Enum, FieldType, Fifo, Int, Ref, Set

# Static types of expressions: a FieldType, or one of these markers.
INT = Int(-(2**31), 2**31)
BOOL = Bool()


class TraceContext:
    """Where tracing currently is, so errors can name the action and its parameters."""

    where: str = "model"
    # Set only by the all-sizes tracer (checker/symbolic/allsizes/trace.py): maps an iterable of instances
    # to the variable a quantifier binds, or None for an ordinary finite iterable.
    quantify: Callable[[Any], Expr | None] | None = None


def _fail(msg: str) -> ModelError:
    return ModelError(f"{TraceContext.where}: {msg}")


class Expr:
    """A node of the IR. `ty` is its static type."""

    __slots__ = ("args", "op", "ty")
    op: str
    ty: FieldType
    args: tuple[Any, ...]

    def __init__(self, op: str, ty: FieldType, *args: Any) -> None:
        self.op = op
        self.ty = ty
        self.args = args

    # Python branching on a state value cannot be traced: it would pick one branch
    # at trace time and silently drop the other.
    def __bool__(self) -> bool:
        raise _fail(
            f"Python branching on a state value ({self.show()}); use when(cond, a, b), "
            "require(...), or split the action"
        )

    def __hash__(self) -> int:
        return id(self)

    def __iter__(self) -> Any:
        raise _fail(f"cannot iterate over a state value ({self.show()}) in Python; use fifo_filter/any_of")

    # ---- comparisons
    def __eq__(self, other: object) -> Expr:  # type: ignore[override]
        return compare("eq", self, other)

    def __ne__(self, other: object) -> Expr:  # type: ignore[override]
        return compare("ne", self, other)

    def __lt__(self, other: object) -> Expr:
        return compare("lt", self, other)

    def __le__(self, other: object) -> Expr:
        return compare("le", self, other)

    def __gt__(self, other: object) -> Expr:
        return compare("gt", self, other)

    def __ge__(self, other: object) -> Expr:
        return compare("ge", self, other)

    # ---- arithmetic on ints
    def __add__(self, other: object) -> Expr:
        return arith("add", self, other)

    def __radd__(self, other: object) -> Expr:
        return arith("add", lift(other, self.ty), self)

    def __sub__(self, other: object) -> Expr:
        return arith("sub", self, other)

    def __rsub__(self, other: object) -> Expr:
        return arith("sub", lift(other, self.ty), self)

    # ---- boolean connectives (& | ~, since `and`/`or`/`not` cannot be traced)
    def __and__(self, other: object) -> Expr:
        return and_(self, other)

    def __rand__(self, other: object) -> Expr:
        return and_(other, self)

    def __or__(self, other: object) -> Expr:
        return or_(self, other)

    def __ror__(self, other: object) -> Expr:
        return or_(other, self)

    def __invert__(self) -> Expr:
        return not_(self)

    def show(self) -> str:
        return show(self)

    def __repr__(self) -> str:
        return f"Expr({self.show()})"


# ------------------------------------------------------------------ constructors


def const(value: int | tuple[int, ...], ty: FieldType) -> Expr:
    return Expr("const", ty, value)


def slot(index: int, ty: FieldType, label: str) -> Expr:
    return Expr("slot", ty, index, label)


class PendingWhen:
    """`when(cond, "a", "b")` over plain values: its type comes from where it is used."""

    def __init__(self, cond: Expr, then: object, otherwise: object) -> None:
        self.cond, self.then, self.otherwise = cond, then, otherwise

    def __bool__(self) -> bool:
        raise _fail("Python branching on a state value (a when(...) result)")


def lift(value: object, ty: FieldType) -> Expr:
    """A Python value used where an expression of type `ty` is expected."""
    if isinstance(value, Expr):
        return value
    if isinstance(value, PendingWhen):
        return when(value.cond, lift(value.then, ty), lift(value.otherwise, ty))
    if isinstance(ty, Enum):
        if isinstance(value, str) and value in ty.values:
            return const(ty.index(value), ty)
        raise _fail(f"{value!r} is not a value of enum {ty.label} {list(ty.values)}")
    if isinstance(ty, Bool):
        if isinstance(value, bool):
            return const(int(value), BOOL)
        raise _fail(f"{value!r} is not a bool")
    if isinstance(ty, Int):
        if isinstance(value, int) and not isinstance(value, bool):
            return const(value, INT)
        raise _fail(f"{value!r} is not an int")
    if isinstance(ty, Ref):
        if value is None:
            return const(NULL_REF, ty)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return const(value, ty)
        raise _fail(f"{value!r} is not a reference to a {ty.kind} (an instance index or None)")
    if isinstance(ty, Set):
        try:
            return const(ty.encode(value if isinstance(value, Iterable) else [value]), ty)
        except TypeError as e:
            raise _fail(str(e)) from None
    if isinstance(ty, Fifo):
        try:
            return const(ty.encode(value), ty)
        except TypeError as e:
            raise _fail(str(e)) from None
    raise _fail(f"cannot use {value!r} here")


def lift_bool(value: object) -> Expr:
    if isinstance(value, Expr):
        if not isinstance(value.ty, Bool):
            raise _fail(f"expected a condition, got {value.show()} of type {value.ty.name}")
        return value
    if isinstance(value, bool):
        return const(int(value), BOOL)
    raise _fail(f"expected a condition, got {value!r}")


def _same_kind(a: FieldType, b: FieldType) -> bool:
    if isinstance(a, Enum) or isinstance(b, Enum):
        return a is b
    if isinstance(a, Ref) and isinstance(b, Ref):
        return a.kind == b.kind
    return type(a) is type(b)


def compare(op: str, a: object, b: object) -> Expr:
    if not isinstance(a, Expr):
        a, b = b, a
        op = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}.get(op, op)
    assert isinstance(a, Expr)
    eb = lift(b, a.ty)
    if not _same_kind(a.ty, eb.ty):
        raise _fail(f"cannot compare {a.show()} ({a.ty.name}) with {eb.show()} ({eb.ty.name})")
    if op in ("lt", "le", "gt", "ge") and not isinstance(a.ty, Int):
        raise _fail(f"ordering comparison on a non-int value {a.show()}")
    return Expr(op, BOOL, a, eb)


def arith(op: str, a: object, b: object) -> Expr:
    ea = a if isinstance(a, Expr) else lift(a, INT)
    eb = b if isinstance(b, Expr) else lift(b, INT)
    for e in (ea, eb):
        if not isinstance(e.ty, Int):
            raise _fail(f"arithmetic on a non-int value {e.show()} ({e.ty.name})")
    return Expr(op, INT, ea, eb)


def and_(*xs: object) -> Expr:
    es = [lift_bool(x) for x in xs]
    flat: list[Expr] = []
    for e in es:
        if e.op == "const":
            if not e.args[0]:
                return const(0, BOOL)
            continue
        flat.extend(e.args if e.op == "and" else (e,))
    if not flat:
        return const(1, BOOL)
    return flat[0] if len(flat) == 1 else Expr("and", BOOL, *flat)


def or_(*xs: object) -> Expr:
    es = [lift_bool(x) for x in xs]
    flat: list[Expr] = []
    for e in es:
        if e.op == "const":
            if e.args[0]:
                return const(1, BOOL)
            continue
        flat.extend(e.args if e.op == "or" else (e,))
    if not flat:
        return const(0, BOOL)
    return flat[0] if len(flat) == 1 else Expr("or", BOOL, *flat)


def not_(x: object) -> Expr:
    e = lift_bool(x)
    if e.op == "const":
        return const(1 - e.args[0], BOOL)
    if e.op == "not":
        inner: Expr = e.args[0]
        return inner
    return Expr("not", BOOL, e)


def implies(a: object, b: object) -> Expr:
    return or_(not_(a), b)


def when(cond: object, then: object, otherwise: object) -> Expr:
    """The traced conditional: `then` where `cond` holds, else `otherwise`."""
    c = lift_bool(cond)
    if isinstance(then, Expr):
        ty = then.ty
    elif isinstance(otherwise, Expr):
        ty = otherwise.ty
    elif isinstance(then, bool) and isinstance(otherwise, bool):
        ty = BOOL
    elif isinstance(then, int) and isinstance(otherwise, int):
        ty = INT
    else:
        # Two plain values (e.g. enum names): typed when assigned to a field.
        return PendingWhen(c, then, otherwise)  # type: ignore[return-value]
    t, o = lift(then, ty), lift(otherwise, ty)
    if not _same_kind(t.ty, o.ty):
        raise _fail(f"when(): branches have different types ({t.show()} vs {o.show()})")
    if c.op == "const":
        return t if c.args[0] else o
    return Expr("if", t.ty if not isinstance(t.ty, Int) else INT, c, t, o)


def _bound(items: Iterable[Any]) -> Expr | None:
    hook = TraceContext.quantify
    return None if hook is None else hook(items)


def any_of(items: Iterable[Any], pred: Callable[[Any], object]) -> Expr:
    """Disjunction unrolled over a finite Python iterable (e.g. instance ids)."""
    v = _bound(items)
    if v is not None:
        return Expr("exists", BOOL, v, lift_bool(pred(v)))
    return or_(*(pred(i) for i in items))


def all_of(items: Iterable[Any], pred: Callable[[Any], object]) -> Expr:
    v = _bound(items)
    if v is not None:
        return Expr("forall", BOOL, v, lift_bool(pred(v)))
    return and_(*(pred(i) for i in items))


def count_of(items: Iterable[Any], pred: Callable[[Any], object]) -> Expr:
    v = _bound(items)
    if v is not None:
        return Expr("count", INT, v, lift_bool(pred(v)))
    total = const(0, INT)
    for i in items:
        term = when(pred(i), 1, 0)
        total = term if total.op == "const" and total.args[0] == 0 else arith("add", total, term)
    return total


# ---- sets


def _set_member(s: Expr, x: object) -> Expr:
    if not isinstance(s.ty, Set):
        raise _fail(f"{s.show()} is not a set")
    if isinstance(x, Expr):
        if isinstance(s.ty.of, Enum):
            if x.ty is not s.ty.of:
                raise _fail(f"{x.show()} is not a member type of {s.show()}")
        elif not (isinstance(x.ty, Ref) and x.ty.kind == s.ty.of):
            raise _fail(f"{x.show()} is not a member type of {s.show()}")
        return x
    try:
        return const(s.ty.member_index(x), INT)
    except TypeError as e:
        raise _fail(str(e)) from None


def set_has(s: Expr, x: object) -> Expr:
    return Expr("set_has", BOOL, s, _set_member(s, x))


def set_add(s: Expr, x: object) -> Expr:
    return Expr("set_add", s.ty, s, _set_member(s, x))


def set_del(s: Expr, x: object) -> Expr:
    return Expr("set_del", s.ty, s, _set_member(s, x))


def set_union(a: Expr, b: object) -> Expr:
    eb = lift(b, a.ty)
    if not isinstance(a.ty, Set) or not _same_kind(a.ty, eb.ty):
        raise _fail(f"set union of {a.show()} and {eb.show()}")
    return Expr("set_union", a.ty, a, eb)


def set_minus(a: Expr, b: object) -> Expr:
    eb = lift(b, a.ty)
    if not isinstance(a.ty, Set):
        raise _fail(f"{a.show()} is not a set")
    return Expr("set_minus", a.ty, a, eb)


def set_inter(a: Expr, b: object) -> Expr:
    eb = lift(b, a.ty)
    if not isinstance(a.ty, Set):
        raise _fail(f"{a.show()} is not a set")
    return Expr("set_inter", a.ty, a, eb)


def is_empty(x: Expr) -> Expr:
    if isinstance(x.ty, Set):
        return Expr("set_empty", BOOL, x)
    if isinstance(x.ty, Fifo):
        return Expr("fifo_empty", BOOL, x)
    raise _fail(f"is_empty() of {x.show()}, which is neither a set nor a FIFO")


# ---- FIFOs


def _fifo(f: Expr) -> Fifo:
    if not isinstance(f.ty, Fifo):
        raise _fail(f"{f.show()} is not a FIFO")
    return f.ty


def _fifo_item(f: Expr, x: object) -> Expr:
    ty = _fifo(f)
    e = lift(x, Ref(ty.kind))
    if not (isinstance(e.ty, Ref) and e.ty.kind == ty.kind):
        raise _fail(f"{e.show()} is not a {ty.kind} reference for FIFO {f.show()}")
    return e


def fifo_len(f: Expr) -> Expr:
    _fifo(f)
    return Expr("fifo_len", INT, f)


def fifo_head(f: Expr) -> Expr:
    ty = _fifo(f)
    return Expr("fifo_head", Ref(ty.kind), f)


def fifo_push(f: Expr, x: object) -> Expr:
    return Expr("fifo_push", f.ty, f, _fifo_item(f, x))


def fifo_pop(f: Expr) -> Expr:
    _fifo(f)
    return Expr("fifo_pop", f.ty, f)


def fifo_has(f: Expr, x: object) -> Expr:
    return Expr("fifo_has", BOOL, f, _fifo_item(f, x))


def fifo_remove(f: Expr, x: object) -> Expr:
    return Expr("fifo_remove", f.ty, f, _fifo_item(f, x))


def fifo_concat(a: Expr, b: Expr) -> Expr:
    if _fifo(a).kind != _fifo(b).kind:
        raise _fail(f"cannot concatenate {a.show()} and {b.show()}")
    return Expr("fifo_concat", a.ty, a, b)


def fifo_filter(f: Expr, pred: Callable[[Expr], object]) -> Expr:
    """The items of `f`, in order, for which `pred(item)` holds."""
    ty = _fifo(f)
    var = Expr("var", Ref(ty.kind), f"v{id(f) & 0xFFFF}")
    return Expr("fifo_filter", f.ty, f, var, lift_bool(pred(var)))


def ref_eq_any(x: Expr, options: Sequence[int]) -> Expr:
    return or_(*(x == o for o in options))


# ------------------------------------------------------------------ display


_INFIX = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "add": "+", "sub": "-"}


def show(e: Expr) -> str:
    """Readable form of an expression for error messages and `pgcheck list`."""
    op, a = e.op, e.args
    if op == "const":
        ty = e.ty
        if isinstance(ty, Enum):
            return repr(ty.values[a[0]])
        if isinstance(ty, Bool):
            return "True" if a[0] else "False"
        if isinstance(ty, Ref):
            return "None" if a[0] == NULL_REF else str(a[0])
        if isinstance(ty, Set):
            return "{" + ", ".join(str(m) for m in ty.members(a[0])) + "}"
        return repr(a[0])
    if op == "slot":
        return str(a[1])
    if op == "var":
        return str(a[0])
    if op == "deref":
        return f"{a[0]}[{show(a[2])}].{a[1]}"
    if op in _INFIX:
        return f"({show(a[0])} {_INFIX[op]} {show(a[1])})"
    if op in ("and", "or"):
        return "(" + f" {op} ".join(show(x) for x in a) + ")"
    if op == "not":
        return f"not {show(a[0])}"
    if op == "if":
        return f"when({show(a[0])}, {show(a[1])}, {show(a[2])})"
    if op == "fifo_filter":
        return f"[{show(a[1])} in {show(a[0])} if {show(a[2])}]"
    return f"{op}(" + ", ".join(show(x) if isinstance(x, Expr) else repr(x) for x in a) + ")"


def is_null(x: Expr) -> Expr:
    """The reference is none (`x == None` without tripping linters on identity checks)."""
    if not isinstance(x.ty, Ref):
        raise _fail(f"is_null() of {x.show()}, which is not a reference")
    return compare("eq", x, None)


def not_null(x: Expr) -> Expr:
    return not_(is_null(x))


def empty_set(ty: Set) -> Expr:
    return const(0, ty)
