"""A bounded free-running load: many clients, random think time, some cancels, NOTIFYs and
terminates (pg_terminate_backend from another thread, when the caller passes `terminate`);
every other query is sent as an extended-query batch (Parse … Sync), the rest as simple Query.

Every client checks that it gets exactly its own responses, in order; a terminated client
checks that it gets FATAL 57P01 and then the close.  Used by the stress
test and runnable by hand:

    python -m pgcheck.reference.stress --clients 50 --carriers 4 --seconds 10
"""

from __future__ import annotations

import argparse
import queue
import random
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pgcheck.reference import fdwait
from pgcheck.reference.client import ClientError, PgClient, query_message
from pgcheck.reference.runtime import Runtime, RuntimeConfig
from pgcheck.reference.states import Mode

CHANNEL = "stress"


@dataclass
class StressResult:
    clients: int
    queries: int = 0
    failures: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0
    cancels: int = 0
    terminates: int = 0
    notifies_sent: int = 0
    notifications_received: dict[int, int] = field(default_factory=dict)
    max_threads: int = 0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100.0 * len(ordered)))]

    def summary(self) -> str:
        mean = statistics.fmean(self.latencies_ms) if self.latencies_ms else 0.0
        return (
            f"{self.clients} clients, {self.queries} queries in {self.elapsed_s:.2f} s "
            f"({self.queries / max(self.elapsed_s, 1e-9):.0f} q/s); latency ms mean {mean:.2f} "
            f"p50 {self.percentile(50):.2f} p95 {self.percentile(95):.2f} p99 {self.percentile(99):.2f} "
            f"max {max(self.latencies_ms, default=0.0):.2f}; cancels {self.cancels}; "
            f"notifies {self.notifies_sent}; terminates {self.terminates}; max threads {self.max_threads}; failures {len(self.failures)}"
        )


def run_stress(
    port: int,
    *,
    clients: int = 50,
    queries_per_client: int = 40,
    think_ms: tuple[int, int] = (0, 40),
    seconds: float = 10.0,
    cancelers: int = 3,
    notifiers: int = 5,
    listeners: int = 5,
    seed: int = 0,
    terminate: Callable[[int], bool] | None = None,
    terminated: int = 3,
) -> StressResult:
    """`terminate(pid)` (e.g. `Runtime.terminate_backend`) is called from a separate thread for
    `terminated` clients, each once it has run two queries and is idle."""
    result = StressResult(clients)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    ready = threading.Barrier(clients, timeout=30)
    finished = threading.Event()
    listener_clients: list[PgClient] = []
    doomed = range(listeners + notifiers, listeners + notifiers + terminated) if terminate else range(0)
    to_terminate: queue.Queue[int | None] = queue.Queue()

    def terminator() -> None:
        assert terminate is not None
        while (pid := to_terminate.get()) is not None:
            if not terminate(pid):
                fail(f"terminate of pid {pid}: no such backend")

    def fail(message: str) -> None:
        with lock:
            result.failures.append(message)

    def client_main(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        try:
            client = PgClient("127.0.0.1", port, timeout=60.0).connect()
        except (OSError, ClientError) as exc:
            fail(f"client {n}: connect: {exc}")
            ready.abort()
            return
        try:
            if n < listeners:
                client.query(f"LISTEN {CHANNEL}")
                with lock:
                    listener_clients.append(client)
            ready.wait()
            for i in range(queries_per_client):
                if time.monotonic() > deadline:
                    break
                time.sleep(rng.uniform(*think_ms) / 1000.0)
                if n in doomed and i == 2:
                    run_terminated(client)
                    return
                if n >= clients - cancelers and i == 2:
                    run_cancel(client)
                    continue
                if listeners <= n < listeners + notifiers and i == 3:
                    client.query(f"NOTIFY {CHANNEL}, 'from {n}'")
                    with lock:
                        result.notifies_sent += 1
                    continue
                value = n * 100000 + i
                t0 = time.perf_counter()
                # every other query uses the extended protocol (one pinned batch through Sync, S9)
                send = client.query_extended if i % 2 else client.query
                answer = send(f"SELECT {value}")
                latency = (time.perf_counter() - t0) * 1000
                if answer.rows != [[str(value)]] or answer.status != "I" or answer.errors:
                    fail(f"client {n}: SELECT {value} answered {answer}")
                with lock:
                    result.queries += 1
                    result.latencies_ms.append(latency)
            if n < listeners:
                finished.wait(30)
                expected = result.notifies_sent
                while len(client.notifications) < expected:
                    client.wait_notification(timeout=30.0)
                    client.notifications.append(client.notifications.pop())
                with lock:
                    result.notifications_received[n] = len(client.notifications)
            client.terminate()
        except (OSError, ClientError, threading.BrokenBarrierError) as exc:
            fail(f"client {n}: {exc!r}")
            client.close()

    def run_terminated(client: PgClient) -> None:
        """This session is idle; another thread terminates it: FATAL 57P01, then EOF."""
        to_terminate.put(client.pid)
        fatal = client.read_fatal(timeout=60.0)
        if (fatal.severity, fatal.code) != ("FATAL", "57P01"):
            fail(f"terminated pid {client.pid} got {fatal}")
        elif not client.at_eof(timeout=60.0):
            fail(f"terminated pid {client.pid}: the connection stayed open after FATAL")
        else:
            with lock:
                result.terminates += 1
        client.close()

    def run_cancel(client: PgClient) -> None:
        client.send_raw(query_message("SELECT pg_sleep(30)"))
        # RowDescription comes from the Execute step that starts the deep wait: cancel after
        # it, so the cancel cannot reach a session that is still idle (where it is a no-op).
        if client.sock is not None:
            fdwait.wait([client.sock.fileno()], 30.0)
        client.cancel()
        answer = client.read_until_ready(timeout=30.0)
        if answer.error_codes != ["57014"]:
            fail(f"cancel of pid {client.pid} answered {answer}")
        with lock:
            result.cancels += 1

    killer = threading.Thread(target=terminator, daemon=True)
    if terminate is not None:
        killer.start()
    threads = [threading.Thread(target=client_main, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    workers = [t for t in threads if t.name]
    for t in workers[listeners:]:
        t.join(seconds + 30)
        result.max_threads = max(result.max_threads, threading.active_count())
    finished.set()
    for t in workers[:listeners]:
        t.join(30)
    to_terminate.put(None)
    if terminate is not None:
        killer.join(30)
    if any(t.is_alive() for t in threads) or killer.is_alive():
        fail("some clients did not finish (hang)")
    result.elapsed_s = time.monotonic() - started
    return result


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m pgcheck.reference.stress")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--carriers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--queries", type=int, default=40, help="queries per client")
    parser.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.POOLED.value)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--poll-steps", action="store_true", help="the poller's call as three steps (§2.6)")
    args = parser.parse_args()
    rt = Runtime(RuntimeConfig(mode=Mode(args.mode), carriers=args.carriers, poll_steps=args.poll_steps)).start()
    try:
        result = run_stress(
            rt.port,
            clients=args.clients,
            queries_per_client=args.queries,
            seconds=args.seconds,
            seed=args.seed,
            terminate=rt.terminate_backend,
        )
        if not rt.wait_sessions_ended(30.0):
            result.failures.append("some sessions did not end after their clients left (hang)")
    finally:
        rt.stop()
    print(result.summary())
    print(f"server carrier threads: {len(rt.carriers)}; scheduler: {rt.snapshot()['scheduler']}")
    for failure in result.failures[:20]:
        print("FAIL", failure)
    return 1 if result.failures or rt.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
