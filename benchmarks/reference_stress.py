"""Free-running stress of the reference server, with its event log validated by check-trace.

    python benchmarks/reference_stress.py [--clients 200] [--carriers 4] [--seconds 20]

Clients with random think time (so sessions park between queries), 3 cancels of a
pg_sleep, 5 NOTIFY senders to 5 listeners, 3 terminates, Terminate at the end; every other
query is an extended-query batch.  Prints one Markdown
table row: clients, carriers, server threads, queries, throughput, client-measured query
latency percentiles (after a think time, so they include the wake of a parked session),
server wake latency percentiles (first accepted T7 of a park to its T12 resume), events,
and the check-trace verdict with its time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from pgcheck.reference import FileSink, Runtime, RuntimeConfig
from pgcheck.reference.stress import run_stress
from pgcheck.reference.trace_check import check_events, trace_config
from pgcheck.reference.trace_events import read_events


def main() -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/reference_stress.py")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--carriers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--queries", type=int, default=10, help="queries per client")
    parser.add_argument("--think-ms", type=int, default=200, help="maximum think time between queries")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--terminates", type=int, default=3, help="sessions terminated from another thread")
    args = parser.parse_args()
    log = Path(tempfile.mkdtemp()) / "events.jsonl"
    rt = Runtime(RuntimeConfig(carriers=args.carriers), sink=FileSink(log)).start()
    try:
        result = run_stress(
            rt.port,
            clients=args.clients,
            queries_per_client=args.queries,
            think_ms=(0, args.think_ms),
            seconds=args.seconds,
            seed=args.seed,
            terminate=rt.terminate_backend,
            terminated=args.terminates,
        )
        ended = rt.wait_sessions_ended(60.0)
    finally:
        rt.stop()
    t0 = time.monotonic()
    events = read_events(log)
    verdict = check_events(events, trace_config("pooled", args.carriers, rt.connections_served))
    check_s = time.monotonic() - t0
    status = "ok" if verdict.ok else f"MISMATCH at seq {verdict.mismatch.seq if verdict.mismatch else '?'}"
    failures = len(result.failures) + (0 if ended else 1) + len(rt.errors)
    wakes = sorted(rt.wake_latencies_ms)

    def wake(p: float) -> float:
        return wakes[min(len(wakes) - 1, int(p / 100.0 * len(wakes)))] if wakes else 0.0

    print(result.summary())
    print(
        f"server wake latency (first accepted T7 to T12 resume) over {len(wakes)} wakes: "
        f"p50 {wake(50):.2f} p95 {wake(95):.2f} p99 {wake(99):.2f} max {wake(100):.2f} ms"
    )
    print(
        f"| {args.clients} | {args.carriers} | {len(rt.carriers)} | {result.queries} | "
        f"{result.queries / max(result.elapsed_s, 1e-9):.0f} q/s | {result.percentile(50):.1f} / "
        f"{result.percentile(95):.1f} / {result.percentile(99):.1f} ms | "
        f"{wake(50):.1f} / {wake(95):.1f} / {wake(99):.1f} ms | {result.cancels} / {result.notifies_sent} / {result.terminates} | "
        f"{failures} | {len(events):,} | {status} in {check_s:.0f} s |"
    )
    return 0 if verdict.ok and failures == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
