"""Text from files made safe for a terminal: control characters shown, never sent.

A trace, an event log or a path can hold ESC sequences (retitle the terminal, move the
cursor), a carriage return (overwrite the start of a line so MISMATCH reads "ok"), C1
controls, bidirectional overrides or lone surrogates. Every printer passes such text
through `printable`, which shows each of them as a Python-style escape.
"""

from __future__ import annotations

import re

# C0 controls (tab included: it can hide text), DEL, C1 controls, bidirectional
# embeddings/overrides/isolates, and lone surrogates (not encodable as UTF-8).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control character shown as an escape; a newline too (one line stays one)."""
    return _UNSAFE.sub(_escape, text)


def has_unsafe(text: str) -> bool:
    return _UNSAFE.search(text) is not None
