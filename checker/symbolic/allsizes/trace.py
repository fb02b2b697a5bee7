"""Tracing a model over symbolic instances, for the all-sizes proof (docs/symbolic.md).

`Spec.trace()` binds every action parameter to a concrete instance and unrolls every
loop over the instances of one configuration. This tracer runs the same action and
predicate functions once per action with the entity parameters as symbolic constants
(`param` nodes), so the IR it returns speaks of "some carrier c" instead of carrier 0:

- `s.session[b].f` reads the field *function* f at index b (`fread`); writes build a
  function update (`At`: f'(x) = ite(x = b, v, f(x))).
- `for i in s.session.ids()` runs the body once with a bound variable i (`qvar`); the
  writes of that body become one pointwise update `Lam`: f'(x) = body[i := x]. That is
  only the loop's meaning if no iteration reads what another one writes, which is
  checked; a body that does is reported unsupported.
- `all_of`/`any_of`/`count_of` over the instances become `forall`/`exists`/`count`.

Anything that singles out a concrete instance, orders instances, or branches in
Python on an instance raises `ModelError`: that action or property has no
size-independent form here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pgcheck.checker.errors import ModelError
from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.expr import Expr, TraceContext
from pgcheck.checker.lang.spec import _ACTIVE, ActionDecl, KindDecl, Spec, _domain
from pgcheck.checker.lang.types import NULL_REF, Bool, FieldType, Int, Ref


class FunState:
    """The value of one entity field as a function of the instance."""


@dataclass(eq=False)
class Base(FunState):
    kind: str
    field: str


@dataclass(eq=False)
class At(FunState):
    prev: FunState
    idx: Expr
    value: Expr


@dataclass(eq=False)
class Lam(FunState):
    var: Expr  # a qvar
    body: Expr


@dataclass
class SymBinding:
    """One action with its entity parameters symbolic (enum/list parameters concrete)."""

    action: str
    params: dict[str, Any]  # name -> param Expr (entities) or a concrete value
    guard: Expr
    funs: dict[tuple[str, str], FunState]  # entity fields written
    singles: dict[tuple[str, str], Expr]  # singleton fields written

    @property
    def label(self) -> str:
        inner = ", ".join(f"{k}={v.args[1] if isinstance(v, Expr) else v}" for k, v in self.params.items())
        return f"{self.action}({inner})"


@dataclass
class _Loop:
    var: Expr
    written: set[tuple[str, str]] = field(default_factory=set)
    foreign_reads: set[tuple[str, str]] = field(default_factory=set)


class _SymRecorder:
    def __init__(self, kinds: dict[str, KindDecl]) -> None:
        self.kinds = kinds
        self.guard: list[Expr] = []
        self.funs: dict[tuple[str, str], FunState] = {}
        self.singles: dict[tuple[str, str], Expr] = {}
        self.loops: list[_Loop] = []
        self._base: dict[tuple[str, str], Base] = {}
        self._sread: dict[tuple[str, str], Expr] = {}
        self.layout = self  # lemma atoms look up `s._rec.layout.kinds`

    def fun(self, kind: str, name: str) -> FunState:
        if (kind, name) in self.funs:
            return self.funs[(kind, name)]
        return self._base.setdefault((kind, name), Base(kind, name))

    def read(self, kind: KindDecl, name: str, idx: Expr | None) -> Expr:
        ty = kind.fields[name]
        if idx is None:
            if (kind.name, name) in self.singles:
                return self.singles[(kind.name, name)]
            # One node per singleton field: equal reads encode to one value (FIFO heads).
            return self._sread.setdefault((kind.name, name), Expr("sread", ty, kind.name, name))
        for lp in self.loops:
            if idx is not lp.var:
                lp.foreign_reads.add((kind.name, name))
        return Expr("fread", ty, kind.name, name, self.fun(kind.name, name), idx)

    def write(self, kind: KindDecl, name: str, idx: Expr | None, value: object) -> None:
        ty = kind.fields[name]
        e = _coerce(value, ty, f"{kind.name}.{name}")
        if self.loops:
            lp = self.loops[-1]
            if idx is not lp.var:
                raise X._fail(f"a loop over instances writes {kind.name}.{name} outside its own instance")
            lp.written.add((kind.name, name))
        if idx is None:
            self.singles[(kind.name, name)] = e
        else:
            self.funs[(kind.name, name)] = At(self.fun(kind.name, name), idx, e)

    def close_loop(self, lp: _Loop) -> None:
        clash = lp.written & lp.foreign_reads
        if clash:
            k, f = sorted(clash)[0]
            raise X._fail(f"a loop over instances reads {k}.{f} of another instance while writing it")
        for k, f in lp.written:
            ty = self.kinds[k].fields[f]
            self.funs[(k, f)] = Lam(lp.var, Expr("fread", ty, k, f, self.funs[(k, f)], lp.var))


def _coerce(value: object, ty: FieldType, label: str) -> Expr:
    e = X.lift(value, ty)
    ok = X._same_kind(e.ty, ty) or (isinstance(ty, Int) and isinstance(e.ty, Int)) or (isinstance(ty, Bool) and isinstance(e.ty, Bool))
    if not ok:
        raise X._fail(f"type error: cannot assign {e.show()} ({e.ty.name}) to {label} ({ty.name})")
    if e.op == "const" and isinstance(ty, Ref) and e.args[0] != NULL_REF:
        raise X._fail(f"{label} := instance {e.args[0]}: a concrete instance has no all-sizes meaning")
    return e


_counter = [0]


def _qvar(kind: str) -> Expr:
    _counter[0] += 1
    return Expr("qvar", Ref(kind), kind, f"{kind[0]}{_counter[0]}")


class _Ids:
    """`s.kind.ids()`: iterating runs the loop body once over a bound variable."""

    def __init__(self, rec: _SymRecorder, kind: str) -> None:
        self.rec, self.kind = rec, kind

    def __iter__(self) -> Iterator[Expr]:
        lp = _Loop(_qvar(self.kind))
        self.rec.loops.append(lp)
        yield lp.var
        self.rec.loops.pop()
        self.rec.close_loop(lp)


class _View:
    def __init__(self, rec: _SymRecorder, kind: KindDecl, idx: Expr | None) -> None:
        object.__setattr__(self, "_rec", rec)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_idx", idx)

    _rec: _SymRecorder
    _kind: KindDecl
    _idx: Expr | None

    def __getattr__(self, name: str) -> Expr:
        if name not in self._kind.fields:
            raise X._fail(f"{self._kind.name} has no field {name!r}")
        return self._rec.read(self._kind, name, self._idx)

    def __setattr__(self, name: str, value: object) -> None:
        if name not in self._kind.fields:
            raise X._fail(f"{self._kind.name} has no field {name!r}")
        self._rec.write(self._kind, name, self._idx, value)


class _KindView:
    def __init__(self, rec: _SymRecorder, kind: KindDecl) -> None:
        self._rec, self._kind = rec, kind

    def __getitem__(self, index: object) -> _View:
        if not isinstance(index, Expr) or not (isinstance(index.ty, Ref) and index.ty.kind == self._kind.name):
            raise X._fail(f"{self._kind.name}[{index!r}]: a concrete instance has no all-sizes meaning")
        return _View(self._rec, self._kind, index)

    def ids(self) -> _Ids:
        return _Ids(self._rec, self._kind.name)

    def __iter__(self) -> Iterator[Expr]:
        return iter(self.ids())

    def __len__(self) -> int:
        raise X._fail(f"the number of {self._kind.name} instances has no all-sizes value")


class SymState:
    def __init__(self, rec: _SymRecorder) -> None:
        self._rec = rec

    def __getattr__(self, name: str) -> Any:
        kind = self._rec.kinds.get(name)
        if kind is None:
            raise X._fail(f"the model has no entity or singleton {name!r}")
        return _View(self._rec, kind, None) if kind.count is None else _KindView(self._rec, kind)


def _quantify(items: object) -> Expr | None:
    """all_of/any_of over the instances: a list holding just the loop variable, or `ids()`."""
    if isinstance(items, _Ids):
        return _qvar(items.kind)
    if isinstance(items, (list, tuple)) and len(items) == 1 and isinstance(items[0], Expr) and items[0].op == "qvar":
        return _qvar(items[0].args[0])
    if isinstance(items, (list, tuple, range)) and any(not isinstance(i, Expr) for i in items):
        raise X._fail("a quantifier over a concrete list of instances has no all-sizes meaning")
    return None


def _run(rec: _SymRecorder, where: str, fn: Any, *args: Any, **kw: Any) -> Any:
    TraceContext.where = where
    TraceContext.quantify = _quantify
    _ACTIVE.append(rec)  # type: ignore[arg-type]  # require() only appends to .guard
    try:
        return fn(SymState(rec), *args, **kw)
    except ModelError:
        raise
    except Exception as e:
        raise ModelError(f"{where}: {type(e).__name__}: {e}") from None
    finally:
        _ACTIVE.pop()
        TraceContext.quantify = None


def trace_action(spec: Spec, action: ActionDecl) -> list[SymBinding]:
    """One symbolic binding per combination of the action's non-entity parameter values."""
    sym: dict[str, Expr] = {}
    fixed: dict[str, list[Any]] = {}
    for name, dom in action.params.items():
        if isinstance(dom, str) and dom in spec.kinds and spec.kinds[dom].count is not None:
            sym[name] = Expr("param", Ref(dom), dom, name)
        else:
            fixed[name] = _domain(dom, spec.kinds, f"action {action.name}")
    out: list[SymBinding] = []
    combos: list[dict[str, Any]] = [{}]
    for name, vals in fixed.items():
        combos = [{**c, name: v} for c in combos for v in vals]
    for combo in combos:
        rec = _SymRecorder(spec.kinds)
        params = {n: sym.get(n, combo.get(n)) for n in action.params}
        _run(rec, f"action {action.name}", action.fn, **params)
        out.append(SymBinding(action.name, params, X.and_(*rec.guard), rec.funs, rec.singles))
    return out


def trace_predicate(spec: Spec, where: str, fn: Any) -> Expr:
    rec = _SymRecorder(spec.kinds)
    out = X.lift_bool(_run(rec, where, fn))
    if rec.funs or rec.singles or rec.guard:
        raise ModelError(f"{where}: a predicate must not assign state fields or require()")
    return out
