"""Hypothesis strategies for hostile input: JSON documents broken at one place, raw text
that no JSON encoder would write (huge integers, lone surrogates, NaN, deep nesting),
strings with control characters, truncated and non-UTF-8 files, and option values."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

PLACEHOLDER = "\u0000hostile\u0000"

# Raw JSON text for values an encoder would not produce.
RAW_VALUES = [
    "1" * 5000,  # past Python's 4300-digit limit for int()
    "-" + "9" * 4400,
    "1e999",  # a float that overflows to infinity
    "NaN",
    "Infinity",
    '"\\ud800"',  # a lone surrogate
    '"\\udfff tail"',
    "[" * 100_000 + "]" * 100_000,  # nesting past the recursion limit
    "[" * 200 + "]" * 200,  # nesting json parses but renderers might recurse on
    '{"a":' * 150 + "1" + "}" * 150,
    "1000000000000000000",  # 10**18: a count that must not be looped over
    "100000",
    "-1",
]

CONTROL_TEXT = [
    "\x1b]0;owned\x07",  # retitle the terminal
    "\x1b[2K\rok",  # erase the line, then "ok"
    "\r" + "ok" + " " * 60,
    "a\u202eevil",  # right-to-left override
    "\x9b31m",  # C1 CSI
    "tab\there\nnewline",
    "\x00nul",
]

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8), st.sampled_from(CONTROL_TEXT),
)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@dataclass(frozen=True)
class Edit:
    """One change to a JSON document: at `path`, set a value, a raw text, or delete the key."""

    path: tuple[Any, ...]
    how: str  # "value", "raw", "delete"
    value: Any = None

    def describe(self) -> str:
        shown = repr(self.value)
        return f"{self.how} at {'/'.join(map(str, self.path))}: {shown[:60]}"


def paths(doc: Any, prefix: tuple[Any, ...] = (), depth: int = 0) -> list[tuple[Any, ...]]:
    """Every path into the document (dict keys and list indices), bounded in depth and width."""
    out = [prefix] if prefix else []
    if depth >= 6:
        return out
    if isinstance(doc, dict):
        for k, v in list(doc.items())[:30]:
            out += paths(v, (*prefix, k), depth + 1)
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:3]):
            out += paths(v, (*prefix, i), depth + 1)
    return out


@st.composite
def edits(draw: st.DrawFn, doc: Any, extra_paths: tuple[tuple[Any, ...], ...] = ()) -> Edit:
    where = draw(st.sampled_from(paths(doc) + list(extra_paths)))
    how = draw(st.sampled_from(["value", "raw", "delete", "raw"]))
    if how == "value":
        return Edit(where, how, draw(json_values))
    if how == "raw":
        return Edit(where, how, draw(st.sampled_from(RAW_VALUES)))
    return Edit(where, how)


def apply(doc: Any, edit: Edit) -> str:
    """The document's JSON text after the edit."""
    copy = json.loads(json.dumps(doc))
    parent = copy
    for key in edit.path[:-1]:
        parent = parent[key]
    last = edit.path[-1]
    if edit.how == "delete":
        if isinstance(parent, dict):
            parent.pop(last, None)
        else:
            parent.pop(last)
        return json.dumps(copy)
    parent[last] = PLACEHOLDER if edit.how == "raw" else edit.value
    text = json.dumps(copy)
    if edit.how == "raw":
        text = text.replace(json.dumps(PLACEHOLDER), edit.value)
    return text


@st.composite
def damaged_text(draw: st.DrawFn, text: str) -> bytes:
    """The file's bytes cut short, with invalid UTF-8, or with a control character inside a string."""
    how = draw(st.sampled_from(["truncate", "bytes", "control", "empty", "bom"]))
    raw = text.encode()
    if how == "truncate":
        return raw[: draw(st.integers(0, max(len(raw) - 1, 0)))]
    if how == "bytes":
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + draw(st.sampled_from([b"\xff\xfe", b"\xc3", b"\x80\x80", b"\xed\xa0\x80"])) + raw[at:]
    if how == "control":  # a raw control character inside the text (strict JSON refuses it)
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + draw(st.sampled_from([b"\x1b]0;x\x07", b"\r", b"\x00"])) + raw[at:]
    if how == "bom":
        return b"\xef\xbb\xbf" + raw
    return b""


NUMBER_TEXT = ["nan", "NaN", "inf", "-inf", "1e309", "-1", "0", "", " ", "1_0", "0x10", "１２", "9" * 30, "3.5", "\x1b[2J"]
