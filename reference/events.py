"""The event vocabulary of the reference runtime and the sinks that receive events.

Every instrumented step of the runtime emits exactly one event, a JSON object

    {"seq": n, "action": NAME, "params": {"c": carrier, "b": backend, ...}, "writes": {field: value}}

`ACTIONS` is the single table of action names.  The names are the model's vocabulary;
if the model renames an action, change it here (the value of each `Action` member)
and nothing else.  docs/trace-validation.md describes the schema.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Protocol


class Action(StrEnum):
    """One member per model action.  The value is the name written to the event log."""

    # carrier loop (§2.5)
    LEASE_RUNNABLE = "LeaseRunnable"  # T9
    ATTACH_LEASED = "AttachLeased"  # T10
    TAKE_NEW_CONNECTION = "TakeNewConnection"  # §2.5 step 2
    POLL_TAKE = "PollTake"  # T5, whole batch (§2.6 step 1)
    POLL_PASS = "PollPass"  # T7/T8/T6 over the batch (§2.6 steps 3-10)
    POLL_IMMEDIATE = "PollImmediate"  # poll_steps: §2.6 steps 3-4
    POLL_WAIT = "PollWait"  # poll_steps: §2.6 steps 5-8
    POLL_RECHECK = "PollRecheck"  # poll_steps: §2.6 steps 9-10
    CARRIER_SLEEP = "CarrierSleep"  # §2.5 step 4; a stutter, no model action
    START_CARRIER = "StartCarrier"  # §2.5 demand start, §2.3 Register
    # session step (§2.7)
    STARTUP = "Startup"
    STEP_TOP = "StepTop"  # §2.7 steps 2-3 and 4a, ReadyForQuery
    SERVICE_WAKES = "ServiceWakes"  # §2.7 4a after a resume, T14/T15
    CONSUME_TYPE_BYTE = "ConsumeTypeByte"  # §2.7 4e/5
    READ_EOF = "ReadEOF"  # §2.7 4e SocketBackendHandleEOF
    PREPARE_PARK = "PreparePark"  # T1
    READ_BODY = "ReadBody"
    EXECUTE = "Execute"
    DEEP_WAIT_ELAPSED = "DeepWaitElapsed"  # S12: the wait ends by time
    DEEP_WAIT_WAKE = "DeepWaitWake"  # S12: a cancel or terminate ends it
    UNWIND_STEP = "UnwindStep"  # T2
    COMMIT_PARK = "CommitPark"  # T3 fields
    DETACH = "Detach"  # T3 detach
    ENQUEUE_PARK = "EnqueuePark"  # T4
    RESUME = "Resume"  # T12
    LOGICAL_EXIT = "LogicalExit"  # T13 + exit (S28, S29)
    # staging, thread-per-session (§2.8)
    STAGING_WAKE = "StagingWake"  # T7
    STAGING_LEASE = "StagingLease"  # T11 + attach
    # environment
    CLIENT_CONNECT = "ClientConnect"  # postmaster queues a logical start (§2.5 arrival)
    CLIENT_SEND_BYTE = "ClientSendByte"
    CLIENT_SEND_BODY = "ClientSendBody"
    CLIENT_CLOSE = "ClientClose"
    SEND_INTERRUPT = "SendInterrupt"  # §2.9
    TIMEOUT_DUE = "TimeoutDue"  # §2.10


# The poller's call in three steps (RuntimeConfig.poll_steps, the model's option poll_steps).
POLL_STEP_ACTIONS = frozenset({Action.POLL_IMMEDIATE, Action.POLL_WAIT, Action.POLL_RECHECK})


# Interrupt kinds as the model names them (model/vocabulary.py INTR), keyed by the
# `Interrupt` member name of §2.9.
INTERRUPT_NAMES = {
    "QUERY_CANCEL": "cancel",
    "PROC_DIE": "die",
    "CONFIG_RELOAD": "reload",
    "NOTIFY": "notify",
    "IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "idle_in_xact_timeout",
    "IDLE_SESSION_TIMEOUT": "idle_session_timeout",
}


# Which actor performs each action; the trace validator uses this to know which
# parameter names to expect ("c" and/or "b").
CARRIER_ACTIONS = frozenset(
    {
        Action.LEASE_RUNNABLE, Action.POLL_TAKE, Action.POLL_PASS, Action.POLL_IMMEDIATE, Action.POLL_WAIT,
        Action.POLL_RECHECK, Action.CARRIER_SLEEP, Action.START_CARRIER,
    }
)
ENVIRONMENT_ACTIONS = frozenset(
    {
        Action.CLIENT_CONNECT,
        Action.CLIENT_SEND_BYTE,
        Action.CLIENT_SEND_BODY,
        Action.CLIENT_CLOSE,
        Action.SEND_INTERRUPT,
        Action.TIMEOUT_DUE,
    }
)


@dataclass(frozen=True)
class Event:
    seq: int
    action: str
    params: dict[str, Any]
    writes: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {"seq": self.seq, "action": self.action, "params": self.params, "writes": self.writes},
            sort_keys=True,
            separators=(",", ":"),
        )


class EventSink(Protocol):
    def write(self, event: Event) -> None: ...

    def close(self) -> None: ...


class ListSink:
    """Keeps events in memory (tests, controlled mode)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def write(self, event: Event) -> None:
        self.events.append(event)

    def close(self) -> None:
        pass

    def lines(self) -> list[str]:
        return [e.to_json() for e in self.events]


class FileSink:
    """Writes one JSON line per event, line-buffered so that a running server's log can be followed."""

    def __init__(self, path: str | Path) -> None:
        self._file: IO[str] = open(path, "w", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed by close()

    def write(self, event: Event) -> None:
        self._file.write(event.to_json() + "\n")

    def close(self) -> None:
        self._file.close()


class EventLog:
    """Numbers events and hands them to the sink; `emit` is thread-safe."""

    def __init__(self, sink: EventSink | None) -> None:
        self.sink = sink
        self._lock = threading.Lock()
        self._seq = 0
        # Linearization: mailbox writes (SendInterrupt) and the steps that read or consume the
        # mailbox hold this lock from their effect to their event, so the log order is an
        # order in which the model can take them.  Lock order: order -> scheduler -> queue.
        self.order = threading.RLock()

    @property
    def enabled(self) -> bool:
        return self.sink is not None

    def emit(self, action: Action, params: dict[str, Any], writes: dict[str, Any] | None = None) -> None:
        if self.sink is None:
            return
        with self._lock:
            self._seq += 1
            self.sink.write(Event(self._seq, action.value, dict(params), dict(writes or {})))

    def close(self) -> None:
        if self.sink is not None:
            with self._lock:
                self.sink.close()
