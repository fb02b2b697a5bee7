"""Run one mutation at its smallest configuration and say whether its expected property caught it.

Safety mutations run the breadth-first explorer with every invariant; liveness mutations
(expected id L...) also run the liveness checker for their expected property. A run that
cannot check its property is reported "not checked" and counts as not caught, never as passed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pgcheck.checker.errors import UsageError
from pgcheck.checker.run.check import CheckRun, run_check
from pgcheck.model.config import ModelConfig
from pgcheck.model.mutations.base import Mutation


@dataclass
class Outcome:
    mutation: Mutation
    caught_by: str | None  # the property (or "deadlock", "model-error") that reported it
    length: int | None  # steps of the shortest counterexample
    states: int | None  # distinct states explored
    seconds: float
    run: CheckRun | None
    note: str = ""

    @property
    def caught(self) -> bool:
        return self.caught_by == self.mutation.expected

    @property
    def category(self) -> str:
        """"expected" (caught by the expected property), "other" (caught, by another
        property) or "missed" (not caught, or not checked)."""
        if self.caught:
            return "expected"
        return "other" if self.caught_by is not None else "missed"

    @property
    def status(self) -> str:
        if self.run is None:
            return self.note
        if self.caught:
            return "caught"
        if self.caught_by is None:
            return "NOT CAUGHT"
        return f"caught by {self.caught_by}, not {self.mutation.expected}"


def check_mutation(m: Mutation, cfg: ModelConfig | None = None, *, symmetry: bool = True) -> Outcome:
    t0 = time.monotonic()
    spec = m.build(cfg)
    extra: dict[str, Any] = {"liveness": True, "properties": [m.expected]} if m.liveness else {}
    try:
        run = run_check(spec, symmetry=symmetry, default_trace_dir=None, mutation=m.name, **extra)
    except UsageError as e:  # e.g. a property that does not apply at this configuration: not caught
        return Outcome(m, None, None, None, time.monotonic() - t0, None, f"not checked: {e}")
    v = run.result.violation
    return Outcome(
        m,
        v.property_id if v is not None else None,
        len(v.trace) - 1 if v is not None else None,
        run.result.distinct,
        time.monotonic() - t0,
        run,
    )
