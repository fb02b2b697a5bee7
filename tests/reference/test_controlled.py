"""Controlled mode: the test chooses every step; same choices, same run."""

from __future__ import annotations

import random
from typing import Any

import pytest
from pgcheck.reference import ControlledRuntime, Mode
from pgcheck.reference import protocol as pq
from pgcheck.reference.controlled import ControlledClient
from pgcheck.reference.events import Action
from pgcheck.reference.mailbox import Interrupt
from pgcheck.reference.poller import mark_wake
from pgcheck.reference.states import ParkState, WaitEvent, WakeReason


def check_invariants(snap: dict[str, Any]) -> None:
    """A few of the digest's safety invariants on the abstract state (§4)."""
    carriers, backends, sched = snap["carriers"], snap["backends"], snap["scheduler"]
    for i, b in enumerate(backends):
        if b["car"] is not None:  # S1
            assert carriers[b["car"]]["cur"] == i and b["ecar"] == b["car"]
        if b["q"] in ("parked_protocol_read", "polling", "runnable"):  # S4
            assert b["car"] is None and b["ecar"] is None
        if b["q"] != "none":  # S5
            assert b["ps"] == "committed"
        if b["ps"] == "prepared":  # S7
            assert b["car"] is not None and b["q"] == "none"
        if b["ps"] != "none":  # S9
            assert not b["mid_msg"] and not b["reading"]
        if b["deep_wait"]:  # S12
            assert b["car"] is not None and b["ps"] == "none" and b["q"] == "none"
        assert b["wgen"] in (0, b["gen"])  # S20
    for i, c in enumerate(carriers):
        if c["cur"] is not None:
            assert backends[c["cur"]]["car"] == i  # S1
    queued = sched["parked"] + sched["runnable"]
    assert len(queued) == len(set(queued))  # S6, S27
    assert all(backends[i]["q"] == "parked_protocol_read" for i in sched["parked"])
    assert all(backends[i]["q"] == "runnable" for i in sched["runnable"])
    assert sched["parked_count"] == len(sched["parked"]) and sched["runnable_count"] == len(sched["runnable"])
    assert sched["registered"] == sched["idle"] + sched["active"]  # S26


def drive(seed: int, mode: Mode = Mode.POOLED, steps: int = 120) -> tuple[list[str], list[Any]]:
    """A random but seeded run: clients act between carrier steps chosen by the seed."""
    rng = random.Random(seed)
    snapshots: list[Any] = []
    with ControlledRuntime(mode=mode, carriers=2, seed=seed) as ctl:
        clients: list[ControlledClient] = [ctl.connect(), ctl.connect(), ctl.connect()]
        busy = [False] * len(clients)
        for _ in range(steps):
            roll = rng.random()
            if roll < 0.15:
                i = rng.randrange(len(clients))
                if not busy[i]:
                    sql = rng.choice(["SELECT 1", "BEGIN", "COMMIT", "LISTEN ch", "NOTIFY ch"])
                    clients[i].send_query(sql)
                    busy[i] = True
            elif roll < 0.18:
                kind = rng.choice([Interrupt.QUERY_CANCEL, Interrupt.CONFIG_RELOAD])
                ctl.send_interrupt(rng.randrange(len(clients)), kind)
            enabled = ctl.enabled()
            if enabled:
                carrier, _ = rng.choice(enabled)
                ctl.step(carrier)
            for i, client in enumerate(clients):
                if any(kind == b"Z" for kind, _ in client.messages()):
                    busy[i] = False
            snap = ctl.snapshot()
            check_invariants(snap)
            snapshots.append(snap)
        return ctl.event_lines(), snapshots


@pytest.mark.parametrize("mode", [Mode.POOLED, Mode.THREAD_PER_SESSION])
def test_same_choices_give_identical_event_log(mode: Mode) -> None:
    first = drive(7, mode)
    second = drive(7, mode)
    assert first[0] == second[0]
    assert first[1] == second[1]
    assert len(first[0]) > 50
    assert drive(8, mode)[0] != first[0]


def test_enabled_lists_waiting_carriers_and_step_takes_exactly_one() -> None:
    with ControlledRuntime(carriers=2) as ctl:
        assert ctl.enabled() == []
        a = ctl.connect()
        assert ctl.enabled() == [(0, "TakeNewConnection")]
        ctl.step(0)
        assert ctl.enabled() == [(0, "StepTop")]
        assert [e.action for e in ctl.events] == ["ClientConnect", "StartCarrier", "TakeNewConnection"]
        ctl.run_until_quiet()
        assert a.messages()[-1] == (b"Z", b"I")
        with pytest.raises(ValueError):
            ctl.step(5)


def test_partial_message_keeps_backend_pinned_until_body_arrives() -> None:
    with ControlledRuntime(carriers=2) as ctl:
        a = ctl.connect()
        ctl.run_until_quiet()
        a.messages()
        a.send_type_byte(b"Q")
        ctl.run_until_quiet()
        b = ctl.snapshot()["backends"][0]
        assert b["pc"] == "ConsumeTypeByte" and b["mid_msg"] and b["car"] is not None  # S9
        assert (0, "ReadBody") not in ctl.enabled()  # not enabled until the body arrives
        body = b"\x00\x00\x00\x0dSELECT 4\x00"
        a.send_body(body[:5])
        ctl.run_until_quiet()
        assert ctl.snapshot()["backends"][0]["pc"] == "ConsumeTypeByte"  # still waiting for the body
        a.send_body(body[5:])
        ctl.run_until_quiet()
        kinds = [k for k, _ in a.messages()]
        assert kinds == [b"T", b"D", b"C", b"Z"]


def test_extended_batch_keeps_backend_pinned_until_sync() -> None:
    """Parse/Bind/Describe/Execute arrive first, Sync later: the carrier stays pinned in between
    (S9), no park step is enabled, and the replies end with one ReadyForQuery after Sync."""
    with ControlledRuntime(carriers=2) as ctl:
        a = ctl.connect()
        ctl.run_until_quiet()
        a.messages()
        batch = (
            pq.message(b"P", pq.cstr("") + pq.cstr("SELECT 5") + b"\0\0")
            + pq.message(b"B", pq.cstr("") + pq.cstr("") + b"\0\0" + b"\0\0" + b"\0\0")
            + pq.message(b"D", b"P" + pq.cstr(""))
            + pq.message(b"E", pq.cstr("") + b"\0\0\0\0")
        )
        a.send_type_byte(b"P")
        a.send_body(batch[1:])
        ctl.run_until_quiet()
        b = ctl.snapshot()["backends"][0]
        assert b["pc"] == "ConsumeTypeByte" and b["mid_msg"] and b["car"] is not None and b["ps"] == "none"
        assert all(action != "ReadBody" for _, action in ctl.enabled())  # waits for the Sync
        assert a.messages() == []
        a.send_body(pq.message(b"S"))
        ctl.run_until_quiet()
        kinds = [k for k, _ in a.messages()]
        assert kinds == [b"1", b"2", b"T", b"D", b"C", b"Z"]
        assert ctl.snapshot()["backends"][0]["q"] == "parked_protocol_read"


def test_deferred_notify_and_no_busy_loop() -> None:
    """T14 on a listener in a transaction; a later wake without a new notify does not recur (L7)."""
    with ControlledRuntime(carriers=2) as ctl:
        listener, sender = ctl.connect(), ctl.connect()
        ctl.run_until_quiet()
        for sql in ("LISTEN ch", "BEGIN"):
            listener.send_query(sql)
            ctl.run_until_quiet()
        sender.send_query("NOTIFY ch, 'p'")
        ctl.run_until_quiet()
        b = ctl.snapshot()["backends"][0]
        assert b["dngen"] == 1 and b["notify_pending"] and b["mbox"] == [] and b["ps"] == "committed"
        assert not any(k == b"A" for k, _ in listener.messages())  # S24
        resumes = sum(1 for e in ctl.events if e.action == "Resume" and e.params["b"] == 0)
        ctl.run_until_quiet()
        assert sum(1 for e in ctl.events if e.action == "Resume" and e.params["b"] == 0) == resumes
        listener.send_query("COMMIT")
        ctl.run_until_quiet()
        kinds = [k for k, _ in listener.messages()]
        assert kinds == [b"C", b"A", b"Z"]


def test_timeout_due_and_terminate_end_sessions() -> None:
    with ControlledRuntime(carriers=1) as ctl:
        a, b = ctl.connect(), ctl.connect()
        ctl.run_until_quiet()
        a.send_query("SET idle_session_timeout = 1000")
        ctl.run_until_quiet()
        assert ctl.timeout_due(0)
        ctl.run_until_quiet()
        assert ctl.snapshot()["backends"][0]["exited"]
        assert any(k == b"E" and b"57P05" in p for k, p in a.messages())
        assert ctl.terminate(1)
        ctl.run_until_quiet()
        assert ctl.snapshot()["backends"][1]["exited"]
        assert any(k == b"E" and b"57P01" in p for k, p in b.messages())
        actions = [e.action for e in ctl.events]
        assert actions.count(Action.LOGICAL_EXIT.value) == 2


def test_client_close_while_parked_exits() -> None:
    with ControlledRuntime(mode=Mode.THREAD_PER_SESSION) as ctl:
        a = ctl.connect()
        ctl.run_until_quiet()
        a.close()
        ctl.run_until_quiet()
        snap = ctl.snapshot()
        assert snap["backends"][0]["exited"] and snap["carriers"][0]["loc"] == "stopped"
        names = [e.action for e in ctl.events]
        close = names.index("ClientClose")
        assert names[close + 1 :] == [
            "StagingWake",
            "StagingLease",
            "Resume",
            "ServiceWakes",
            "ReadEOF",
            "LogicalExit",
        ]
        wait = ctl.events[close + 1]
        assert wait.params["reasons"] == ["TRANSPORT", "CLOSED"]


def test_deep_wait_cancel_in_controlled_mode() -> None:
    with ControlledRuntime(carriers=2) as ctl:
        a = ctl.connect()
        ctl.run_until_quiet()
        a.messages()
        a.send_query("SELECT pg_sleep(100)")
        while not ctl.snapshot()["backends"][0]["deep_wait"]:
            ctl.step(ctl.enabled()[0][0])
        assert ctl.enabled()[0][1] == "DeepWaitElapsed"
        assert not ctl.cancel(0, key=12345)
        assert ctl.enabled()[0][1] == "DeepWaitElapsed"  # a wrong key cancels nothing
        assert ctl.cancel(0)
        assert ctl.enabled()[0][1] == "DeepWaitWake"
        ctl.run_until_quiet()
        messages = a.messages()
        assert [k for k, _ in messages] == [b"T", b"E", b"Z"] and b"57014" in messages[1][1]


def test_t7_rejects_a_stale_park_generation() -> None:
    """§3.4: a wake aimed at an earlier park generation is ignored once the backend resumed and
    re-parked (T7 guard, S20); docs/reference.md explains why no run reaches it."""
    with ControlledRuntime(carriers=1) as ctl:
        a = ctl.connect()
        ctl.run_until_quiet()
        b = ctl.backend(0)
        first = b.spec.generation
        a.send_query("SELECT 1")
        ctl.run_until_quiet()
        assert b.ps is ParkState.COMMITTED and b.spec.generation == first + 1
        assert not mark_wake(b, first, WakeReason.TRANSPORT, WaitEvent.SOCKET_READABLE)
        assert b.wake_generation == 0 and b.wake_reasons is WakeReason.NONE
