"""Bounded free-running stress: 50 clients on 4 pooled carriers (and thread-per-session), with
cancels, NOTIFYs and sessions terminated from another thread."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pgcheck.reference import Mode, Runtime
from pgcheck.reference.stress import run_stress


@pytest.mark.parametrize("mode", [Mode.POOLED, Mode.THREAD_PER_SESSION])
def test_fifty_clients_get_their_own_answers_in_order(
    mode: Mode, make_runtime: Callable[..., Runtime]
) -> None:
    rt = make_runtime(mode=mode, carriers=4)
    result = run_stress(
        rt.port,
        clients=50,
        queries_per_client=30,
        think_ms=(0, 30),
        seconds=8.0,
        seed=1,
        terminate=rt.terminate_backend,
    )
    print(result.summary())
    assert result.failures == []
    assert result.queries >= 50 * 10
    assert result.cancels == 3
    assert result.notifies_sent == 5
    assert result.terminates == 3  # FATAL 57P01 and then the close, for each
    assert all(count == 5 for count in result.notifications_received.values())
    assert len(result.notifications_received) == 5
    sched = rt.snapshot()["scheduler"]
    if mode is Mode.POOLED:
        assert len(rt.carriers) <= 4  # S26: 50 sessions, at most 4 carrier threads
        assert sched["migrated_resume"] > 0
    else:
        assert sched["migrated_resume"] == 0
    events = rt.events.sink.events  # type: ignore[union-attr]
    seqs = [e.seq for e in events]
    assert seqs == list(range(1, len(seqs) + 1))
