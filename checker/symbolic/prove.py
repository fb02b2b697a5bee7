"""One `prove` run for one configuration: the candidates, the proof, the report lines.

Shared by `pgcheck prove`, its `--parametric` sweep and the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pgcheck.checker.errors import UsageError, check_names
from pgcheck.checker.lang.spec import Property, Spec, TracedModel
from pgcheck.checker.lang.types import Fifo
from pgcheck.checker.symbolic.induction import (
    Candidate,
    ProveProgress,
    ProveResult,
    Verdict,
    prove,
    trace_property,
)
from pgcheck.checker.symbolic.steps import prove_steps
from pgcheck.specs.lemmas import lemmas_for


@dataclass
class ProveRun:
    model: TracedModel
    result: ProveResult
    props: dict[str, Property]
    fifos: str = "slots"  # the FIFO encoding used
    steps: list[Verdict] = field(default_factory=list)  # action properties as step obligations


FIFO_CHOICES = ("auto", "slots", "order")
# `auto`: the order encoding (checker/symbolic/fifo_order.py) once some FIFO holds this many items;
# below, the slot encoding, which docs/proofs.md's small sizes were proven with.
ORDER_FROM_CAPACITY = 5


def fifo_encoding(model: TracedModel, choice: str) -> str:
    """The FIFO encoding `prove` uses for this model (docs/symbolic.md "FIFO encodings")."""
    if choice not in FIFO_CHOICES:
        raise UsageError(f"unknown FIFO encoding {choice!r}; known: {', '.join(FIFO_CHOICES)}")
    if choice != "auto":
        return choice
    caps = [info.ty.capacity for info in model.slots if isinstance(info.ty, Fifo)]
    return "order" if caps and max(caps) >= ORDER_FROM_CAPACITY else "slots"


def candidates(model: TracedModel, mode: str, invariants: list[str] | None, with_lemmas: bool) -> list[Candidate]:
    known = [p.id for p, _ in model.invariants]
    check_names("invariant", invariants or [], known, model.meta.get("invariants_not_applicable"))
    out = [Candidate(p, e) for p, e in model.invariants if not invariants or p.id in invariants]
    if with_lemmas:
        for lm in lemmas_for(mode):
            prop = Property(lm.id, "lemma", lm.statement, lm.why, lm.fn)
            out.append(Candidate(prop, trace_property(model, prop), lemma=True))
    return out


def run_prove(
    spec: Spec,
    mode: str,
    *,
    invariants: list[str] | None = None,
    with_lemmas: bool = True,
    time_limit: float | None = None,
    on_progress: Callable[[ProveProgress], None] | None = None,
    symmetric: bool = True,
    query_limit: float | None = None,
    fifo_choice: str = "auto",
    steps_too: bool | None = None,
) -> ProveRun:
    """Prove the candidates; then, unless `steps_too` is False (default: only when every
    invariant is asked for), the action properties as step obligations under what is proven."""
    model = spec.trace()
    fifos = fifo_encoding(model, fifo_choice)
    cands = candidates(model, mode, invariants, with_lemmas)
    result = prove(model, cands, time_limit=time_limit, on_progress=on_progress, symmetric=symmetric,
                   query_limit=query_limit, fifos=fifos)
    props = {c.prop.id: c.prop for c in cands}
    steps: list[Verdict] = []
    if steps_too is None:
        steps_too = not invariants
    if steps_too and model.action_properties:
        # Step obligations under what is proven: H ∧ Guard ⇒ P (checker/symbolic/steps.py).
        proven = {v.id for v in result.verdicts if v.status == "proven"}
        hyps = [c.expr for c in cands if c.prop.id in proven]
        left = None if time_limit is None else max(time_limit - result.elapsed, 0.0)
        steps = prove_steps(model, hyps, fifos=fifos, symmetric=symmetric, time_limit=left,
                            on_progress=None if on_progress is None else lambda w: on_progress(ProveProgress(result.rounds, w, result.elapsed)))
        props.update({a.id: a for a in model.action_properties})
    return ProveRun(model, result, props, fifos, steps)


STATUS_TEXT = {
    "proven": "proven",
    "cti": "NOT PROVEN (CTI)",
    "initial": "FALSE initially",
    "unknown": "not proven (unknown)",
    "timeout": "not proven (timeout)",
}


def verdict_lines(run: ProveRun) -> list[str]:
    out = []
    for v in run.result.verdicts:
        p = run.props[v.id]
        tag = "lemma " if v.lemma else ""
        reason = f" — {v.reason}" if v.status != "proven" else ""
        out.append(f"  {v.id:<4} {STATUS_TEXT[v.status]:<22} {tag}{p.statement}{reason}")
    if run.steps:
        out.append("action properties (step obligations: proven invariants ∧ guard ⇒ rule):")
        for v in run.steps:
            reason = f" — {v.reason}" if v.status != "proven" else ""
            out.append(f"  {v.id:<6} {STATUS_TEXT[v.status]:<22} {run.props[v.id].statement}{reason}")
    return out
