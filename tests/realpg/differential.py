"""Compare two runs of one client program (the real server and the reference server).

Both histories must be allowed by the model (reference/client_history.py). For each client
whose inputs (sends, closes, interrupts) are the same in both runs, the model decides
whether its received messages are determined: if the model allows exactly one receive
sequence for those inputs, the two runs must both show it; otherwise the outcome depends
on timing and both runs must show one of the allowed outcomes. A client whose inputs
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
        allowed = allowed_outcomes(a)
        if allowed is None:
            out.counts["too many outcomes"] += 1
            continue
        ra, rb = receives(a), receives(b)
        for run, got in (("real server", ra), ("reference", rb)):
            if got not in allowed:
                out.problems.append(f"{a.name}: the {run}'s messages {list(got)} are not among the outcomes the model allows {sorted(map(list, allowed))}")
        if len(allowed) == 1:
            out.counts["determined"] += 1
            if ra != rb:
                out.problems.append(f"{a.name}: the model determines the outcome, but the real server sent {list(ra)} and the reference {list(rb)}")
        else:
            out.counts["timing-dependent"] += 1
            out.counts["timing-dependent, same outcome"] += ra == rb
    return out
