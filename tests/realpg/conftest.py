"""The tests of this folder use the `real_server` fixture of tests/conftest.py; this
prints what they checked at the end of the run."""

from __future__ import annotations

from typing import Any

from tests.realpg.stats import CHECKED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if CHECKED:
        parts = ", ".join(f"{n} {what}" for what, n in sorted(CHECKED.items()))
        terminalreporter.write_line(f"real server checks: {parts}")
