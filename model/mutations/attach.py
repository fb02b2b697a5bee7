"""Seeded bugs of lease, attach and startup (§1.2, §2.3 T9-T12, §2.5, §2.8 T11)."""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.model.carrier_loop import next_runnable_is, pop_runnable
from pgcheck.model.config import ModelConfig
from pgcheck.model.mutations.base import Mutation, config, patch, replace
from pgcheck.model.state import attach, output


def stale_latch_after_migration(spec: Spec, cfg: ModelConfig) -> None:
    def AttachLeased(s: Any, original: Any, c: int, b: int) -> None:
        latch, home = s.session[b].latch, s.session[b].pcar
        original(s, c=c, b=b)
        # BUG B2: the latch is re-owned only on a same-carrier resume; a migrated resume keeps
        # the old carrier's thread as the latch owner.
        s.session[b].latch = X.when(home == c, c, latch)

    patch(spec, "AttachLeased", AttachLeased)


def latch_set_after_startup(spec: Spec, cfg: ModelConfig) -> None:
    def TakeNewConnection(s: Any, original: Any, c: int, b: int) -> None:
        original(s, c=c, b=b)
        # BUG B7: InitProcess set MyLatch and no ResetLatch follows the startup.
        s.session[b].latch_set = True

    def DeepWaitWake(s: Any, original: Any, c: int, b: int) -> None:
        mb = s.session[b].mbox
        other = ~X.set_has(mb, "die") & ~X.set_has(mb, "cancel")
        original(s, c=c, b=b)
        # BUG B7: the hold function's single WaitLatch returns on any set latch and the command
        # completes although its wait condition still holds.
        ses = s.session[b]
        early = other & (ses.pc == "deep_wait")
        output(s, b, "result", early, cfg=cfg)
        ses.byte_car = X.when(early, None, ses.byte_car)
        ses.send_rfq = X.when(early, True, ses.send_rfq)
        ses.cmd = X.when(early, "query", ses.cmd)
        ses.pc = X.when(early, "top", ses.pc)

    patch(spec, "TakeNewConnection", TakeNewConnection)
    patch(spec, "DeepWaitWake", DeepWaitWake)


def attach_without_carrier_check(spec: Spec, cfg: ModelConfig) -> None:
    def TakeNewConnection(s: Any, original: Any, c: int, b: int) -> None:
        queue = s.sched.newconn
        original(s, c=c, b=b)
        # BUG H1: the logical start is attached before (here: without) being unlinked, and Attach
        # does not check backend->carrier == NULL: a second carrier can attach it again.
        s.sched.newconn = queue

    patch(spec, "TakeNewConnection", TakeNewConnection)


def resume_skipped(spec: Spec, cfg: ModelConfig) -> None:
    def AttachLeased(s: Any, original: Any, c: int, b: int) -> None:
        original(s, c=c, b=b)
        # BUG H3: the step is re-entered without T12: the committed park is not resumed, and
        # Prepare (which accepts ps = COMMITTED at entry) later overwrites it while q = LEASED.
        s.session[b].pc = "service"

    patch(spec, "AttachLeased", AttachLeased)


def attach_leased_by_other_carrier(spec: Spec, cfg: ModelConfig) -> None:
    def AttachLeased(s: Any, c: int, b: int) -> None:
        # BUG B9(i) / H1: the attach checks neither that this carrier popped the backend nor its
        # lease owner: any idle carrier attaches a LEASED backend.
        require((s.carrier[c].loc == "leasing") | (s.carrier[c].loc == "loop"))
        require(s.session[b].q == "leased")
        attach(s, c, b)
        s.session[b].pc = "resume"
        s.carrier[c].loc = "step"

    replace(spec, "AttachLeased", AttachLeased)


def attach_without_myproc(spec: Spec, cfg: ModelConfig) -> None:
    def AttachLeased(s: Any, original: Any, c: int, b: int) -> None:
        proc = s.carrier[c].proc
        original(s, c=c, b=b)
        s.carrier[c].proc = proc  # BUG (S13 rule): MyProc is not rebound to the backend's PGPROC

    patch(spec, "AttachLeased", AttachLeased)


def lease_ignores_affinity(spec: Spec, cfg: ModelConfig) -> None:
    plain = ModelConfig(cfg.mode, cfg.carriers, cfg.sessions, {**cfg.options, "affinity_enforced": False})

    def LeaseRunnable(s: Any, c: int, b: int) -> None:
        require(s.carrier[c].loc == "loop")
        # BUG (S30 rule): the head of the runnable queue is leased whichever carrier it parked on.
        require(next_runnable_is(s, c, b, plain))
        pop_runnable(s, c, b)

    replace(spec, "LeaseRunnable", LeaseRunnable)


def poller_steals_staging_park(spec: Spec, cfg: ModelConfig) -> None:
    @spec.action(c="carrier", b="session", fairness="weak", cite="B9(ii), T5/T9 over a staging park")
    def StealStagingPark(s: Any, c: int, b: int) -> None:
        """A carrier waiting for its own park takes another session's staging park off the shared
        queue and runs it (a pooled poller or work-stealer touching a staging entry)."""
        require((s.carrier[c].loc == "stage") & X.fifo_has(s.sched.parked, b))
        require(s.session[b].pcar != c)
        # BUG B9(ii): staging parks share the global queue, so another party can lease them.
        s.sched.parked = X.fifo_remove(s.sched.parked, b)
        s.sched.parked_count = s.sched.parked_count - 1
        s.session[b].q = "leased"
        s.session[b].lease_owner = c
        attach(s, c, b)
        s.session[b].pc = "resume"
        s.carrier[c].loc = "step"


MUTATIONS = [
    Mutation(
        "stale-latch-after-migration", "B2", "S15", config("pooled", 2, 2, messages=1),
        "A session parks on carrier 0; carrier 1, started for the second connection, leases it when "
        "its client sends (a migrated resume). Attach re-owns the backend latch only when the carrier "
        "is the one it parked on, so after the migration SetLatch still signals carrier 0's thread: a "
        "cancel of a deep wait pinned on carrier 1 is lost until the wait times out.",
        ("AttachLeased",), stale_latch_after_migration,
        kind="safety",
    ),
    Mutation(
        "latch-set-after-startup", "B7", "S12", config("pooled", 1, 1, messages=1, commands=("sleep",)),
        "InitProcess sets MyLatch and the pooled entry does not reset it after startup. The session's "
        "first command is a deep wait (a lock held with one WaitLatch): the wait returns at once on the "
        "stale latch, the command completes although its wait condition holds, and the session goes on "
        "to park, where observers expected a carrier-pinned deep wait.",
        ("TakeNewConnection", "DeepWaitWake"), latch_set_after_startup,
        kind="safety",
    ),
    Mutation(
        "attach-without-carrier-check", "H1", "S1", config("pooled", 2, 1),
        "Carrier 0 attaches the new connection without unlinking its logical start; the queue still "
        "looks non-empty, so carrier 1 is demand-started and attaches the same backend, since Attach "
        "does not check backend->carrier == NULL. Two carriers now name one backend: S2 breaks, and "
        "S1 (declared first, and implied by S2's failure) is what reports it.",
        ("TakeNewConnection",), attach_without_carrier_check,
        kind="safety",
    ),
    Mutation(
        "resume-skipped", "H3", "S5", config("pooled", 1, 1, reloads=1),
        "An interrupt wakes a parked session. The carrier leases and attaches it but re-enters the step "
        "without the resume (T12): the park stays COMMITTED with q = LEASED. The wake service finds no "
        "byte, and Prepare, which accepts ps = COMMITTED at entry, overwrites the spec while the queue "
        "entry still exists: PREPARED with q = LEASED.",
        ("AttachLeased",), resume_skipped,
        kind="safety",
    ),
    Mutation(
        "attach-leased-by-other-carrier", "B9(i), H1", "LEASE1", config("pooled", 2, 2, messages=1),
        "Carrier 0 pops a runnable backend (LEASED, owner carrier 0); before it attaches, idle carrier 1 "
        "attaches the same backend, because the attach checks neither who popped it nor the lease owner. "
        "The lease now has an owner that is not the attached carrier (S18); LEASE1, the rule of T10 that "
        "only the lease owner attaches, reports the attach step itself.",
        ("AttachLeased",), attach_leased_by_other_carrier,
        kind="safety",
    ),
    Mutation(
        "attach-without-myproc", "S13 rule", "S13", config("pooled", 1, 1, messages=1),
        "A parked session is resumed by a lease and attach that binds Current* and the latch but not "
        "MyProc: the step runs with the PGPROC of whatever the carrier ran before (here none).",
        ("AttachLeased",), attach_without_myproc,
        kind="safety",
    ),
    Mutation(
        "affine-session-migrated", "S30 rule", "S30",
        config("pooled", 2, 2, messages=1, affinity_enforced=True),
        "Affinity is enforced, but the lease pops the global head of the runnable queue: a session that "
        "parked on carrier 0 is leased by carrier 1.",
        ("LeaseRunnable",), lease_ignores_affinity,
        kind="safety",
    ),
    Mutation(
        "poller-steals-staging-park", "B9(ii)", "STAGE1",
        config("thread-per-session", None, 2, messages=1, active_clients=1),
        "Thread-per-session parks share the global parked queue. Session 0's thread is woken by its "
        "client and goes to lease its own backend back (T11), but session 1's thread, waiting for its own "
        "park, has taken session 0's entry off the shared queue and runs it. T11 finds q = LEASED, not "
        "PARKED or RUNNABLE: the same-carrier resume can never succeed (the PANIC of the fork, L11). STAGE1 "
        "(a thread-per-session backend resumes only on its own thread) reports the foreign attach itself.",
        ("StealStagingPark",), poller_steals_staging_park,
        kind="safety",
    ),
]
