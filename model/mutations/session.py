"""Seeded bugs of the session step, park and resume (§2.7, T1-T4, T12, T14)."""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.model.config import ModelConfig
from pgcheck.model.mutations.base import Mutation, config, patch, replace
from pgcheck.model.session_step import running
from pgcheck.model.state import MAILBOX, output


def prepare_park(ses: Any) -> None:
    """T1's effects, as PreparePark writes them, for mutations that change only its guard."""
    ses.ps = "prepared"
    ses.wake = "none"
    ses.tstale = False
    ses.tmstale = False
    ses.pc = "prepared"


def park_mid_message(spec: Spec, cfg: ModelConfig) -> None:
    def PreparePark(s: Any, c: int, b: int) -> None:
        ses = s.session[b]
        # BUG (S9 rule): PgConnectionCanParkBeforeMessage is not checked: a park is prepared
        # after the type byte was consumed, while the body is still to come.
        require(running(s, c, b) & ((ses.pc == "probe") | (ses.pc == "body")))
        require((ses.inbuf == "empty") & (ses.cl != "closed"))
        prepare_park(ses)

    replace(spec, "PreparePark", PreparePark)


def commit_before_unwind(spec: Spec, cfg: ModelConfig) -> None:
    def CommitPark(s: Any, c: int, b: int) -> None:
        ses = s.session[b]
        # BUG (S11 rule): T3 is allowed before T2, while the step frame is still live.
        require(running(s, c, b) & ((ses.pc == "unwound") | (ses.pc == "prepared")) & (ses.ps == "prepared"))
        ses.ps = "committed"
        ses.pcar = c
        ses.pc = "committed"

    replace(spec, "CommitPark", CommitPark)


def stale_readiness_consumes_bytes(spec: Spec, cfg: ModelConfig) -> None:
    def Resume(s: Any, original: Any, c: int, b: int) -> None:
        ses = s.session[b]
        wake, inbuf = ses.wake, ses.inbuf
        original(s, c=c, b=b)
        # BUG (S23 rule): a transport wake, stale or not, is taken as permission to read: the type
        # byte is consumed at once, without the fresh probe.
        fast = ((wake == "transport") | (wake == "stale_transport")) & ((inbuf == "byte") | (inbuf == "whole"))
        ses.inbuf = X.when(fast, X.when(inbuf == "whole", "body", "empty"), ses.inbuf)
        ses.byte_car = X.when(fast, c, ses.byte_car)
        ses.holdoff = X.when(fast, 1, ses.holdoff)
        ses.dcr = ~fast
        ses.pc = X.when(fast, "body", ses.pc)

    patch(spec, "Resume", Resume)


def notify_inside_transaction(spec: Spec, cfg: ModelConfig) -> None:
    def ServiceWakes(s: Any, original: Any, c: int, b: int) -> None:
        ses = s.session[b]
        fatal = X.set_has(ses.mbox, "die") | (ses.tmo_armed & ses.tmo_due)
        pending = ses.notify_pending | (X.set_has(ses.mbox, "notify") & ses.listening)
        in_xact = ses.in_xact
        original(s, c=c, b=b)
        # BUG (S24 rule): T14 missing: the notification is delivered inside the transaction block.
        early = ~fatal & pending & in_xact
        output(s, b, "notification", early, cfg=cfg)
        ses.notify_pending = X.when(early, False, ses.notify_pending)
        ses.deferred = X.when(early, False, ses.deferred)

    patch(spec, "ServiceWakes", ServiceWakes)


def stale_wake_reparks(spec: Spec, cfg: ModelConfig) -> None:
    def Resume(s: Any, original: Any, c: int, b: int) -> None:
        ses = s.session[b]
        stale = (ses.wake == "stale_transport") | (ses.wake == "stale_timeout")
        tstale, tmstale = ses.tstale, ses.tmstale
        original(s, c=c, b=b)
        # BUG B17: a stale-classified wake re-parks at once, without the re-probe and the prepare
        # that would refresh the spec's generations: the same stale condition wakes it again.
        ses.tstale = X.when(stale, tstale, ses.tstale)
        ses.tmstale = X.when(stale, tmstale, ses.tmstale)
        ses.ps = X.when(stale, "committed", ses.ps)
        ses.pcar = X.when(stale, c, ses.pcar)
        ses.frame = X.when(stale, False, ses.frame)
        ses.pc = X.when(stale, "committed", ses.pc)

    patch(spec, "Resume", Resume)


def sticky_idle_no_cutoff(spec: Spec, cfg: ModelConfig) -> None:
    def StickyWaitEnd(s: Any, original: Any, c: int, b: int) -> None:
        original(s, c=c, b=b)
        # BUG H6: no scheduler-pressure cut-off: the sticky wait is re-armed after every wake, so the
        # idle session keeps its carrier however many sessions wait for one.
        s.session[b].sticky_done = False

    patch(spec, "StickyWaitEnd", StickyWaitEnd)


def deferred_notify_keeps_bit(spec: Spec, cfg: ModelConfig) -> None:
    def ServiceWakes(s: Any, original: Any, c: int, b: int) -> None:
        ses = s.session[b]
        keep = X.set_has(ses.mbox, "notify") & ses.in_xact & ses.listening
        original(s, c=c, b=b)
        # BUG (§3.4 deferred notify): on deferral the NOTIFY bit is left in the mailbox, so the
        # re-committed park is woken again by the same notification.
        ses.mbox = X.when(keep & (ses.pc == "probe"), X.set_add(X.empty_set(MAILBOX), "notify"), ses.mbox)

    patch(spec, "ServiceWakes", ServiceWakes)


def hibernated_never_set(spec: Spec, cfg: ModelConfig) -> None:
    def CommitPark(s: Any, original: Any, c: int, b: int) -> None:
        hibernated = s.session[b].hibernated
        original(s, c=c, b=b)
        s.session[b].hibernated = hibernated  # BUG (§2.7 hibernate): the compaction does not set `hibernated`

    patch(spec, "CommitPark", CommitPark)


def busy_clients(spec: Spec, cfg: ModelConfig) -> None:
    def ClientSendByte(s: Any, original: Any, b: int, cmd: str) -> None:
        budget = s.session[b].cl_budget
        original(s, b=b, cmd=cmd)
        # BUG B8a: no think time and no message budget: the client always has its next query
        # ready, and nothing makes its session give the carrier up.
        s.session[b].cl_budget = budget

    patch(spec, "ClientSendByte", ClientSendByte)


def yield_re_leased_first(spec: Spec, cfg: ModelConfig) -> None:
    busy_clients(spec, cfg)

    def PreparePark(s: Any, c: int, b: int) -> None:
        ses = s.session[b]
        # The budget yield (PG_STEP_YIELD_BUDGET) at the protocol boundary: park even with the next
        # message pending while other sessions wait for a carrier.
        require(running(s, c, b) & (ses.pc == "probe") & ses.dcr & (ses.cl != "closed"))
        require((ses.inbuf == "empty") | ~X.is_empty(s.sched.runnable))
        prepare_park(ses)

    def EnqueuePark(s: Any, original: Any, c: int, b: int) -> None:
        ses = s.session[b]
        yielded = ses.inbuf != "empty"
        runnable, parked, p_count = s.sched.runnable, s.sched.parked, s.sched.parked_count
        original(s, c=c, b=b)
        # BUG B8b: the yielded session goes to the head of the runnable queue, so the carrier that
        # yielded it leases it again first.
        s.sched.runnable = X.when(yielded, X.fifo_concat(X.lift((b,), runnable.ty), runnable), runnable)
        s.sched.runnable_count = X.fifo_len(s.sched.runnable)
        s.sched.parked = X.when(yielded, parked, s.sched.parked)
        s.sched.parked_count = X.when(yielded, p_count, s.sched.parked_count)
        ses.q = X.when(yielded, "runnable", ses.q)

    replace(spec, "PreparePark", PreparePark)
    patch(spec, "EnqueuePark", EnqueuePark)


MUTATIONS = [
    Mutation(
        "park-mid-message", "S9 rule", "S9", config("pooled", 1, 1, messages=1),
        "The client sends only the type byte of a message. The session consumes it and, finding no "
        "body yet, prepares a protocol park although a message read is in progress: the park can be "
        "committed and the message finished on another carrier (a carrier swap mid-message).",
        ("PreparePark",), park_mid_message, also_in=("thread-per-session",),
        kind="safety",
    ),
    Mutation(
        "commit-before-unwind", "S11 rule", "S11", config("pooled", 1, 1),
        "The session prepares a park (T1) and commits it (T3) before the step returned "
        "PG_STEP_PARK_PROTOCOL_READ (T2): the backend is committed, about to detach, while C frames "
        "below the step are still live on the carrier's stack.",
        ("CommitPark",), commit_before_unwind, also_in=("thread-per-session",),
        kind="safety",
    ),
    Mutation(
        "stale-readiness-consumes-bytes", "S23 rule", "S23",
        config("pooled", 1, 1, messages=1, transport_changes=1),
        "The transport generation changes under a committed park while the client's type byte arrives. "
        "The poller marks STALE_TRANSPORT; the resume treats any transport wake as permission to read "
        "and consumes the byte without the fresh probe that would have seen the new generation.",
        ("Resume",), stale_readiness_consumes_bytes, also_in=("thread-per-session",),
        kind="safety",
    ),
    Mutation(
        "notify-inside-transaction", "S24 rule", "S24",
        config("process", None, 1, messages=1, commands=("begin",), listeners=True, notifies=1),
        "A listening session runs BEGIN; a NOTIFY arrives while it waits for the next command. The wake "
        "service delivers the NotificationResponse at once instead of deferring it (T14) until the "
        "transaction block ends.",
        ("ServiceWakes",), notify_inside_transaction, also_in=("thread-per-session", "pooled"),
        kind="safety",
    ),
    Mutation(
        "stale-wake-reparks", "B17", "L9", config("pooled", 1, 1, transport_changes=1),
        "The transport generation changes under a parked session: the poller marks STALE_TRANSPORT. The "
        "resumed session classifies the wake as stale and re-parks at once, without the re-probe and "
        "prepare that would take a fresh spec. The stale spec wakes it again on the next pass: a "
        "park/wake spin with no new external event.",
        ("Resume",), stale_wake_reparks,
        kind="liveness",
    ),
    Mutation(
        "sticky-idle-no-cutoff", "H6", "L10", config("pooled", 1, 2, sticky_idle=True),
        "The only carrier starts session 0, which finds no byte and enters the sticky idle wait. The "
        "wait has no scheduler-pressure cut-off and is re-armed after every wake, so the idle session "
        "never parks and keeps its carrier; session 1's logical start waits in the queue for ever (with "
        "busy sessions, B8, the same wait lengthens every starvation window).",
        ("StickyWaitEnd",), sticky_idle_no_cutoff,
        kind="liveness",
    ),
    Mutation(
        "deferred-notify-keeps-mailbox-bit", "§3.4 rule", "L7",
        config("pooled", 1, 1, messages=1, commands=("begin",), listeners=True, notifies=1),
        "A listening session is idle in a transaction block when a NOTIFY arrives. The wake service "
        "defers the notification (T14) but leaves the NOTIFY bit in the mailbox; the session re-parks, "
        "the poller sees the bit and wakes it again, for ever, with no new notify, input or timeout.",
        ("ServiceWakes",), deferred_notify_keeps_bit, also_in=("thread-per-session",),
        kind="liveness",
    ),
    Mutation(
        "hibernated-never-set", "§2.7 rule", "L8", config("pooled", 1, 1, hibernate=True),
        "A session stays parked past hibernate_after_ms: the poller's HIBERNATE wake resumes it, it finds "
        "no byte and re-parks with compaction, but the commit does not set `hibernated`. The next long "
        "idle produces another HIBERNATE wake, and so on: many hibernate wakes per idle period.",
        ("CommitPark",), hibernated_never_set,
        kind="liveness",
    ),
    Mutation(
        "busy-clients-no-budget", "B8a", "L3", config("pooled", 1, 2, messages=1, active_clients=2),
        "Clients always have their next query ready (pgbench) and the runtime has no message budget: a "
        "session answers, finds the next byte at the probe, and never parks. With more clients than "
        "carriers the other session, runnable, waits for a carrier that is never released.",
        ("ClientSendByte",), busy_clients,
        kind="liveness",
    ),
    Mutation(
        "yield-re-leased-first", "B8b", "ORD1", config("pooled", 1, 2, messages=1, active_clients=2),
        "Clients are always busy; a budget yield parks a session at the protocol boundary with its next "
        "message pending whenever another session is runnable, but the yielded session is pushed to the "
        "head of the runnable queue, so the carrier that yielded it leases it again first and the "
        "waiting session never progresses (L3). The root is an overtaking in the runnable queue (T8 pushes "
        "at the tail), which ORD1 reports at the enqueue itself.",
        ("ClientSendByte", "PreparePark", "EnqueuePark"), yield_re_leased_first,
        kind="safety",
    ),
]
