"""Read a trace's explanation (`#meta.explanation`, `never`, `fair_under`) for the renderers.

The trace file is input like any other: every entry is checked for shape, and what does not
fit is left out (a hostile or older file shows less, never breaks `show` or `view`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

MAX_DEPTH = 40
MAX_NODES = 400


@dataclass(frozen=True)
class Node:
    """One sub-expression with its value; `path` is set for a state field read."""

    text: str
    value: str
    path: str = ""
    children: list[Node] = dataclass_field(default_factory=list)
    shown: int | None = None  # for and/or: how many of `total` terms decide the value
    total: int | None = None


@dataclass(frozen=True)
class Explanation:
    state: int
    tree: Node
    reads: list[str]  # the fields the deciding part reads
    property_reads: list[str]  # every field the property reads
    cut: int = 0


@dataclass(frozen=True)
class LassoNotes:
    never: str
    fair_under: list[str]
    instance: str


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _node(raw: Any, depth: int, budget: list[int]) -> Node | None:
    if not isinstance(raw, Mapping) or depth > MAX_DEPTH or budget[0] <= 0:
        return None
    budget[0] -= 1
    kids = []
    children = raw.get("children")
    for child in children if isinstance(children, list) else []:
        node = _node(child, depth + 1, budget)
        if node is not None:
            kids.append(node)
    of = raw.get("of")
    shown = total = None
    if isinstance(of, list) and len(of) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in of):
        shown, total = of
    return Node(_text(raw.get("text")), _text(raw.get("value")), _text(raw.get("field")), kids, shown, total)


def read_explanation(meta: Mapping[str, Any], n_states: int) -> Explanation | None:
    raw = meta.get("explanation")
    if not isinstance(raw, Mapping):
        return None
    tree = _node(raw.get("tree"), 0, [MAX_NODES])
    state = raw.get("state")
    if tree is None or isinstance(state, bool) or not isinstance(state, int) or not 0 <= state < n_states:
        return None
    cut = raw.get("cut")
    return Explanation(
        state,
        tree,
        _strings(raw.get("reads")),
        _strings(raw.get("property_reads")),
        cut if isinstance(cut, int) and not isinstance(cut, bool) else 0,
    )


def read_lasso_notes(meta: Mapping[str, Any]) -> LassoNotes | None:
    never = meta.get("never")
    if not isinstance(never, str) or not never:
        return None
    prop = meta.get("property")
    instance = _text(prop.get("instance")) if isinstance(prop, Mapping) else ""
    return LassoNotes(never, _strings(meta.get("fair_under")), instance)


def tree_lines(node: Node, depth: int = 0) -> list[tuple[int, Node]]:
    """The tree flattened depth-first as (depth, node)."""
    out = [(depth, node)]
    for child in node.children:
        out += tree_lines(child, depth + 1)
    return out


def node_label(node: Node) -> str:
    """`session[0].latch = c0` for a field, `S = false` otherwise, with `(1 of 2 terms)` for and/or."""
    if node.path:
        return f"{node.path} = {node.value}"
    terms = ""
    if node.total is not None and node.shown is not None and node.shown != node.total:
        terms = f"   ({node.shown} of {node.total} terms shown)"
    return f"{node.text}  ->  {node.value}{terms}"
