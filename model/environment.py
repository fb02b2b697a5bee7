"""The environment: clients, other backends (interrupts), the clock, the postmaster.

Budgets (model/config.py) keep these finite; each action says which design element it
stands for.
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.model.config import ModelConfig
from pgcheck.model.vocabulary import CMD, INTR

BUDGET_OF = {"cancel": "cancels", "die": "terminates", "reload": "reloads", "notify": "notifies"}


def add_environment(spec: Spec, cfg: ModelConfig) -> None:
    commands = [c for c in CMD.values if c in cfg.get("commands")]
    think = cfg.get("think_time")
    finish = "weak" if cfg.get("clients_finish_messages") else None  # assumption clients_finish_messages
    tick = "weak" if cfg.get("time_passes") else None  # assumption time_passes (§5 "tick")

    @spec.action(b="session", cmd=commands, cite="§2.7: the type byte is a separate step (partial message)")
    def ClientSendByte(s: Any, b: int, cmd: str) -> None:
        """The client starts its next message: only the type byte reaches the socket so far."""
        ses = s.session[b]
        require((ses.cl == "idle") & (ses.cl_budget > 0) & (ses.pc != "gone"))
        if cmd == "begin":
            require(~ses.cl_xact)
        if cmd == "commit":
            require(ses.cl_xact)
        ses.cl = "byte"
        ses.cl_cmd = cmd
        ses.inbuf = "byte"
        if think:
            ses.cl_budget = ses.cl_budget - 1

    @spec.action(b="session", fairness=finish, cite="§2.7 4e")
    def ClientSendBody(s: Any, b: int) -> None:
        """The rest of the message arrives."""
        ses = s.session[b]
        require(ses.cl == "byte")
        ses.cl = "sent"
        ses.inbuf = X.when(ses.inbuf == "byte", "whole", "body")

    if cfg.get("client_close"):

        @spec.action(b="session", cite="L6 disconnect, Terminate message")
        def ClientClose(s: Any, b: int) -> None:
            """The client closes its connection (EOF after any unread bytes)."""
            ses = s.session[b]
            require((ses.cl == "idle") | (ses.cl == "sent") | (ses.cl == "result"))
            ses.cl = "closed"

    kinds = [k for k in INTR.values if cfg.get(BUDGET_OF[k]) > 0]

    @spec.action(b="session", kind=kinds, cite="§2.9 SendInterrupt: fetch_or + SetLatch")
    def SendInterrupt(s: Any, b: int, kind: str) -> None:
        """Another backend (or a CancelRequest) sends an interrupt: set the mailbox bit, set the latch."""
        ses = s.session[b]
        budget = getattr(s.env, BUDGET_OF[kind])
        require((budget > 0) & (ses.pc != "new") & (ses.pc != "gone"))
        if kind == "notify":
            require(ses.listening)
            ses.notify_owed = True  # history: the client is owed a NotificationResponse (CL2)
        ses.mbox = X.set_add(ses.mbox, kind)
        ses.latch_set = True
        setattr(s.env, BUDGET_OF[kind], budget - 1)

    if cfg.get("idle_session_timeout") or cfg.get("idle_in_xact_timeout"):

        @spec.action(b="session", fairness=tick, cite="§2.10 logical timeouts")
        def TimeoutDue(s: Any, b: int) -> None:
            """Time passes beyond an armed idle timeout's fin_time."""
            ses = s.session[b]
            require(ses.tmo_armed & ~ses.tmo_due)
            ses.tmo_due = True

    if cfg.get("reschedules") > 0:

        @spec.action(b="session", cite="§3.3 timeout generation, STALE_TIMEOUT")
        def TimeoutReschedule(s: Any, b: int) -> None:
            """The backend's timeout state changes under a committed park spec (generation bump)."""
            ses = s.session[b]
            require((s.env.reschedules > 0) & (ses.ps == "committed") & ~ses.tmstale)
            ses.tmstale = True
            s.env.reschedules = s.env.reschedules - 1

    if cfg.get("transport_changes") > 0:

        @spec.action(b="session", cite="§3.3 transport generation, STALE_TRANSPORT")
        def TransportChange(s: Any, b: int) -> None:
            """The connection's transport generation changes under a committed park spec."""
            ses = s.session[b]
            require((s.env.transport_changes > 0) & (ses.ps == "committed") & ~ses.tstale)
            ses.tstale = True
            s.env.transport_changes = s.env.transport_changes - 1

    if cfg.get("hibernate") and cfg.mode == "pooled":

        @spec.action(b="session", fairness=tick, cite="§2.7 hibernate_after_ms")
        def IdleTimePasses(s: Any, b: int) -> None:
            """A parked backend has now been parked for hibernate_after_ms."""
            ses = s.session[b]
            require((ses.q == "parked") & ~ses.long_idle)
            ses.long_idle = True

    if cfg.get("postmaster_death") and cfg.mode == "pooled":

        @spec.action(cite="§2.6 step 7, L12")
        def PostmasterDies(s: Any) -> None:
            """The postmaster exits unexpectedly."""
            require(s.env.pm_alive)
            s.env.pm_alive = False
