"""Deliberately broken model variants, one per liveness property (test-only).

Like tests/variants.py for the invariants: each variant builds the real model and swaps
the body of exactly ONE action for a copy with one realistic mistake (marked
`# BROKEN:`, tied to the digest's seeded bugs where one applies). The unmutated model
satisfies the property in the same configuration; the variant must make the liveness
checker report a lasso for exactly that property.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.model.carrier_loop import leasable
from pgcheck.model.config import ModelConfig
from pgcheck.model.runtime import build
from pgcheck.model.session_step import running
from pgcheck.model.state import MAILBOX, output, wake_reasons
from variants import config


@dataclass(frozen=True)
class LivenessVariant:
    id: str  # the liveness property the variant must violate
    action: str  # the one action whose body is replaced
    cite: str
    make: Callable[[ModelConfig], Spec]
    cfg: ModelConfig
    check_deadlock: bool = True  # False where the stuck state is also a deadlock (reported first otherwise)

    def build(self) -> Spec:
        return self.make(self.cfg)


def _poll_variant(cfg: ModelConfig, ignored: tuple[str, ...] = (), ignore_pm: bool = False) -> Spec:
    """PollPass whose checks miss the wake reasons in `ignored` (or the postmaster's death)."""
    spec = build(cfg)

    def ready_of(s: Any, x: Any) -> tuple[X.Expr, X.Expr]:
        ready, reason = wake_reasons(s, x, cfg, latch_wakes=False)
        for r in ignored:
            ready = ready & (reason != r)  # BROKEN: this reason is not among the checks of §2.6 steps 3/8
        return ready, reason

    def PollPass(s: Any, c: int) -> None:
        require(s.carrier[c].loc == "poll")
        batch = s.carrier[c].batch
        # BROKEN (ignore_pm): the postmaster-alive fd is not in the poll set (§2.6 step 2).
        alive = X.lift_bool(True) if ignore_pm else s.env.pm_alive
        ready_items = X.fifo_filter(batch, lambda x: alive & ready_of(s, x)[0])
        idle_items = X.fifo_filter(batch, lambda x: ~alive | ~ready_of(s, x)[0])
        s.sched.runnable = X.fifo_concat(s.sched.runnable, ready_items)
        s.sched.runnable_count = s.sched.runnable_count + X.fifo_len(ready_items)
        s.sched.parked = X.fifo_concat(s.sched.parked, idle_items)
        s.sched.parked_count = s.sched.parked_count + X.fifo_len(idle_items)
        for i in s.session.ids():
            mine = X.fifo_has(batch, i)
            ready, reasons = ready_of(s, i)
            woken = mine & alive & ready
            s.session[i].wake = X.when(woken, reasons, s.session[i].wake)
            s.session[i].q = X.when(mine, X.when(woken, "runnable", "parked"), s.session[i].q)
            s.session[i].poll_owner = X.when(mine, None, s.session[i].poll_owner)
        s.carrier[c].batch = ()
        s.carrier[c].loc = X.when(alive, "loop", "dead")
        s.sched.registered = X.when(alive, s.sched.registered, s.sched.registered - 1)
        s.sched.idle_count = X.when(alive, s.sched.idle_count, s.sched.idle_count - 1)
        s.carrier[c].reg = X.when(alive, s.carrier[c].reg, False)
        s.carrier[c].idle = X.when(alive, s.carrier[c].idle, False)

    spec.replace_action("PollPass", PollPass)
    return spec


def l1_poll_misses_socket(cfg: ModelConfig) -> Spec:
    """§2.6 step 8: readable sockets are not mapped to a TRANSPORT wake (lost frontend wake, B17)."""
    return _poll_variant(cfg, ("transport",))


def l2_poll_misses_mailbox(cfg: ModelConfig) -> Spec:
    """§2.6 note: interrupts are not in the poll set and the mailbox check is forgotten."""
    return _poll_variant(cfg, ("logical", "notify"))


def l4_poll_misses_timeout(cfg: ModelConfig) -> Spec:
    """§2.6 step 3e: the due-timeout check is missing (B16 shape)."""
    return _poll_variant(cfg, ("timeout",))


def l6_poll_misses_hangup(cfg: ModelConfig) -> Spec:
    """§2.6 step 8: POLLHUP is not mapped to CLOSED (B11 consequence: disconnect never noticed)."""
    return _poll_variant(cfg, ("closed",))


def l12_poll_ignores_postmaster(cfg: ModelConfig) -> Spec:
    return _poll_variant(cfg, ignore_pm=True)


def _polltake_variant(cfg: ModelConfig, mistake: str) -> Spec:
    spec = build(cfg)

    def PollTake(s: Any, c: int) -> None:
        require(s.carrier[c].loc == "loop")
        if mistake != "poll_before_runnable":
            require(~leasable(s, c, cfg))
        if mistake != "poll_before_newconn":
            require(X.is_empty(s.sched.newconn))
        # BROKEN: §2.5 priority order runnable > new connection > poll is not kept; the
        # skipped guard lets an idle carrier poll instead (B8 "dispatch ordering", B21).
        require(~X.is_empty(s.sched.parked))
        taken = s.sched.parked
        for i in s.session.ids():
            mine = X.fifo_has(taken, i)
            s.session[i].q = X.when(mine, "polling", s.session[i].q)
            s.session[i].poll_owner = X.when(mine, c, s.session[i].poll_owner)
        s.carrier[c].batch = taken
        s.sched.parked = ()
        s.sched.parked_count = 0
        s.carrier[c].loc = "poll"

    spec.replace_action("PollTake", PollTake)
    return spec


def l3_poll_before_runnable(cfg: ModelConfig) -> Spec:
    return _polltake_variant(cfg, "poll_before_runnable")


def l10_poll_before_new_connection(cfg: ModelConfig) -> Spec:
    return _polltake_variant(cfg, "poll_before_newconn")


def _service_variant(cfg: ModelConfig, mistake: str) -> Spec:
    spec = build(cfg)

    def ServiceWakes(s: Any, c: int, b: int) -> None:
        require(running(s, c, b) & (s.session[b].pc == "service"))
        ses = s.session[b]
        mb = ses.mbox
        fatal = X.set_has(mb, "die") | (ses.tmo_armed & ses.tmo_due)
        if mistake == "drop_die":
            # BROKEN: the mailbox is consumed but PROC_DIE is not applied (ProcessInterrupts skipped).
            fatal = ses.tmo_armed & ses.tmo_due
        pending = ses.notify_pending | (X.set_has(mb, "notify") & ses.listening)
        deliver = ~fatal & pending & ~ses.in_xact
        if mistake == "keep_notify_bit":
            # BROKEN: §10 "notify bit not consumed on deferral": a deferred notify keeps its
            # mailbox bit, so the next poll pass wakes the session again (L7 busy loop).
            ses.mbox = X.when(pending & ses.in_xact, X.set_add(X.empty_set(MAILBOX), "notify"), X.empty_set(MAILBOX))
        else:
            ses.mbox = X.empty_set(MAILBOX)
        output(s, b, "notification", deliver)
        output(s, b, "fatal", fatal)
        ses.notify_pending = pending & ~deliver
        ses.deferred = X.when(fatal, ses.deferred, pending & ses.in_xact)
        ses.tmo_armed = X.when(fatal, False, ses.tmo_armed)
        ses.tmo_due = X.when(fatal, False, ses.tmo_due)
        ses.pc = X.when(fatal, "exit", "probe")

    spec.replace_action("ServiceWakes", ServiceWakes)
    return spec


def l5_service_drops_terminate(cfg: ModelConfig) -> Spec:
    return _service_variant(cfg, "drop_die")


def l7_notify_bit_kept(cfg: ModelConfig) -> Spec:
    return _service_variant(cfg, "keep_notify_bit")


def l8_hibernated_not_set(cfg: ModelConfig) -> Spec:
    """§10 "hibernated not set": the commit compacts but forgets `hibernated := true`."""
    spec = build(cfg)

    def CommitPark(s: Any, c: int, b: int) -> None:
        require(running(s, c, b) & (s.session[b].pc == "unwound") & (s.session[b].ps == "prepared"))
        ses = s.session[b]
        # BROKEN: no `hibernated := hibernated | (last_long & ~in_xact)`.
        ses.ps = "committed"
        ses.pcar = c
        ses.pc = "committed"

    spec.replace_action("CommitPark", CommitPark)
    return spec


def l9_stale_wake_reparks_unrefreshed(cfg: ModelConfig) -> Spec:
    """B17 seed: on a stale classification, re-park without re-probing or refreshing the spec."""
    spec = build(cfg)

    def Resume(s: Any, c: int, b: int) -> None:
        require(running(s, c, b) & (s.session[b].pc == "resume"))
        ses = s.session[b]
        stale = (ses.wake == "stale_transport") | (ses.wake == "stale_timeout")
        latch_wake = (ses.wake == "logical") | (ses.wake == "notify")
        ses.latch_set = X.when(latch_wake, False, ses.latch_set)
        ses.wake = "none"
        # BROKEN: a stale wake goes straight back to commit (pc := committed) with the old
        # spec: ps stays COMMITTED and the stale generations are kept.
        ses.ps = X.when(stale, "committed", "none")
        ses.q = "none"
        ses.last_long = ses.long_idle
        ses.long_idle = False
        ses.hibernated = False
        ses.pcar = X.when(stale, c, None)
        ses.lease_owner = None
        ses.tstale = X.when(stale, ses.tstale, False)
        ses.tmstale = X.when(stale, ses.tmstale, False)
        ses.frame = X.when(stale, False, True)
        ses.dcr = True
        ses.pc = X.when(stale, "committed", "service")

    spec.replace_action("Resume", Resume)
    return spec


def l11_staging_wait_never_leases(cfg: ModelConfig) -> Spec:
    """§2.8: the staging wait marks the wake (T7) but stays in its wait loop instead of
    going on to the same-carrier lease (T11), so its own backend is never leased back."""
    spec = build(cfg)

    def StagingWake(s: Any, c: int, b: int) -> None:
        require((s.carrier[c].loc == "stage") & (s.session[b].pcar == c))
        ses = s.session[b]
        require(ses.ps == "committed")
        ready, reasons = wake_reasons(s, b, cfg, latch_wakes=True)
        require(ready)
        ses.wake = reasons
        s.carrier[c].loc = "stage"  # BROKEN: should be "stage_woken" (then T11)

    spec.replace_action("StagingWake", StagingWake)
    return spec


def l14_affine_lease_wrong_field(cfg: ModelConfig) -> Spec:
    """§2.11: the affinity test of the lease reads the stale lease owner instead of
    parked_carrier, so an affine session is never leased by its home carrier."""
    spec = build(cfg)

    def LeaseRunnable(s: Any, c: int, b: int) -> None:
        require(s.carrier[c].loc == "loop")
        mine = X.fifo_filter(s.sched.runnable, lambda x: s.session[x].lease_owner == c)  # BROKEN: not pcar
        require(~X.is_empty(mine) & (X.fifo_head(mine) == b))
        s.sched.runnable = X.fifo_remove(s.sched.runnable, b)
        s.sched.runnable_count = s.sched.runnable_count - 1
        s.session[b].q = "leased"
        s.session[b].lease_owner = c
        s.carrier[c].loc = "leasing"

    spec.replace_action("LeaseRunnable", LeaseRunnable)
    return spec



LIVENESS_VARIANTS: list[LivenessVariant] = [
    LivenessVariant("L1", "PollPass", "§2.6 step 8, B17", l1_poll_misses_socket, config("pooled", 1, 2, messages=1)),
    LivenessVariant("L2", "PollPass", "§2.6 note, §2.9", l2_poll_misses_mailbox, config("pooled", 1, 1, cancels=1)),
    LivenessVariant("L3", "PollTake", "§2.5 priority, B8", l3_poll_before_runnable, config("pooled", 1, 2, messages=1)),
    LivenessVariant("L4", "PollPass", "§2.6 step 3e, B16", l4_poll_misses_timeout,
                    config("pooled", 1, 1, idle_session_timeout=True)),
    LivenessVariant("L5", "ServiceWakes", "§2.9 PROC_DIE", l5_service_drops_terminate,
                    config("pooled", 1, 1, terminates=1)),
    LivenessVariant("L6", "PollPass", "§2.6 step 8 CLOSED", l6_poll_misses_hangup, config("pooled", 1, 1, client_close=True)),
    LivenessVariant("L7", "ServiceWakes", "§10 notify bit not consumed", l7_notify_bit_kept,
                    config("pooled", 1, 1, messages=1, commands=("begin",), listeners=True, notifies=1)),
    LivenessVariant("L8", "CommitPark", "§10 hibernated not set", l8_hibernated_not_set, config("pooled", 1, 1, hibernate=True)),
    LivenessVariant("L9", "Resume", "B17", l9_stale_wake_reparks_unrefreshed, config("pooled", 1, 1, transport_changes=1)),
    LivenessVariant("L10", "PollTake", "§2.5 priority, B21", l10_poll_before_new_connection, config("pooled", 1, 2)),
    LivenessVariant("L11", "StagingWake", "§2.8, B9 (ii)", l11_staging_wait_never_leases,
                    config("thread-per-session", None, 1, messages=1), check_deadlock=False),
    LivenessVariant("L12", "PollPass", "§2.6 step 7", l12_poll_ignores_postmaster, config("pooled", 1, 1, postmaster_death=True)),
    LivenessVariant("L14", "LeaseRunnable", "§2.11", l14_affine_lease_wrong_field,
                    config("pooled", 2, 2, messages=1, affinity_enforced=True), check_deadlock=False),
]
