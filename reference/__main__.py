"""Run the reference server:

    python -m pgcheck.reference --carriers 4 --port 54329 [--mode pooled|thread-per-session]
        [--events events.jsonl] [--affinity] [--sticky-idle-ms N] [--poll-steps]

Logs go to stderr; Ctrl-C stops cleanly.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from pgcheck.reference.events import EventSink, FileSink
from pgcheck.reference.runtime import Runtime, RuntimeConfig
from pgcheck.reference.states import Mode


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pgcheck.reference", description=__doc__.split("\n\n")[0])
    parser.add_argument("--carriers", type=int, default=4, help="pooled carrier limit (default 4)")
    parser.add_argument("--port", type=int, default=54329, help="TCP port on 127.0.0.1 (default 54329)")
    parser.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.POOLED.value)
    parser.add_argument("--events", metavar="FILE", help="write one JSON event per line to FILE")
    parser.add_argument("--affinity", action="store_true", help="lease affine sessions only on their carrier")
    parser.add_argument("--sticky-idle-ms", type=int, default=0, help="attached idle wait before parking")
    parser.add_argument(
        "--poll-steps", action="store_true", help="the poller's call as three steps (§2.6 steps 3-4, 5-8, 9-10)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    if args.carriers < 1:
        parser.error("--carriers must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(threadName)s %(levelname)s %(message)s",
    )
    config = RuntimeConfig(
        mode=Mode(args.mode),
        carriers=args.carriers,
        port=args.port,
        affinity_enforced=args.affinity,
        sticky_idle_ms=args.sticky_idle_ms,
        poll_steps=args.poll_steps,
    )
    sink: EventSink | None = FileSink(args.events) if args.events else None
    try:
        rt = Runtime(config, sink).start()
    except OSError as exc:
        print(f"pgcheck.reference: cannot listen on 127.0.0.1:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    logging.getLogger("pgcheck.reference").info("stopping")
    rt.stop()
    return 1 if rt.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
