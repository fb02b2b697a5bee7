"""Action properties as step obligations: H ∧ Guard(b) ⇒ P_b for every binding b.

An action property is traced per binding with the binding's update substituted for the
post-state (checker/lang/spec.py), so its obligation reads the pre-state only. H is the
conjunction of the candidates `prove` has shown inductive (invariants and lemmas): every
reachable state satisfies H, so if no state satisfying H enables b with P_b false, the
property holds on every reachable transition. A satisfying state is a counterexample to
the step obligation: a real violation, or a state H does not exclude (strengthen H with a
lemma). With symmetry one binding per orbit is asked (checker/symbolic/representatives.py);
the properties are uniform in the instances, as every property of specs/steps.py is.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import z3
from pgcheck.checker.errors import ModelError
from pgcheck.checker.explicit.explore import Step
from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.interpret import apply_binding
from pgcheck.checker.lang.spec import TracedModel
from pgcheck.checker.symbolic import terms as T
from pgcheck.checker.symbolic.encode import Encoder
from pgcheck.checker.symbolic.induction import Verdict
from pgcheck.checker.symbolic.representatives import representatives


def prove_steps(
    model: TracedModel,
    hypotheses: list[Expr],
    *,
    fifos: str = "slots",
    symmetric: bool = True,
    time_limit: float | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> list[Verdict]:
    """One verdict per action property of `model`, in declaration order."""
    t0 = time.monotonic()
    enc = Encoder(model, fifos)
    s = enc.state("pre")
    base = [enc.domain(s), *(enc.pred(h, s) for h in hypotheses)]
    reps = {b.index for b in representatives(model, symmetric)}
    verdicts: dict[str, Verdict] = {}
    for a in model.action_checks:
        pid = a.prop.id
        if a.binding not in reps or (pid in verdicts and verdicts[pid].status != "proven"):
            continue
        b = model.bindings[a.binding]
        left = None if time_limit is None else time_limit - (time.monotonic() - t0)
        if left is not None and left <= 0:
            verdicts[pid] = Verdict(pid, False, "timeout", f"time limit reached at {b.label}")
            continue
        if on_progress:
            on_progress(f"step obligation {pid} at {b.label}")
        solver = z3.SolverFor("QF_BV")
        solver.add(*base)
        if left is not None:
            solver.set("timeout", max(1, int(left * 1000)))
        solver.add(T.and_([enc.guard(b, s), T.not_(enc.pred(a.cond, s))]))
        res = solver.check()
        if res == z3.unsat:
            verdicts.setdefault(pid, Verdict(pid, False, "proven"))
        elif res == z3.sat:
            pre = enc.decode(solver.model(), s)
            try:
                post = apply_binding(b, pre)
            except ModelError:  # the (unreachable) pre-state also trips a run-time check of b
                post = None
            cti = [Step(pre, None)] if post is None else [Step(pre, None), Step(post, b.index)]
            verdicts[pid] = Verdict(
                pid, False, "cti", f"not implied: {b.label} breaks it from a state satisfying the proven invariants", cti
            )
        else:
            verdicts[pid] = Verdict(pid, False, "unknown", f"Z3 {solver.reason_unknown()} at {b.label}")
    return [verdicts.get(a.id, Verdict(a.id, False, "proven")) for a in model.action_properties]
