"""The client-history check (reference/client_history.py) without a server: histories the
model allows pass, each kind of history it does not allow fails at the right event with a
reason, and a seeded bug of the model changes the verdict (each check paired with its failure)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pgcheck.checker.errors import UsageError
from pgcheck.model.mutations import get as get_mutation
from pgcheck.reference.client_history import (
    ClientHistory,
    Event,
    History,
    allowed_outcomes,
    check_client,
    check_history,
    history_from_json,
    history_to_json,
    observation,
    project,
    read_history,
)


def recv(message: str, detail: str = "") -> Event:
    return observation(message, detail)


def send(cmd: str) -> Event:
    return Event("send", cmd)


def interrupt(kind: str) -> Event:
    return Event("interrupt", kind)


CONNECT = [recv("rfq", "I")]
GOOD = [
    *CONNECT,
    send("query"), recv("result"), recv("rfq", "I"),
    send("listen"), recv("result"), recv("rfq", "I"),
    interrupt("notify"), recv("notification"),  # delivered while idle
    send("begin"), recv("result"), recv("rfq", "T"),
    interrupt("notify"),
    send("sleep"), interrupt("cancel"), recv("error", "57014"), recv("rfq", "E"),
    send("commit"), recv("result"), recv("notification"), recv("rfq", "I"),  # held back until the block ends (S24)
    interrupt("cancel"),  # a cancel of an idle session: nothing (C3)
    send("query"), recv("result"), recv("rfq", "I"),
    interrupt("die"), recv("fatal", "57P01"), recv("eof"),
]


def failure(events: list[Event], **options: bool) -> tuple[int | None, str]:
    verdict = check_client(ClientHistory("c", events, **options))
    assert not verdict.ok
    return verdict.failed_at, verdict.reason


def test_a_history_the_model_allows_passes() -> None:
    verdict = check_client(ClientHistory("c", GOOD))
    assert verdict.ok, verdict.show(ClientHistory("c", GOOD))
    assert verdict.events == len(GOOD)


@pytest.mark.parametrize(
    ("events", "options", "index"),
    [
        # ReadyForQuery with the wrong transaction status (C2)
        ([*CONNECT, send("query"), recv("result"), recv("rfq", "T")], {}, 3),
        # an ErrorResponse to an idle client after a cancel (C3)
        ([*CONNECT, interrupt("cancel"), recv("error", "57014")], {}, 2),
        # a NotificationResponse inside a transaction block (S24)
        ([*CONNECT, send("listen"), recv("result"), recv("rfq", "I"), send("begin"), recv("result"), recv("rfq", "T"), interrupt("notify"), recv("notification")], {}, 8),
        # a notification nobody sent
        ([*CONNECT, send("listen"), recv("result"), recv("rfq", "I"), recv("notification")], {}, 4),
        # a response before the request (C1)
        ([*CONNECT, recv("result"), send("query")], {}, 1),
        # a FATAL without a terminate
        ([*CONNECT, recv("fatal", "57P01")], {}, 1),
        # an idle-session timeout the client never set
        ([*CONNECT, recv("fatal", "57P05")], {}, 1),
        # the idle-in-transaction timeout outside a block
        ([*CONNECT, recv("fatal", "25P03")], {"idle_in_xact_timeout": True, "idle_session_timeout": True}, 1),
        # a second command before the first one's ReadyForQuery
        ([*CONNECT, send("query"), recv("result"), send("query")], {}, 3),
    ],
)
def test_a_history_the_model_does_not_allow_fails_at_its_first_bad_event(events: list[Event], options: dict[str, bool], index: int) -> None:
    at, reason = failure(events, **options)
    assert at == index, reason
    assert reason


def test_the_timeouts_a_client_set_are_allowed() -> None:
    idle = [*CONNECT, recv("fatal", "57P05"), recv("eof")]
    in_block = [*CONNECT, send("begin"), recv("result"), recv("rfq", "T"), recv("fatal", "25P03")]
    assert check_client(ClientHistory("c", idle, idle_session_timeout=True)).ok
    assert check_client(ClientHistory("c", in_block, idle_in_xact_timeout=True)).ok


def test_an_sql_error_is_the_commands_response_but_a_fatal_of_another_kind_is_not() -> None:
    assert check_client(ClientHistory("c", [*CONNECT, send("query"), recv("error", "22012"), recv("rfq", "I")])).ok
    at, reason = failure([*CONNECT, send("query"), recv("fatal", "XX000")])
    assert at == 2 and "never sends fatal XX000" in reason


def test_a_message_in_flight_may_come_before_the_clients_next_send() -> None:
    """The notification was sent while the client was idle and read after its next send."""
    events = [*CONNECT, send("listen"), recv("result"), recv("rfq", "I"), interrupt("notify"), send("begin"), recv("notification"), recv("result"), recv("rfq", "T")]
    assert check_client(ClientHistory("c", events)).ok


def test_consecutive_notifications_are_one_delivery() -> None:
    events = [recv("notification"), recv("notification"), recv("rfq", "I"), recv("fatal", "57P01"), recv("eof")]
    assert [e.what for e in project(events)] == ["notification", "rfq_idle", "fatal_die"]


def test_a_seeded_bug_changes_the_verdict() -> None:
    """S24: the model rejects a notification inside a block. With the seeded bug
    notify-inside-transaction (T14 missing) the model sends it, but only through a state
    that breaks S24, and the verdict says so."""
    events = [*CONNECT, send("listen"), recv("result"), recv("rfq", "I"), send("begin"), recv("result"), recv("rfq", "T"), interrupt("notify"), recv("notification")]
    h = ClientHistory("c", events)
    verdict = check_client(h)
    assert not verdict.ok and "S24" not in verdict.reason
    mutant = check_client(h, mutate=get_mutation("notify-inside-transaction").apply)
    assert not mutant.ok and mutant.failed_at == 8
    assert "breaking S24" in mutant.reason, mutant.reason


def test_allowed_outcomes_separate_determined_from_timing_dependent_programs() -> None:
    determined = ClientHistory("c", [*CONNECT, send("begin"), recv("result"), recv("rfq", "T")])
    assert allowed_outcomes(determined) == {("rfq_idle", "result", "rfq_xact")}
    racy = ClientHistory("c", [*CONNECT, send("sleep"), interrupt("cancel"), recv("error", "57014"), recv("rfq", "I")])
    assert allowed_outcomes(racy) == {("rfq_idle", "result", "rfq_idle"), ("rfq_idle", "error", "rfq_idle")}


def test_history_files_round_trip_and_bad_ones_are_one_line(tmp_path: Path) -> None:
    history = History([ClientHistory("c0", GOOD, idle_session_timeout=True)], "PostgreSQL 15")
    path = tmp_path / "h.json"
    path.write_text(json.dumps(history_to_json(history)))
    again = read_history(path)
    assert again.clients[0].events == GOOD and again.clients[0].idle_session_timeout
    assert check_history(again).ok
    for raw, words in [
        ({"clients": [{"events": [{"send": "vacuum"}]}]}, "send takes a model command"),
        ({"clients": [{"events": [{"interrupt": "kill"}]}]}, "interrupt takes one of"),
        ({"clients": [{"events": [{"recv": "result", "send": "query"}]}]}, "exactly one of"),
        ({"client": []}, "'clients' list"),
    ]:
        with pytest.raises(UsageError, match=words):
            history_from_json(raw)
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(UsageError, match="not JSON"):
        read_history(bad)
    with pytest.raises(UsageError, match="no such file"):
        read_history(tmp_path / "missing.json")


def test_a_send_racing_the_servers_fatal_is_read_by_nobody() -> None:
    """The client sent before it read the FATAL: allowed, but nothing may answer it."""
    raced = [*CONNECT, recv("fatal", "57P05"), send("query")]
    assert check_client(ClientHistory("c", raced, idle_session_timeout=True)).ok
    verdict = check_client(ClientHistory("c", [*raced, recv("result")], idle_session_timeout=True))
    assert not verdict.ok and verdict.failed_at == 3


def _cli(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    args = [sys.executable, "-m", "pgcheck", "check-history", str(path), *extra]
    return subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=root, env=env)


def test_check_history_command(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(history_to_json(History([ClientHistory("c0", GOOD)], "test"))))
    done = _cli(good)
    assert done.returncode == 0 and "ok - 1 clients, 28 events" in done.stdout, done
    bad = tmp_path / "bad.json"
    wrong_status = [*CONNECT, send("query"), recv("result"), recv("rfq", "T")]
    bad.write_text(json.dumps(history_to_json(History([ClientHistory("c0", GOOD), ClientHistory("c1", wrong_status)], "test"))))
    done = _cli(bad, "--json")
    assert done.returncode == 1
    verdict = json.loads(done.stdout)
    assert [c["ok"] for c in verdict["clients"]] == [True, False] and verdict["clients"][1]["failed_at"] == 3
    broken = tmp_path / "broken.json"
    broken.write_text('{"clients": [{"events": [{"send": "vacuum"}]}]}')
    done = _cli(broken)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("pgcheck: ") and "send takes a model command" in done.stderr


def test_begin_inside_a_block_and_commit_outside_one_are_plain_queries() -> None:
    events = [*CONNECT, send("commit"), recv("result"), recv("rfq", "I"), send("begin"), recv("result"), recv("rfq", "T"),
              send("begin"), recv("result"), recv("rfq", "T"), send("commit"), recv("result"), recv("rfq", "I")]
    assert [e.what for e in project(events) if e.kind == "send"] == ["query", "begin", "query", "commit"]
    assert check_client(ClientHistory("c", events)).ok
    # ... and the status still has to follow: a BEGIN inside a block leaves it 'T'.
    wrong = [*events[:7], send("begin"), recv("result"), recv("rfq", "I")]
    assert check_client(ClientHistory("c", wrong)).failed_at == 9
