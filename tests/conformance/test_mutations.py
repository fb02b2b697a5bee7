"""Mutation testing of the harness: each seeded bug of reference/mutations.py makes the
conformance state machine fail, shrunk to a short rule sequence.

CI replays, for every seeded bug, the rule sequence Hypothesis found and shrank for it (it
must fail on the bugged implementation and pass on the correct one), and runs one live
hunt.  The live hunt for every bug runs with the long profile:

    PGCHECK_CONFORMANCE_PROFILE=conformance-long pytest tests/conformance/test_mutations.py
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import initialize, run_state_machine_as_test
from pgcheck.reference.mutations import MUTATIONS

from tests.conformance.harness import ConformanceError
from tests.conformance.machine import PROFILE, ConformanceMachine

# A small configuration (1 carrier, 2 sessions, no idle timeouts) keeps the bugs a few rules away.
CARRIERS, SESSIONS = 1, 2
LONG = PROFILE == "conformance-long"
HUNT = settings(
    max_examples=150 if LONG else 60,
    stateful_step_count=20 if LONG else 12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# The shrunk rule sequences the hunts printed (after `clients_are_ready`).
SHRUNK: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "detach_before_unwind": [],
    "poller_consumes_mailbox": [
        ("other_backend_interrupts", {"b": 0, "kind": "notify"}),
        ("carriers_run_until_quiet", {}),
    ],
    "notify_in_xact": [
        ("client_sends", {"b": 0, "cmd": "begin", "whole": False}),
        ("carriers_run_until_quiet", {}),
        ("send_rest_of_message", {"b": 0}),
        ("other_backend_interrupts", {"b": 0, "kind": "notify"}),
        ("carriers_run_until_quiet", {}),
    ],
    "wake_before_claim": [
        ("carrier_takes_next_step", {"c": 0}),
        ("client_sends", {"b": 0, "cmd": "begin", "whole": False}),
        ("carrier_takes_next_step", {"c": 0}),
    ],
    "runnable_to_head": [
        ("client_closes", {"b": 0}),
        ("client_closes", {"b": 0}),
        ("carriers_run_until_quiet", {}),
    ],
}


class SmallMachine(ConformanceMachine):
    """The conformance machine on 1 carrier and 2 sessions without idle timeouts (which end
    sessions early), starting once every client is idle."""

    carriers = CARRIERS
    sessions = SESSIONS
    timeouts = False

    @initialize()
    def clients_are_ready(self) -> None:
        self.h.settle()


def machine_with(mutation: str) -> type[SmallMachine]:
    return type(f"Mutated_{mutation}", (SmallMachine,), {"mutations": frozenset({mutation})})


def replay(machine: type[SmallMachine], rules: list[tuple[str, dict[str, Any]]]) -> None:
    m = machine()
    try:
        m.clients_are_ready()
        for name, args in rules:
            getattr(m, name)(**args)
    finally:
        m.teardown()


def test_every_seeded_bug_has_a_recorded_sequence() -> None:
    assert set(SHRUNK) == set(MUTATIONS)


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_shrunk_rule_sequence_catches_seeded_bug(mutation: str) -> None:
    replay(SmallMachine, SHRUNK[mutation])  # the correct implementation conforms
    with pytest.raises(ConformanceError, match="model"):
        replay(machine_with(mutation), SHRUNK[mutation])


HUNTED = sorted(MUTATIONS) if LONG else ["detach_before_unwind"]


@pytest.mark.parametrize("mutation", HUNTED)
def test_hypothesis_finds_and_shrinks_seeded_bug(mutation: str) -> None:
    with pytest.raises(ConformanceError) as caught:
        run_state_machine_as_test(machine_with(mutation), settings=HUNT)
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    replayable = [line.strip() for line in notes.splitlines() if line.strip().startswith("state.")]
    assert replayable, "the failing rule sequence was not printed"
    assert len(replayable) <= 8, f"not shrunk to a short rule sequence: {replayable}"


def test_the_unmutated_machine_passes_the_same_hunt() -> None:
    run_state_machine_as_test(SmallMachine, settings=HUNT)
