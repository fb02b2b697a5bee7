"""Deliberately broken model variants, one per safety invariant (test-only).

The requirement: every invariant can fail. For each invariant id that specs/safety.py
declares there is a variant here that builds the real model with
`pgcheck.model.runtime.build(cfg)` and swaps the body of exactly ONE action for a
broken copy (`Spec.replace_action`). Each broken body is the original action's body
with one realistic mistake, marked `# BROKEN:` and tied to the digest's seeded-bug
list (scheduler-digest.md §6 B1-B24, latent hazards H1-H6, §10 "mutations to seed")
where one applies. Each variant carries the smallest configuration in which the
mistake shows (`VARIANTS`), and tests/test_invariants_can_fail.py checks that the
explorer reports exactly that id with a shortest trace that replays.

Two invariants can never be the first one reported, because an earlier-declared
invariant is logically implied to fail in every state where they fail; their
variants set `only=True` and are checked with `invariants=[id]`:

- S2 ("no two carriers attached to one backend") is implied by S1: if cur(c1) = b =
  cur(c2) then S1 requires car(b) = c1 and car(b) = c2.
- S27 ("never enqueued twice on the runnable queue") is implied by S6, whose third
  conjunct ("no b appears twice in P ++ R") is stronger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pgcheck.checker import expr as X
from pgcheck.checker.spec import Spec, require
from pgcheck.model.carrier_loop import leasable, next_runnable_is
from pgcheck.model.config import ModelConfig, make_config
from pgcheck.model.runtime import build
from pgcheck.model.session_step import running, service_wakes
from pgcheck.model.state import (
    MAILBOX,
    attach,
    became_active,
    detach,
    output,
    reset_session,
    start_session,
    wake_reasons,
)

# Every option spelled out, so a change of the defaults in model/config.py does not
# silently change what a variant explores. Variants add only what their mistake needs.
BASE_OPTIONS: dict[str, Any] = {
    "affinity_enforced": False,
    "sticky_idle": False,
    "hibernate": False,
    "listeners": False,
    "idle_session_timeout": False,
    "idle_in_xact_timeout": False,
    "client_close": False,
    "postmaster_death": False,
    "think_time": True,
    "commands": ("query",),
    "messages": 0,
    "active_clients": 1,
    "cancels": 0,
    "terminates": 0,
    "reloads": 0,
    "notifies": 0,
    "reschedules": 0,
    "transport_changes": 0,
}


def config(mode: str, carriers: int | None, sessions: int, **options: Any) -> ModelConfig:
    opts = dict(BASE_OPTIONS)
    opts.update(options)
    return make_config(mode, carriers, sessions, opts)


@dataclass(frozen=True)
class Variant:
    id: str  # the invariant the variant must violate
    action: str  # the one action whose body is replaced
    cite: str  # digest element the mistake stands for
    make: Callable[[ModelConfig], Spec]
    cfg: ModelConfig
    only: bool = False  # True: checked with invariants=[id] (see the module docstring)
    note: str = field(default="")

    def build(self) -> Spec:
        return self.make(self.cfg)


# ------------------------------------------------------------------ S1


def s1_detach_keeps_execution_carrier(cfg: ModelConfig) -> Spec:
    """§1.2 PgCarrierDetachBackend: execution->carrier is left pointing at the carrier."""
    spec = build(cfg)

    def Detach(s: Any, c: int, b: int) -> None:
        require(running(s, c, b) & (s.session[b].pc == "committed"))
        ecar = s.session[b].ecar
        detach(s, c, b)
        s.session[b].ecar = ecar  # BROKEN: §1.2 execution->carrier not cleared on detach (S1)
        s.session[b].pc = "detached"
        s.carrier[c].loc = "commit"

    spec.replace_action("Detach", Detach)
    return spec


# ------------------------------------------------------------------ S2


def s2_logical_start_dequeued_twice(cfg: ModelConfig) -> Spec:
    """H1 / B1: the logical start is attached without being unlinked from pooled_protocol_queue,
    so a second (demand-started) carrier dequeues and attaches the same backend."""
    spec = build(cfg)

    def TakeNewConnection(s: Any, c: int, b: int) -> None:
        require(s.carrier[c].loc == "loop")
        require(~leasable(s, c, cfg))
        require(~X.is_empty(s.sched.newconn) & (X.fifo_head(s.sched.newconn) == b))
        # BROKEN: H1 + B1 — attach before (here: without) unlinking the queue entry; Attach
        # does not check backend->carrier == NULL, so a second carrier attaches it too (S2).
        attach(s, c, b)
        start_session(s, b)
        s.carrier[c].loc = "step"

    spec.replace_action("TakeNewConnection", TakeNewConnection)
    return spec


# ------------------------------------------------------------------ S3


def s3_detach_stays_in_step(cfg: ModelConfig) -> Spec:
    """T3: after detaching, the carrier keeps running the step loop instead of entering the
    commit window (the 'return to the carrier loop only at a park' rule of §2.5 broken)."""
    spec = build(cfg)

    def Detach(s: Any, c: int, b: int) -> None:
        require(running(s, c, b) & (s.session[b].pc == "committed"))
        detach(s, c, b)
        s.session[b].pc = "detached"
        # BROKEN: T3/§2.5 — the carrier stays "in the step" with no backend current (S3).
        s.carrier[c].loc = "step"

    spec.replace_action("Detach", Detach)
    return spec


# ------------------------------------------------------------------ S4


def s4_enqueue_before_detach(cfg: ModelConfig) -> Spec:
    """H5 reversed: the committed park is pushed onto the parked queue before the detach."""
    spec = build(cfg)

    def CommitPark(s: Any, c: int, b: int) -> None:
        require(running(s, c, b) & (s.session[b].pc == "unwound") & (s.session[b].ps == "prepared"))
        ses = s.session[b]
        if cfg.get("hibernate"):
            ses.hibernated = ses.hibernated | (ses.last_long & ~ses.in_xact)
        ses.ps = "committed"
        ses.pcar = c
        # BROKEN: H5 — T4 (ParkBackend) runs inside the commit, before T3's detach: a poller
        # can take a backend that is still attached (S4).
        s.sched.parked = X.fifo_push(s.sched.parked, b)
        s.sched.parked_count = s.sched.parked_count + 1
        ses.q = "parked"
        ses.pc = "committed"

    spec.replace_action("CommitPark", CommitPark)
    return spec


# ------------------------------------------------------------------ Resume (T12) variants


def _resume_variant(
    cfg: ModelConfig,
    *,
    keep_q: bool = False,
    keep_wake: bool = False,
    rfq_again: bool = False,
    consume_on_wake: bool = False,
) -> Spec:
    """Resume (T12) with one of its effects broken; the unbroken lines are the model's."""
    spec = build(cfg)

    def Resume(s: Any, c: int, b: int) -> None:
        require(running(s, c, b) & (s.session[b].pc == "resume"))
        ses = s.session[b]
        wake = ses.wake
        tstale = ses.tstale
        latch_wake = (wake == "logical") | (wake == "notify")
        ses.latch_set = X.when(latch_wake, False, ses.latch_set)
        if not keep_wake:  # keep_wake BROKEN: T12 does not zero wake_reasons (S20)
            ses.wake = "none"
        ses.ps = "none"
        if not keep_q:  # keep_q BROKEN: T12 leaves q = LEASED after ps := NONE (S5)
            ses.q = "none"
        ses.last_long = ses.long_idle
        ses.long_idle = False
        ses.hibernated = False
        ses.pcar = None
        ses.lease_owner = None
        ses.tstale = False
        ses.tmstale = False
        ses.frame = True
        ses.dcr = True
        ses.pc = "service"
        if rfq_again:
            # BROKEN: C1 — the resumed step re-enters at the top with send_ready_for_query set,
            # so a second ReadyForQuery goes to a client that did not ask for one.
            ses.send_rfq = True
            ses.pc = "top"
        if consume_on_wake:
            # BROKEN: §3.3 — a transport (or STALE_TRANSPORT) wake is taken as permission to read:
            # the type byte is consumed straight away, without the fresh probe (S23).
            fast = ((wake == "transport") | (wake == "stale_transport")) & (
                (ses.inbuf == "byte") | (ses.inbuf == "whole")
            )
            ses.inbuf = X.when(fast, X.when(ses.inbuf == "whole", "body", "empty"), ses.inbuf)
            ses.byte_car = X.when(fast, c, ses.byte_car)
            ses.holdoff = X.when(fast, 1, ses.holdoff)
            ses.dcr = ~fast
            ses.tmo_armed = X.when(fast, False, ses.tmo_armed)
            ses.tmo_due = X.when(fast, False, ses.tmo_due)
            ses.sticky_done = X.when(fast, False, ses.sticky_done)
            ses.stale_read = ses.stale_read | (fast & tstale)
            ses.pc = X.when(fast, "body", "service")

    spec.replace_action("Resume", Resume)
    return spec


def s5_resume_keeps_leased(cfg: ModelConfig) -> Spec:
    """T12: ps := NONE is written but q := NONE is forgotten (H3-style half-reset park)."""
    return _resume_variant(cfg, keep_q=True)


def s20_resume_keeps_wake(cfg: ModelConfig) -> Spec:
    """T12: last_wake_* := wake_* is done but the current wake fields are not zeroed."""
    return _resume_variant(cfg, keep_wake=True)


def s23_resume_reads_on_stale_readiness(cfg: ModelConfig) -> Spec:
    """§3.3: readiness from a stale transport generation is used to consume bytes."""
    return _resume_variant(cfg, consume_on_wake=True)


def c1_resume_sends_ready_again(cfg: ModelConfig) -> Spec:
    """§2.7: after a park send_ready_for_query is false; here the resume sends it again."""
    return _resume_variant(cfg, rfq_again=True)


# ------------------------------------------------------------------ PollPass (§2.6) variants


def _pollpass_variant(cfg: ModelConfig, mistake: str) -> Spec:
    spec = build(cfg)

    def PollPass(s: Any, c: int) -> None:
        require(s.carrier[c].loc == "poll")
        batch = s.carrier[c].batch
        alive = s.env.pm_alive
        ready_items = X.fifo_filter(batch, lambda x: alive & wake_reasons(s, x, cfg, latch_wakes=False)[0])
        idle_items = X.fifo_filter(batch, lambda x: ~alive | ~wake_reasons(s, x, cfg, latch_wakes=False)[0])
        if mistake == "double_enqueue":
            # BROKEN: B14 / B1 — T8 is not idempotent: a backend found ready by the immediate
            # checks (§2.6 step 3) and again by the re-check after poll (step 9) is pushed twice (S27).
            s.sched.runnable = X.fifo_concat(X.fifo_concat(s.sched.runnable, ready_items), ready_items)
            s.sched.runnable_count = s.sched.runnable_count + X.fifo_len(ready_items) + X.fifo_len(ready_items)
        else:
            s.sched.runnable = X.fifo_concat(s.sched.runnable, ready_items)
            s.sched.runnable_count = s.sched.runnable_count + X.fifo_len(ready_items)
        if mistake == "repark_no_count":
            # BROKEN: B1 — T6 pushes the unready backends back but forgets parked_count++ (S6).
            s.sched.parked = X.fifo_concat(s.sched.parked, idle_items)
        elif mistake in ("lose_unready", "keep_polling"):
            pass  # BROKEN (see below): the unready backends are not pushed back (§2.6 step 10 skipped)
        else:
            s.sched.parked = X.fifo_concat(s.sched.parked, idle_items)
            s.sched.parked_count = s.sched.parked_count + X.fifo_len(idle_items)
        for i in s.session.ids():
            mine = X.fifo_has(batch, i)
            ready, reasons = wake_reasons(s, i, cfg, latch_wakes=False)
            woken = mine & alive & ready
            s.session[i].wake = X.when(woken, reasons, s.session[i].wake)
            if mistake == "lose_unready":
                # BROKEN: B1 "lost entry" — an unready backend is dropped from the batch with
                # q := NONE instead of being reparked: committed, in no queue, outside any window (S8).
                s.session[i].q = X.when(mine, X.when(woken, "runnable", "none"), s.session[i].q)
            elif mistake == "keep_polling":
                # BROKEN: §2.6 step 4/10 — the pass returns without T6 for the still-POLLING ones:
                # they stay POLLING after the poller has left its pass (S17).
                s.session[i].q = X.when(mine, X.when(woken, "runnable", "polling"), s.session[i].q)
            else:
                s.session[i].q = X.when(mine, X.when(woken, "runnable", "parked"), s.session[i].q)
            if mistake == "timeout_handler":
                # BROKEN: §2.10 / §10 "timeout handler fired by poller" — a due idle timeout's
                # handler runs in the poller, i.e. while the backend is detached (S22).
                fires = woken & (reasons == "timeout")
                s.session[i].handler_detached = X.when(fires, True, s.session[i].handler_detached)
            s.session[i].poll_owner = X.when(mine, None, s.session[i].poll_owner)
        s.carrier[c].batch = ()
        s.carrier[c].loc = X.when(alive, "loop", "dead")
        s.sched.registered = X.when(alive, s.sched.registered, s.sched.registered - 1)
        s.sched.idle_count = X.when(alive, s.sched.idle_count, s.sched.idle_count - 1)
        s.carrier[c].reg = X.when(alive, s.carrier[c].reg, False)
        s.carrier[c].idle = X.when(alive, s.carrier[c].idle, False)

    spec.replace_action("PollPass", PollPass)
    return spec


def s6_repark_forgets_count(cfg: ModelConfig) -> Spec:
    """B1: a list operation of the poll pass leaves parked_protocol_count behind the list."""
    return _pollpass_variant(cfg, "repark_no_count")


def s8_poll_pass_loses_unready(cfg: ModelConfig) -> Spec:
    """B1 lost entry: an unready backend falls out of the batch without being reparked."""
    return _pollpass_variant(cfg, "lose_unready")


def s17_poll_pass_skips_repark(cfg: ModelConfig) -> Spec:
    """§2.6 step 10: 'T6 for every backend still POLLING' skipped."""
    return _pollpass_variant(cfg, "keep_polling")


def s22_poller_fires_timeout(cfg: ModelConfig) -> Spec:
    """§10 seed 'timeout handler fired by poller'."""
    return _pollpass_variant(cfg, "timeout_handler")


def s27_double_enqueue(cfg: ModelConfig) -> Spec:
    """B14: make-runnable is not idempotent (the re-check after poll enqueues again)."""
    return _pollpass_variant(cfg, "double_enqueue")


# ------------------------------------------------------------------ S7


def s7_commit_forgets_committed(cfg: ModelConfig) -> Spec:
    """T3: the commit fields are not written (ps stays PREPARED), then the backend detaches."""
    spec = build(cfg)

    def CommitPark(s: Any, c: int, b: int) -> None:
        require(running(s, c, b) & (s.session[b].pc == "unwound") & (s.session[b].ps == "prepared"))
        ses = s.session[b]
        if cfg.get("hibernate"):
            ses.hibernated = ses.hibernated | (ses.last_long & ~ses.in_xact)
        # BROKEN: T3 — ps := COMMITTED is not written; the detach that follows leaves a
        # PREPARED park with no carrier (S7).
        ses.pcar = c
        ses.pc = "committed"

    spec.replace_action("CommitPark", CommitPark)
    return spec


# ------------------------------------------------------------------ PreparePark (T1) variants


def _prepare_variant(cfg: ModelConfig, mistake: str) -> Spec:
    spec = build(cfg)
    sticky = cfg.get("sticky_idle") and cfg.mode != "process"

    def PreparePark(s: Any, c: int, b: int) -> None:
        ses = s.session[b]
        if mistake == "mid_message":
            # BROKEN: S9 — PgConnectionCanParkBeforeMessage is not checked: a park is prepared
            # after the type byte was consumed (pc = body), and doing_command_read is not required.
            require(running(s, c, b) & ((ses.pc == "probe") | (ses.pc == "body")))
            require((ses.inbuf == "empty") & (ses.cl != "closed"))
        else:
            # BROKEN: S10 — T1 is taken at the top of the step, before doing_command_read is set
            # (the assert on doing_command_read is missing).
            require(running(s, c, b) & ((ses.pc == "probe") | (ses.pc == "top")))
            require((ses.inbuf == "empty") & (ses.cl != "closed"))
        if sticky:
            require(ses.sticky_done)
        ses.ps = "prepared"
        ses.wake = "none"
        ses.tstale = False
        ses.tmstale = False
        ses.pc = "prepared"

    spec.replace_action("PreparePark", PreparePark)
    return spec


def s9_park_mid_message(cfg: ModelConfig) -> Spec:
    """S9 'no carrier swap mid-message': T1 without PgConnectionCanParkBeforeMessage."""
    return _prepare_variant(cfg, "mid_message")


def s10_park_outside_command_read(cfg: ModelConfig) -> Spec:
    """S10 / T1: the park is prepared outside the command read (doing_command_read false)."""
    return _prepare_variant(cfg, "not_command_read")


# ------------------------------------------------------------------ S11


def s11_commit_before_unwind(cfg: ModelConfig) -> Spec:
    """§10 seed 'commit before step unwinds': T3 runs while the step frame (T2) is still live."""
    spec = build(cfg)

    def CommitPark(s: Any, c: int, b: int) -> None:
        ses = s.session[b]
        # BROKEN: T2 before T3 not enforced — the commit is also allowed at pc = prepared (S11).
        require(running(s, c, b) & ((ses.pc == "unwound") | (ses.pc == "prepared")) & (ses.ps == "prepared"))
        if cfg.get("hibernate"):
            ses.hibernated = ses.hibernated | (ses.last_long & ~ses.in_xact)
        ses.ps = "committed"
        ses.pcar = c
        ses.pc = "committed"

    spec.replace_action("CommitPark", CommitPark)
    return spec


# ------------------------------------------------------------------ S12


def s12_deep_wait_returns_on_latch(cfg: ModelConfig) -> Spec:
    """B7: the deep wait's WaitLatch returns on an unrelated latch set and the command
    completes although its wait condition is not met (the wait 'collapses')."""
    spec = build(cfg)

    def DeepWaitWake(s: Any, c: int, b: int) -> None:
        require(running(s, c, b) & (s.session[b].pc == "deep_wait"))
        ses = s.session[b]
        require(ses.latch_set & (ses.latch == c))
        mb = ses.mbox
        die = X.set_has(mb, "die")
        cancel = ~die & X.set_has(mb, "cancel")
        ses.latch_set = False
        ses.mbox = X.empty_set(MAILBOX)
        ses.notify_pending = ses.notify_pending | (X.set_has(mb, "notify") & ses.listening)
        ses.sleep_pending = ses.sleep_pending & ~die & ~cancel
        output(s, b, "fatal", die)
        output(s, b, "error", cancel)
        # BROKEN: B7 — any latch wake ends the wait: the command completes (result,
        # ReadyForQuery due) while its wait condition still holds (S12).
        other = ~die & ~cancel
        output(s, b, "result", other)
        ses.byte_car = X.when(die, ses.byte_car, None)
        ses.send_rfq = X.when(die, ses.send_rfq, True)
        ses.cmd = X.when(die, ses.cmd, "query")
        ses.pc = X.when(die, "exit", "top")

    spec.replace_action("DeepWaitWake", DeepWaitWake)
    return spec


# ------------------------------------------------------------------ AttachLeased (T10) variants


def _attach_leased_variant(cfg: ModelConfig, mistake: str) -> Spec:
    spec = build(cfg)

    def AttachLeased(s: Any, c: int, b: int) -> None:
        ses = s.session[b]
        if mistake == "any_carrier":
            # BROKEN: H1 / B9 — the attach checks neither the lease owner nor that the caller
            # popped it: any idle carrier in its loop attaches a LEASED backend (S18).
            require((s.carrier[c].loc == "leasing") | (s.carrier[c].loc == "loop"))
            require(ses.q == "leased")
        else:
            require(s.carrier[c].loc == "leasing")
            require((ses.q == "leased") & (ses.lease_owner == c))
        if mistake == "no_myproc":
            # BROKEN: S13 — attach without rebinding MyProc to the backend's PGPROC.
            ses.car = c
            ses.ecar = c
            s.carrier[c].cur = b
            ses.latch = c
            became_active(s, c)
        elif mistake == "no_latch_on_migrate":
            # BROKEN: B2 — the latch is re-owned (ReownLatchCurrentThread + FeBeWaitSet latch
            # slot) only on a same-carrier resume; a migrated resume keeps the old thread (S15).
            latch = ses.latch
            attach(s, c, b)
            ses.latch = X.when(ses.pcar == c, c, latch)
        else:
            attach(s, c, b)
        ses.pc = "resume"
        s.carrier[c].loc = "step"

    spec.replace_action("AttachLeased", AttachLeased)
    return spec


def s13_attach_without_myproc(cfg: ModelConfig) -> Spec:
    """S13: T10 attaches the leased backend without rebinding MyProc."""
    return _attach_leased_variant(cfg, "no_myproc")


def s15_no_latch_reown_on_migration(cfg: ModelConfig) -> Spec:
    """B2 seed: skip the latch re-own on a migrated resume (car != parked_carrier)."""
    return _attach_leased_variant(cfg, "no_latch_on_migrate")


def s18_attach_by_non_owner(cfg: ModelConfig) -> Spec:
    """H1 / B9 seed: a second carrier attaches a backend another carrier leased."""
    return _attach_leased_variant(cfg, "any_carrier")


# ------------------------------------------------------------------ Detach (T3) variants


def s14_detach_skipped(cfg: ModelConfig) -> Spec:
    """S14: the carrier enters the commit window (scheduler code) with Current* still set."""
    spec = build(cfg)

    def Detach(s: Any, c: int, b: int) -> None:
        require(running(s, c, b) & (s.session[b].pc == "committed"))
        # BROKEN: T3 — PgCarrierDetachBackend is not called; the carrier runs scheduler
        # code (the commit window) with the backend still current (S14).
        s.session[b].pc = "detached"
        s.carrier[c].loc = "commit"

    spec.replace_action("Detach", Detach)
    return spec


def s16_detach_drops_interrupt_latch(cfg: ModelConfig) -> Spec:
    """B5: the published backend's interrupt latch is left NULL (here: cleared at detach),
    so a SetLatch from SendInterrupt would hit NULL."""
    spec = build(cfg)

    def Detach(s: Any, c: int, b: int) -> None:
        require(running(s, c, b) & (s.session[b].pc == "committed"))
        detach(s, c, b)
        s.session[b].latch = None  # BROKEN: B5 — interrupt latch NULL while published (S16)
        s.session[b].pc = "detached"
        s.carrier[c].loc = "commit"

    spec.replace_action("Detach", Detach)
    return spec


def s26_detach_without_became_idle(cfg: ModelConfig) -> Spec:
    """§2.3 BecameIdle skipped on detach: the carrier is idle but counted active."""
    spec = build(cfg)

    def Detach(s: Any, c: int, b: int) -> None:
        require(running(s, c, b) & (s.session[b].pc == "committed"))
        # BROKEN: §2.3 registration — Detach without BecameIdle (active_count--, idle_count++)
        # (S26). The rest of PgCarrierDetachBackend is done.
        s.session[b].car = None
        s.session[b].ecar = None
        s.carrier[c].cur = None
        s.carrier[c].proc = None
        s.session[b].pc = "detached"
        s.carrier[c].loc = "commit"

    spec.replace_action("Detach", Detach)
    return spec


# ------------------------------------------------------------------ S24, C3 (wake service)


def _service_variant(cfg: ModelConfig, mistake: str) -> Spec:
    spec = build(cfg)

    def ServiceWakes(s: Any, c: int, b: int) -> None:
        require(running(s, c, b) & (s.session[b].pc == "service"))
        ses = s.session[b]
        mb = ses.mbox
        fatal = X.set_has(mb, "die") | (ses.tmo_armed & ses.tmo_due)
        pending = ses.notify_pending | (X.set_has(mb, "notify") & ses.listening)
        deliver = ~fatal & pending
        if mistake != "notify_in_xact":
            deliver = deliver & ~ses.in_xact
        # else BROKEN: T14 missing — the notification is delivered even inside a transaction
        # block instead of being deferred (S24, TAP 005).
        ses.mbox = X.empty_set(MAILBOX)
        output(s, b, "notification", deliver)
        output(s, b, "fatal", fatal)
        if mistake == "cancel_idle_error":
            # BROKEN: §3.2 "cancel while idle is a no-op" — the wake service reports the query
            # cancel to the idle client with an ErrorResponse (C3).
            output(s, b, "error", ~fatal & X.set_has(mb, "cancel"))
        ses.notify_pending = pending & ~deliver
        ses.deferred = X.when(fatal, ses.deferred, pending & ses.in_xact)
        ses.tmo_armed = X.when(fatal, False, ses.tmo_armed)
        ses.tmo_due = X.when(fatal, False, ses.tmo_due)
        ses.pc = X.when(fatal, "exit", "probe")

    spec.replace_action("ServiceWakes", ServiceWakes)
    return spec


def s24_notify_inside_transaction(cfg: ModelConfig) -> Spec:
    """T14 missing: the wake service delivers a notification inside a transaction block."""
    return _service_variant(cfg, "notify_in_xact")


def c3_cancel_idle_sends_error(cfg: ModelConfig) -> Spec:
    """§3.2: a cancel of an idle session answers the idle client with an ErrorResponse."""
    return _service_variant(cfg, "cancel_idle_error")


# ------------------------------------------------------------------ S25


def s25_holdoff_not_restored(cfg: ModelConfig) -> Spec:
    """S25: query_cancel_holdoff_count++ at the type byte is not balanced after the body."""
    spec = build(cfg)

    def ReadBody(s: Any, c: int, b: int) -> None:
        require(running(s, c, b) & (s.session[b].pc == "body") & (s.session[b].inbuf == "body"))
        ses = s.session[b]
        ses.inbuf = "empty"
        ses.cmd = ses.cl_cmd
        # BROKEN: S25 — the holdoff taken at the type byte is never released; the next park
        # is committed with query_cancel_holdoff_count = 1.
        ses.pc = "exec"

    spec.replace_action("ReadBody", ReadBody)
    return spec


# ------------------------------------------------------------------ LogicalExit variants


def _exit_variant(cfg: ModelConfig, mistake: str) -> Spec:
    spec = build(cfg)
    pooled = cfg.mode == "pooled"

    def LogicalExit(s: Any, c: int, b: int) -> None:
        require(running(s, c, b) & (s.session[b].pc == "exit"))
        s.sched.parked = X.fifo_remove(s.sched.parked, b)
        s.sched.runnable = X.fifo_remove(s.sched.runnable, b)
        output(s, b, "fatal")
        detach(s, c, b)
        if mistake == "keep_myproc":
            # BROKEN: B6 / S28 — after release the exiting thread still references the backend's
            # PGPROC (MyProc not cleared by the exit path).
            s.carrier[c].proc = b
        reset_session(s, b)
        s.session[b].pc = "gone"
        if pooled and mistake != "carrier_dies":
            s.carrier[c].loc = "loop"
        else:
            # BROKEN (mistake carrier_dies): H4 — exit_jmp_valid is false at the pooled exit, so the
            # carrier thread exits (pg_thread_exit) instead of returning to its loop (S29).
            s.carrier[c].loc = "dead"
            if cfg.mode != "process":
                s.carrier[c].reg = False
                s.carrier[c].idle = False
                s.sched.registered = s.sched.registered - 1
                s.sched.idle_count = s.sched.idle_count - 1

    spec.replace_action("LogicalExit", LogicalExit)
    return spec


def s28_exit_keeps_myproc(cfg: ModelConfig) -> Spec:
    """B6: after the logical exit the (dedicated) thread still references the backend."""
    return _exit_variant(cfg, "keep_myproc")


def s29_pooled_exit_kills_carrier(cfg: ModelConfig) -> Spec:
    """H4: a pooled logical exit ends the carrier thread instead of returning to its loop."""
    return _exit_variant(cfg, "carrier_dies")


# ------------------------------------------------------------------ S30


def s30_lease_ignores_affinity(cfg: ModelConfig) -> Spec:
    """§2.11: with affinity enforced, T9 still pops the global head (the affinity sub-queue
    was removed unmeasured in SW, which enforces no affinity at all)."""
    spec = build(cfg)
    plain = ModelConfig(cfg.mode, cfg.carriers, cfg.sessions, {**cfg.options, "affinity_enforced": False})

    def LeaseRunnable(s: Any, c: int, b: int) -> None:
        require(s.carrier[c].loc == "loop")
        # BROKEN: §2.11 / S30 — the affinity filter is not applied: the head of the runnable
        # queue is leased whichever carrier it parked on.
        require(next_runnable_is(s, c, b, plain))
        s.sched.runnable = X.fifo_remove(s.sched.runnable, b)
        s.sched.runnable_count = s.sched.runnable_count - 1
        s.session[b].q = "leased"
        s.session[b].lease_owner = c
        s.carrier[c].loc = "leasing"

    spec.replace_action("LeaseRunnable", LeaseRunnable)
    return spec


# ------------------------------------------------------------------ C2


def c2_ready_reports_idle_status(cfg: ModelConfig) -> Spec:
    """ReadyForQuery's transaction status byte is taken from carrier-local state, not the
    backend's (a Current* root not switched): it always reads 'I'."""
    spec = build(cfg)

    def StepTop(s: Any, c: int, b: int) -> None:
        require(running(s, c, b) & (s.session[b].pc == "top"))
        ses = s.session[b]
        rfq = ses.send_rfq
        deliver = rfq & ses.notify_pending & ~ses.in_xact
        output(s, b, "notification", deliver)
        ses.notify_pending = X.when(deliver, False, ses.notify_pending)
        cl_before = ses.cl
        xact_before = ses.cl_xact
        output(s, b, "rfq", rfq)
        # BROKEN: §2.7 step 2 — the status byte of ReadyForQuery is always 'I' (C2).
        sent = rfq & (cl_before != "closed") & ((cl_before == "connecting") | (cl_before == "result"))
        ses.cl_xact = X.when(sent, False, xact_before)
        arm = X.when(ses.in_xact, cfg.get("idle_in_xact_timeout"), cfg.get("idle_session_timeout"))
        ses.tmo_armed = X.when(rfq, arm, ses.tmo_armed)
        ses.tmo_due = X.when(rfq, False, ses.tmo_due)
        ses.send_rfq = False
        ses.dcr = True
        service_wakes(s, b)

    spec.replace_action("StepTop", StepTop)
    return spec


# ------------------------------------------------------------------ the registry

VARIANTS: list[Variant] = [
    Variant("S1", "Detach", "§1.2 detach contract", s1_detach_keeps_execution_carrier, config("pooled", 1, 1)),
    Variant(
        "S2", "TakeNewConnection", "H1, B1", s2_logical_start_dequeued_twice, config("pooled", 2, 1), only=True,
        note="S1 is implied to fail whenever S2 fails (S1 is declared first)",
    ),
    Variant("S3", "Detach", "T3, §2.5", s3_detach_stays_in_step, config("pooled", 1, 1)),
    Variant("S4", "CommitPark", "H5", s4_enqueue_before_detach, config("pooled", 1, 1)),
    Variant("S5", "Resume", "T12, H3", s5_resume_keeps_leased, config("pooled", 1, 1, messages=1)),
    Variant("S6", "PollPass", "B1", s6_repark_forgets_count, config("pooled", 1, 1)),
    Variant("S7", "CommitPark", "T3", s7_commit_forgets_committed, config("pooled", 1, 1)),
    Variant("S8", "PollPass", "B1 lost entry", s8_poll_pass_loses_unready, config("pooled", 1, 1)),
    Variant("S9", "PreparePark", "S9 CanParkBeforeMessage", s9_park_mid_message, config("thread-per-session", None, 1, messages=1)),
    Variant("S10", "PreparePark", "T1 doing_command_read", s10_park_outside_command_read, config("pooled", 1, 1)),
    Variant("S11", "CommitPark", "§10 commit before unwind", s11_commit_before_unwind, config("pooled", 1, 1)),
    Variant(
        "S12", "DeepWaitWake", "B7", s12_deep_wait_returns_on_latch,
        config("process", None, 1, messages=1, commands=("sleep",), reloads=1),
    ),
    Variant("S13", "AttachLeased", "S13 MyProc rebind", s13_attach_without_myproc, config("pooled", 1, 1, messages=1)),
    Variant("S14", "Detach", "T3 detach, S14", s14_detach_skipped, config("pooled", 1, 1)),
    Variant("S15", "AttachLeased", "B2", s15_no_latch_reown_on_migration, config("pooled", 2, 2, messages=1)),
    Variant("S16", "Detach", "B5", s16_detach_drops_interrupt_latch, config("pooled", 1, 1)),
    Variant("S17", "PollPass", "§2.6 step 10", s17_poll_pass_skips_repark, config("pooled", 1, 1)),
    Variant("S18", "AttachLeased", "H1, B9", s18_attach_by_non_owner, config("pooled", 2, 2, messages=1)),
    Variant("S20", "Resume", "T12", s20_resume_keeps_wake, config("pooled", 1, 1, messages=1)),
    Variant("S22", "PollPass", "§2.10, §10 timeout fired by poller", s22_poller_fires_timeout,
            config("pooled", 1, 1, idle_session_timeout=True)),
    Variant("S23", "Resume", "§3.3 stale readiness", s23_resume_reads_on_stale_readiness,
            config("pooled", 1, 1, messages=1, transport_changes=1)),
    Variant(
        "S24", "ServiceWakes", "T14, TAP 005", s24_notify_inside_transaction,
        config("process", None, 1, messages=1, commands=("begin",), listeners=True, notifies=1),
    ),
    Variant("S25", "ReadBody", "S25 holdoff", s25_holdoff_not_restored, config("thread-per-session", None, 1, messages=1)),
    Variant("S26", "Detach", "§2.3 BecameIdle", s26_detach_without_became_idle, config("pooled", 1, 1)),
    Variant(
        "S27", "PollPass", "B14", s27_double_enqueue, config("pooled", 1, 2, messages=1), only=True,
        note="S6 (declared first) says no backend appears twice in P ++ R, which implies S27",
    ),
    Variant("S28", "LogicalExit", "B6, T13", s28_exit_keeps_myproc, config("thread-per-session", None, 1, client_close=True)),
    Variant("S29", "LogicalExit", "H4", s29_pooled_exit_kills_carrier, config("pooled", 1, 1, client_close=True)),
    Variant(
        "S30", "LeaseRunnable", "§2.11", s30_lease_ignores_affinity,
        config("pooled", 2, 2, messages=1, affinity_enforced=True),
    ),
    Variant("C1", "Resume", "§2.7 send_ready_for_query", c1_resume_sends_ready_again,
            config("thread-per-session", None, 1, messages=1)),
    Variant("C2", "StepTop", "§2.7 step 2", c2_ready_reports_idle_status,
            config("process", None, 1, messages=1, commands=("begin",))),
    Variant("C3", "ServiceWakes", "§3.2 cancel while idle", c3_cancel_idle_sends_error,
            config("process", None, 1, cancels=1)),
]

VARIANT_BY_ID = {v.id: v for v in VARIANTS}
