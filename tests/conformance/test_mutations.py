"""Mutation testing of the harness: each seeded bug of reference/mutations.py makes the
conformance state machine fail, shrunk to a short rule sequence.

For every seeded bug CI runs a live, derandomized Hypothesis hunt on a machine focused on the
bug's neighbourhood (FOCUS: the rules and commands drawn, the program length), which must find
it and shrink it to the recorded length in a bounded budget, and replays the recorded shortest
rule sequence (it must fail on the bugged implementation and pass on the correct one).  The
same focused machines, unmutated, must pass the same hunts.  The long profile draws more and
longer programs:

    PGCHECK_CONFORMANCE_PROFILE=conformance-long pytest tests/conformance/test_mutations.py
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule, run_state_machine_as_test
from pgcheck.reference.mutations import MUTATIONS

from tests.conformance.harness import ConformanceError
from tests.conformance.machine import PROFILE, ConformanceMachine

# A small configuration (1 carrier, 2 sessions, no idle timeouts) keeps the bugs a few rules away;
# a bug of the window between two carriers gets a second carrier (Focus.carriers).
CARRIERS, SESSIONS = 1, 2
SMALL_BACKENDS = st.integers(0, SESSIONS - 1)
LONG = PROFILE == "conformance-long"
HUNT = settings(
    max_examples=150 if LONG else 60,
    stateful_step_count=20 if LONG else 4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# The shortest rule sequences the hunts printed (after `clients_are_ready`).
SHRUNK: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "detach_before_unwind": [],
    "poller_consumes_mailbox": [
        ("other_backend_interrupts", {"b": 0, "kind": "notify"}),
        ("carriers_run_until_quiet", {}),
    ],
    "notify_in_xact": [
        ("client_sends", {"b": 0, "cmd": "begin", "whole": True}),
        ("carriers_run_until_quiet", {}),
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
    "skip_park_generation": [
        *(  # the window of §2.6 steps 8-9 (FOCUS's setup), then the stale wake
            ("carrier_takes_next_step", {"c": 0}),  # PollTake: carrier 0 takes both parked sessions
            ("carrier_takes_next_step", {"c": 0}),  # PollImmediate: nothing ready, on to the wait
            ("client_sends", {"b": 0, "cmd": "query", "whole": True}),
            ("carrier_takes_next_step", {"c": 0}),  # PollWait: session 0 readable, runnable
            ("carriers_run_until_quiet", {}),  # carrier 1 leases, runs and re-parks session 0
        ),
        ("other_backend_interrupts", {"b": 0, "kind": "cancel"}),
        ("carrier_takes_next_step", {"c": 0}),  # PollRecheck with the generation read at T5
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


@dataclass(frozen=True)
class Focus:
    """What a live hunt may draw: the bug's neighbourhood, so a derandomized hunt of HUNT's
    budget reaches it in seconds."""

    rules: frozenset[str]
    commands: tuple[str, ...] = ("query",)
    kinds: tuple[str, ...] = ("notify",)  # interrupts another backend sends
    steps: int = 4  # rules per program (fewer: a shorter shrink)
    partial: bool = True  # clients may send only a type byte
    setup: tuple[tuple[str, dict[str, Any]], ...] = ()  # rules run once the clients are ready
    carriers: int = CARRIERS
    poll_steps: bool = False  # the poller's call as three steps (model option poll_steps)


FOCUS: dict[str, Focus] = {
    "detach_before_unwind": Focus(frozenset({"client_sends", "carriers_run_until_quiet"})),
    "poller_consumes_mailbox": Focus(
        frozenset({"other_backend_interrupts", "carriers_run_until_quiet", "carrier_takes_next_step"}),
        kinds=("notify", "reload", "cancel"),
        steps=12,
    ),
    "notify_in_xact": Focus(
        frozenset({"other_backend_interrupts", "carriers_run_until_quiet"}),
        setup=(("client_sends", {"b": 0, "cmd": "begin", "whole": True}), ("carriers_run_until_quiet", {})),
    ),
    "wake_before_claim": Focus(frozenset({"client_sends", "carrier_takes_next_step"})),
    "runnable_to_head": Focus(frozenset({"client_closes", "carriers_run_until_quiet"})),
    # Two carriers: one in its poll call, the other re-parking a session that call took.
    "skip_park_generation": Focus(
        frozenset({"other_backend_interrupts", "carrier_takes_next_step"}),
        kinds=("cancel", "notify", "reload"),
        setup=tuple(SHRUNK["skip_park_generation"][:5]),
        carriers=2,
        poll_steps=True,
    ),
}


def machine_with(mutation: str, focused: bool = False, seeded: bool = True) -> type[SmallMachine]:
    """The small machine with the bug seeded; `focused`: only what FOCUS lists is drawn."""
    focus = FOCUS[mutation]
    attrs: dict[str, Any] = {
        "mutations": frozenset({mutation}) if seeded else frozenset(),
        "carriers": focus.carriers,
        "poll_steps": focus.poll_steps,
    }
    if focused:
        attrs["focus"] = focus.rules

        @initialize()
        def clients_are_ready(self: SmallMachine) -> None:
            self.h.settle()
            for name, args in focus.setup:  # the initial state of the hunt
                getattr(SmallMachine, name)(self, **args)

        attrs["clients_are_ready"] = clients_are_ready
        attrs["write_itf"] = False  # hundreds of shrink candidates fail; the replay test writes it

        @precondition(lambda self: self._may("client_sends") and self._any("ClientSendByte"))
        @rule(
            b=SMALL_BACKENDS,
            cmd=st.sampled_from(focus.commands),
            whole=st.booleans() if focus.partial else st.just(True),
        )
        def client_sends(self: SmallMachine, b: int, cmd: str, whole: bool) -> None:
            SmallMachine.client_sends(self, b, cmd, whole)

        @precondition(lambda self: self._may("other_backend_interrupts") and self._any("SendInterrupt"))
        @rule(b=SMALL_BACKENDS, kind=st.sampled_from(focus.kinds))
        def other_backend_interrupts(self: SmallMachine, b: int, kind: str) -> None:
            SmallMachine.other_backend_interrupts(self, b, kind)

        @precondition(lambda self: self._may("client_closes") and self._any("ClientClose"))
        @rule(b=SMALL_BACKENDS)
        def client_closes(self: SmallMachine, b: int) -> None:
            SmallMachine.client_closes(self, b)

        @precondition(lambda self: self._may("carrier_takes_next_step") and bool(self.h.enabled_carriers()))
        @rule(c=st.integers(0, focus.carriers - 1))
        def carrier_takes_next_step(self: SmallMachine, c: int) -> None:
            SmallMachine.carrier_takes_next_step(self, c)

        attrs.update(
            client_sends=client_sends,
            other_backend_interrupts=other_backend_interrupts,
            client_closes=client_closes,
            carrier_takes_next_step=carrier_takes_next_step,
        )
    prefix = "Mutated" if seeded else "Focused"
    return type(f"{prefix}_{mutation}", (SmallMachine,), attrs)


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
    replay(machine_with(mutation, seeded=False), SHRUNK[mutation])  # the correct implementation conforms
    with pytest.raises(ConformanceError, match="model"):
        replay(machine_with(mutation), SHRUNK[mutation])


def hunt_settings(mutation: str) -> settings:
    return settings(HUNT, stateful_step_count=20 if LONG else FOCUS[mutation].steps)


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_hypothesis_finds_and_shrinks_seeded_bug(mutation: str) -> None:
    """A live, derandomized hunt (HUNT's budget, FOCUS's rules) finds the bug and shrinks it to
    at most as many rules as the recorded sequence."""
    started = time.monotonic()
    with pytest.raises(ConformanceError) as caught:
        run_state_machine_as_test(machine_with(mutation, focused=True), settings=hunt_settings(mutation))
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    replayable = [line.strip() for line in notes.splitlines() if line.strip().startswith("state.")]
    rules = [line for line in replayable if line not in ("state.clients_are_ready()", "state.teardown()")]
    assert replayable, "the failing rule sequence was not printed"
    limit = 8 if LONG else max(len(SHRUNK[mutation]), 1)
    assert len(rules) <= limit, f"not shrunk to a short rule sequence: {rules}"
    print(f"{mutation}: found and shrunk to {len(rules)} rules in {time.monotonic() - started:.1f} s")


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_the_unmutated_machine_passes_the_focused_hunt(mutation: str) -> None:
    run_state_machine_as_test(machine_with(mutation, focused=True, seeded=False), settings=hunt_settings(mutation))


def test_the_unmutated_machine_passes_the_whole_hunt() -> None:
    run_state_machine_as_test(SmallMachine, settings=settings(HUNT, stateful_step_count=12))
