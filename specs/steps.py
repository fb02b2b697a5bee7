"""Rules of scheduler-digest.md about steps, as action properties (who may do what).

Each is `rule(pre, step, post)`: checked on every transition, with `step.name` and
`step.params` the action and its parameters (the carrier `c` that executes it, when it
is a carrier's step). They replace ghosts that some action had to remember to write:
a rule here reads only what the step observably changed, so a bug inside an action
cannot hide from it. `step.writes(kind, field)` limits each rule to the instances the
step may change (statically), which keeps tracing cheap.
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.expr import implies
from pgcheck.checker.lang.spec import Spec
from pgcheck.model.config import ModelConfig

# protocol_park fields (§2.4): written without the lock by exactly one owner at a time.
PARK_FIELDS = ("ps", "wake", "pcar", "hibernated", "deferred", "last_long")


def actor(step: Any) -> int | None:
    """The carrier executing the step (None for the environment's steps)."""
    c = step.get("c")
    return c if isinstance(c, int) else None


def attached_actor(pre: Any, step: Any, i: int) -> X.Expr:
    """The step runs on session i's attached carrier (§1.2)."""
    c = actor(step)
    return X.lift_bool(False) if c is None else (pre.session[i].car == c)


def consumed_byte(pre: Any, post: Any, i: int) -> X.Expr:
    """The step took bytes of a new message off session i's socket (not a close discarding them)."""
    before, after = pre.session[i].inbuf, post.session[i].inbuf
    return ((before == "byte") | (before == "whole")) & ((after == "empty") | (after == "body")) & (post.session[i].cl != "closed")


def add_step_rules(spec: Spec, cfg: ModelConfig) -> None:
    pooled = cfg.mode == "pooled"
    staging = cfg.mode == "thread-per-session"
    poll_steps = bool(cfg.get("poll_steps"))

    @spec.action_property(
        "S19",
        "only the holder marks wakes: T7 is executed by the poller holding the backend POLLING or by the staging "
        "thread of its own committed park" + (" (at the C grain also step 9's re-check of a backend the poller took "
        "at T5: the gap W-recheck-unheld; which generation it may mark is S20's)" if poll_steps else ""),
        "§4 S19, §2.4, T7",
        "session",
    )
    def s19(pre: Any, step: Any, post: Any) -> object:
        c = actor(step)
        rules = []
        for i in step.writes("session", "wake"):
            ses = pre.session[i]
            marks = (post.session[i].wake != ses.wake) & (post.session[i].wake != "none")
            if c is None:
                rules.append(~marks)
                continue
            holder = ((ses.q == "polling") & (ses.poll_owner == c)) | (
                (pre.carrier[c].loc == "stage") & (ses.pcar == c) & (ses.ps == "committed")
            )
            if poll_steps:
                holder = holder | X.fifo_has(pre.carrier[c].taken, i)
            rules.append(implies(marks, holder))
        return X.and_(*rules)

    @spec.action_property(
        "S22",
        "no user-visible timeout while detached: a step that fires (or clears) a due timeout runs on the "
        "backend's attached carrier; detached code only marks TIMEOUT",
        "§4 S22, §2.10",
        "session",
    )
    def s22(pre: Any, step: Any, post: Any) -> object:
        rules = []
        for i in step.writes_any("session", ("tmo_armed", "tmo_due")):
            before, after = pre.session[i], post.session[i]
            fired = before.tmo_armed & before.tmo_due & ~(after.tmo_armed & after.tmo_due)
            rules.append(implies(fired, attached_actor(pre, step, i)))
        return X.and_(*rules)

    @spec.action_property(
        "S23",
        "stale readiness never consumes bytes: a byte is consumed only by the attached backend, with the "
        "transport generation of its probe current",
        "§4 S23, §3.3",
        "session",
    )
    def s23(pre: Any, step: Any, post: Any) -> object:
        rules = []
        for i in step.writes("session", "inbuf"):
            ok = attached_actor(pre, step, i) & ~pre.session[i].tstale
            rules.append(implies(consumed_byte(pre, post, i), ok))
        return X.and_(*rules)

    @spec.action_property(
        "OWN1",
        "protocol_park fields (state, wake, parked_carrier, hibernated, deferred notify, last park) are written "
        "only by their owner: the attached carrier, the poller holding the backend POLLING, or the staging "
        "thread of its own park",
        "§2.4 ownership discipline, T1 T3 T7 T12 T14 T15",
        "session",
    )
    def own1(pre: Any, step: Any, post: Any) -> object:
        c = actor(step)
        rules = []
        for i in step.writes_any("session", PARK_FIELDS):
            changed = X.or_(*(getattr(post.session[i], f) != getattr(pre.session[i], f) for f in PARK_FIELDS))
            if c is None:
                rules.append(~changed)
                continue
            ses = pre.session[i]
            owner = X.or_(
                ses.car == c,
                (ses.q == "polling") & (ses.poll_owner == c),
                (ses.pcar == c) & (ses.ps == "committed") & (pre.carrier[c].loc == "stage"),
            )
            if poll_steps:
                owner = owner | X.fifo_has(pre.carrier[c].taken, i)
            rules.append(implies(changed, owner))
        return X.and_(*rules)

    @spec.action_property(
        "EXIT1",
        "a logical exit runs attached: only the backend's own attached carrier takes it to its end (T13, "
        "PgBackendExit, the exit continuation)",
        "§2.5 step 1 exit, T13",
        "session",
    )
    def exit1(pre: Any, step: Any, post: Any) -> object:
        rules = []
        for i in step.writes("session", "pc"):
            ends = (post.session[i].pc == "gone") & (pre.session[i].pc != "gone")
            rules.append(implies(ends, attached_actor(pre, step, i)))
        return X.and_(*rules)

    @spec.action_property(
        "EXIT2",
        "a carrier leaves a session's step only at a protocol park (committed) or a logical exit",
        "§2.5 'returns to this loop only at a protocol park or logical exit', §2.7",
        "carrier",
    )
    def exit2(pre: Any, step: Any, post: Any) -> object:
        rules = []
        for c in step.writes("carrier", "loc"):
            car = pre.carrier[c]
            leaves = (car.loc == "step") & (post.carrier[c].loc != "step")
            b = car.cur
            done = X.when(X.is_null(b), False, (post.session[b].ps == "committed") | (post.session[b].pc == "gone"))
            rules.append(implies(leaves, X.not_null(b) & done))
        return X.and_(*rules)

    if staging:

        @spec.action_property(
            "STAGE1",
            "a thread-per-session backend resumes on its own thread: only its own staging thread re-attaches it (T11 same-carrier resume)",
            "§2.8 PgSessionStagingWaitProtocolRead, T11",
            "session",
        )
        def stage1(pre: Any, step: Any, post: Any) -> object:
            rules = []
            for i in step.writes("session", "car"):
                attaches = X.is_null(pre.session[i].car) & X.not_null(post.session[i].car)
                rules.append(implies(attaches, post.session[i].car == i))  # carrier i is session i's own thread
            return X.and_(*rules)

    if pooled:

        @spec.action_property(
            "LEASE1",
            "a backend is attached only by the carrier that leased it (T10) or that dequeued its logical start (§2.5 step 2)",
            "T9 T10, §2.5 steps 1-2, §4 S18",
            "session",
        )
        def lease1(pre: Any, step: Any, post: Any) -> object:
            c = actor(step)
            rules = []
            for i in step.writes("session", "car"):
                attaches = X.is_null(pre.session[i].car) & X.not_null(post.session[i].car)
                if c is None:
                    rules.append(~attaches)
                    continue
                leased = (pre.session[i].q == "leased") & (pre.session[i].lease_owner == c)
                started = (pre.session[i].pc == "new") & X.fifo_has(pre.sched.newconn, i)
                rules.append(implies(attaches, (leased | started) & (post.session[i].car == c)))
            return X.and_(*rules)

        @spec.action_property(
            "ORD1",
            "no overtaking in the runnable queue: every step keeps the order of the backends it leaves queued, "
            "pushes newcomers at the tail (T8), and a carrier's lease (T9) pops the head" + (" of the backends it may lease (S30)" if cfg.get("affinity_enforced") else ""),
            "T8 push tail, T9 pop head (FIFO), §5 L3",
            "session",
        )
        def ord1(pre: Any, step: Any, post: Any) -> object:
            if not step.writes("sched", "runnable"):
                return True
            before, after = pre.sched.runnable, post.sched.runnable
            rules = [_same_order(before, after)]
            c = actor(step)
            if c is not None:
                affinity = bool(cfg.get("affinity_enforced"))
                mine = X.fifo_filter(before, lambda x: pre.session[x].pcar == c) if affinity else before
                for i in pre.session.ids():
                    popped = X.fifo_has(before, i) & ~X.fifo_has(after, i) & (post.session[i].q == "leased")
                    by_loop = pre.carrier[c].loc == "loop"
                    # With affinity, leasing another carrier's affine backend at all is S30's rule.
                    eligible = (pre.session[i].pcar == c) if affinity else X.lift_bool(True)
                    rules.append(implies(popped & by_loop & eligible, ~X.is_empty(mine) & (X.fifo_head(mine) == i)))
            return X.and_(*rules)

        @spec.action_property(
            "ORD2",
            "no overtaking in the new-connection queue: logical starts are queued at the tail and dequeued in "
            "arrival order, from the head",
            "§2.5 step 2 pooled_protocol_queue",
            "session",
        )
        def ord2(pre: Any, step: Any, post: Any) -> object:
            if not step.writes("sched", "newconn"):
                return True
            before, after = pre.sched.newconn, post.sched.newconn
            rules = [_same_order(before, after)]
            for i in pre.session.ids():
                left = X.fifo_has(before, i) & ~X.fifo_has(after, i)
                rules.append(implies(left, ~X.is_empty(before) & (X.fifo_head(before) == i)))
            return X.and_(*rules)


def _same_order(before: X.Expr, after: X.Expr) -> X.Expr:
    """FIFO discipline across one step: the backends still queued keep their relative order,
    and every backend that joined the queue stands behind all of them (pushed at the tail)."""
    kept = X.fifo_filter(after, lambda x: X.fifo_has(before, x))
    joined = X.fifo_filter(after, lambda x: ~X.fifo_has(before, x))
    return (kept == X.fifo_filter(before, lambda x: X.fifo_has(after, x))) & (after == X.fifo_concat(kept, joined))
