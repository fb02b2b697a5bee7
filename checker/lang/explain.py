"""Why a predicate has its value in a state: the IR evaluated as a tree of sub-expressions.

A property is traced into one expression (quantifiers over instances unrolled into `and`/`or`
of one term per instance). Walking it with the interpreter on the violating state gives, for
each node, its value; `explain` keeps only the part that decides the outcome: below a false
`and` the false conjuncts (the failing quantified instances), below a true `or` the true
disjuncts, below a comparison its operands down to the fields it reads. The result is plain
JSON (texts and formatted values) so that a trace can carry it in `#meta.explanation` and
`pgcheck show`/`view` can print it without the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pgcheck.checker.errors import ModelError
from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.interpret import evaluate
from pgcheck.checker.lang.spec import TracedModel
from pgcheck.checker.lang.types import NULL_REF, Bool, Enum, FieldType, Fifo, Ref, Set

State = tuple[Any, ...]

MAX_NODES = 80  # a tree larger than this is cut (the rest is counted, not shown)
MAX_TEXT = 160
_INFIX = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "add": "+", "sub": "-"}


def abbreviations(model: TracedModel) -> dict[str, str]:
    """The shortest distinct prefix of each counted kind (carrier -> c, session -> s), as traces use."""
    counted = [k.name for k in model.kinds.values() if k.count is not None]
    out = {}
    for name in counted:
        for length in range(1, len(name) + 1):
            prefix = name[:length]
            if all(not other.startswith(prefix) for other in counted if other != name):
                break
        out[name] = prefix
    return out


class Formatter:
    """Values and expressions as `show`/`view` print them: `c1`, `none`, `{cancel}`, `[s1, s0]`."""

    def __init__(self, model: TracedModel) -> None:
        self.abbrev = abbreviations(model)

    def ref(self, kind: str, raw: int) -> str:
        return "none" if raw == NULL_REF else f"{self.abbrev.get(kind, kind)}{raw}"

    def value(self, ty: FieldType, raw: Any) -> str:
        if isinstance(ty, Bool):
            return "true" if raw else "false"
        if isinstance(ty, Enum):
            return ty.values[raw] if isinstance(raw, int) and 0 <= raw < len(ty.values) else str(raw)
        if isinstance(ty, Ref):
            return self.ref(ty.kind, raw)
        if isinstance(ty, Set):
            members = ty.members(raw)
            if isinstance(ty.of, Enum):
                return "{" + ", ".join(ty.of.values[i] for i in members) + "}"
            return "{" + ", ".join(self.ref(ty.of, i) for i in members) + "}"
        if isinstance(ty, Fifo):
            return "[" + ", ".join(self.ref(ty.kind, i) for i in raw) + "]"
        return str(raw)

    def text(self, e: Expr) -> str:
        op, a = e.op, e.args
        t = self.text
        if op == "const":
            return self.value(e.ty, a[0])
        if op == "slot":
            return str(a[1])
        if op == "var":
            return "x"  # the IR names it after an object id, which differs between runs
        if op == "deref":
            return f"{a[0]}[{t(a[2])}].{a[1]}"
        if op in _INFIX:
            return f"{_paren(a[0], t(a[0]))} {_INFIX[op]} {_paren(a[1], t(a[1]))}"
        if op in ("and", "or"):
            return f" {op} ".join(_paren(x, t(x)) for x in a)
        if op == "not":
            return "not " + _paren(a[0], t(a[0]))
        if op == "if":
            return f"when({t(a[0])}, {t(a[1])}, {t(a[2])})"
        if op == "fifo_filter":
            return f"[{t(a[1])} in {t(a[0])} if {t(a[2])}]"
        return f"{op}(" + ", ".join(t(x) if isinstance(x, Expr) else repr(x) for x in a) + ")"


def _paren(e: Expr, text: str) -> str:
    return f"({text})" if e.op in ("and", "or") or e.op in _INFIX else text


@dataclass
class _Walk:
    fmt: Formatter
    state: State
    budget: int = MAX_NODES
    cut: int = 0
    reads: list[str] = field(default_factory=list)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _node(w: _Walk, e: Expr, env: dict[str, Any]) -> dict[str, Any]:
    w.budget -= 1
    try:
        raw = evaluate(e, w.state, env)
        value = w.fmt.value(e.ty, raw)
    except ModelError as err:
        return {"text": _clip(w.fmt.text(e)), "value": f"error: {err}", "children": []}
    if e.op == "slot":
        if e.args[1] not in w.reads:
            w.reads.append(str(e.args[1]))
        return {"text": str(e.args[1]), "value": value, "field": str(e.args[1]), "children": []}
    if e.op == "const":
        return {"text": value, "value": value, "children": []}
    node: dict[str, Any] = {"text": _clip(w.fmt.text(e)), "value": value, "children": []}
    kids = _deciding(e, raw, w.state, env)
    if e.op in ("and", "or") and len(e.args) > 1:
        node["of"] = [len(kids), len(e.args)]  # shown terms / all terms
    for kid in kids:
        if w.budget <= 0:
            w.cut += 1
            continue
        if kid.op == "const":
            continue
        node["children"].append(_node(w, kid, env))
    return node


def _deciding(e: Expr, raw: Any, s: State, env: dict[str, Any]) -> list[Expr]:
    """The sub-expressions that decide `e`'s value."""
    op, a = e.op, e.args
    if op in ("and", "or"):
        # The terms that give the value; a term that cannot be evaluated here (a read through
        # a null reference that an earlier term guards) is left out, as evaluation skips it.
        want = op == "or"
        if raw == want:
            return [x for x in a if _safe(x, s, env) is want]
        return [x for x in a if _safe(x, s, env) is not None]
    if op == "if":
        return [a[0], a[1] if evaluate(a[0], s, env) else a[2]]
    if op == "deref":
        idx = evaluate(a[2], s, env)
        return [a[2], a[3][idx]] if 0 <= idx < len(a[3]) else [a[2]]
    if op == "fifo_filter":
        return [a[0]]
    return [x for x in a if isinstance(x, Expr)]


def _safe(e: Expr, s: State, env: dict[str, Any]) -> bool | None:
    try:
        return bool(evaluate(e, s, env))
    except ModelError:
        return None


def explain(model: TracedModel, e: Expr, state: State) -> dict[str, Any]:
    """The tree of `e` on `state` (JSON), with the fields read by the deciding part in `reads`."""
    w = _Walk(Formatter(model), state)
    tree = _node(w, e, {})
    out: dict[str, Any] = {"tree": tree, "reads": w.reads}
    if w.cut:
        out["cut"] = w.cut
    return out


def fields_read(e: Expr) -> list[str]:
    """Every field label `e` reads anywhere, in state order (what a property looks at)."""
    found: dict[int, str] = {}
    seen: set[int] = set()
    stack = [e]
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if x.op == "slot":
            found[x.args[0]] = str(x.args[1])
            continue
        for arg in x.args:
            if isinstance(arg, Expr):
                stack.append(arg)
            elif isinstance(arg, tuple):
                stack.extend(y for y in arg if isinstance(y, Expr))
    return [found[i] for i in sorted(found)]
