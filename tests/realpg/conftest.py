"""The real PostgreSQL server for the tests of this folder: one throwaway cluster per test
session (tests/realpg/server.py), stopped and removed at the end even when tests fail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.realpg.server import RealServer, start_server
from tests.realpg.stats import CHECKED


@pytest.fixture(scope="session")
def real_server() -> Iterator[RealServer]:
    server = start_server()  # a missing server is an error, not a skip: ./run tests installs it
    try:
        yield server
    finally:
        server.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if CHECKED:
        parts = ", ".join(f"{n} {what}" for what, n in sorted(CHECKED.items()))
        terminalreporter.write_line(f"real server checks: {parts}")
