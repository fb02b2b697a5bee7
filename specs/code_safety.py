"""Safety properties of the code model (model/code/): the rules the C code must keep, as the
design states them, where the design model's own statement (specs/safety.py) speaks of a
construct the code does not have.

Ghost fields written by the code model's own actions (model/code/state.py) record the events
a rule about steps speaks of, so the rule is a state predicate.
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.expr import all_of, implies
from pgcheck.checker.lang.spec import KindDecl, Spec
from pgcheck.checker.lang.types import Fifo, Ref, Set
from pgcheck.model.code.vocabulary import CODE_POLL_LOCS
from pgcheck.model.config import ModelConfig

# Design invariants the code model states differently (docs/code-map.md says why).
REPLACED = {
    "S5": "S5c: T12 writes the park state before the queue state, without the lock",
    "S17": "S17c: the poller's batch is a raw pointer array (scratch), not a set of held backends",
    "S20": "S19 and K1: T7 passes the backend's current generation, so the design's generation check has no counterpart",
    "S16": "S16c: a slot no client has connected to yet (absent) holds no published backend",
    "S29": "S26c: a carrier can end with FATAL outside a session (carrier_death), never at a logical exit",
}


def untouched(s: Any, kinds: dict[str, KindDecl], kind: str, i: int) -> X.Expr:
    """Instance i of kind as no step has touched it: every field at its type's default, and no
    field of any kind names it (reference, FIFO item or set member)."""
    own = getattr(s, kind)[i]
    parts: list[object] = []
    for name, ty in kinds[kind].fields.items():
        v = getattr(own, name)
        parts.append(X.fifo_len(v) == 0 if isinstance(ty, Fifo) else X.is_empty(v) if isinstance(ty, Set) else v == X.const(ty.default(), ty))
    for k in kinds.values():
        for name, ty in k.fields.items():
            views = [getattr(s, k.name)] if k.count is None else [getattr(s, k.name)[j] for j in k.instances]
            for view in views:
                v = getattr(view, name)
                if isinstance(ty, Ref) and ty.kind == kind:
                    parts.append(v != i)
                elif isinstance(ty, Fifo) and ty.kind == kind:
                    parts.append(~X.fifo_has(v, i))
                elif isinstance(ty, Set) and ty.of == kind:
                    parts.append(~X.set_has(v, i))
    return X.and_(*parts)


def add_code_safety(spec: Spec, cfg: ModelConfig) -> None:
    spec.properties = [p for p in spec.properties if p.id not in REPLACED]

    if cfg.mode == "pooled":

        @spec.invariant(
            "K2",
            "a carrier not yet started is untouched: its fields hold their initial values and nothing names it "
            "(so which of the unstarted carriers a connection starts does not matter: carrier symmetry)",
            "backend_pooled_protocol_start_one_carrier, pg_thread_create",
            "carrier",
        )
        def k2(s: Any) -> object:
            return all_of(s.carrier.ids(), lambda c: implies(s.carrier[c].loc == "off", untouched(s, spec.kinds, "carrier", c)))

    @spec.invariant(
        "K1",
        "backend lifetime: no carrier dereferences a pointer to a released or reused backend",
        "§1.2 lifetime, T13, WaitParkedReads scratch, backend_pooled_logical_start_release",
        "carrier",
    )
    def k1(s: Any) -> object:
        return all_of(s.carrier.ids(), lambda c: ~s.carrier[c].uaf)

    @spec.invariant(
        "S19",
        "only the holder writes a backend's wake fields (the poller holding it POLLING, or its lessee)",
        "§4 S19, §2.4 ownership, T7",
        "session",
    )
    def s19(s: Any) -> object:
        return all_of(s.session.ids(), lambda b: ~s.session[b].wake_unowned)

    @spec.invariant(
        "S17c",
        "POLLING has a single owner: a carrier inside its poll call with the backend in its scratch array, "
        "and no other carrier moves it out of POLLING",
        "§4 S17, §2.4, T6, T8",
        "session",
    )
    def s17c(s: Any) -> object:
        def ok(b: int) -> X.Expr:
            ses = s.session[b]
            owner = ses.poll_owner
            in_call = X.or_(*(s.carrier[owner].loc == loc for loc in CODE_POLL_LOCS))
            held = X.not_null(owner) & in_call & X.fifo_has(s.carrier[owner].scratch, b)
            return implies(ses.q == "polling", held) & ~ses.queue_unowned

        return all_of(s.session.ids(), ok)

    @spec.invariant("S16c", "a published backend's interrupt latch is never NULL", "§4 S16, B5", "session")
    def s16c(s: Any) -> object:
        def ok(b: int) -> X.Expr:
            pc = s.session[b].pc
            return implies((pc != "new") & (pc != "gone") & (pc != "absent"), X.not_null(s.session[b].latch))

        return all_of(s.session.ids(), ok)

    @spec.invariant(
        "S5c",
        "a queued backend (parked, polling, runnable) is committed; a leased one is committed or its lessee is inside T12",
        "§4 S5, T12 PgBackendResumeProtocolReadPark",
        "session",
    )
    def s5c(s: Any) -> object:
        def ok(b: int) -> X.Expr:
            ses = s.session[b]
            q = ses.q
            queued = (q == "parked") | (q == "polling") | (q == "runnable")
            return X.and_(
                implies(queued, ses.ps == "committed"),
                implies(q == "leased", (ses.ps == "committed") | (ses.pc == "resume_queue")),
            )

        return all_of(s.session.ids(), ok)

    if cfg.mode == "pooled":

        @spec.invariant(
            "S26c",
            "carriers accounted for: a registered carrier is alive (a carrier that ends leaves the scheduler's counts)",
            "§4 S26, §2.3 Register/Unregister, backend_thread_exit",
            "carrier",
        )
        def s26c(s: Any) -> object:
            return all_of(s.carrier.ids(), lambda c: implies(s.carrier[c].reg, s.carrier[c].loc != "dead"))

    if cfg.mode == "pooled" and cfg.carriers >= 3 and cfg.sessions >= 2:

        @spec.witness(
            "W-queued-below-limit",
            "every client has connected, a connection waits in the queue, and fewer carriers than the limit were "
            "ever started: only an arrival starts a carrier, so none ever will (C7)",
            "postmaster_pooled_protocol_launch, backend_pooled_protocol_maybe_start_carrier_for_work",
            "session",
        )
        def w_queued_below_limit(s: Any) -> object:
            arrived = all_of(s.session.ids(), lambda b: s.session[b].pc != "absent")
            started = X.count_of(s.carrier.ids(), lambda c: s.carrier[c].loc != "off")
            return arrived & ~X.is_empty(s.sched.newconn) & (started < cfg.carriers)
