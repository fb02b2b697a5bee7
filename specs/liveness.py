"""Liveness properties of scheduler-digest.md §5 (L1-L14) as temporal formulas.

Each property has an id, a statement, a citation, the form (`P ~> Q`, `[]<> Q`,
`<>[] Q`), one obligation per session where it speaks of "a session", and `relies`:
the fairness and environment assumptions it needs (keys of `RELIES` below; the
assumption options are in model/config.py, group "assumption"). A property is added
only in the configurations where its antecedent can happen; `NOT_APPLICABLE` lists the
ones the model cannot express, and `skipped` (in spec.meta) says why an expressible one
is left out of a given configuration.

The postmaster's death ends all service (§2.6 step 7), so every "eventually served"
property is discharged by it; L12 then says what must happen instead.
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.expr import all_of
from pgcheck.checker.lang.spec import Spec
from pgcheck.model.config import ModelConfig

RELIES: dict[str, str] = {
    "WF-carriers": "weak fairness of every carrier, poller and session-step action, per binding (a carrier that can "
    "make a step eventually makes it; the 10 ms poll/condvar tick of §5)",
    "level-triggered-mailbox": "the interrupt mailbox stays set until an attached backend consumes it (§2.9)",
    "think_time": "assumption think_time: clients eventually pause, so every attached session reaches a park (§5 L3)",
    "clients_finish_messages": "assumption clients_finish_messages: a client that sent a type byte sends the body",
    "time_passes": "assumption time_passes: armed timeouts become due, a parked session eventually idles long",
}

NOT_APPLICABLE: dict[str, str] = {
    "L13": "a rate property (each client progresses at about total/clients): the model has no time or throughput, "
    "and the qualitative part is L3",
}


def _discharged(s: Any) -> X.Expr:
    return ~s.env.pm_alive


def add_liveness(spec: Spec, cfg: ModelConfig) -> None:
    skipped: dict[str, str] = {}
    spec.meta["liveness_skipped"] = skipped
    pooled = cfg.mode == "pooled"
    parking = cfg.mode != "process"
    talks = cfg.get("messages") > 0 and cfg.get("active_clients") > 0
    interrupts = any(cfg.get(k) > 0 for k in ("cancels", "terminates", "reloads", "notifies"))
    base = ("WF-carriers", "think_time", "clients_finish_messages")

    if parking and talks:

        @spec.leads_to(
            "L1",
            "no lost frontend wake: a parked session with input on its socket is eventually resumed",
            "§5 L1, §2.6 steps 3 and 8",
            base,
            each="session",
            never="session {i} has input waiting but is never resumed",
        )
        def l1(s: Any, b: int) -> tuple[object, object]:
            ses = s.session[b]
            waiting = (ses.inbuf == "byte") | (ses.inbuf == "whole")
            return (ses.ps == "committed") & waiting, (ses.ps != "committed") | _discharged(s)
    else:
        skipped["L1"] = "needs a parking mode and a client that sends (messages > 0, active_clients > 0)"

    if parking and interrupts:

        @spec.leads_to(
            "L2",
            "no lost logical wake: a committed park with a non-empty mailbox is eventually resumed",
            "§5 L2, §2.9, §3.4 wake racing detach",
            (*base, "level-triggered-mailbox"),
            each="session",
            never="session {i} has a pending interrupt but is never resumed",
        )
        def l2(s: Any, b: int) -> tuple[object, object]:
            ses = s.session[b]
            return (ses.ps == "committed") & ~X.is_empty(ses.mbox), (ses.ps != "committed") | _discharged(s)
    else:
        skipped["L2"] = "needs a parking mode and an interrupt budget (cancels, terminates, reloads or notifies > 0)"

    if pooled:

        @spec.leads_to(
            "L3",
            "a runnable session is eventually leased by a carrier",
            "§5 L3, §2.5 priority order, B8",
            base,
            each="session",
            never="session {i} stays runnable and is never leased",
        )
        def l3(s: Any, b: int) -> tuple[object, object]:
            ses = s.session[b]
            return ses.q == "runnable", (ses.q == "leased") | _discharged(s)
    else:
        skipped["L3"] = "pooled mode only (the other shapes have no runnable queue)"

    if parking and (cfg.get("idle_session_timeout") or cfg.get("idle_in_xact_timeout")):

        @spec.leads_to(
            "L4",
            "a due idle timeout of a parked session eventually fires: the session is resumed and exits",
            "§5 L4, §2.10",
            (*base, "time_passes"),
            each="session",
            never="session {i} has a due timeout and never exits",
        )
        def l4(s: Any, b: int) -> tuple[object, object]:
            ses = s.session[b]
            return (ses.ps == "committed") & ses.tmo_armed & ses.tmo_due, (ses.pc == "gone") | _discharged(s)
    else:
        skipped["L4"] = "needs a parking mode and idle_session_timeout or idle_in_xact_timeout"

    if cfg.get("terminates") > 0:

        @spec.leads_to(
            "L5",
            "a terminate (PROC_DIE) eventually makes the session exit",
            "§5 L5, §2.9",
            (*base, "level-triggered-mailbox"),
            each="session",
            never="session {i} was sent a terminate and never exits",
        )
        def l5(s: Any, b: int) -> tuple[object, object]:
            ses = s.session[b]
            return X.set_has(ses.mbox, "die"), (ses.pc == "gone") | _discharged(s)
    else:
        skipped["L5"] = "needs terminates > 0"

    if cfg.get("client_close"):

        @spec.leads_to(
            "L6",
            "a client disconnect eventually makes the session exit",
            "§5 L6, §2.7 4e EOF",
            base,
            each="session",
            never="the client of session {i} has disconnected and the session never exits",
        )
        def l6(s: Any, b: int) -> tuple[object, object]:
            ses = s.session[b]
            return (ses.cl == "closed") & (ses.pc != "new"), (ses.pc == "gone") | _discharged(s)
    else:
        skipped["L6"] = "needs client_close"

    notify_ok = talks and "begin" in cfg.get("commands") and cfg.get("notifies") > 0 and cfg.get("listeners")
    if parking and notify_ok:

        @spec.eventually_always(
            "L7",
            "no busy loop on a deferred notify: an idle-in-transaction session with a deferred notification "
            "is made runnable only finitely often",
            "§5 L7, §3.4 deferred notify, T14",
            (*base, "level-triggered-mailbox"),
            each="session",
            never="session {i} keeps being woken for a notification it must defer",
        )
        def l7(s: Any, b: int) -> object:
            ses = s.session[b]
            woken = (ses.q == "runnable") | (ses.wake != "none")
            return ~(ses.deferred & ses.in_xact & woken)
    else:
        skipped["L7"] = "needs a parking mode, BEGIN among the commands, notifies > 0 and listeners"

    if pooled and cfg.get("hibernate"):

        @spec.eventually_always(
            "L8",
            "no hibernate loop: HIBERNATE wakes happen only finitely often",
            "§5 L8, §2.7 hibernate",
            (*base, "time_passes"),
            each="session",
            never="session {i} keeps being woken to hibernate",
        )
        def l8(s: Any, b: int) -> object:
            return s.session[b].wake != "hibernate"
    else:
        skipped["L8"] = "pooled mode with the hibernate option only"

    if parking and (cfg.get("reschedules") > 0 or cfg.get("transport_changes") > 0):

        @spec.eventually_always(
            "L9",
            "no stale-wake spin: wakes for a stale transport or timeout generation happen only finitely often",
            "§5 L9, §3.3, B17",
            base,
            each="session",
            never="session {i} keeps being woken for the same stale generation",
        )
        def l9(s: Any, b: int) -> object:
            w = s.session[b].wake
            return (w != "stale_transport") & (w != "stale_timeout")
    else:
        skipped["L9"] = "needs a parking mode and reschedules or transport_changes > 0"

    if pooled:

        @spec.leads_to(
            "L10",
            "a new connection waiting in the pooled queue is eventually started on a carrier",
            "§5 L10, §2.5 step 2, B20, B21",
            base,
            each="session",
            never="the connection of session {i} waits and is never started",
        )
        def l10(s: Any, b: int) -> tuple[object, object]:
            return s.session[b].pc == "new", (s.session[b].pc != "new") | _discharged(s)
    else:
        skipped["L10"] = "pooled mode only (the other shapes start each session on its own carrier)"

    if cfg.mode == "thread-per-session" and talks:

        @spec.leads_to(
            "L11",
            "a woken staging park is leased back by its own thread (same-carrier resume never fails)",
            "§5 L11, T11, B9",
            base,
            each="session",
            never="session {i} was woken in staging and is never leased back",
        )
        def l11(s: Any, b: int) -> tuple[object, object]:
            ses = s.session[b]
            return (ses.ps == "committed") & (ses.wake != "none"), ses.ps != "committed"
    else:
        skipped["L11"] = "thread-per-session mode with a client that sends"

    if pooled and cfg.get("postmaster_death"):
        C = list(range(cfg.carriers))
        S = list(range(cfg.sessions))

        @spec.leads_to(
            "L12",
            "after the postmaster dies every carrier eventually ends (or no session is left to serve)",
            "§5 L12, §2.6 step 7",
            ("WF-carriers", "think_time", "clients_finish_messages"),
            never="the postmaster is dead and some carrier keeps serving",
        )
        def l12(s: Any) -> tuple[object, object]:
            ended = all_of(C, lambda c: (s.carrier[c].loc == "dead") | (s.carrier[c].loc == "off"))
            nobody = all_of(S, lambda b: s.session[b].pc == "gone")
            return ~s.env.pm_alive, ~s.env.pm_alive & (ended | nobody)
    else:
        skipped["L12"] = "pooled mode with the postmaster_death option only"

    for pid, why in NOT_APPLICABLE.items():
        skipped[pid] = why

    if pooled and cfg.get("affinity_enforced"):

        @spec.leads_to(
            "L14",
            "with affinity enforced, a runnable session is still eventually leased (by its home carrier)",
            "§5 L14, §2.11, S30",
            base,
            each="session",
            never="session {i} stays runnable and its home carrier never leases it",
        )
        def l14(s: Any, b: int) -> tuple[object, object]:
            ses = s.session[b]
            return ses.q == "runnable", (ses.q == "leased") | _discharged(s)
    else:
        skipped["L14"] = "pooled mode with affinity_enforced only"
