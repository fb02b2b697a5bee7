"""A pooled reference server in its own process, for real client libraries (libpq).

libpq's cancel holds the GIL while it sends the CancelRequest, so an in-process server could
not accept it; the event log is written to a file the tests read and check-trace replays.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class PgServer:
    port: int
    events: Path
    carriers: int

    def executed(self, fragment: str) -> bool:
        """An Execute step whose event mentions `fragment` (e.g. the SQL) has been logged."""
        if not self.events.exists():
            return False
        for line in self.events.read_text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line being written
            if event.get("action") == "Execute" and fragment in json.dumps(event):
                return True
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server_process(tmp_path: Path, carriers: int = 2) -> Iterator[PgServer]:
    port, events = free_port(), tmp_path / "events.jsonl"
    args = [sys.executable, "-m", "pgcheck.reference", "--carriers", str(carriers), "--port", str(port)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([*args, "--events", str(events)], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield PgServer(port, events, carriers)
    finally:
        proc.terminate()
        proc.wait(30)
