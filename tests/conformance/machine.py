"""The Hypothesis state machine: rules are what the environment and the carriers may do.

Rules (the issue's list): a client sends a whole message, only its type byte, the rest of
it, or closes; another backend cancels (right or wrong key), terminates, NOTIFYs or reloads;
the clock makes an armed timeout due; carrier c takes its next step; all carriers run until
quiet.  A rule whose model action is not enabled does nothing, so every printed rule sequence
replays as it reads.  The checks run inside `Conformance` after every action.
"""

from __future__ import annotations

import os
from typing import ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from tests.conformance.harness import COMMAND_SQL, INTERRUPTS, Conformance

CARRIERS, SESSIONS = 2, 3
BACKENDS = st.integers(0, SESSIONS - 1)
COMMANDS = st.sampled_from(sorted(COMMAND_SQL))

settings.register_profile(
    "conformance-ci",
    max_examples=12,
    stateful_step_count=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "conformance-long",
    max_examples=400,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
PROFILE = os.environ.get("PGCHECK_CONFORMANCE_PROFILE", "conformance-ci")


class ConformanceMachine(RuleBasedStateMachine):
    mutations: ClassVar[frozenset[str]] = frozenset()
    carriers: ClassVar[int] = CARRIERS

    def __init__(self) -> None:
        super().__init__()
        self.h = Conformance(carriers=self.carriers, sessions=SESSIONS, mutations=self.mutations)

    def teardown(self) -> None:
        self.h.close()

    def _may_send(self, b: int, cmd: str) -> bool:
        # The model has no aborted-transaction state; a failed transaction rejects pg_sleep
        # (25P02) where the model would start a deep wait, so such a sleep is not sent.
        return self.h.enabled("ClientSendByte", b=b, cmd=cmd) and not (cmd == "sleep" and self.h.xact_failed(b))

    @rule(b=BACKENDS, cmd=COMMANDS)
    def send_message(self, b: int, cmd: str) -> None:
        if self._may_send(b, cmd):
            self.h.send_byte(b, cmd)
            self.h.send_body(b)

    @rule(b=BACKENDS, cmd=COMMANDS)
    def send_type_byte(self, b: int, cmd: str) -> None:
        if self._may_send(b, cmd):
            self.h.send_byte(b, cmd)

    @rule(b=BACKENDS)
    def send_rest_of_message(self, b: int) -> None:
        if self.h.enabled("ClientSendBody", b=b):
            self.h.send_body(b)

    @rule(b=BACKENDS)
    def client_closes(self, b: int) -> None:
        if self.h.enabled("ClientClose", b=b):
            self.h.client_close(b)

    @rule(b=BACKENDS, kind=st.sampled_from(INTERRUPTS))
    def other_backend_interrupts(self, b: int, kind: str) -> None:
        if self.h.enabled("SendInterrupt", b=b, kind=kind):
            self.h.interrupt(b, kind)

    @rule(b=BACKENDS)
    def cancel_with_wrong_key(self, b: int) -> None:
        if self.h.enabled("SendInterrupt", b=b, kind="cancel"):
            self.h.wrong_key_cancel(b)

    @rule(b=BACKENDS)
    def clock_makes_timeout_due(self, b: int) -> None:
        if self.h.enabled("TimeoutDue", b=b):
            self.h.timeout_due(b)

    @rule(c=st.integers(0, CARRIERS - 1))
    def carrier_takes_next_step(self, c: int) -> None:
        if c in self.h.enabled_carriers():
            self.h.carrier_step(c)

    @rule()
    def carriers_run_until_quiet(self) -> None:
        self.h.settle()
