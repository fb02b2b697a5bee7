"""Seeded bugs for the harness-mutation tests (test-only switches; a server never sets them).

Each one re-creates a bug or hazard of the digest inside the reference implementation;
`tests/conformance/test_mutations.py` shows the conformance state machine catches each.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MUTATIONS: dict[str, str] = {
    "detach_before_unwind": "S11: T3's detach runs before the step frame has unwound (T2)",
    "poller_consumes_mailbox": "H5, L2: the poller consumes the mailbox it checks; the wake service finds nothing",
    "notify_in_xact": "S24, T14: the wake service delivers a notification inside a transaction block",
    "wake_before_claim": "B1: T8 runs before the poller claims the entry; T6 also reparks it (two queues)",
    "runnable_to_head": "B8b: a woken backend goes to the head of the runnable queue and is re-leased first",
    "skip_park_generation": "T7, §3.4: the re-check of §2.6 step 9 (poll_steps) accepts a wake for a stale park generation",
}


@dataclass(frozen=True)
class Mutations:
    detach_before_unwind: bool = False
    poller_consumes_mailbox: bool = False
    notify_in_xact: bool = False
    wake_before_claim: bool = False
    runnable_to_head: bool = False
    skip_park_generation: bool = False

    @classmethod
    def of(cls, names: Iterable[str]) -> Mutations:
        chosen = set(names)
        unknown = sorted(chosen - set(MUTATIONS))
        if unknown:
            raise ValueError(f"unknown reference mutation(s) {unknown}; known: {sorted(MUTATIONS)}")
        return cls(**{name: True for name in chosen})
