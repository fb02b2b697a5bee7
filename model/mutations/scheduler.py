"""Seeded bugs of the scheduler queues and the parked-read poller (§2.3 T5-T8, §2.6)."""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.model.carrier_loop import leasable
from pgcheck.model.config import ModelConfig
from pgcheck.model.mutations.base import Mutation, config, patch
from pgcheck.model.poller_steps import recheck
from pgcheck.model.state import MAILBOX, output, wake_reasons


def _ready(s: Any, x: Any, cfg: ModelConfig) -> X.Expr:
    return wake_reasons(s, x, cfg, latch_wakes=False)[0]


def wake_before_claim(spec: Spec, cfg: ModelConfig) -> None:
    def PollTake(s: Any, original: Any, c: int) -> None:
        parked = s.sched.parked
        woken = X.fifo_filter(parked, lambda x: _ready(s, x, cfg))
        rest = X.fifo_filter(parked, lambda x: ~_ready(s, x, cfg))
        original(s, c=c)
        # BUG B1: a backend whose wake already holds is made runnable straight away, before its
        # entry is claimed (unlinked from the parked queue) under the lock.
        s.carrier[c].batch = rest
        for i in s.session.ids():
            w = X.fifo_has(woken, i)
            s.session[i].q = X.when(w, "runnable", s.session[i].q)
            s.session[i].poll_owner = X.when(w, None, s.session[i].poll_owner)
        s.sched.runnable = X.fifo_concat(s.sched.runnable, woken)
        s.sched.runnable_count = s.sched.runnable_count + X.fifo_len(woken)
        s.sched.parked = woken
        s.sched.parked_count = X.fifo_len(woken)

    patch(spec, "PollTake", PollTake)


def nonatomic_make_runnable(spec: Spec, cfg: ModelConfig) -> None:
    def PollPass(s: Any, original: Any, c: int) -> None:
        batch = s.carrier[c].batch
        ready = X.fifo_filter(batch, lambda x: s.env.pm_alive & _ready(s, x, cfg))
        original(s, c=c)
        # BUG B14: the re-check after poll (§2.6 step 9) acts on the queue state it read before the
        # first T8 ("not RUNNABLE") and enqueues the same backend a second time.
        s.sched.runnable = X.fifo_concat(s.sched.runnable, ready)
        s.sched.runnable_count = s.sched.runnable_count + X.fifo_len(ready)

    patch(spec, "PollPass", PollPass)


def unlink_before_check(spec: Spec, cfg: ModelConfig) -> None:
    @spec.action(c="carrier", b="session", fairness="weak", cite="H2, §2.6 single-backend poll path, T8")
    def PollParkedOne(s: Any, c: int, b: int) -> None:
        """The single-backend poll path: T8 from PARKED for one parked backend."""
        require(s.carrier[c].loc == "loop")
        require(~leasable(s, c, cfg) & X.is_empty(s.sched.newconn))
        require(X.fifo_has(s.sched.parked, b))
        ready, reason = wake_reasons(s, b, cfg, latch_wakes=False)
        # BUG H2: the node is unlinked before the check; a failed check returns false without
        # relinking it, leaving q = PARKED for a backend that is in no list.
        s.sched.parked = X.fifo_remove(s.sched.parked, b)
        s.sched.parked_count = s.sched.parked_count - 1
        s.sched.runnable = X.when(ready, X.fifo_push(s.sched.runnable, b), s.sched.runnable)
        s.sched.runnable_count = X.when(ready, s.sched.runnable_count + 1, s.sched.runnable_count)
        s.session[b].q = X.when(ready, "runnable", s.session[b].q)
        s.session[b].wake = X.when(ready, reason, s.session[b].wake)


def one_poll_slot(spec: Spec, cfg: ModelConfig) -> None:
    def PollPass(s: Any, original: Any, c: int) -> None:
        batch = s.carrier[c].batch
        runnable, parked = s.sched.runnable, s.sched.parked
        r_count, p_count = s.sched.runnable_count, s.sched.parked_count
        before = {i: (s.session[i].q, s.session[i].wake) for i in s.session.ids()}
        head = X.fifo_filter(batch, lambda x: x == X.fifo_head(batch))
        woken = X.fifo_filter(head, lambda x: s.env.pm_alive & _ready(s, x, cfg))
        others = X.fifo_filter(batch, lambda x: ~X.fifo_has(woken, x))
        reasons = {i: wake_reasons(s, i, cfg, latch_wakes=False)[1] for i in s.session.ids()}
        original(s, c=c)
        # BUG B19: one poll slot: only the head of the batch is polled, and the rest go back to the
        # head of the parked queue, so a ready backend behind an idle one is never seen.
        s.sched.runnable = X.fifo_concat(runnable, woken)
        s.sched.runnable_count = r_count + X.fifo_len(woken)
        s.sched.parked = X.fifo_concat(others, parked)
        s.sched.parked_count = p_count + X.fifo_len(others)
        for i in s.session.ids():
            mine, w = X.fifo_has(batch, i), X.fifo_has(woken, i)
            s.session[i].q = X.when(mine, X.when(w, "runnable", "parked"), before[i][0])
            s.session[i].wake = X.when(w, reasons[i], before[i][1])

    patch(spec, "PollPass", PollPass)


def poller_consumes_mailbox(spec: Spec, cfg: ModelConfig) -> None:
    def PollPass(s: Any, original: Any, c: int) -> None:
        batch = s.carrier[c].batch
        # BUG (§2.9 rule): the poller exchanges the mailbox to 0 while checking it, as only an
        # attached backend may; the logical wake it stood for is gone before the checks run.
        for i in s.session.ids():
            s.session[i].mbox = X.when(X.fifo_has(batch, i), X.empty_set(MAILBOX), s.session[i].mbox)
        original(s, c=c)

    patch(spec, "PollPass", PollPass)


def edge_triggered_wake(spec: Spec, cfg: ModelConfig) -> None:
    def SendInterrupt(s: Any, original: Any, b: int, kind: str) -> None:
        window = s.session[b].pc == "detached"
        latch = s.session[b].latch_set
        original(s, b=b, kind=kind)
        # BUG H5 (edge-triggered): in the commit window T8 finds no queue entry and the wake event
        # it carried is dropped; only the mailbox bit remains.
        s.session[b].latch_set = X.when(window, latch, True)

    def PollPass(s: Any, original: Any, c: int) -> None:
        batch = s.carrier[c].batch
        saved = {i: s.session[i].mbox for i in s.session.ids()}
        # BUG H5: the poller reacts to wake events (the latch), not to the level-triggered mailbox.
        for i in s.session.ids():
            hidden = X.fifo_has(batch, i) & ~s.session[i].latch_set
            s.session[i].mbox = X.when(hidden, X.empty_set(MAILBOX), saved[i])
        original(s, c=c)
        for i in s.session.ids():
            s.session[i].mbox = saved[i]
            s.session[i].latch_set = X.when(X.fifo_has(batch, i), False, s.session[i].latch_set)

    patch(spec, "SendInterrupt", SendInterrupt)
    patch(spec, "PollPass", PollPass)


def timeout_handler_in_poller(spec: Spec, cfg: ModelConfig) -> None:
    def PollPass(s: Any, original: Any, c: int) -> None:
        batch = s.carrier[c].batch
        fires = {
            i: X.fifo_has(batch, i) & s.env.pm_alive & (wake_reasons(s, i, cfg, latch_wakes=False)[1] == "timeout")
            for i in s.session.ids()
        }
        original(s, c=c)
        for i in s.session.ids():
            # BUG (§2.10 rule): the due timeout's handler runs in the poller, i.e. detached: it
            # consumes the timeout (the session then wakes for nothing it can see) and the
            # IDLE_SESSION_TIMEOUT FATAL goes to the client from a thread the backend is not on.
            ses = s.session[i]
            ses.tmo_armed = X.when(fires[i], False, ses.tmo_armed)
            ses.tmo_due = X.when(fires[i], False, ses.tmo_due)
            output(s, i, "fatal", fires[i])

    patch(spec, "PollPass", PollPass)


def skip_park_generation(spec: Spec, cfg: ModelConfig) -> None:
    def PollRecheck(s: Any, original: Any, c: int) -> None:
        # BUG: T7 without its generation guard (§3.4 stale park generation): the re-check of
        # §2.6 step 9 accepts a wake for a backend that has re-parked since this poller took it.
        recheck(s, c, cfg, generation_check=False)
        original(s, c=c)

    patch(spec, "PollRecheck", PollRecheck)


MUTATIONS = [
    Mutation(
        "wake-before-claim", "B1", "S6", config("pooled", 1, 1, messages=1),
        "The client's type byte arrives while its session is parked. The poller's take (T5) sees the "
        "wake and pushes the backend onto the runnable queue, marking it RUNNABLE, but the parked-queue "
        "entry is unlinked only later: in that window the backend is on both lists and the list it is on "
        "disagrees with its queue state. The fix claims (unlinks) the waiter under the lock first.",
        ("PollTake",), wake_before_claim,
        kind="safety",
    ),
    Mutation(
        "nonatomic-make-runnable", "B14", "S6", config("pooled", 1, 2, messages=1),
        "The read of the queue state and the enqueue of make-runnable (T8) are separate: the immediate "
        "check (§2.6 step 3) enqueues a ready backend, then the re-check after poll (step 9), acting on "
        "the state it read before the first enqueue, pushes it again. The runnable queue then holds the "
        "backend twice (S6's no-duplicate clause; S27 too). Two sessions are needed only so that the "
        "runnable queue has room for the duplicate.",
        ("PollPass",), nonatomic_make_runnable,
        kind="safety",
    ),
    Mutation(
        "skip-park-generation", "T7, §3.4", "S20",
        config("pooled", 2, 2, messages=1, cancels=1, poll_steps=True),
        "At the C grain (option poll_steps), the poller's wait makes a readable session runnable (§2.6 "
        "step 8) and another carrier leases, resumes and parks it again with a new generation while the "
        "poller is still in its call. A cancel then lands in the session's mailbox, and the poller's "
        "re-check (step 9), which covers every backend it took, marks a wake with the generation it read "
        "at T5. Without the generation check in T7 the stale wake is accepted on the new park.",
        ("PollRecheck",), skip_park_generation,
        kind="safety",
    ),
    Mutation(
        "unlink-before-check", "H2", "S6", config("pooled", 1, 1),
        "A single-backend poll path makes one PARKED backend runnable with T8, whose PARKED branch unlinks "
        "the node before its checks. With a check that fails (here: the backend is not ready) it returns "
        "false, leaving q = PARKED for a backend that is on no list: the session is lost to the poller.",
        ("PollParkedOne",), unlink_before_check,
        kind="safety",
    ),
    Mutation(
        "one-poll-slot", "B19", "L1", config("pooled", 1, 2, messages=1, active_clients=2),
        "One carrier polls two parked sessions, but its poll set has one slot: only the head of the batch "
        "is checked, and the others are put back at the head of the parked queue. Once the head's client "
        "is idle for good, the other session's readable socket is never seen and it is never resumed "
        "(exactly one resumed, the rest lost, as on the single-loop fork).",
        ("PollPass",), one_poll_slot,
        kind="liveness",
    ),
    Mutation(
        "poller-consumes-mailbox", "§2.9 rule", "L2", config("pooled", 1, 1, reloads=1),
        "A config-reload interrupt reaches a parked session. The poller checks the mailbox with an "
        "exchange to 0, as only the attached backend may: the bit is gone before the immediate checks "
        "see it, no LOGICAL wake is marked, the backend goes back to the parked queue, and nothing will "
        "ever wake it for that interrupt.",
        ("PollPass",), poller_consumes_mailbox,
        kind="liveness",
    ),
    Mutation(
        "edge-triggered-wake", "H5", "L2", config("pooled", 1, 1, reloads=1),
        "An interrupt is sent in the commit window, after the detach (T3) and before the enqueue (T4). "
        "T8 finds no queue entry and the wake event is dropped; the mailbox bit stays set, but the "
        "poller reacts only to wake events, so the parked session is never woken. The design is safe "
        "only because the poller reads the level-triggered mailbox.",
        ("SendInterrupt", "PollPass"), edge_triggered_wake,
        kind="liveness",
    ),
    Mutation(
        "timeout-handler-in-poller", "§2.10 rule", "S22", config("pooled", 1, 1, idle_session_timeout=True),
        "An idle session parks with idle_session_timeout armed; the timeout becomes due while it is "
        "parked. The poller, instead of only marking a TIMEOUT wake, runs the timeout's handler itself: "
        "user-visible timeout code runs for a backend that has no carrier.",
        ("PollPass",), timeout_handler_in_poller,
        kind="safety",
    ),
]
