"""The seeded-bug catalogue: every known scheduler bug as a named mutation of the model.

    from pgcheck.model.mutations import CATALOGUE, get
    spec = get("stale-latch-after-migration").build()       # its smallest configuration
    spec = get("stale-latch-after-migration").build(cfg)    # or any configuration of its mode

Sources are scheduler-digest.md §6 (B1-B24, H1-H6) and the rules of §4/§5 they break;
docs/bugs.md is generated from these declarations (`pgcheck mutants --doc docs/bugs.md`).
"""

from __future__ import annotations

from pgcheck.checker.errors import UsageError, did_you_mean
from pgcheck.model.mutations import attach, lifecycle, scheduler, session
from pgcheck.model.mutations.base import BASE_OPTIONS, Mutation, config, describe_config


def _order(m: Mutation) -> tuple[int, int, str]:
    """Digest bugs first (B1, B2, ...), then hazards (H1-H6), then broken design rules."""
    head = m.source.split("(")[0].split(",")[0].split()[0]  # "B9(ii)" -> "B9", "S30 rule" -> "S30"
    digits = "".join(ch for ch in head if ch.isdigit())
    group = {"B": 0, "H": 1}.get(head[0], 2)
    return (group, int(digits) if group < 2 else 0, m.name)


CATALOGUE: list[Mutation] = sorted(
    [*scheduler.MUTATIONS, *attach.MUTATIONS, *session.MUTATIONS, *lifecycle.MUTATIONS], key=_order
)
MUTATION_BY_NAME: dict[str, Mutation] = {m.name: m for m in CATALOGUE}

# The digest's bugs that are not expressed at the model's grain, and why (docs/bugs.md lists them).
NOT_IN_CATALOGUE: dict[str, str] = {
    "B3": "checkpointer latch hang: auxiliary processes and their latches are not modeled; root cause unrecorded",
    "B4": "initdb bootstrap segfault: hot-cell installation in bootstrap mode is below the model's grain",
    "B10": "unseamed libxtc fiber parks (S31): fiber-per-session is not a modeled runtime shape",
    "B11": "lost LWLock wakeup: LWLocks and their waiter lists are not modeled (deep waits are one abstract wait)",
    "B12": "auxiliary raw-semaphore wait starving a carrier thread: auxiliary processes are not modeled",
    "B13": "cross-process latch wake from an io worker: io workers and AIO are not modeled",
    "B15": "lost fdatasync completion of a fiber: AIO completions are not modeled",
    "B16": "deadlock timeout not firing in fiber lock waits: heavyweight locks and deadlock detection are not modeled",
    "B18": "worker-fiber PMChild entry race (S33): PMChild slot reaping is not modeled",
    "B21": "monitor connection starved on a saturated pool: the same mechanism as B8 and B20 (L3, L10)",
    "B22": "fiber backends not classified for shutdown, exit-callback ordering: postmaster shutdown states are not modeled",
    "B23": "critical-section unwind resetting the holdoff count (S32): below the model's grain",
    "B24": "open hangs outside the protocol scheduler (buffer-lock ABBA, RI assertion, DROP SUBSCRIPTION, ...)",
}


def get(name: str) -> Mutation:
    """The mutation called `name`; a UsageError listing the known names otherwise."""
    if name not in MUTATION_BY_NAME:
        hint = did_you_mean(name, MUTATION_BY_NAME) or ";"
        raise UsageError(f"unknown mutation {name!r}{hint} known mutations: {', '.join(sorted(MUTATION_BY_NAME))}")
    return MUTATION_BY_NAME[name]


__all__ = ["BASE_OPTIONS", "CATALOGUE", "MUTATION_BY_NAME", "NOT_IN_CATALOGUE", "Mutation", "config", "describe_config", "get"]
