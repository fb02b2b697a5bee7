"""End-to-end guarantees as a client sees them (CL1-CL5), in every runtime shape.

The properties of specs/safety.py and specs/liveness.py speak of the server's
internals (a flag pending, input on the socket); a bug that erases the very flag such a
property reads makes it blind. These speak of what a client sent and received, through
history ghosts that only the environment's and the socket's steps write:

- `notify_owed` (session): set when a NOTIFY is sent to a listening session (§2.9
  SendInterrupt), cleared only when a NotificationResponse reaches its client;
- `idle_wake` (session, a history the language writes on every step): set by a resume
  (T12), cleared when the attached session then services something: consumes mailbox
  bits or a byte, delivers a notification, answers its client, fires a timeout, or
  compacts for hibernate.

Liveness forms rely on the fairness assumptions of specs/liveness.py (RELIES).
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec
from pgcheck.checker.lang.types import Bool
from pgcheck.model.config import ModelConfig
from pgcheck.specs.steps import actor, consumed_byte

BASE = ("WF-carriers", "think_time", "clients_finish_messages")


def _discharged(s: Any) -> X.Expr:
    return ~s.env.pm_alive  # §2.6 step 7: the postmaster's death ends all service (L12)


def declare_client_ghosts(spec: Spec, cfg: ModelConfig) -> None:
    """The history ghosts of the client properties that apply at this configuration."""
    if cfg.mode != "process":
        spec.history("session", "idle_wake", Bool(), "resumed and has serviced nothing since (CL4)", _idle_wake)


def _idle_wake(pre: Any, step: Any, post: Any, i: int | None) -> object:
    assert i is not None
    c = actor(step)
    if c is None:
        return None  # only a carrier resumes or services a backend
    writes = {f for f in ("ps", "mbox", "inbuf", "cl", "notify_owed", "tmo_due", "hibernated") if i in step.writes("session", f)}
    if not writes:
        return None  # statically: this step cannot resume or service session i
    before, after = pre.session[i], post.session[i]
    serviced_by = {
        "mbox": lambda: ~X.is_empty(X.set_minus(before.mbox, after.mbox)),
        "inbuf": lambda: consumed_byte(pre, post, i),
        "cl": lambda: after.cl != before.cl,
        "notify_owed": lambda: before.notify_owed & ~after.notify_owed,
        "tmo_due": lambda: before.tmo_due & ~after.tmo_due,
        "hibernated": lambda: ~before.hibernated & after.hibernated,
    }
    terms = [serviced_by[f]() for f in sorted(writes) if f in serviced_by]
    value: object = before.idle_wake
    if terms:
        value = X.when((before.car == c) & X.or_(*terms), False, value)
    if "ps" in writes:
        resumed = (before.ps == "committed") & (after.ps == "none") & X.not_null(after.car)  # T12
        value = X.when(resumed, True, value)
    return value


def add_client_properties(spec: Spec, cfg: ModelConfig) -> None:
    skipped: dict[str, str] = spec.meta.setdefault("liveness_skipped", {})
    talks = cfg.get("messages") > 0 and cfg.get("active_clients") > 0

    if talks:

        @spec.leads_to(
            "CL1",
            "every request is answered: a client that sent a message eventually gets its result (or error), or "
            "the connection ends",
            "§2.7 steps 4-5, ARCHITECTURE Decision 5",
            BASE,
            each="session",
            never="session {i}'s client sent a request and never gets an answer",
        )
        def cl1(s: Any, b: int) -> tuple[object, object]:
            cl = s.session[b].cl
            return (cl == "byte") | (cl == "sent"), (cl == "result") | (cl == "closed") | _discharged(s)
    else:
        skipped["CL1"] = "needs a client that sends (messages > 0, active_clients > 0)"

    if cfg.get("notifies") > 0 and cfg.get("listeners"):

        @spec.leads_to(
            "CL2",
            "every notification owed to a listener outside a transaction block is eventually delivered (or the "
            "session begins a transaction, or the connection ends)",
            "§2.7 step 2 ProcessNotifyInterrupt, §3.4 deferred notify, T14/T15, §4 S24",
            (*BASE, "level-triggered-mailbox"),
            each="session",
            never="session {i} owes its client a notification and never delivers it",
        )
        def cl2(s: Any, b: int) -> tuple[object, object]:
            ses = s.session[b]
            ends = (ses.cl == "closed") | (ses.pc == "gone") | _discharged(s)
            return ses.notify_owed & ~ses.in_xact, ~ses.notify_owed | ses.in_xact | ends
    else:
        skipped["CL2"] = "needs notifies > 0 and listeners"

    @spec.action_property(
        "CL3",
        "an interrupt acts on the session it was sent to and no other: a mailbox gains a bit only by a "
        "SendInterrupt addressed to that session",
        "§2.9 SendInterrupt, PgBackendSendInterruptById",
        "session",
    )
    def cl3(pre: Any, step: Any, post: Any) -> object:
        rules = []
        for i in step.writes("session", "mbox"):
            gains = ~X.is_empty(X.set_minus(post.session[i].mbox, pre.session[i].mbox))
            addressed = step.name == "SendInterrupt" and step.get("b") == i
            if not addressed:
                rules.append(~gains)
        return X.and_(*rules)

    if cfg.mode != "process":

        @spec.eventually_always(
            "CL4",
            "no busy loop: a woken session services what woke it; a park after a resume that serviced nothing "
            "happens only finitely often (every cause: interrupts, notify, timeouts, stale generations, hibernate)",
            "§3.4 Parked Wake Service Contract, §5 L7 L8 (generalized)",
            (*BASE, "time_passes"),
            each="session",
            never="session {i} is woken and parks again without servicing anything, for ever",
        )
        def cl4(s: Any, b: int) -> object:
            ses = s.session[b]
            return ~(ses.idle_wake & (ses.ps == "prepared"))
    else:
        skipped["CL4"] = "process mode never parks"

    if cfg.get("idle_session_timeout") or cfg.get("idle_in_xact_timeout"):

        @spec.leads_to(
            "CL5",
            "a due idle timeout ends the idle session in every runtime shape (parked, blocked in a read, or in "
            "staging): its client is told FATAL and disconnected, unless it sends first",
            "§2.10, §5 L4 (every mode)",
            (*BASE, "time_passes"),
            each="session",
            never="session {i}'s idle timeout is due and its client is never disconnected",
        )
        def cl5(s: Any, b: int) -> tuple[object, object]:
            ses = s.session[b]
            idle = (ses.cl == "idle") & (ses.inbuf == "empty")
            return ses.tmo_armed & ses.tmo_due & idle, (ses.cl != "idle") | (ses.pc == "gone") | _discharged(s)
    else:
        skipped["CL5"] = "needs idle_session_timeout or idle_in_xact_timeout"
