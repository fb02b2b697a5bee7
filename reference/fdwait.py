"""Wait for file descriptors with poll(2): no FD_SETSIZE limit, unlike select(2).

A server with hundreds of sessions (each a socket and a latch pipe) passes descriptor
number 1024 quickly; select() then fails and a wake would be lost.
"""

from __future__ import annotations

import select

READ = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR
WRITE = select.POLLOUT | select.POLLHUP | select.POLLERR


def wait(fds: list[int], timeout: float | None, events: int = READ) -> list[int]:
    """The descriptors of `fds` that are ready within `timeout` seconds (None: no limit)."""
    poller = select.poll()
    for fd in fds:
        poller.register(fd, events)
    ms = None if timeout is None else max(0, int(timeout * 1000 + 0.999))
    return [fd for fd, revents in poller.poll(ms) if revents]
