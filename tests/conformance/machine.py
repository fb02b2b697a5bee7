"""The Hypothesis state machine: rules are what the environment and the carriers may do.

Rules (the issue's list): a client sends a whole message (a simple Query, or an extended-query
batch Parse … Sync, one model message, S9), only its type byte, the rest of it, or closes; another backend cancels (right or wrong key), terminates, NOTIFYs or reloads;
the clock makes an armed timeout due; carrier c takes its next step; all carriers run until
quiet.  A rule acts on the first backend, counting from the drawn `b` and wrapping around, for
which its model action is enabled (a deterministic choice, so every printed rule sequence
replays as it reads); when there is none the rule does nothing.  The checks run inside `Conformance` after every action.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from tests.conformance.harness import COMMAND_SQL, INTERRUPTS, Conformance

CARRIERS, SESSIONS = 2, 3
BACKENDS = st.integers(0, SESSIONS - 1)
COMMANDS = st.sampled_from(sorted(COMMAND_SQL))
WRONG_KEY = "cancel-with-wrong-key"

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
    sessions: ClassVar[int] = SESSIONS
    timeouts: ClassVar[bool] = True  # idle timeouts set (the clock rule can end sessions)
    focus: ClassVar[frozenset[str]] = frozenset()  # the rules a focused hunt may choose (empty: all)
    write_itf: ClassVar[bool] = True  # a failure writes the model's run as ITF
    poll_steps: ClassVar[bool] = False  # the poller's call as three steps (model option poll_steps)

    def __init__(self) -> None:
        super().__init__()
        self.h = Conformance(
            carriers=self.carriers,
            sessions=self.sessions,
            mutations=self.mutations,
            timeouts=self.timeouts,
            write_itf=self.write_itf,
            poll_steps=self.poll_steps,
        )

    def teardown(self) -> None:
        self.h.close()

    def _may(self, rule_name: str) -> bool:
        return not self.focus or rule_name in self.focus

    def _pick(self, b: int, ok: Callable[[int], bool]) -> int | None:
        """The first backend from `b` on (wrapping) for which `ok` holds."""
        for i in range(self.sessions):
            candidate = (b + i) % self.sessions
            if ok(candidate):
                return candidate
        return None

    def _any(self, action: str, **fixed: str) -> bool:
        """Some backend has `action` enabled (a rule is only chosen when it can act)."""
        if action == "ClientSendByte":
            return any(self._may_send(b, cmd) for b in range(self.sessions) for cmd in COMMAND_SQL)
        if action == "SendInterrupt" and not fixed:
            return any(self.h.enabled(action, b=b, kind=k) for b in range(self.sessions) for k in INTERRUPTS)
        return any(self.h.enabled(action, b=b, **fixed) for b in range(self.sessions))

    def _may_send(self, b: int, cmd: str) -> bool:
        # The model has no aborted-transaction state; a failed transaction rejects pg_sleep
        # (25P02) where the model would start a deep wait, so such a sleep is not sent.
        return self.h.enabled("ClientSendByte", b=b, cmd=cmd) and not (cmd == "sleep" and self.h.xact_failed(b))

    @precondition(lambda self: self._may("client_sends") and self._any("ClientSendByte"))
    @rule(b=BACKENDS, cmd=COMMANDS, whole=st.booleans())
    def client_sends(self, b: int, cmd: str, whole: bool) -> None:
        """A whole message, or only its type byte (a partial message)."""
        target = self._pick(b, lambda x: self._may_send(x, cmd))
        if target is not None:
            self.h.send_byte(target, cmd)
            if whole:
                self.h.send_body(target)

    @precondition(lambda self: self._may("client_sends_batch") and self._any("ClientSendByte"))
    @rule(b=BACKENDS, cmd=COMMANDS, whole=st.booleans())
    def client_sends_batch(self, b: int, cmd: str, whole: bool) -> None:
        """The command as an extended-query batch (Parse, Bind, Describe, Execute, Sync)."""
        target = self._pick(b, lambda x: self._may_send(x, cmd))
        if target is not None:
            self.h.send_byte(target, cmd, extended=True)
            if whole:
                self.h.send_body(target)

    @precondition(lambda self: self._may("send_rest_of_message") and self._any("ClientSendBody"))
    @rule(b=BACKENDS)
    def send_rest_of_message(self, b: int) -> None:
        target = self._pick(b, lambda x: self.h.enabled("ClientSendBody", b=x))
        if target is not None:
            self.h.send_body(target)

    @precondition(lambda self: self._may("client_closes") and self._any("ClientClose"))
    @rule(b=BACKENDS)
    def client_closes(self, b: int) -> None:
        target = self._pick(b, lambda x: self.h.enabled("ClientClose", b=x))
        if target is not None:
            self.h.client_close(target)

    @precondition(lambda self: self._may("other_backend_interrupts") and self._any("SendInterrupt"))
    @rule(b=BACKENDS, kind=st.sampled_from((*INTERRUPTS, WRONG_KEY)))
    def other_backend_interrupts(self, b: int, kind: str) -> None:
        """cancel, terminate (die), reload, NOTIFY, or a CancelRequest with a wrong key."""
        model_kind = "cancel" if kind == WRONG_KEY else kind
        target = self._pick(b, lambda x: self.h.enabled("SendInterrupt", b=x, kind=model_kind))
        if target is None:
            return
        if kind == WRONG_KEY:
            self.h.wrong_key_cancel(target)
        else:
            self.h.interrupt(target, kind)

    @precondition(lambda self: self._may("clock_makes_timeout_due") and self._any("TimeoutDue"))
    @rule(b=BACKENDS)
    def clock_makes_timeout_due(self, b: int) -> None:
        target = self._pick(b, lambda x: self.h.enabled("TimeoutDue", b=x))
        if target is not None:
            self.h.timeout_due(target)

    @precondition(lambda self: self._may("carrier_takes_next_step") and bool(self.h.enabled_carriers()))
    @rule(c=st.integers(0, 7))  # wraps to an enabled carrier
    def carrier_takes_next_step(self, c: int) -> None:
        enabled = self.h.enabled_carriers()
        if enabled:  # carrier c, or the next enabled one after it
            self.h.carrier_step(min(enabled, key=lambda x: (x - c) % self.carriers))

    @precondition(lambda self: self._may("carriers_run_until_quiet"))
    @rule()
    def carriers_run_until_quiet(self) -> None:
        self.h.settle()
