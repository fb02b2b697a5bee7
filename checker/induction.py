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
from pgcheck.checker import terms as T
from pgcheck.checker.encode import Encoder
from pgcheck.checker.errors import ModelError
from pgcheck.checker.explore import Step
from pgcheck.checker.expr import Expr
from pgcheck.checker.interpret import evaluate
from pgcheck.checker.spec import Property, TracedModel
from pgcheck.checker.terms import var


@dataclass
class Candidate:
    prop: Property
    expr: Expr
    lemma: bool = False


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
) -> ProveResult:
    t0 = time.monotonic()
    enc = Encoder(model)
    s, t = enc.state("pre"), enc.state("post")
    act = var("action")

    def note(r: int, what: str) -> None:
        if on_progress:
            on_progress(ProveProgress(r, what, time.monotonic() - t0))

    def budget(solver: z3.Solver) -> bool:
        if time_limit is None:
            return True
        left = time_limit - (time.monotonic() - t0)
        if left <= 0:
            return False
        solver.set("timeout", max(1, int(left * 1000)))
        return True

    verdicts: dict[str, Verdict] = {}
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

    note(0, f"encoding {len(model.bindings)} actions")
    solver = z3.SolverFor("QF_BV")
    solver.add(enc.domain(s), enc.domain(t), *enc.transition(s, t, act))
    flags = {c.prop.id: z3.Bool(f"assume {c.prop.id}") for c in alive}
    for c in alive:
        solver.add(z3.Implies(flags[c.prop.id], enc.pred(c.expr, s)))
    post = {c.prop.id: enc.pred(c.expr, t) for c in alive}

    rounds = 0
    stopped = ""
    while alive:
        rounds += 1
        note(rounds, f"{len(alive)} candidates")
        if not budget(solver):
            stopped = "timeout"
            break
        goal = z3.Or([T.not_(post[c.prop.id]) for c in alive])
        res = solver.check(*[flags[c.prop.id] for c in alive], goal_literal(solver, goal))
        if res == z3.unsat:
            break
        if res == z3.unknown:
            why = solver.reason_unknown()
            stopped = "timeout" if "timeout" in why or "canceled" in why else f"unknown ({why})"
            break
        m = solver.model()
        pre, post_state = enc.decode(m, s), enc.decode(m, t)
        binding = m.eval(act, model_completion=True).as_signed_long()
        failing = [c for c in alive if z3.is_false(m.eval(post[c.prop.id], model_completion=True))]
        for c in failing:
            label = model.bindings[binding].label
            verdicts[c.prop.id] = Verdict(
                c.prop.id, c.lemma, "cti", f"not inductive: {label} breaks it from a state satisfying the others",
                [Step(pre, None), Step(post_state, binding)],
            )
        alive = [c for c in alive if c not in failing]

    for c in alive:
        if stopped:
            status = "timeout" if stopped == "timeout" else "unknown"
            verdicts[c.prop.id] = Verdict(c.prop.id, c.lemma, status, stopped)
        else:
            verdicts[c.prop.id] = Verdict(c.prop.id, c.lemma, "proven")
    errors: list[str] = []
    if alive and not stopped:
        note(rounds, "run-time checks")
        for msg, bad in enc.errors(s):
            if budget(solver) and solver.check(*[flags[c.prop.id] for c in alive], goal_literal(solver, bad)) != z3.unsat:
                errors.append(msg)
    ordered = [verdicts[c.prop.id] for c in candidates]
    return ProveResult(ordered, errors, rounds, time.monotonic() - t0)


_GOALS: dict[int, z3.BoolRef] = {}


def goal_literal(solver: z3.Solver, goal: z3.BoolRef) -> z3.BoolRef:
    """A fresh literal implying `goal`, so the goal is asked as an assumption."""
    lit = z3.Bool(f"goal {len(_GOALS)}")
    _GOALS[len(_GOALS)] = lit
    solver.add(z3.Implies(lit, goal))
    return lit


def trace_property(model: TracedModel, prop: Property) -> Expr:
    """Trace a predicate declared outside the spec (a lemma) over the model's layout."""
    from pgcheck.checker.spec import _Layout, _trace_predicate

    return _trace_predicate(_Layout(model.kinds), f"lemma {prop.id}", prop.fn)
