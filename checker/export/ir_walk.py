"""The walk over the expression IR that the Promela and Murphi translators share.

Both translate an expression in one of two ways: *pure* (guards, invariants, the quiescence
predicate: one side-effect-free expression, FIFO operators unfolded by position) or as
*statements* (a step's body: FIFO-valued operators computed into scratch variables first).
Which operators need statements, which state slots an expression reads, and the order in
which operands are visited are the same for both; only the target syntax differs, which
each translator gives by the hooks below (`apply`, `_deref`, `_lazy`, `_filter`, ...).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pgcheck.checker.lang.expr import Expr

# FIFO-valued operators: in a step's body they are computed by statements.
HEAVY = frozenset({"fifo_push", "fifo_pop", "fifo_concat", "fifo_filter", "fifo_remove"})

Pos = int | str  # an item position: a number, or a target-language expression

V = TypeVar("V")  # a translated value: the target expression, a FIFO, ...
S = TypeVar("S")  # a translated FIFO value


def children(e: Expr) -> list[Expr]:
    """The operand expressions of `e` (deref candidates included)."""
    out: list[Expr] = []
    for a in e.args:
        if isinstance(a, Expr):
            out.append(a)
        elif isinstance(a, tuple):
            out.extend(x for x in a if isinstance(x, Expr))
    return out


class IRWalk(ABC, Generic[V, S]):
    """Dispatch over IR operators for pure expressions and statements, with the per-node
    analyses cached (one translator per model, expressions shared between bindings)."""

    def __init__(self) -> None:
        self._heavy: dict[int, bool] = {}
        self._reads: dict[int, frozenset[int]] = {}

    # ---------------------------------------------------------------- analysis

    def heavy(self, e: Expr) -> bool:
        """Does computing `e` in a step's body need statements (a FIFO-valued operator)?"""
        key = id(e)
        if key not in self._heavy:
            self._heavy[key] = e.op in HEAVY or any(self.heavy(c) for c in children(e))
        return self._heavy[key]

    def reads(self, e: Expr) -> frozenset[int]:
        """State slots `e` may read."""
        key = id(e)
        if key not in self._reads:
            own = frozenset([e.args[0]]) if e.op == "slot" else frozenset()
            self._reads[key] = own.union(*(self.reads(c) for c in children(e)))
        return self._reads[key]

    # ---------------------------------------------------------------- pure expressions

    def pure(self, e: Expr, env: dict[str, Any] | None = None) -> V:
        """`e` as one side-effect-free expression of the target (FIFOs unfolded by position)."""
        env = env or {}
        op, a = e.op, e.args
        if op == "fifo_filter":
            src = self._seq(self.pure(a[0], env))
            var = str(a[1].args[0])
            return self._sym_filter(src, lambda item: self._scalar(self.pure(a[2], {**env, var: self._item(src, item)})))
        if op == "fifo_remove":
            src = self._seq(self.pure(a[0], env))
            x = self.pure(a[1], env)
            return self._sym_filter(src, lambda item: self._differs(item, x))
        if op == "deref":
            return self._deref(e, self.pure(a[2], env), [self.pure(c, env) for c in a[3]])
        return self.apply(e, [self.pure(c, env) for c in a if isinstance(c, Expr)], env)

    # ---------------------------------------------------------------- statements

    def stmt(self, e: Expr, env: dict[str, Any] | None = None) -> tuple[list[str], V]:
        """Statements computing `e` into scratch variables where needed, and its value."""
        env = env or {}
        if not self.heavy(e):
            return [], self.pure(e, env)
        op, a = e.op, e.args
        if op in ("and", "or", "if"):
            return self._lazy(e, env)
        if op == "deref":
            pre, idx = self.stmt(a[2], env)
            index = self._checked_index(pre, a[2], idx)
            cands: list[V] = []
            for c in a[3]:
                st, v = self.stmt(c, env)
                pre += st
                cands.append(self._settled(pre, v))
            return pre, self._deref(e, index, cands)
        if op == "fifo_filter":
            return self._filter(a[0], env, str(a[1].args[0]), a[2], None)
        if op == "fifo_remove":
            return self._filter(a[0], env, None, None, a[1])
        out: list[str] = []
        vals: list[V] = []
        for c in a:
            if isinstance(c, Expr):
                st, v = self.stmt(c, env)
                out += st
                vals.append(v)
        if op in ("fifo_push", "fifo_pop", "fifo_concat"):
            made = self._stmt_fifo(op, vals, out)
            return out, made
        return out, self.apply(e, vals, env)

    # ---------------------------------------------------------------- hooks

    @abstractmethod
    def apply(self, e: Expr, vals: list[V], env: dict[str, Any]) -> V:
        """One operator over already translated operands (lazy where Python is lazy)."""

    @abstractmethod
    def _deref(self, e: Expr, idx: V, cands: list[V]) -> V: ...

    @abstractmethod
    def _checked_index(self, out: list[str], idx_e: Expr, idx: V) -> V:
        """A reference's index held in a scratch variable, with statements (appended to `out`)
        that raise the model's error when it is null."""

    @abstractmethod
    def _settled(self, out: list[str], v: V) -> V:
        """A deref candidate as a value the choice among candidates can use (a FIFO computed
        into a scratch variable, statements appended to `out`)."""

    @abstractmethod
    def _stmt_fifo(self, op: str, vals: list[V], out: list[str]) -> V:
        """push, pop or concat into a scratch FIFO (statements appended to `out`)."""

    @abstractmethod
    def _lazy(self, e: Expr, env: dict[str, Any]) -> tuple[list[str], V]: ...

    @abstractmethod
    def _filter(
        self, src_e: Expr, env: dict[str, Any], var: str | None, pred: Expr | None, removed: Expr | None
    ) -> tuple[list[str], V]: ...

    @abstractmethod
    def _sym_filter(self, f: S, pred: Callable[[str], str]) -> V: ...

    @abstractmethod
    def _scalar(self, v: V) -> str: ...

    @abstractmethod
    def _seq(self, v: V) -> S: ...

    def _item(self, src: S, item: str) -> Any:
        """A FIFO item as the value a filter's bound variable takes."""
        return item

    def _differs(self, item: str, x: V) -> str:
        """The condition under which `remove` keeps `item` (it is not `x`)."""
        return f"({item} != {self._scalar(x)})"
