"""Logical per-backend timeouts (§2.10): idle_session and idle_in_transaction.

Detached code never fires a timeout (S22); it only compares the park spec's snapshot
(`timeout_wake_at`, `timeout_generation`) with this state and marks TIMEOUT or
STALE_TIMEOUT.  The attached session fires it in ServiceWakes.

In controlled mode there is no clock: `fin_time` is ignored and a timeout is due only
after the controller's TimeoutDue(b) step sets `forced_due`.
"""

from __future__ import annotations

import time
from enum import StrEnum


class TimeoutKind(StrEnum):
    IDLE_SESSION = "idle_session"
    IDLE_IN_TRANSACTION = "idle_in_transaction"


class LogicalTimeouts:
    def __init__(self, use_clock: bool) -> None:
        self.use_clock = use_clock
        self.idle_session_ms = 0
        self.idle_in_transaction_ms = 0
        self.active: TimeoutKind | None = None
        self.fin_time = 0.0
        self.generation = 0
        self.forced_due = False

    def enable(self, kind: TimeoutKind, ms: int) -> None:
        self.active = kind
        self.fin_time = time.monotonic() + ms / 1000.0
        self.forced_due = False
        self.generation += 1

    def disable(self) -> None:
        if self.active is not None:
            self.active = None
            self.forced_due = False
            self.generation += 1

    def next_wake(self) -> float | None:
        """`PgBackendLogicalTimeoutNextWake`: the deadline, or None when nothing is armed."""
        return self.fin_time if self.active is not None else None

    def is_due(self, now: float | None = None) -> bool:
        if self.active is None:
            return False
        if self.forced_due:
            return True
        if not self.use_clock:
            return False
        return (time.monotonic() if now is None else now) >= self.fin_time

    def delay(self) -> float | None:
        """Seconds until due (0 when due), None when nothing is armed or there is no clock."""
        if self.active is None:
            return None
        if self.forced_due:
            return 0.0
        if not self.use_clock:
            return None
        return max(0.0, self.fin_time - time.monotonic())
