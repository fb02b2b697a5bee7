"""Inductive invariants: Init ⇒ Inv and Inv ∧ Next ⇒ Inv' for one configuration.

The candidates are the selected invariants plus strengthening lemmas. Their conjunction
H is checked: every candidate must hold initially, and after any step from any state
satisfying H (with every slot in its type's range) — a state need not be reachable.
A candidate that fails is dropped with its counterexample to induction (CTI), and the
rest are checked again without it (Houdini): what is left at the end is inductive as a
whole, so those candidates are proven; the dropped ones are not, and say why. A Z3
`unknown` or a time limit stops the pruning, and every candidate still standing is
reported as not proven.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import z3
from pgcheck.checker.errors import ModelError
from pgcheck.checker.explicit.explore import Step
from pgcheck.checker.explicit.symmetry_check import check_symmetric
from pgcheck.checker.lang.expr import Expr, lift_bool
from pgcheck.checker.lang.interpret import evaluate
from pgcheck.checker.lang.spec import Binding, Property, TracedModel
from pgcheck.checker.lang.types import Fifo
from pgcheck.checker.symbolic import terms as T
from pgcheck.checker.symbolic.encode import Encoder, State
from pgcheck.checker.symbolic.orbits import Orbits
from pgcheck.checker.symbolic.representatives import conjuncts, reads, representatives


@dataclass
class Candidate:
    prop: Property
    expr: Expr
    lemma: bool = False


# The goal of the order FIFO encoding: a step puts no duplicate into a FIFO. Asked like a
# candidate, never assumed through a flag (pre-states are duplicate-free by construction),
# never reported.
WF = Candidate(Property("WF", "encoding", "no FIFO holds a duplicate", "checker/symbolic/fifo_order.py", lambda s: True),
               lift_bool(True))


@dataclass
class Verdict:
    id: str
    lemma: bool
    status: str  # "proven" | "cti" | "initial" | "unknown" | "timeout"
    reason: str = ""
    cti: list[Step] = field(default_factory=list)  # two states and the breaking binding


@dataclass
class ProveResult:
    verdicts: list[Verdict]
    model_errors: list[str]  # run-time checks an enabled action may fail in an H-state
    rounds: int
    elapsed: float
    checked_bindings: int = 0  # representative bindings asked about (checker/symbolic/representatives.py)

    def by_id(self) -> dict[str, Verdict]:
        return {v.id: v for v in self.verdicts}


@dataclass
class ProveProgress:
    round: int
    what: str
    elapsed: float


def prove(
    model: TracedModel,
    candidates: list[Candidate],
    *,
    time_limit: float | None = None,
    on_progress: Callable[[ProveProgress], None] | None = None,
    symmetric: bool = True,
    query_limit: float | None = None,
    fifos: str = "slots",
) -> ProveResult:
    """Houdini over the candidates, one query per representative binding (checker/symbolic/representatives.py).

    `query_limit` caps one question to Z3; a question over several candidates that hits it
    is split in halves, and a single candidate that hits it is reported `unknown` and
    leaves the hypotheses (sound: the others are then proven without it).

    `fifos` is the FIFO encoding (checker/symbolic/encode.py). With "order" every pre-state is
    duplicate-free, so each step is also asked to create no duplicate in a FIFO it writes
    (the goal `WF`); a step that may, and breaks no candidate, stops the proof: nothing is proven.
    """
    t0 = time.monotonic()
    enc = Encoder(model, fifos)
    s = enc.state("pre")
    reps = representatives(model, symmetric)

    def note(r: int, what: str) -> None:
        if on_progress:
            on_progress(ProveProgress(r, what, time.monotonic() - t0))

    def left() -> float | None:
        return None if time_limit is None else time_limit - (time.monotonic() - t0)

    verdicts: dict[str, Verdict] = {}
    fifo_slots = [i for i, info in enumerate(model.slots) if isinstance(info.ty, Fifo)]
    if enc.order:
        dup = [model.slots[i].label for i in fifo_slots if len(set(model.init[i])) < len(model.init[i])]
        if dup:
            raise ModelError(f"the order FIFO encoding needs duplicate-free initial FIFOs: {', '.join(dup)}")
    # Init ⇒ P: the initial state is one concrete state, so P is simply evaluated there.
    note(0, "initial state")
    alive: list[Candidate] = []
    for c in candidates:
        try:
            holds = bool(evaluate(c.expr, model.init))
            why = "false in the initial state"
        except ModelError as e:
            holds, why = False, f"cannot be evaluated in the initial state: {e}"
        if holds:
            alive.append(c)
        else:
            verdicts[c.prop.id] = Verdict(c.prop.id, c.lemma, "initial", why)

    note(0, f"encoding {len(alive)} candidates; {len(reps)} of {len(model.bindings)} action bindings to check")
    base: list[z3.BoolRef] = [enc.domain(s)]
    memo: dict[int, frozenset[int]] = {}
    parts: dict[str, list[tuple[Expr, frozenset[int], z3.BoolRef]]] = {}
    flags: dict[str, z3.BoolRef] = {}
    for c in alive:
        parts[c.prop.id] = [(x, reads(x, memo), enc.pred(x, s)) for x in conjuncts(c.expr)]
        flags[c.prop.id] = z3.Bool(f"assume {c.prop.id}")
        base.append(z3.Implies(flags[c.prop.id], T.and_([p for *_, p in parts[c.prop.id]])))

    def fresh(timeout: float | None) -> z3.Solver:
        # A solver per question: in one incremental solver the bit-blasted post-states of
        # earlier bindings stay and slow every later question down.
        solver = z3.SolverFor("QF_BV")
        solver.add(*base)
        if timeout is not None:
            solver.set("timeout", max(1, int(timeout * 1000)))
        return solver

    posts: dict[int, State] = {}
    orbits = Orbits(model) if symmetric and model.symmetry else None
    if orbits is not None:
        check_symmetric(model)
    wf = [WF] if enc.order else []

    def post_state(b: Binding) -> State:
        t = posts.get(b.index)
        if t is None:
            t = list(s)
            for i, u in b.updates.items():
                t[i] = enc.expr(u, s)
            posts[b.index] = t
        return t

    def changed(b: Binding, c: Candidate) -> list[z3.BoolRef]:
        """c's conjuncts after b that may differ from before (their terms are hash-consed)."""
        written = b.updates.keys()
        t = post_state(b)
        if c is WF:
            # Order encoding: no FIFO b writes gets a duplicate (pre-states have none).
            dups = [enc.has_dup(t[i]) for i in fifo_slots if i in written]
            return [T.not_(d) for d in dups if not T.is_false(d)]
        out: list[tuple[Expr, z3.BoolRef]] = []
        for x, rd, pre in parts[c.prop.id]:
            if rd.isdisjoint(written):
                continue
            post = enc.pred(x, t)
            if post.eq(pre):
                continue
            out.append((x, post))
        if orbits is None:
            return [post for _, post in out]
        # One conjunct per orbit of the instances b leaves unfixed (checker/symbolic/orbits.py).
        return [out[k][1] for k in orbits.representatives(b, [x for x, _ in out])]

    def ask(b: Binding, cands: list[Candidate]) -> tuple[str, z3.ModelRef | None, dict[str, list[z3.BoolRef]]]:
        goals = {c.prop.id: changed(b, c) for c in cands}
        goals = {k: v for k, v in goals.items() if v}
        if not goals:
            return "unsat", None, goals
        budget = left()
        if budget is not None and budget <= 0:
            return "timeout", None, goals
        capped = query_limit is not None and (budget is None or query_limit < budget)
        if capped:
            budget = query_limit
        bad = T.and_([enc.guard(b, s), T.or_([T.not_(p) for ps in goals.values() for p in ps])])
        # Each question in its own scope: earlier bindings' post-states would only slow the solver.
        solver = fresh(budget)
        solver.add(bad)
        res = solver.check(*[flags[c.prop.id] for c in alive])
        m = solver.model() if res == z3.sat else None
        why = solver.reason_unknown() if res == z3.unknown else ""
        if res == z3.unsat:
            return "unsat", None, goals
        if m is not None:
            return "sat", m, goals
        if "timeout" in why or "canceled" in why:
            return ("unknown (Z3 timeout of one question)" if capped else "timeout"), None, goals
        return f"unknown ({why})", None, goals

    rounds = 0
    stopped = ""
    at = "the start"
    dropped = True
    while alive and dropped and not stopped:
        rounds += 1
        dropped = False
        for n, b in enumerate(reps, 1):
            if not alive:
                break
            at = f"{b.label} ({n}/{len(reps)})"
            note(rounds, f"{at}: {len(alive)} candidates")
            res, m, goals = ask(b, [*alive, *wf])
            if res == "unsat":
                continue
            if res == "timeout":
                stopped = "timeout"
                break
            if m is None:
                # Z3 gave up on the joint question: ask about halves, down to single candidates;
                # a candidate Z3 cannot decide leaves the hypotheses (sound: fewer assumptions).
                todo = [[c for c in [*alive, *wf] if c.prop.id in goals]]
                while todo and not stopped:
                    group = [c for c in todo.pop() if c in alive or c in wf]
                    if not group:
                        continue
                    note(rounds, f"{at}: Z3 did not settle {len(goals)} candidates at once; asking {len(group)}")
                    r1, m1, g1 = ask(b, group)
                    if r1 == "timeout":
                        stopped = "timeout"
                    elif r1 == "sat" and m1 is not None:
                        bad = [c for c in group if c.prop.id in g1
                               and any(z3.is_false(m1.eval(p, model_completion=True)) for p in g1[c.prop.id])]
                        if wf and bad == wf:
                            stopped = _void(alive, verdicts, "cti", b)
                            break
                        twice = bool(wf) and wf[0] in bad
                        bad = [c for c in bad if c not in wf]
                        _drop(model, enc, s, post_state(b), b, m1, bad, verdicts, twice)
                        for c in bad:
                            alive.remove(c)
                            note(rounds, f"{c.prop.id}: CTI by {b.label}")
                        dropped = True
                        todo.append([c for c in group if c not in bad])
                    elif r1.startswith("unknown") and wf and group == wf:
                        stopped = _void(alive, verdicts, "unknown", b)
                    elif r1.startswith("unknown") and len(group) == 1:
                        c = group[0]
                        verdicts[c.prop.id] = Verdict(c.prop.id, c.lemma, "unknown", f"{r1} for {b.label}")
                        alive.remove(c)
                        dropped = True
                        note(rounds, f"{c.prop.id}: Z3 {r1} for {b.label}")
                    elif r1.startswith("unknown"):
                        todo += [group[: len(group) // 2], group[len(group) // 2:]]
                if stopped:
                    break
                continue
            failing = [c for c in alive if c.prop.id in goals
                       and any(z3.is_false(m.eval(p, model_completion=True)) for p in goals[c.prop.id])]
            if wf and not failing:  # only WF is false: a duplicate no candidate excludes
                stopped = _void(alive, verdicts, "cti", b)
                break
            twice = any(z3.is_false(m.eval(p, model_completion=True)) for p in goals.get(WF.prop.id, []))
            _drop(model, enc, s, post_state(b), b, m, failing, verdicts, twice)
            for c in failing:
                note(rounds, f"{c.prop.id}: CTI by {b.label}")
            alive = [c for c in alive if c not in failing]
            dropped = True

    for c in alive:
        if c.prop.id in verdicts:  # voided
            continue
        if stopped:
            verdicts[c.prop.id] = Verdict(c.prop.id, c.lemma, "timeout", f"time limit reached in round {rounds} at {at}")
        else:
            verdicts[c.prop.id] = Verdict(c.prop.id, c.lemma, "proven")
    errors: list[str] = []
    if alive and stopped != "timeout" and not any(c.prop.id in verdicts for c in alive):
        note(rounds, "run-time checks")
        for b in reps:
            for cond, msg in b.asserts:
                bad = T.and_([enc.guard(b, s), T.not_(enc.pred(cond, s))])
                budget = left()
                if T.is_false(bad) or (budget is not None and budget <= 0):
                    continue
                solver = fresh(budget)
                solver.add(bad)
                if solver.check(*[flags[c.prop.id] for c in alive]) != z3.unsat:
                    errors.append(f"action {b.label}: {msg}")
    ordered = [verdicts[c.prop.id] for c in candidates]
    return ProveResult(ordered, errors, rounds, time.monotonic() - t0, len(reps))


def _void(alive: list[Candidate], verdicts: dict[str, Verdict], status: str, b: Binding) -> str:
    """Order encoding: b may put a duplicate into a FIFO (`unknown`: Z3 could not tell), and no
    candidate still standing excludes that; the encoding is exact only without duplicates,
    so nothing still standing is proven."""
    why = "cannot exclude" if status == "unknown" else "may put"
    for c in alive:
        verdicts[c.prop.id] = Verdict(
            c.prop.id, c.lemma, status,
            f"{b.label} {why} a duplicate into a FIFO from a state satisfying every candidate, and the "
            "order FIFO encoding represents FIFOs without duplicates (--fifo-encoding=slots does not need that)",
        )
    return "void"


def _drop(model: TracedModel, enc: Encoder, s: State, t: State, b: Binding, m: z3.ModelRef,
          failing: list[Candidate], verdicts: dict[str, Verdict], dup: bool = False) -> None:
    pre, post = enc.decode(m, s), enc.decode(m, t)
    # Order encoding: a duplicate in the successor is shown once (checker/symbolic/fifo_order.py).
    note = "; the step also puts a duplicate into a FIFO, shown once in the successor" if dup else ""
    for c in failing:
        verdicts[c.prop.id] = Verdict(
            c.prop.id, c.lemma, "cti", f"not inductive: {b.label} breaks it from a state satisfying the others{note}",
            [Step(pre, None), Step(post, b.index)],
        )


_GOALS: dict[int, z3.BoolRef] = {}


def goal_literal(solver: z3.Solver, goal: z3.BoolRef) -> z3.BoolRef:
    """A fresh literal implying `goal`, so the goal is asked as an assumption."""
    lit = z3.Bool(f"goal {len(_GOALS)}")
    _GOALS[len(_GOALS)] = lit
    solver.add(z3.Implies(lit, goal))
    return lit


def trace_property(model: TracedModel, prop: Property) -> Expr:
    """Trace a predicate declared outside the spec (a lemma) over the model's layout."""
    from pgcheck.checker.lang.spec import _Layout, _trace_predicate

    return _trace_predicate(_Layout(model.kinds), f"lemma {prop.id}", prop.fn)
