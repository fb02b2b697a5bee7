"""Compare two runs of one client program (the real server and the reference server).

Both histories must be allowed by the model (reference/client_history.py). For each client
whose inputs (sends, closes, interrupts) are the same in both runs, the model decides
whether its received messages are determined: if the model allows exactly one receive
sequence for those inputs, the two runs must both show it; otherwise the outcome depends
on timing, and each run shows one of the allowed outcomes (its check against the model,
which also fixes where each message came, shows that). A client whose inputs
differ (a race ended it earlier in one run, so later operations did nothing) is compared
through the model alone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pgcheck.reference.client_history import ClientHistory, History, allowed_outcomes, project


def receives(h: ClientHistory) -> tuple[str, ...]:
    return tuple(e.what for e in project(h.events) if e.kind == "recv")


def inputs(h: ClientHistory) -> tuple[tuple[str, str], ...]:
    return tuple((e.kind, e.what) for e in project(h.events) if e.kind != "recv")


@dataclass
class Comparison:
    counts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


def compare(real: History, ref: History) -> Comparison:
    out = Comparison()
    for a, b in zip(real.clients, ref.clients, strict=True):
        if inputs(a) != inputs(b):
            out.counts["diverged"] += 1
            continue
        allowed = allowed_outcomes(a, limit=1)  # None: more than one outcome (or too many to list)
        ra, rb = receives(a), receives(b)
        if allowed is None:
            # Timing decides; each run is one of the allowed outcomes, as the check of each
            # history against the model (which also fixes where each message came) shows.
            out.counts["timing-dependent"] += 1
            out.counts["timing-dependent, same outcome"] += ra == rb
            continue
        out.counts["determined"] += 1
        if ra != rb or (ra,) != tuple(allowed):
            out.problems.append(
                f"{a.name}: the model determines the outcome {list(next(iter(allowed)))}, "
                f"but the real server sent {list(ra)} and the reference {list(rb)}"
            )
    return out
