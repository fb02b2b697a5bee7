"""A tree-walking evaluator of the IR: slow, short, and the yardstick for the compiler.

Tests evaluate every binding and property both ways on explored states; the
compiled engine is trusted because it agrees with this file.
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.errors import ModelError
from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.spec import Binding

State = tuple[Any, ...]


def evaluate(e: Expr, s: State, env: dict[str, Any] | None = None) -> Any:
    op, a = e.op, e.args
    ev = evaluate
    env = env or {}
    if op == "const":
        return a[0]
    if op == "slot":
        return s[a[0]]
    if op == "var":
        return env[a[0]]
    if op == "deref":
        idx = ev(a[2], s, env)
        if idx < 0:
            raise ModelError(f"read of {a[0]}[{a[2].show()}].{a[1]} through a null reference")
        return ev(a[3][idx], s, env)
    if op == "eq":
        return ev(a[0], s, env) == ev(a[1], s, env)
    if op == "ne":
        return ev(a[0], s, env) != ev(a[1], s, env)
    if op == "lt":
        return ev(a[0], s, env) < ev(a[1], s, env)
    if op == "le":
        return ev(a[0], s, env) <= ev(a[1], s, env)
    if op == "gt":
        return ev(a[0], s, env) > ev(a[1], s, env)
    if op == "ge":
        return ev(a[0], s, env) >= ev(a[1], s, env)
    if op == "add":
        return ev(a[0], s, env) + ev(a[1], s, env)
    if op == "sub":
        return ev(a[0], s, env) - ev(a[1], s, env)
    if op == "and":
        return all(ev(x, s, env) for x in a)
    if op == "or":
        return any(ev(x, s, env) for x in a)
    if op == "not":
        return not ev(a[0], s, env)
    if op == "if":
        return ev(a[1], s, env) if ev(a[0], s, env) else ev(a[2], s, env)
    if op == "set_has":
        return bool((ev(a[0], s, env) >> ev(a[1], s, env)) & 1)
    if op == "set_add":
        return ev(a[0], s, env) | (1 << ev(a[1], s, env))
    if op == "set_del":
        return ev(a[0], s, env) & ~(1 << ev(a[1], s, env))
    if op == "set_union":
        return ev(a[0], s, env) | ev(a[1], s, env)
    if op == "set_minus":
        return ev(a[0], s, env) & ~ev(a[1], s, env)
    if op == "set_inter":
        return ev(a[0], s, env) & ev(a[1], s, env)
    if op in ("set_empty", "fifo_empty"):
        return not ev(a[0], s, env)
    if op == "fifo_len":
        return len(ev(a[0], s, env))
    if op == "fifo_head":
        f = ev(a[0], s, env)
        if not f:
            raise ModelError(f"head of an empty FIFO {a[0].show()}")
        return f[0]
    if op == "fifo_push":
        return (*ev(a[0], s, env), ev(a[1], s, env))
    if op == "fifo_pop":
        return ev(a[0], s, env)[1:]
    if op == "fifo_has":
        return ev(a[1], s, env) in ev(a[0], s, env)
    if op == "fifo_remove":
        x = ev(a[1], s, env)
        return tuple(y for y in ev(a[0], s, env) if y != x)
    if op == "fifo_concat":
        return ev(a[0], s, env) + ev(a[1], s, env)
    if op == "fifo_filter":
        name = a[1].args[0]
        return tuple(v for v in ev(a[0], s, env) if ev(a[2], s, {**env, name: v}))
    raise ModelError(f"cannot evaluate IR operator {op!r}")


def apply_binding(b: Binding, s: State) -> State | None:
    """The successor of `s` under binding `b`, or None where its guard is false.

    Errors name the action, as the compiled engine's do.
    """
    try:
        if not evaluate(b.guard, s):
            return None
        for cond, msg in b.asserts:
            if not evaluate(cond, s):
                raise ModelError(msg)
        if not b.updates:
            return s
        n = list(s)
        for idx, e in b.updates.items():
            n[idx] = evaluate(e, s)
        return tuple(n)
    except ModelError as e:
        raise ModelError(f"action {b.label}: {e}") from None
