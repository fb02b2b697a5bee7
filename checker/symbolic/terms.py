"""Building Z3 terms fast: the handful of constructors the encoding needs, on Z3's C API.

z3's Python constructors coerce and check every argument; encoding a model of 8
carriers and 32 sessions calls them millions of times, and those checks were most of
the time. Here every argument is already a term of the right sort (bit vectors of
`WIDTH` bits, Booleans), so the C constructors are called directly.
"""

from __future__ import annotations

from collections.abc import Sequence

import z3
from z3 import z3core as C

WIDTH = 16

_CTX = z3.main_ctx()
_REF = _CTX.ref()
_NUMS: dict[int, z3.BitVecRef] = {}
_BV = z3.BitVecSort(WIDTH)
TRUE = z3.BoolVal(True)
FALSE = z3.BoolVal(False)
# Terms are hash-consed: one term, one pointer; comparing pointers is the cheap test.
_T, _F = TRUE.as_ast().value, FALSE.as_ast().value


def _p(x: z3.ExprRef) -> int:
    return int(x.as_ast().value)


def is_true(x: z3.ExprRef) -> bool:
    return _p(x) == _T


def is_false(x: z3.ExprRef) -> bool:
    return _p(x) == _F


_NUMPTRS: set[int] = set()


def num(x: int) -> z3.BitVecRef:
    v = _NUMS.get(x)
    if v is None:
        v = _NUMS[x] = z3.BitVecVal(x, _BV)
        _NUMPTRS.add(_p(v))
    return v


def var(name: str) -> z3.BitVecRef:
    return z3.BitVec(name, _BV)


def _b(ast: object) -> z3.BoolRef:
    return z3.BoolRef(ast, _CTX)


def _v(ast: object) -> z3.BitVecRef:
    return z3.BitVecRef(ast, _CTX)


def _arr(xs: Sequence[z3.ExprRef]) -> object:
    arr = (z3.Ast * len(xs))()
    for i, x in enumerate(xs):
        arr[i] = x.as_ast()
    return arr


def and_(xs: Sequence[z3.BoolRef]) -> z3.BoolRef:
    xs = [x for x in xs if _p(x) != _T]
    if any(_p(x) == _F for x in xs):
        return FALSE
    if not xs:
        return TRUE
    return xs[0] if len(xs) == 1 else _b(C.Z3_mk_and(_REF, len(xs), _arr(xs)))


def or_(xs: Sequence[z3.BoolRef]) -> z3.BoolRef:
    xs = [x for x in xs if _p(x) != _F]
    if any(_p(x) == _T for x in xs):
        return TRUE
    if not xs:
        return FALSE
    return xs[0] if len(xs) == 1 else _b(C.Z3_mk_or(_REF, len(xs), _arr(xs)))


def not_(x: z3.BoolRef) -> z3.BoolRef:
    p = _p(x)
    if p == _T:
        return FALSE
    if p == _F:
        return TRUE
    return _b(C.Z3_mk_not(_REF, x.as_ast()))


def implies(a: z3.BoolRef, b: z3.BoolRef) -> z3.BoolRef:
    return or_([not_(a), b])


def eq(a: z3.ExprRef, b: z3.ExprRef) -> z3.BoolRef:
    pa, pb = _p(a), _p(b)
    if pa == pb:
        return TRUE
    if pa in _NUMPTRS and pb in _NUMPTRS:
        return FALSE  # two different numerals (hash-consed: one value, one pointer)
    return _b(C.Z3_mk_eq(_REF, a.as_ast(), b.as_ast()))


def ite(c: z3.BoolRef, a: z3.ExprRef, b: z3.ExprRef) -> z3.ExprRef:
    p = _p(c)
    if p == _T:
        return a
    if p == _F:
        return b
    if _p(a) == _p(b):
        return a
    return a.__class__(C.Z3_mk_ite(_REF, c.as_ast(), a.as_ast(), b.as_ast()), _CTX)


def lt(a: z3.BitVecRef, b: z3.BitVecRef) -> z3.BoolRef:
    return _b(C.Z3_mk_bvslt(_REF, a.as_ast(), b.as_ast()))


def le(a: z3.BitVecRef, b: z3.BitVecRef) -> z3.BoolRef:
    return _b(C.Z3_mk_bvsle(_REF, a.as_ast(), b.as_ast()))


def add(a: z3.BitVecRef, b: z3.BitVecRef) -> z3.BitVecRef:
    return _v(C.Z3_mk_bvadd(_REF, a.as_ast(), b.as_ast()))


def sub(a: z3.BitVecRef, b: z3.BitVecRef) -> z3.BitVecRef:
    return _v(C.Z3_mk_bvsub(_REF, a.as_ast(), b.as_ast()))
