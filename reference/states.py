"""Enumerations of the runtime's state machines, named as in the digest (§2.2, §3.1)."""

from __future__ import annotations

from enum import IntFlag, StrEnum


class ParkState(StrEnum):
    """`PgProtocolParkState` (§2.2); values are the snapshot names."""

    NONE = "none"
    PREPARED = "prepared"
    COMMITTED = "committed"


class QueueState(StrEnum):
    """`PgProtocolSchedulerQueueState` (§2.2); values are the snapshot names."""

    NONE = "none"
    PARKED = "parked_protocol_read"
    POLLING = "polling"
    RUNNABLE = "runnable"
    LEASED = "leased"


class CarrierLoc(StrEnum):
    """Where a carrier thread is (`loc(c)` in §4)."""

    SCHEDULER_LOOP = "scheduler_loop"
    LEASING = "leasing"  # T9 popped a runnable backend, T10 attach next
    IN_STEP = "in_step"
    COMMITTING = "committing"
    POLLING = "polling"
    POLL_WAITING = "poll_waiting"  # poll_steps: in the wait of §2.6 steps 5-8
    POLL_RECHECKING = "poll_rechecking"  # poll_steps: the re-check of step 9 next
    STAGING_WAIT = "staging_wait"
    EXITING = "exiting"
    STOPPED = "stopped"


class WakeReason(IntFlag):
    """`PgProtocolParkWakeReason`, the code values of §3.1."""

    NONE = 0
    BUFFERED_INPUT = 0x001
    TRANSPORT = 0x002
    CLOSED = 0x004
    LOGICAL = 0x008
    POSTMASTER = 0x010
    STALE_TRANSPORT = 0x020
    TIMEOUT = 0x040
    STALE_TIMEOUT = 0x080
    NOTIFY = 0x100
    HIBERNATE = 0x200


class WaitEvent(IntFlag):
    """Upstream WaitEventSet bits (§3.1)."""

    NONE = 0
    LATCH_SET = 1 << 0
    SOCKET_READABLE = 1 << 1
    SOCKET_WRITEABLE = 1 << 2
    TIMEOUT = 1 << 3
    POSTMASTER_DEATH = 1 << 4
    SOCKET_CLOSED = 1 << 7


class Mode(StrEnum):
    POOLED = "pooled"
    THREAD_PER_SESSION = "thread-per-session"
