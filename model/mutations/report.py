"""The catalogue's outcomes as a terminal table, as JSON, and as docs/bugs.md."""

from __future__ import annotations

from typing import Any

from pgcheck.model.mutations.base import describe_config
from pgcheck.model.mutations.check import Outcome

DOC_HEADER = """# Seeded bugs: the mutation catalogue

Every known bug of the scheduler (scheduler-digest.md §6: B1-B24, hazards H1-H6) that can be
expressed at the model's grain, and every design rule the digest asks to seed, is a named
**mutation** of the model (`model/mutations/`): a change to the one or few actions it concerns,
never a copy of the model. `pgcheck mutants` runs each at its smallest configuration and checks
that the property the design says it breaks is the one that catches it;
`pgcheck explore ... --mutation NAME` explores one at any configuration of its mode.

This file is generated: `pgcheck mutants --doc docs/bugs.md`. A test checks it against the
declarations and a fresh run. Each mutation states its kind: a liveness bug is caught by the
liveness checker (its expected property is temporal), a safety bug by an invariant or an action
property (a rule about steps, reported at the offending step). Outcomes fall in three groups:
caught by the expected property, caught by another property, not caught.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _length(o: Outcome) -> str:
    return "-" if o.length is None else str(o.length)


def _caught_by(o: Outcome) -> str:
    if o.run is None:
        return "not checked"
    return o.caught_by or "nothing"


def table_lines(outcomes: list[Outcome], total_seconds: float) -> list[str]:
    head = f"{'mutation':<36} {'source':<11} {'expected':<8} {'caught by':<11} {'length':>6} {'states':>7} {'time':>7}  status"
    out = [head, "-" * len(head)]
    for o in outcomes:
        m = o.mutation
        states = "-" if o.states is None else f"{o.states:,}"
        secs = "-" if o.run is None else f"{o.seconds:.2f}s"
        out.append(
            f"{m.name:<36} {m.source:<11} {m.expected:<8} {_caught_by(o):<11} {_length(o):>6} {states:>7} {secs:>7}  {o.status}"
        )
    caught = sum(o.caught for o in outcomes)
    unchecked = sum(o.run is None for o in outcomes)
    other = [o.mutation.name for o in outcomes if o.category == "other"]
    missed = [o.mutation.name for o in outcomes if o.category == "missed"]
    out += [
        "",
        f"caught by the expected property: {caught}/{len(outcomes)}",
        f"caught by another property:      {len(other)}" + (f" ({', '.join(other)})" if other else ""),
        f"not caught:                      {len(missed)}" + (f" ({', '.join(missed)})" if missed else "")
        + (f"; {unchecked} of them not checked" if unchecked else ""),
        f"total time {total_seconds:.1f} s",
    ]
    return out


def as_json(outcomes: list[Outcome], total_seconds: float) -> dict[str, Any]:
    return {
        "mutations": [
            {
                "name": o.mutation.name,
                "source": o.mutation.source,
                "expected": o.mutation.expected,
                "caught_by": o.caught_by,
                "caught": o.caught,
                "category": o.category,
                "kind": o.mutation.kind,
                "status": o.status,
                "length": o.length,
                "states": o.states,
                "seconds": None if o.run is None else round(o.seconds, 3),
                "config": describe_config(o.mutation.smallest),
                "changes": list(o.mutation.changes),
                "trace": None
                if o.run is None or o.run.result.violation is None
                else [o.run.model.bindings[st.binding].label for st in o.run.result.violation.trace[1:] if st.binding is not None],
            }
            for o in outcomes
        ],
        "caught": sum(o.caught for o in outcomes),
        "caught_by_other": sum(o.category == "other" for o in outcomes),
        "not_caught": sum(o.category == "missed" for o in outcomes),
        "total": len(outcomes),
        "seconds": round(total_seconds, 3),
    }


DOC_HOW = """
## How a mutation is written

`model/mutations/base.py`: `patch(spec, action, body)` wraps an action (the original body runs,
then the mutation writes what the bug does differently; reads taken before the original see the
old state), `replace(spec, action, body)` swaps a body whose guard the bug weakens,
`drop_check(spec, action, i)` / `weaken_check(spec, action, i, weaker)` remove or weaken the
i-th `require()` of an action without copying it, and a new `@spec.action` adds the step a bug
introduces; ghosts a bug needs come through `spec.ghost` / `spec.history`. Each declaration names its source, the expected
property, its smallest configuration and the interleaving; tests check that the changed actions
are exactly the ones it names, that it is caught by exactly its property with a shortest trace
that replays, that a carrier or a session fewer, a bound one lower or an option back at its
base value does not show it (safety ones), and that the unmutated model passes at the same
configuration.

## Not in the catalogue

"""


def doc_text(outcomes: list[Outcome], not_in_catalogue: dict[str, str]) -> str:
    rows = [
        "| mutation | source | kind | interleaving | expected | caught by | length | smallest configuration | changes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        m = o.mutation
        rows.append(
            "| "
            + " | ".join(
                [
                    f"`{m.name}`",
                    m.source,
                    m.kind,
                    _cell(m.explanation),
                    m.expected,
                    _caught_by(o),
                    _length(o),
                    f"`{describe_config(m.smallest)}`",
                    ", ".join(m.changes),
                ]
            )
            + " |"
        )
    caught = sum(o.caught for o in outcomes)
    left_out = [f"- {bug}: {why}" for bug, why in not_in_catalogue.items()]
    return (
        DOC_HEADER
        + "\n"
        + "\n".join(rows)
        + f"\n\nCaught by the expected property: {caught}/{len(outcomes)}; by another property: "
        + f"{sum(o.category == 'other' for o in outcomes)}; not caught: {sum(o.category == 'missed' for o in outcomes)}.\n"
        + DOC_HOW
        + "\n".join(left_out)
        + "\n"
    )
