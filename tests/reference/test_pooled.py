"""Pooled mode: few carriers serve many mostly idle sessions (§2.5, §2.6, S26)."""

from __future__ import annotations

import time
from collections.abc import Callable

from pgcheck.reference import Mode, Runtime
from pgcheck.reference.client import PgClient

Factory = Callable[..., Runtime]


def test_two_carriers_serve_six_mostly_idle_clients(make_runtime: Factory) -> None:
    rt = make_runtime(mode=Mode.POOLED, carriers=2)
    clients = [PgClient("127.0.0.1", rt.port, timeout=5.0).connect() for _ in range(6)]
    for round_ in range(3):
        for i, client in enumerate(clients):
            assert client.query(f"SELECT {round_ * 10 + i}").rows == [[str(round_ * 10 + i)]]
        time.sleep(0.05)
    snap = rt.snapshot()
    sched = snap["scheduler"]
    assert len(rt.carriers) <= 2 and sched["registered"] <= sched["carrier_limit"] == 2  # S26
    assert sched["registered"] == sched["idle"] + sched["active"]
    assert sched["parked_enqueue_count"] >= 6 * 4
    assert sched["same_resume"] + sched["migrated_resume"] >= 6 * 3
    assert all(b["car"] is None for b in snap["backends"])  # all parked: nobody owns a carrier
    for client in clients:
        client.terminate()


def test_parked_sessions_own_no_carrier(make_runtime: Factory) -> None:
    rt = make_runtime(mode=Mode.POOLED, carriers=1)
    clients = [PgClient("127.0.0.1", rt.port, timeout=5.0).connect() for _ in range(4)]
    deadline = time.monotonic() + 5
    while True:
        snap = rt.snapshot()
        parked = [b for b in snap["backends"] if b["ps"] == "committed"]
        if len(parked) == 4:
            break
        assert time.monotonic() < deadline
        time.sleep(0.01)
    for b in parked:  # the digest's "parked" predicate (§7.1)
        assert b["q"] in ("parked_protocol_read", "polling", "runnable") and b["car"] is None
    assert [c.query("SELECT 9").rows for c in clients] == [[["9"]]] * 4


def test_thread_per_session_resumes_on_same_carrier(make_runtime: Factory) -> None:
    rt = make_runtime(mode=Mode.THREAD_PER_SESSION)
    clients = [PgClient("127.0.0.1", rt.port, timeout=5.0).connect() for _ in range(3)]
    for client in clients:
        client.query("SELECT 1")
        time.sleep(0.05)  # let it park, so the next query needs a resume
        client.query("SELECT 2")
    sched = rt.snapshot()["scheduler"]
    assert sched["same_resume"] >= 6 and sched["migrated_resume"] == 0  # §7.1 "staging"
    assert len(rt.carriers) == 3
    for client in clients:
        client.terminate()
    deadline = time.monotonic() + 5
    while any(c.is_alive() for c in rt.carriers):
        assert time.monotonic() < deadline, "staging carriers must end with their sessions"
        time.sleep(0.01)


def test_affinity_enforced_never_migrates(make_runtime: Factory) -> None:
    rt = make_runtime(mode=Mode.POOLED, carriers=3, affinity_enforced=True)
    clients = [PgClient("127.0.0.1", rt.port, timeout=5.0).connect() for _ in range(5)]
    for _ in range(4):
        for client in clients:
            assert client.query("SELECT 3").rows == [["3"]]
    assert rt.snapshot()["scheduler"]["migrated_resume"] == 0  # S30


def test_sticky_idle_keeps_quick_clients_attached(make_runtime: Factory) -> None:
    rt = make_runtime(mode=Mode.POOLED, carriers=2, sticky_idle_ms=200)
    client = PgClient("127.0.0.1", rt.port, timeout=5.0).connect()
    before = rt.snapshot()["scheduler"]["parked_enqueue_count"]
    for i in range(10):
        assert client.query(f"SELECT {i}").rows == [[str(i)]]
    after = rt.snapshot()["scheduler"]["parked_enqueue_count"]
    assert after - before < 5  # back-to-back queries are read during the sticky wait
