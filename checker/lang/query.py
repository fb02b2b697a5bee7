"""An expression of the language typed as text (`s.session[0].latch == s.session[0].car`),
traced into the IR, for asking questions about a state (`pgcheck serve`).

The text is Python syntax, but only the part a predicate uses: reads of state through `s`,
comparisons, `& | ~`, arithmetic, indexing, the language's functions (`all_of`, `any_of`,
`count_of`, `is_null`, `not_null`, `implies`, `when`, set and FIFO functions) and lambdas
over instance ids. The syntax tree is checked against that list before anything runs, and
it is evaluated without builtins, so a question cannot do anything but read the state.
"""

from __future__ import annotations

import ast
from typing import Any

from pgcheck.checker.errors import ModelError, UsageError
from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.expr import Expr, TraceContext
from pgcheck.checker.lang.spec import _ACTIVE, StateProxy, TracedModel, _Layout, _Recorder

MAX_TEXT = 2000
FUNCTIONS = {
    name: getattr(X, name)
    for name in (
        "all_of", "any_of", "count_of", "implies", "when", "is_null", "not_null", "is_empty", "set_has",
        "set_add", "set_del", "set_union", "set_minus", "set_inter", "fifo_len", "fifo_head", "fifo_has",
        "fifo_push", "fifo_pop", "fifo_remove", "fifo_concat", "fifo_filter", "and_", "or_", "not_",
    )
}
_NODES = (
    ast.Expression, ast.Compare, ast.BinOp, ast.UnaryOp, ast.Attribute, ast.Subscript, ast.Name, ast.Constant,
    ast.Call, ast.Lambda, ast.arguments, ast.arg, ast.Load, ast.Tuple, ast.List,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.BitAnd, ast.BitOr, ast.Invert, ast.Add, ast.Sub,
    ast.USub,
)


def _check(tree: ast.AST, text: str) -> None:
    for node in ast.walk(tree):
        if not isinstance(node, _NODES):
            what = type(node).__name__
            hint = " (use & | ~ for and, or, not)" if isinstance(node, ast.BoolOp | ast.Not) else ""
            raise UsageError(f"{text!r}: {what} is not part of the expression language{hint}")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise UsageError(f"{text!r}: no field {node.attr!r}")
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | str | bool | type(None)):
            raise UsageError(f"{text!r}: constants are ints, names in quotes, True, False or None")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) or _is_ids(node.func)):
            raise UsageError(f"{text!r}: only the language's functions can be called ({', '.join(sorted(FUNCTIONS))})")


def _is_ids(func: ast.expr) -> bool:
    """`s.session.ids()`: the instance ids of a kind."""
    return isinstance(func, ast.Attribute) and func.attr == "ids"


def parse_expression(model: TracedModel, text: str) -> Expr:
    """The IR of `text` over `model`'s state; a UsageError (one line) for anything else."""
    text = text.strip()
    if not text:
        raise UsageError("type an expression, e.g. s.session[0].q == 'parked'")
    if len(text) > MAX_TEXT:
        raise UsageError(f"the expression is longer than {MAX_TEXT} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise UsageError(f"{text!r} is not an expression ({e.msg})") from None
    _check(tree, text)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    bound = {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in n.args.args}
    unknown = sorted(names - set(FUNCTIONS) - bound - {"s"})
    if unknown:
        raise UsageError(f"{text!r}: unknown name {unknown[0]!r}; read the state through s (s.session[0].q)")
    code = compile(tree, "<expression>", "eval")
    rec = _Recorder(_Layout(model.kinds))
    TraceContext.where = "expression"
    _ACTIVE.append(rec)
    try:
        # `s` among the globals, so that lambdas see it
        value: Any = eval(code, {"__builtins__": {}, **FUNCTIONS, "s": StateProxy(rec)})
    except ModelError as e:
        raise UsageError(str(e)) from None
    except Exception as e:  # a mistake in the question, said in one line
        raise UsageError(f"{text!r}: {type(e).__name__}: {e}") from None
    finally:
        _ACTIVE.pop()
    if isinstance(value, Expr):
        return value
    if isinstance(value, bool):
        return X.const(int(value), X.BOOL)
    if isinstance(value, int):
        return X.const(value, X.INT)
    raise UsageError(f"{text!r} is not a value of the state (it gives {type(value).__name__})")
