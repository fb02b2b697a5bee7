"""Hypothesis drives real client connections against a real PostgreSQL server; every
client's history must be one the model allows in process mode, and the same program run
against the reference server (pooled mode) must agree with it where the model says the
outcome is determined (tests/realpg/differential.py).

Rules: a simple query, a failing one, BEGIN/COMMIT/ROLLBACK, LISTEN, NOTIFY (to the sender
itself when it listens, and to every other listener), a short pg_sleep, a pg_sleep in the
background (the other rules run while it sleeps, a cancel or a terminate of that client
included), a long pg_sleep cancelled while it runs, a cancel of a session,
pg_terminate_backend of a session or of one in a long pg_sleep, waiting for an idle timeout
(300 ms, set per client), a client close, a new client. The derandomized profile runs a fixed set of programs; `--hypothesis-profile=random`
draws fresh ones, more of them.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import ClassVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)
from pgcheck.reference.client_history import History, check_history, history_to_json

from tests.realpg.differential import compare
from tests.realpg.programs import Op, RealTarget, ReferenceTarget, Run, apply, run_program
from tests.realpg.server import RealServer
from tests.realpg.stats import CHECKED

MAX_CLIENTS = 5  # clients in one program
CLIENT = st.integers(0, MAX_CLIENTS - 1)
TIMEOUTS = st.sampled_from([0, 0, 1, 2])  # none, idle_session_timeout, idle_in_transaction_session_timeout


def _failure(where: str, history: History, program: list[Op]) -> str:
    verdict = check_history(history)
    bad = verdict.first_failure()
    assert bad is not None
    client = next(c for c in history.clients if c.name == bad.name)
    events = "\n  ".join(e.show() for e in client.events)
    fd, path = tempfile.mkstemp(prefix="pgcheck-history-", suffix=".json")
    with os.fdopen(fd, "w") as out:
        json.dump(history_to_json(history), out, indent=1)
    return (
        f"{where} ({history.server}): {bad.show(client)}\n"
        f"program: {', '.join(op.show() for op in program)}\n{client.name}'s history:\n  {events}\n"
        f"the whole history is in {path}: pgcheck check-history {path}"
    )


class RealServerMachine(RuleBasedStateMachine):
    server: ClassVar[RealServer]
    differential: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__()
        self.target = RealTarget(self.server.conninfo(), self.server.version)
        self.run = Run(self.target)
        self.program: list[Op] = []

    def do(self, op: Op) -> None:
        self.program.append(op)
        apply(self.run, op)

    def client(self, c: int) -> int:
        """The c-th live client (counting around), or client c when none is live."""
        live = [i for i, cl in enumerate(self.run.clients) if not cl.gone]
        return live[c % len(live)] if live else c % len(self.run.clients)

    @initialize(timeouts=st.lists(TIMEOUTS, min_size=2, max_size=3))
    def connect_clients(self, timeouts: list[int]) -> None:
        for t in timeouts:
            self.do(Op("connect", 0, t))

    # Preconditions read the program only: which clients are still live depends on timing,
    # and Hypothesis needs the same rules to be available when it replays a program.
    @precondition(lambda self: len(self.run.clients) < MAX_CLIENTS)
    @rule(timeout=TIMEOUTS)
    def connect(self, timeout: int) -> None:
        self.do(Op("connect", 0, timeout))

    @rule(c=CLIENT, failing=st.booleans())
    def query(self, c: int, failing: bool) -> None:
        self.do(Op("sql_error" if failing else "select", self.client(c)))

    @rule(c=CLIENT)
    def begin(self, c: int) -> None:
        self.do(Op("begin", self.client(c)))

    @rule(c=CLIENT, commit=st.booleans())
    def end_block(self, c: int, commit: bool) -> None:
        self.do(Op("commit" if commit else "rollback", self.client(c)))

    @rule(c=CLIENT)
    def listen(self, c: int) -> None:
        self.do(Op("listen", self.client(c)))

    @rule(c=CLIENT, background=st.booleans())
    def sleep(self, c: int, background: bool) -> None:
        self.do(Op("start_sleep" if background else "sleep", self.client(c)))

    @rule(c=CLIENT)
    def notify(self, c: int) -> None:
        self.do(Op("notify", self.client(c)))

    @rule(c=CLIENT, terminate=st.booleans())
    def interrupt_sleep(self, c: int, terminate: bool) -> None:
        self.do(Op("terminate_sleep" if terminate else "cancel_sleep", self.client(c)))

    @rule(c=CLIENT)
    def cancel_idle(self, c: int) -> None:
        self.do(Op("cancel_idle", self.client(c)))

    @rule(c=CLIENT)
    def terminate(self, c: int) -> None:
        self.do(Op("terminate", self.client(c)))

    @rule(c=CLIENT)
    def wait_timeout(self, c: int) -> None:
        self.do(Op("wait_timeout", self.client(c)))

    @rule(c=CLIENT)
    def close(self, c: int) -> None:
        self.do(Op("close", self.client(c)))

    def teardown(self) -> None:
        try:
            real = self.run.history()
        finally:
            self.run.close()
            self.target.close()
        verdict = check_history(real)
        assert verdict.ok, _failure("real server", real, self.program)
        CHECKED["programs"] += 1
        CHECKED["client events (real server)"] += verdict.events
        if not self.differential:
            return
        ref_target = ReferenceTarget()
        try:
            ref = run_program(ref_target, self.program)
        finally:
            ref_target.close()
        ref_verdict = check_history(ref)
        assert ref_verdict.ok, _failure("reference server", ref, self.program)
        CHECKED["client events (reference)"] += ref_verdict.events
        comparison = compare(real, ref)
        assert not comparison.problems, "\n".join(comparison.problems)
        for what, n in comparison.counts.items():
            CHECKED[f"clients {what}"] += n


def machine_settings() -> settings:
    hunting = not settings.default.derandomize  # --hypothesis-profile=random
    return settings(
        max_examples=200 if hunting else 50,
        stateful_step_count=40 if hunting else 25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def test_real_server_histories_are_allowed_by_the_model(real_server: RealServer) -> None:
    RealServerMachine.server = real_server
    run_state_machine_as_test(RealServerMachine, settings=machine_settings())
