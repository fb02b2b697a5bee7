"""Errors that reach the user as one line and exit code 2."""

from __future__ import annotations


class UsageError(Exception):
    """Bad options, configuration or input file: says what is wrong and how to fix it."""


class ModelError(UsageError):
    """A mistake in a model: names the action (or property) and the offending expression."""
