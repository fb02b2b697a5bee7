"""Fixtures: a free-running reference runtime on a free port, and clients for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pg_server import PgServer, server_process
from pgcheck.reference import ListSink, Mode, Runtime, RuntimeConfig
from pgcheck.reference.client import PgClient

RuntimeFactory = Callable[..., Runtime]


@pytest.fixture
def make_runtime() -> Iterator[RuntimeFactory]:
    started: list[Runtime] = []

    def make(**kwargs: object) -> Runtime:
        sink = ListSink()
        rt = Runtime(RuntimeConfig(**kwargs), sink=sink).start()  # type: ignore[arg-type]
        started.append(rt)
        return rt

    yield make
    for rt in started:
        rt.stop()
        assert not rt.errors, f"a carrier crashed: {rt.errors!r}"


@pytest.fixture(params=[Mode.POOLED, Mode.THREAD_PER_SESSION], ids=["pooled", "thread-per-session"])
def runtime(request: pytest.FixtureRequest, make_runtime: RuntimeFactory) -> Runtime:
    return make_runtime(mode=request.param, carriers=2)


@pytest.fixture
def connect(runtime: Runtime) -> Iterator[Callable[[], PgClient]]:
    clients: list[PgClient] = []

    def open_client() -> PgClient:
        client = PgClient("127.0.0.1", runtime.port, timeout=5.0).connect()
        clients.append(client)
        return client

    yield open_client
    for client in clients:
        client.close()


@pytest.fixture
def pg_server(tmp_path: Path) -> Iterator[PgServer]:
    """A pooled server (2 carriers) in its own process, writing its event log."""
    with server_process(tmp_path) as server:
        yield server
