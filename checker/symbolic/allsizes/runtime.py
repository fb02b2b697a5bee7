"""The all-sizes proof for the runtime model: its two traced sizes and its candidates.

Shared by `prove --parametric` (checker/symbolic/parametric.py) and the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pgcheck.checker.errors import UsageError
from pgcheck.checker.lang.spec import Spec
from pgcheck.checker.symbolic.allsizes.proof import AllSizesResult, UCandidate, prove_all_sizes
from pgcheck.model import load, make_config
from pgcheck.specs.lemmas import lemmas_for

# Two sizes with different counts, so that a trace that depends on the size shows it.
SIZES = ((2, 3), (3, 4))


def model_pair(mode: str, options: dict[str, Any], mutation: str | None = None) -> tuple[Spec, Spec]:
    if mode != "pooled":
        raise UsageError("the all-sizes proof is built for the pooled mode (per-session shapes pair carrier i with session i)")
    specs = [load(make_config(mode, c, n, options, max_carriers=4, max_sessions=4), mutation) for c, n in SIZES]
    return specs[0], specs[1]


def candidates(specs: tuple[Spec, Spec], mode: str, invariants: list[str] | None, with_lemmas: bool) -> list[UCandidate]:
    props = [{p.id: p for p in sp.properties if p.kind == "invariant"} for sp in specs]
    out = [UCandidate(pid, (p.fn, props[1][pid].fn)) for pid, p in props[0].items() if not invariants or pid in invariants]
    if with_lemmas:
        out += [UCandidate(lm.id, (lm.fn, lm.fn), lemma=True) for lm in lemmas_for(mode)]
    return out


def run_all_sizes(
    mode: str,
    options: dict[str, Any],
    invariants: list[str] | None = None,
    with_lemmas: bool = True,
    *,
    mutation: str | None = None,
    query_limit: float = 30.0,
    time_limit: float | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> AllSizesResult:
    specs = model_pair(mode, options, mutation)
    cands = candidates(specs, mode, invariants, with_lemmas)
    return prove_all_sizes(specs, cands, query_limit=query_limit, time_limit=time_limit, on_progress=on_progress)
