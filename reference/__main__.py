"""Run the reference server:

    python -m pgcheck.reference --carriers 4 --port 54329 [--mode pooled|thread-per-session]
        [--events events.jsonl] [--affinity] [--sticky-idle-ms N] [--poll-steps] [--body-timeout S]

Logs go to stderr; Ctrl-C stops cleanly.
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
import threading
from typing import NoReturn

from pgcheck.checker.errors import UsageError
from pgcheck.checker.output import check_output_path
from pgcheck.checker.printable import printable
from pgcheck.reference.events import EventSink, FileSink
from pgcheck.reference.runtime import Runtime, RuntimeConfig
from pgcheck.reference.states import Mode


class OneLineParser(argparse.ArgumentParser):
    """Bad options are one line and exit code 2 (no usage block)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {printable(message)} (see --help)\n")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = OneLineParser(prog="python -m pgcheck.reference", description=__doc__.split("\n\n")[0])
    parser.add_argument("--carriers", type=int, default=4, help="pooled carrier limit (default 4)")
    parser.add_argument("--port", type=port_number, default=54329, help="TCP port on 127.0.0.1 (default 54329; 0: any free port)")
    parser.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.POOLED.value)
    parser.add_argument("--events", metavar="FILE", help="write one JSON event per line to FILE")
    parser.add_argument("--affinity", action="store_true", help="lease affine sessions only on their carrier")
    parser.add_argument("--sticky-idle-ms", type=int, default=0, help="attached idle wait before parking")
    parser.add_argument(
        "--poll-steps", action="store_true", help="the poller's call as three steps (§2.6 steps 3-4, 5-8, 9-10)"
    )
    parser.add_argument(
        "--body-timeout", type=seconds, default=30.0, metavar="S",
        help="seconds a carrier waits, pinned, for the rest of a message once its type byte came (default 30)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    if args.carriers < 1:
        parser.error("--carriers must be at least 1")
    if args.sticky_idle_ms < 0:
        parser.error("--sticky-idle-ms must be at least 0")
    return args


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0..65535)")
    return port


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of seconds")
    return value


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
        body_timeout_s=args.body_timeout,
    )
    sink: EventSink | None = None
    if args.events is not None:
        try:
            check_output_path(args.events, "--events")
            sink = FileSink(args.events)
        except UsageError as exc:
            print(f"pgcheck.reference: {printable(str(exc))}", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"pgcheck.reference: cannot write --events {printable(args.events)} ({exc.strerror}); "
                  "choose another path", file=sys.stderr)
            return 2
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
