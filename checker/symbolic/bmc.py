"""Bounded model checking: unroll Next K steps from Init and ask Z3 for a violation.

Depth by depth (0, 1, ..., K) one incremental solver holds Init(s0) ∧ Next(s0, s1) ∧ …
and is asked whether some selected invariant fails in the newest state (or an enabled
guard meets a failing run-time check: a model error). Asking at every depth in order
makes the first counterexample a shortest one, the length breadth-first search finds.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import z3
from pgcheck.checker.explicit.explore import Step
from pgcheck.checker.lang.spec import TracedModel
from pgcheck.checker.memory import available_bytes, human_bytes, rss_bytes
from pgcheck.checker.symbolic.encode import Encoder, State, var

# Without --memory-limit: this share of the memory available when the run starts.
DEFAULT_MEMORY_SHARE = 0.8


@dataclass
class BmcProgress:
    depth: int
    what: str
    elapsed: float


@dataclass
class BmcResult:
    verdict: str  # "ok" (no violation up to depth) | "violation" | "unknown" | "incomplete"
    depth_reached: int  # deepest depth fully checked
    property_id: str | None = None
    kind: str = "invariant"  # "invariant" | "model-error"
    message: str = ""
    trace: list[Step] = field(default_factory=list)
    elapsed: float = 0.0
    reason: str = ""


def run_bmc(
    model: TracedModel,
    depth: int,
    *,
    invariant_ids: list[str] | None = None,
    time_limit: float | None = None,
    check_errors: bool = True,
    on_progress: Callable[[BmcProgress], None] | None = None,
    memory_limit: int | None = None,
) -> BmcResult:
    """`memory_limit` (bytes; default a share of what is available): the run stops before an
    unrolling that would pass it, and a solver call that passes it is interrupted, so the run
    reports how far it got instead of the process being killed."""
    t0 = time.monotonic()
    budget = memory_limit if memory_limit is not None else _default_budget()
    enc = Encoder(model)
    chosen = [(p, e) for p, e in model.invariants if invariant_ids is None or p.id in invariant_ids]
    solver = z3.SolverFor("QF_BV")
    states: list[State] = [enc.state("0")]
    acts: list[z3.BitVecRef] = []
    solver.add(enc.init(states[0]))

    def left() -> float | None:
        return None if time_limit is None else time_limit - (time.monotonic() - t0)

    over_budget = threading.Event()

    def ask(goal: z3.BoolRef, k: int, what: str) -> z3.CheckSatResult | None:
        remaining = left()
        if remaining is not None:
            if remaining <= 0:
                return None
            solver.set("timeout", max(1, int(remaining * 1000)))
        if on_progress:
            on_progress(BmcProgress(k, what, time.monotonic() - t0))
        with _memory_watch(solver, budget, over_budget):
            return solver.check(goal)

    last_unroll = (0.0, 0)  # seconds and bytes the previous unrolling took
    for k in range(depth + 1):
        if k > 0:
            # Each depth adds one copy of Next: stop before a copy that would pass a limit.
            secs, grew = last_unroll
            remaining = left()
            if remaining is not None and secs > remaining:
                return BmcResult("incomplete", k - 1, elapsed=time.monotonic() - t0,
                                 reason=f"time limit (unrolling depth {k} takes about {secs:.0f} s)")
            if budget is not None and rss_bytes() + grew > budget:
                return BmcResult("incomplete", k - 1, elapsed=time.monotonic() - t0,
                                 reason=f"memory limit {human_bytes(budget)} (unrolling depth {k} needs about "
                                 f"{human_bytes(grew)} more; --memory-limit)")
            if on_progress:
                on_progress(BmcProgress(k, "unrolling", time.monotonic() - t0))
            u0, m0 = time.monotonic(), rss_bytes()
            t = enc.state(str(k))
            act = var(f"action@{k}")
            solver.add(enc.domain(t))
            solver.add(*enc.transition(states[-1], t, act))
            states.append(t)
            acts.append(act)
            last_unroll = (time.monotonic() - u0, max(0, rss_bytes() - m0))
        s = states[-1]
        goals: list[tuple[str, str, str, z3.BoolRef]] = [
            ("invariant", p.id, p.statement, z3.Not(enc.pred(e, s))) for p, e in chosen
        ]
        if check_errors:
            goals += [("model-error", "model-error", msg, bad) for msg, bad in enc.errors(s)]
        if not goals:
            continue
        res = ask(z3.Or([g for *_, g in goals]), k, f"depth {k}: {len(goals)} properties")
        if over_budget.is_set() and budget is not None:
            return BmcResult("incomplete", k - 1, elapsed=time.monotonic() - t0,
                             reason=f"memory limit {human_bytes(budget)} (--memory-limit)")
        if res is None or res == z3.unknown:
            reason = "time limit" if res is None else str(solver.reason_unknown())
            return BmcResult("incomplete" if res is None else "unknown", k - 1, elapsed=time.monotonic() - t0, reason=reason)
        if res == z3.sat:
            m = solver.model()
            trace = [Step(enc.decode(m, st), None if i == 0 else m.eval(acts[i - 1]).as_signed_long()) for i, st in enumerate(states)]
            kind, pid, msg = _first_failing(m, goals)
            return BmcResult("violation", k - 1, pid, kind, msg, trace, time.monotonic() - t0)
    return BmcResult("ok", depth, elapsed=time.monotonic() - t0)


def _first_failing(m: z3.ModelRef, goals: list[tuple[str, str, str, Any]]) -> tuple[str, str, str]:
    """The first declared property the model's last state violates (as the explorer reports)."""
    for kind, pid, msg, g in goals:
        if z3.is_true(m.eval(g, model_completion=True)):
            return kind, pid, msg
    raise AssertionError("a satisfying model violates no goal")  # pragma: no cover


@contextlib.contextmanager
def _memory_watch(solver: z3.Solver, budget: int | None, over: threading.Event) -> Iterator[None]:
    """While the solver runs, interrupt it (Z3's own, thread-safe cancel) once this process
    passes `budget` bytes; `over` says it happened."""
    if budget is None:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.2):
            if rss_bytes() > budget:
                over.set()
                solver.ctx.interrupt()
                return

    watcher = threading.Thread(target=watch, name="bmc-memory-watch", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


def _default_budget() -> int | None:
    avail = available_bytes()
    return None if avail is None else int((rss_bytes() + avail) * DEFAULT_MEMORY_SHARE)
