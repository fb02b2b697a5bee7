"""Errors that reach the user as one line and exit code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping


class UsageError(Exception):
    """Bad options, configuration or input file: says what is wrong and how to fix it."""


class ModelError(UsageError):
    """A mistake in a model: names the action (or property) and the offending expression."""


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`; did you mean S15?` for a name close to a known one (case or a typo), else ''."""
    names = list(known)
    same = [k for k in names if k.lower() == name.lower()]
    part = [k for k in names if len(name) >= 4 and name.lower() in k.lower()][:3]  # a fragment of a long name
    close = same or part or difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def check_names(
    what: str, asked: Iterable[str], known: list[str], not_applicable: Mapping[str, str] | None = None
) -> None:
    """Refuse names that are not `known` in one line: why it does not apply here, or the
    closest known names and the whole list."""
    for name in asked:
        if name in known:
            continue
        if not_applicable and name in not_applicable:
            raise UsageError(
                f"{what} {name} does not apply to this configuration: {not_applicable[name]} "
                "('pgcheck list' shows which properties are checked where)"
            )
        raise UsageError(
            f"unknown {what} {name} for this configuration{did_you_mean(name, known) or ';'} known: {', '.join(known) or 'none'}"
        )
