"""Hypothesis profiles for the whole suite.

The default profile is derandomized: the test command gives the same examples on every
machine, so a red run is a reproducible bug, not luck. `--hypothesis-profile=random` draws
fresh examples (and `HYPOTHESIS_SEED`-free runs) for hunting on demand.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings

from tests.realpg.server import RealServer, start_server

settings.register_profile("default-derandomized", derandomize=True)
settings.register_profile("random", derandomize=False)
settings.load_profile("default-derandomized")


@pytest.fixture(scope="session")
def real_server() -> Iterator[RealServer]:
    """A real PostgreSQL server for any test: one throwaway cluster per test session
    (tests/realpg/server.py, docs/real-server.md), stopped and removed at the end even when
    tests fail. A missing server is an error, not a skip: ./run tests installs it."""
    server = start_server()
    try:
        yield server
    finally:
        server.stop()
