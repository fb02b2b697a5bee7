"""One `prove` run for one configuration: the candidates, the proof, the report lines.

Shared by `pgcheck prove`, its `--parametric` sweep and the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pgcheck.checker.errors import UsageError, check_names
from pgcheck.checker.lang.spec import Property, Spec, TracedModel
from pgcheck.checker.lang.types import Fifo
from pgcheck.checker.symbolic.induction import Candidate, ProveProgress, ProveResult, prove, trace_property
from pgcheck.specs.lemmas import lemmas_for


@dataclass
class ProveRun:
    model: TracedModel
    result: ProveResult
    props: dict[str, Property]
    fifos: str = "slots"  # the FIFO encoding used


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
) -> ProveRun:
    model = spec.trace()
    fifos = fifo_encoding(model, fifo_choice)
    cands = candidates(model, mode, invariants, with_lemmas)
    result = prove(model, cands, time_limit=time_limit, on_progress=on_progress, symmetric=symmetric,
                   query_limit=query_limit, fifos=fifos)
    return ProveRun(model, result, {c.prop.id: c.prop for c in cands}, fifos)


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
    return out
