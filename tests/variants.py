"""A deliberately broken model variant per safety invariant (test-only), so every one can fail.

For each invariant id that specs/safety.py declares there is a variant that builds the
real model and changes one action (or the few a seeded bug concerns). Where the
seeded-bug catalogue (model/mutations/, docs/bugs.md) already has a mutation caught by
that invariant, the variant IS that mutation; the rest are test-only mistakes below,
marked `# BROKEN:`, written as small diffs with the catalogue's `patch`/`replace`.
tests/test_invariants_can_fail.py checks that the explorer reports exactly each id with a
shortest trace that replays.

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

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.model.config import ModelConfig
from pgcheck.model.mutations import BASE_OPTIONS, config, get
from pgcheck.model.mutations.base import patch, replace
from pgcheck.model.mutations.session import prepare_park
from pgcheck.model.runtime import build
from pgcheck.model.session_step import running
from pgcheck.model.state import output

__all__ = ["BASE_OPTIONS", "VARIANTS", "VARIANT_BY_ID", "Variant", "config"]


@dataclass(frozen=True)
class Variant:
    id: str  # the invariant the variant must violate
    actions: tuple[str, ...]  # the actions it changes
    cite: str  # digest element the mistake stands for
    make: Callable[[ModelConfig], Spec]
    cfg: ModelConfig
    only: bool = False  # True: checked with invariants=[id] (see the module docstring)
    note: str = field(default="")

    def build(self) -> Spec:
        return self.make(self.cfg)


def mutation(pid: str, name: str, *, only: bool = False, note: str = "") -> Variant:
    """The catalogue mutation `name` as the variant of invariant `pid`."""
    m = get(name)
    return Variant(pid, m.changes, m.source, m.build, m.smallest, only, note)


def broken(pid: str, cite: str, change: Callable[[Spec, ModelConfig], None], cfg: ModelConfig) -> Variant:
    """A test-only variant: the model at `cfg` with `change` applied to it."""

    def make(c: ModelConfig) -> Spec:
        spec = build(c)
        change(spec, c)
        return spec

    before = {a.name: a.fn.__code__ for a in build(cfg).actions}
    after = make(cfg).actions
    changed = tuple(a.name for a in after if before.get(a.name) is not a.fn.__code__)
    return Variant(pid, changed, cite, make, cfg)


# ------------------------------------------------------------------ test-only mistakes


def s3_detach_stays_in_step(spec: Spec, cfg: ModelConfig) -> None:
    def Detach(s: Any, original: Any, c: int, b: int) -> None:
        original(s, c=c, b=b)
        s.carrier[c].loc = "step"  # BROKEN: T3/§2.5 — the carrier stays "in the step" with no backend current

    patch(spec, "Detach", Detach)


def s4_enqueue_before_detach(spec: Spec, cfg: ModelConfig) -> None:
    def CommitPark(s: Any, original: Any, c: int, b: int) -> None:
        original(s, c=c, b=b)
        # BROKEN: H5 reversed — T4 runs inside the commit, before T3's detach: a poller can take a
        # backend that is still attached.
        s.sched.parked = X.fifo_push(s.sched.parked, b)
        s.sched.parked_count = s.sched.parked_count + 1
        s.session[b].q = "parked"

    patch(spec, "CommitPark", CommitPark)


def s7_commit_forgets_committed(spec: Spec, cfg: ModelConfig) -> None:
    def CommitPark(s: Any, original: Any, c: int, b: int) -> None:
        original(s, c=c, b=b)
        s.session[b].ps = "prepared"  # BROKEN: T3 — ps := COMMITTED is not written before the detach

    patch(spec, "CommitPark", CommitPark)


def _unready_left(keep: str) -> Callable[[Spec, ModelConfig], None]:
    """PollPass whose unready backends are not returned to the parked queue (§2.6 step 10 skipped)."""

    def change(spec: Spec, cfg: ModelConfig) -> None:
        def PollPass(s: Any, original: Any, c: int) -> None:
            batch = s.carrier[c].batch
            parked, count = s.sched.parked, s.sched.parked_count
            original(s, c=c)
            s.sched.parked = parked
            s.sched.parked_count = count
            for i in s.session.ids():
                reparked = X.fifo_has(batch, i) & (s.session[i].q == "parked")
                # BROKEN: "none" is B1's lost entry (S8); "polling" outlives the poll pass (S17).
                s.session[i].q = X.when(reparked, keep, s.session[i].q)
                if keep == "polling":
                    s.session[i].poll_owner = X.when(reparked, c, s.session[i].poll_owner)

        patch(spec, "PollPass", PollPass)

    return change


def s10_park_outside_command_read(spec: Spec, cfg: ModelConfig) -> None:
    def PreparePark(s: Any, c: int, b: int) -> None:
        ses = s.session[b]
        # BROKEN: S10 — T1 is also taken at the top of the step, before doing_command_read is set.
        require(running(s, c, b) & ((ses.pc == "probe") | (ses.pc == "top")))
        require((ses.inbuf == "empty") & (ses.cl != "closed"))
        prepare_park(ses)

    replace(spec, "PreparePark", PreparePark)


def s14_detach_skipped(spec: Spec, cfg: ModelConfig) -> None:
    def Detach(s: Any, c: int, b: int) -> None:
        require(running(s, c, b) & (s.session[b].pc == "committed"))
        # BROKEN: T3 — PgCarrierDetachBackend is not called; the carrier runs scheduler code (the
        # commit window) with the backend still current (S14).
        s.session[b].pc = "detached"
        s.carrier[c].loc = "commit"

    replace(spec, "Detach", Detach)


def s20_resume_keeps_wake(spec: Spec, cfg: ModelConfig) -> None:
    def Resume(s: Any, original: Any, c: int, b: int) -> None:
        wake = s.session[b].wake
        original(s, c=c, b=b)
        s.session[b].wake = wake  # BROKEN: T12 does not zero wake_reasons

    patch(spec, "Resume", Resume)


def s25_holdoff_not_restored(spec: Spec, cfg: ModelConfig) -> None:
    def ReadBody(s: Any, original: Any, c: int, b: int) -> None:
        original(s, c=c, b=b)
        s.session[b].holdoff = 1  # BROKEN: S25 — the holdoff taken at the type byte is never released

    patch(spec, "ReadBody", ReadBody)


def s26_detach_without_became_idle(spec: Spec, cfg: ModelConfig) -> None:
    def Detach(s: Any, original: Any, c: int, b: int) -> None:
        idle, active, flag = s.sched.idle_count, s.sched.active_count, s.carrier[c].idle
        original(s, c=c, b=b)
        # BROKEN: §2.3 registration — Detach without BecameIdle (active_count--, idle_count++).
        s.sched.idle_count = idle
        s.sched.active_count = active
        s.carrier[c].idle = flag

    patch(spec, "Detach", Detach)


def c1_resume_sends_ready_again(spec: Spec, cfg: ModelConfig) -> None:
    def Resume(s: Any, original: Any, c: int, b: int) -> None:
        original(s, c=c, b=b)
        # BROKEN: C1 — the resumed step re-enters at the top with send_ready_for_query set, so a
        # second ReadyForQuery goes to a client that did not ask for one.
        s.session[b].send_rfq = True
        s.session[b].pc = "top"

    patch(spec, "Resume", Resume)


def c2_ready_reports_idle_status(spec: Spec, cfg: ModelConfig) -> None:
    def StepTop(s: Any, original: Any, c: int, b: int) -> None:
        ses = s.session[b]
        sent = ses.send_rfq & ((ses.cl == "connecting") | (ses.cl == "result"))
        original(s, c=c, b=b)
        # BROKEN: §2.7 step 2 — the status byte of ReadyForQuery is always 'I' (C2).
        ses.cl_xact = X.when(sent, False, ses.cl_xact)

    patch(spec, "StepTop", StepTop)


def c3_cancel_idle_sends_error(spec: Spec, cfg: ModelConfig) -> None:
    def ServiceWakes(s: Any, original: Any, c: int, b: int) -> None:
        ses = s.session[b]
        cancel = X.set_has(ses.mbox, "cancel") & ~X.set_has(ses.mbox, "die") & ~(ses.tmo_armed & ses.tmo_due)
        original(s, c=c, b=b)
        # BROKEN: §3.2 "cancel while idle is a no-op" — the idle client gets an ErrorResponse.
        output(s, b, "error", cancel)

    patch(spec, "ServiceWakes", ServiceWakes)


# ------------------------------------------------------------------ the registry

VARIANTS: list[Variant] = [
    mutation("S1", "attach-without-carrier-check"),
    mutation("S2", "attach-without-carrier-check", only=True, note="S1 is implied to fail whenever S2 fails"),
    broken("S3", "T3, §2.5", s3_detach_stays_in_step, config("pooled", 1, 1)),
    broken("S4", "H5", s4_enqueue_before_detach, config("pooled", 1, 1)),
    mutation("S5", "resume-skipped"),
    mutation("S6", "wake-before-claim"),
    broken("S7", "T3", s7_commit_forgets_committed, config("pooled", 1, 1)),
    broken("S8", "B1 lost entry", _unready_left("none"), config("pooled", 1, 1)),
    mutation("S9", "park-mid-message"),
    broken("S10", "T1 doing_command_read", s10_park_outside_command_read, config("pooled", 1, 1)),
    mutation("S11", "commit-before-unwind"),
    mutation("S12", "latch-set-after-startup"),
    mutation("S13", "attach-without-myproc"),
    broken("S14", "T3 detach, S14", s14_detach_skipped, config("pooled", 1, 1)),
    mutation("S15", "stale-latch-after-migration"),
    mutation("S16", "interrupt-latch-null"),
    broken("S17", "§2.6 step 10", _unready_left("polling"), config("pooled", 1, 1)),
    mutation("S18", "attach-leased-by-other-carrier"),
    broken("S20", "T12", s20_resume_keeps_wake, config("pooled", 1, 1, messages=1)),
    mutation("S24", "notify-inside-transaction"),
    broken("S25", "S25 holdoff", s25_holdoff_not_restored, config("thread-per-session", None, 1, messages=1)),
    broken("S26", "§2.3 BecameIdle", s26_detach_without_became_idle, config("pooled", 1, 1)),
    mutation("S27", "nonatomic-make-runnable", only=True, note="S6 (declared first) implies S27"),
    mutation("S28", "exit-keeps-myproc"),
    mutation("S29", "carrier-exits-with-backend"),
    mutation("S30", "affine-session-migrated"),
    broken("C1", "§2.7 send_ready_for_query", c1_resume_sends_ready_again, config("thread-per-session", None, 1, messages=1)),
    broken("C2", "§2.7 step 2", c2_ready_reports_idle_status, config("process", None, 1, messages=1, commands=("begin",))),
    broken("C3", "§3.2 cancel while idle", c3_cancel_idle_sends_error, config("process", None, 1, cancels=1)),
]

VARIANT_BY_ID = {v.id: v for v in VARIANTS}
