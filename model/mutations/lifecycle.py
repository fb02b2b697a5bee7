"""Seeded bugs of admission and logical exit (§2.5, T13, §2.1 shell pool)."""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.model.carrier_loop import leasable, take_parked
from pgcheck.model.config import ModelConfig
from pgcheck.model.mutations.base import Mutation, config, patch, replace


def carrier_exits_with_backend(spec: Spec, cfg: ModelConfig) -> None:
    def LogicalExit(s: Any, original: Any, c: int, b: int) -> None:
        original(s, c=c, b=b)
        # BUG H4: exit_jmp_valid is false at the pooled exit, so the carrier thread exits
        # (pg_thread_exit) with the logical backend instead of returning to its loop.
        s.carrier[c].loc = "dead"
        s.carrier[c].reg = False
        s.carrier[c].idle = False
        s.sched.registered = s.sched.registered - 1
        s.sched.idle_count = s.sched.idle_count - 1

    patch(spec, "LogicalExit", LogicalExit)


def interrupt_latch_null(spec: Spec, cfg: ModelConfig) -> None:
    def Detach(s: Any, original: Any, c: int, b: int) -> None:
        original(s, c=c, b=b)
        s.session[b].latch = None  # BUG B5: the published backend's interrupt latch points nowhere

    patch(spec, "Detach", Detach)


def exit_keeps_myproc(spec: Spec, cfg: ModelConfig) -> None:
    def LogicalExit(s: Any, original: Any, c: int, b: int) -> None:
        original(s, c=c, b=b)
        s.carrier[c].proc = b  # BUG B6: after release the exiting thread still references the PGPROC

    patch(spec, "LogicalExit", LogicalExit)


def held(s: Any, c: int) -> X.Expr:
    """Carrier c still holds a session it parked (a shell carrier frees only on disconnect)."""
    return X.any_of(s.session.ids(), lambda b: (s.session[b].pcar == c) & (s.session[b].pc != "gone"))


def admission_waits_for_carrier(spec: Spec, cfg: ModelConfig) -> None:
    def TakeNewConnection(s: Any, original: Any, c: int, b: int) -> None:
        # BUG B20: admission needs a free carrier, and a carrier is freed only when the session it
        # holds disconnects; there is no dedicated fallback.
        require(~held(s, c))
        original(s, c=c, b=b)

    def PollTake(s: Any, c: int) -> None:
        # A held carrier waits on its own sessions' sockets even while connections queue.
        require(s.carrier[c].loc == "loop")
        require(~leasable(s, c, cfg))
        require(X.is_empty(s.sched.newconn) | held(s, c))
        require(~X.is_empty(s.sched.parked))
        take_parked(s, c)

    patch(spec, "TakeNewConnection", TakeNewConnection)
    replace(spec, "PollTake", PollTake)


MUTATIONS = [
    Mutation(
        "carrier-exits-with-backend", "H4", "S29", config("pooled", 1, 1, client_close=True),
        "The client closes its connection; the session reads EOF and exits logically. exit_jmp_valid is "
        "false at that moment, so the pooled carrier thread exits together with the logical backend "
        "instead of returning to its loop: the pool shrinks silently while the postmaster lives.",
        ("LogicalExit",), carrier_exits_with_backend,
        kind="safety",
    ),
    Mutation(
        "interrupt-latch-null", "B5", "S16", config("pooled", 1, 1),
        "The session parks; its backend stays published, but the detach leaves its interrupt latch "
        "pointing at nothing (the freed fallback bucket of startup): a SetLatch from SendInterrupt "
        "would hit NULL.",
        ("Detach",), interrupt_latch_null,
        kind="safety",
    ),
    Mutation(
        "exit-keeps-myproc", "B6", "S28", config("thread-per-session", None, 1, client_close=True),
        "The client closes its connection and the backend exits; the exit path releases the backend but "
        "the thread still references its PGPROC afterwards (the release-before-unpublish race of the "
        "PMChild pointer).",
        ("LogicalExit",), exit_keeps_myproc, also_in=("process", "pooled"),
        kind="safety",
    ),
    Mutation(
        "admission-waits-for-carrier", "B20", "L10", config("pooled", 1, 2),
        "A bounded pool admits a new connection only on a free carrier, and a carrier is freed only when "
        "the session it holds disconnects. The one carrier starts session 0, which parks and stays "
        "connected; session 1's logical start waits in the queue for ever while the carrier polls.",
        ("TakeNewConnection", "PollTake"), admission_waits_for_carrier,
        kind="liveness",
    ),
]
