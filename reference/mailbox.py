"""The logical interrupt mailbox (§2.9) and the latch a waiting thread sleeps on."""

from __future__ import annotations

import contextlib
import os
import threading
from enum import IntEnum

from pgcheck.reference import fdwait
from pgcheck.reference.events import INTERRUPT_NAMES


class Interrupt(IntEnum):
    """`PgBackendInterruptType`; the mailbox bit is `1 << value` (§2.9)."""

    QUERY_CANCEL = 0
    PROC_DIE = 1
    IDLE_IN_TRANSACTION_SESSION_TIMEOUT = 3
    IDLE_SESSION_TIMEOUT = 5
    CONFIG_RELOAD = 10
    NOTIFY = 13

    @property
    def bit(self) -> int:
        return 1 << int(self)


def mask_names(mask: int) -> list[str]:
    """The interrupts set in `mask` in the model's names (events.INTERRUPT_NAMES), bit order."""
    return [INTERRUPT_NAMES[kind.name] for kind in Interrupt if mask & kind.bit]


class Latch:
    """A wake object with a file descriptor, so it can sit in a select() set (S15).

    `set` is idempotent until `reset`; `wait` returns True if the latch was set.
    """

    def __init__(self) -> None:
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)
        self._lock = threading.Lock()
        self._is_set = False
        self._closed = False

    def fileno(self) -> int:
        return self._r

    @property
    def is_set(self) -> bool:
        return self._is_set

    def set(self) -> None:
        with self._lock:
            if self._is_set or self._closed:
                return
            self._is_set = True
            with contextlib.suppress(BlockingIOError):
                os.write(self._w, b"x")

    def reset(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._is_set = False
            try:
                while os.read(self._r, 64):
                    pass
            except BlockingIOError:
                pass

    def wait(self, timeout: float) -> bool:
        if self._is_set:
            return True
        if timeout > 0 and not self._closed:
            fdwait.wait([self._r], timeout)
        return self._is_set

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._is_set = True
            os.close(self._r)
            os.close(self._w)


class Mailbox:
    """`pending_mask` and `notify_generation`, written by any thread (§2.4).

    The lock stands in for the atomics of the C code: `send` is fetch_or,
    `consume` is exchange(0).  The mailbox is level-triggered: bits stay set until
    an attached backend consumes them (§2.6 note, §3.4 "wake racing detach").
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.pending_mask = 0
        self.notify_generation = 0

    def send(self, kind: Interrupt) -> bool:
        """Set the bit; return True if the sender must SetLatch (newly set, or NOTIFY)."""
        with self._lock:
            if kind is Interrupt.NOTIFY:
                self.notify_generation = (self.notify_generation + 1) & 0xFFFFFFFF or 1
            old = self.pending_mask
            self.pending_mask = old | kind.bit
            return not (old & kind.bit) or kind is Interrupt.NOTIFY

    def consume(self, mask: int = -1) -> int:
        """Atomically clear and return the bits of `mask` that were pending."""
        with self._lock:
            taken = self.pending_mask & mask
            self.pending_mask &= ~mask
            return taken

    def peek(self) -> int:
        return self.pending_mask
