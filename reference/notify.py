"""LISTEN registry and NOTIFY fan-out.

A notification is appended to each listener's inbox and the listener gets
SendInterrupt(NOTIFY) (§2.9); it is written to the client only outside a transaction
block (S24), by the listener's own attached session.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from pgcheck.reference.backend import Backend, Notification


class NotifyHub:
    def __init__(self, signal: Callable[[Backend, Backend], None]) -> None:
        """`signal(target, sender)` sends the NOTIFY interrupt."""
        self._lock = threading.Lock()
        self._listeners: dict[str, set[Backend]] = {}
        self._signal = signal

    def listen(self, b: Backend, channel: str) -> None:
        with self._lock:
            self._listeners.setdefault(channel, set()).add(b)

    def unlisten(self, b: Backend, channel: str) -> None:
        with self._lock:
            if channel == "*":
                for members in self._listeners.values():
                    members.discard(b)
            else:
                self._listeners.get(channel, set()).discard(b)
            # No empty channel is kept: a server with connection churn stays bounded.
            for name in [n for n, members in self._listeners.items() if not members]:
                del self._listeners[name]

    def publish(self, sender: Backend, channel: str, payload: str) -> None:
        with self._lock:
            targets = sorted(self._listeners.get(channel, set()), key=lambda x: x.index)
        for target in targets:
            with target.inbox_lock:
                target.inbox.append(Notification(sender.pid, channel, payload))
            self._signal(target, sender)
