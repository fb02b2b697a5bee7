"""What the tests of this folder checked; tests/realpg/conftest.py prints it at the end."""

from __future__ import annotations

from collections import Counter

CHECKED: Counter[str] = Counter()
