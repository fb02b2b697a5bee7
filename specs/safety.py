"""Safety invariants of scheduler-digest.md §4 (S1-S30) and client-visible safety (C1-C3).

Each is a state predicate over the model of `model/`; ghost fields (marked "ghost" in
model/state.py) record the events an action-level rule speaks of, so the rule becomes
a state predicate (a history variable, as in TLA+). `NOT_APPLICABLE` lists the digest's
invariants the modeled shapes cannot express, and why.
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.expr import all_of, count_of, implies
from pgcheck.checker.lang.spec import Spec
from pgcheck.model.config import ModelConfig
from pgcheck.model.vocabulary import POLL_LOCS, STEP_FRAME

NOT_APPLICABLE: dict[str, str] = {
    "S19": "structural: only the poller holding POLLING (PollPass) and the staging thread of its own park "
    "(StagingWake) write wake reasons; tests/test_model_structure.py checks this on the traced IR",
    "S21": "generations are abstracted to current/stale flags (tstale, tmstale), so there is no counter "
    "to be monotone; wake acceptance is checked by S20",
    "S31": "fiber parks of the downstream fork (libxtc) are not a modeled runtime shape",
    "S32": "interrupt holdoff during error unwind (critical sections) is below the model's grain",
    "S33": "PMChild slot reaping of fiber workers is not modeled",
}


def _s(s: Any, b: int) -> Any:
    return s.session[b]


def add_safety(spec: Spec, cfg: ModelConfig) -> None:
    # Quantifiers range over s.session.ids() / s.carrier.ids(), so the all-sizes tracer
    # (checker/symbolic/allsizes/trace.py) reads them as quantifiers; C is only for S13's ordered pairs.
    C = list(range(cfg.carriers))
    pooled = cfg.mode == "pooled"
    spec.meta["invariants_not_applicable"] = dict(NOT_APPLICABLE)  # so --invariant S19 can say why

    @spec.invariant("S1", "attachment is a partial bijection: car(b) = c iff cur(c) = b, and ecar(b) = car(b)", "§4 S1, §1.2", "session")
    def s1(s: Any) -> object:
        return X.and_(
            all_of(s.session.ids(), lambda b: all_of(s.carrier.ids(), lambda c: (_s(s, b).car == c) == (s.carrier[c].cur == b))),
            all_of(s.session.ids(), lambda b: _s(s, b).ecar == _s(s, b).car),
        )

    @spec.invariant("S2", "no two carriers are attached to one backend", "§4 S2, H1", "session")
    def s2(s: Any) -> object:
        return all_of(s.session.ids(), lambda b: count_of(s.carrier.ids(), lambda c: s.carrier[c].cur == b) <= 1)

    @spec.invariant("S3", "a carrier inside a step runs exactly the backend its Current* names", "§4 S3", "carrier")
    def s3(s: Any) -> object:
        return all_of(
            s.carrier.ids(),
            lambda c: implies(
                s.carrier[c].loc == "step",
                X.not_null(s.carrier[c].cur) & (s.session[s.carrier[c].cur].car == c),
            ),
        )

    @spec.invariant("S4", "a backend in a scheduler queue (parked, polling, runnable) is never attached", "§4 S4", "session")
    def s4(s: Any) -> object:
        def ok(b: int) -> X.Expr:
            q = _s(s, b).q
            return implies((q == "parked") | (q == "polling") | (q == "runnable"), X.is_null(_s(s, b).car) & X.is_null(_s(s, b).ecar))

        return all_of(s.session.ids(), ok)

    @spec.invariant("S5", "queued implies committed: q != NONE => ps = COMMITTED", "§4 S5", "session")
    def s5(s: Any) -> object:
        return all_of(s.session.ids(), lambda b: implies(_s(s, b).q != "none", _s(s, b).ps == "committed"))

    @spec.invariant("S6", "list and queue state agree: b in P iff q = PARKED, b in R iff q = RUNNABLE, no duplicates, counters = lengths", "§4 S6, B1, B14", "session")
    def s6(s: Any) -> object:
        P, R = s.sched.parked, s.sched.runnable
        return X.and_(
            all_of(s.session.ids(), lambda b: X.fifo_has(P, b) == (_s(s, b).q == "parked")),
            all_of(s.session.ids(), lambda b: X.fifo_has(R, b) == (_s(s, b).q == "runnable")),
            all_of(s.session.ids(), lambda b: X.fifo_len(X.fifo_filter(X.fifo_concat(P, R), lambda x: x == b)) <= 1),
            s.sched.parked_count == X.fifo_len(P),
            s.sched.runnable_count == X.fifo_len(R),
        )

    @spec.invariant("S7", "prepared only while attached, not queued, and inside the step", "§4 S7, T1", "session")
    def s7(s: Any) -> object:
        def ok(b: int) -> X.Expr:
            ses = _s(s, b)
            return implies(
                ses.ps == "prepared",
                X.not_null(ses.car) & (ses.q == "none") & (s.carrier[ses.car].loc == "step"),
            )

        return all_of(s.session.ids(), ok)

    @spec.invariant("S8", "committed but unqueued only in the commit window or during exit", "§4 S8, T3-T4", "session")
    def s8(s: Any) -> object:
        def ok(b: int) -> X.Expr:
            ses = _s(s, b)
            window = (ses.pc == "committed") | (ses.pc == "detached") | (ses.pc == "exit")
            return implies((ses.ps == "committed") & (ses.q == "none"), window)

        return all_of(s.session.ids(), ok)

    @spec.invariant("S9", "no park mid-message (no carrier swap mid-message): a consumed type byte pins the backend to the carrier that read it until the message is done", "§4 S9", "session")
    def s9(s: Any) -> object:
        def ok(b: int) -> X.Expr:
            ses = _s(s, b)
            mid = X.not_null(ses.byte_car)
            parked = (ses.ps == "prepared") | (ses.ps == "committed")
            return X.and_(
                implies(parked, ~mid & (ses.pc != "body")),
                implies(mid, (ses.car == ses.byte_car) & (ses.ps == "none") & (ses.q == "none")),
            )

        return all_of(s.session.ids(), ok)

    @spec.invariant("S10", "a park is prepared only at the command read (doing_command_read, no message in progress)", "§4 S10, T1", "session")
    def s10(s: Any) -> object:
        return all_of(s.session.ids(), lambda b: implies(_s(s, b).ps == "prepared", _s(s, b).dcr & X.is_null(_s(s, b).byte_car)))

    @spec.invariant("S11", "a detached backend has no live C stack: commit only after the step frame unwound", "§4 S11, T2-T3", "session")
    def s11(s: Any) -> object:
        def ok(b: int) -> X.Expr:
            ses = _s(s, b)
            in_frame = X.or_(*(ses.pc == p for p in STEP_FRAME))
            return X.and_(
                implies(X.is_null(ses.car), ~ses.frame & ~in_frame),
                implies(ses.ps == "committed", ~ses.frame),
            )

        return all_of(s.session.ids(), ok)

    @spec.invariant("S12", "deep waits stay carrier-pinned: an unfinished deep wait => attached, ps = NONE, q = NONE", "§4 S12, B7", "session")
    def s12(s: Any) -> object:
        def ok(b: int) -> X.Expr:
            ses = _s(s, b)
            return implies(ses.sleep_pending, X.not_null(ses.car) & (ses.ps == "none") & (ses.q == "none") & (ses.pc == "deep_wait"))

        return all_of(s.session.ids(), ok)

    @spec.invariant("S13", "MyProc is bound to exactly one logical backend: the attached one in a step, none in the scheduler loop", "§4 S13", "carrier")
    def s13(s: Any) -> object:
        def ok(c: int) -> X.Expr:
            car = s.carrier[c]
            in_step = car.loc == "step"
            loop = X.or_(*(car.loc == loc for loc in ("loop", *POLL_LOCS, "leasing", "stage")))
            return X.and_(implies(in_step, car.proc == car.cur), implies(loop, X.is_null(car.proc)))

        distinct = all_of(
            s.carrier.ids(),
            lambda c: all_of(
                [d for d in C if d > c],
                lambda d: implies(X.not_null(s.carrier[c].proc), s.carrier[c].proc != s.carrier[d].proc),
            ),
        )
        return all_of(s.carrier.ids(), ok) & distinct

    @spec.invariant("S14", "scheduler code never runs with a backend current", "§4 S14", "carrier")
    def s14(s: Any) -> object:
        def ok(c: int) -> X.Expr:
            car = s.carrier[c]
            sched = X.or_(*(car.loc == loc for loc in ("off", "loop", "leasing", *POLL_LOCS, "stage", "stage_woken", "dead", "commit")))
            return implies(sched, X.is_null(car.cur))

        return all_of(s.carrier.ids(), ok)

    @spec.invariant("S15", "the latch of an attached backend is owned by its carrier's thread", "§4 S15, B2", "session")
    def s15(s: Any) -> object:
        return all_of(s.session.ids(), lambda b: implies(X.not_null(_s(s, b).car), _s(s, b).latch == _s(s, b).car))

    @spec.invariant("S16", "a published backend's interrupt latch is never NULL", "§4 S16, B5", "session")
    def s16(s: Any) -> object:
        return all_of(s.session.ids(), lambda b: implies((_s(s, b).pc != "new") & (_s(s, b).pc != "gone"), X.not_null(_s(s, b).latch)))

    @spec.invariant("S17", "POLLING has a single owner, a carrier in its poll pass holding it in its batch", "§4 S17", "session")
    def s17(s: Any) -> object:
        def ok(b: int) -> X.Expr:
            ses = _s(s, b)
            owner = ses.poll_owner
            in_call = X.or_(*(s.carrier[owner].loc == loc for loc in POLL_LOCS))
            held = X.not_null(owner) & in_call & X.fifo_has(s.carrier[owner].batch, b)
            return implies(ses.q == "polling", held)

        batches_polling = all_of(
            s.carrier.ids(),
            lambda c: all_of(s.session.ids(), lambda b: implies(X.fifo_has(s.carrier[c].batch, b), (_s(s, b).q == "polling") & (_s(s, b).poll_owner == c))),
        )
        return all_of(s.session.ids(), ok) & batches_polling

    @spec.invariant("S18", "LEASED has a single owner: car(b) is none or the lease owner", "§4 S18, T9-T11", "session")
    def s18(s: Any) -> object:
        def ok(b: int) -> X.Expr:
            ses = _s(s, b)
            owner = ses.lease_owner
            return implies(
                ses.q == "leased",
                X.not_null(owner) & (X.is_null(ses.car) | (ses.car == owner)),
            )

        return all_of(s.session.ids(), ok)

    @spec.invariant("S20", "an accepted wake belongs to the current committed park (ps = COMMITTED; with poll_steps, its current generation)", "§4 S20, T7", "session")
    def s20(s: Any) -> object:
        committed = all_of(s.session.ids(), lambda b: implies(_s(s, b).wake != "none", _s(s, b).ps == "committed"))
        if not cfg.get("poll_steps"):
            return committed
        # §3.4: a wake for generation g is ignored once b has re-parked with a newer one.
        return committed & all_of(s.session.ids(), lambda b: ~_s(s, b).stale_wake)

    @spec.invariant("S22", "no user-visible timeout while detached: a timeout handler runs only attached", "§4 S22, §2.10", "session")
    def s22(s: Any) -> object:
        return all_of(s.session.ids(), lambda b: ~_s(s, b).handler_detached)

    @spec.invariant("S23", "stale transport readiness never consumes bytes", "§4 S23, §3.3", "session")
    def s23(s: Any) -> object:
        return all_of(s.session.ids(), lambda b: ~_s(s, b).stale_read)

    @spec.invariant("S24", "a NotificationResponse is sent only outside a transaction block", "§4 S24, §3.4", "session")
    def s24(s: Any) -> object:
        return all_of(s.session.ids(), lambda b: ~_s(s, b).notified_in_xact)

    @spec.invariant("S25", "query-cancel holdoff is balanced at park", "§4 S25", "session")
    def s25(s: Any) -> object:
        return all_of(s.session.ids(), lambda b: implies(_s(s, b).ps != "none", _s(s, b).holdoff == 0))

    @spec.invariant("S26", "carrier accounting: registered = idle + active, idle flags match counts, registered <= limit", "§4 S26, §2.3", "carrier")
    def s26(s: Any) -> object:
        sc = s.sched
        return X.and_(
            sc.registered == sc.idle_count + sc.active_count,
            sc.registered == count_of(s.carrier.ids(), lambda c: s.carrier[c].reg),
            sc.idle_count == count_of(s.carrier.ids(), lambda c: s.carrier[c].reg & s.carrier[c].idle),
            all_of(s.carrier.ids(), lambda c: implies(s.carrier[c].reg, s.carrier[c].idle == X.is_null(s.carrier[c].cur))),
            sc.registered <= cfg.carriers,
        )

    @spec.invariant("S27", "a backend is never enqueued twice on the runnable queue", "§4 S27, B14", "session")
    def s27(s: Any) -> object:
        R = s.sched.runnable
        return all_of(s.session.ids(), lambda b: X.fifo_len(X.fifo_filter(R, lambda x: x == b)) <= 1)

    @spec.invariant("S28", "after a logical exit nothing references the backend: no queue, no carrier, no MyProc", "§4 S28, T13", "session")
    def s28(s: Any) -> object:
        def ok(b: int) -> X.Expr:
            ses = _s(s, b)
            clean = X.and_(
                ses.q == "none",
                X.is_null(ses.car),
                ~X.fifo_has(s.sched.parked, b),
                ~X.fifo_has(s.sched.runnable, b),
                all_of(s.carrier.ids(), lambda c: (s.carrier[c].cur != b) & (s.carrier[c].proc != b) & ~X.fifo_has(s.carrier[c].batch, b)),
            )
            return implies(ses.pc == "gone", clean)

        return all_of(s.session.ids(), ok)

    if pooled:

        @spec.invariant("S29", "a pooled carrier survives a logical exit (only a dead postmaster ends carriers)", "§4 S29, H4", "carrier")
        def s29(s: Any) -> object:
            return all_of(s.carrier.ids(), lambda c: implies(s.carrier[c].loc == "dead", ~s.env.pm_alive))

    if cfg.get("affinity_enforced"):

        @spec.invariant("S30", "with affinity enforced an affine backend is leased only by its parked carrier", "§4 S30, §2.11", "session")
        def s30(s: Any) -> object:
            # pcar stays set until T12, so a LEASED backend still names its home carrier.
            return all_of(s.session.ids(), lambda b: implies(_s(s, b).q == "leased", _s(s, b).lease_owner == _s(s, b).pcar))

    @spec.invariant("C1", "each client receives only responses to its own requests, in request order", "§7, ARCHITECTURE Decision 5", "session")
    def c1(s: Any) -> object:
        return all_of(s.session.ids(), lambda b: ~_s(s, b).cl_bad)

    @spec.invariant("C2", "the transaction status a client last saw is the backend's while it is idle", "§2.7 step 2 ReadyForQuery", "session")
    def c2(s: Any) -> object:
        def ok(b: int) -> X.Expr:
            ses = _s(s, b)
            waiting = (ses.cl == "idle") & (ses.pc != "gone") & (ses.pc != "exit")
            return implies(waiting & ~ses.send_rfq, ses.cl_xact == ses.in_xact)

        return all_of(s.session.ids(), ok)

    @spec.invariant("C3", "cancelling an idle session never breaks protocol synchronization (no ErrorResponse to an idle client)", "§3.2 cancel while idle is a no-op", "session")
    def c3(s: Any) -> object:
        return all_of(s.session.ids(), lambda b: ~_s(s, b).cl_desync)
