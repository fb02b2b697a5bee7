"""Hypothesis stateful conformance: the reference implementation against the model (Decision 5).

CI runs the `conformance-ci` profile (a fixed, derandomized example budget); for a longer
search: `PGCHECK_CONFORMANCE_PROFILE=conformance-long pytest tests/conformance`.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from tests.conformance.harness import Conformance, ConformanceError
from tests.conformance.machine import PROFILE, ConformanceMachine


def test_reference_conforms_to_the_model() -> None:
    run_state_machine_as_test(ConformanceMachine, settings=settings.get_profile(PROFILE))


def test_a_scripted_run_through_every_kind_of_step_conforms() -> None:
    """Parks, migration, a deferred NOTIFY (T14), a canceled deep wait, a timeout and EOF."""
    h = Conformance()
    try:
        h.settle()
        h.send_byte(0, "begin")
        h.send_body(0)
        h.settle()
        h.interrupt(0, "notify")
        h.settle()
        h.send_byte(1, "sleep")
        h.send_body(1)
        while h.oracle.get(h.state, "session[1].pc") != "deep_wait":
            h.carrier_step(h.enabled_carriers()[0])
        h.wrong_key_cancel(1)
        h.interrupt(1, "cancel")
        h.settle()
        h.send_byte(0, "commit")
        h.send_body(0)
        h.settle()
        h.timeout_due(2)
        h.settle()
        h.client_close(0)
        h.settle()
        h.interrupt(1, "die")
        h.settle()
        actions = {label.split("(")[0] for label in h.labels}
        assert {"PollPass", "Resume", "DeepWaitWake", "ReadEOF", "LogicalExit", "TimeoutDue"} <= actions
        assert all(h.oracle.get(h.state, f"session[{i}].pc") == "gone" for i in range(3))
    finally:
        h.close()


def test_extended_query_batches_conform() -> None:
    """Parse/Bind/Describe/Execute/Sync batches (S9: one model message each), sent whole and in
    two parts: BEGIN, a deferred NOTIFY, a pg_sleep canceled in its deep wait, COMMIT."""
    h = Conformance()
    try:
        h.settle()
        h.send_byte(0, "begin", extended=True)
        h.settle()  # the carrier holds the batch's first byte and waits for the rest, pinned
        assert h.oracle.get(h.state, "session[0].pc") == "body"
        h.send_body(0)
        h.settle()
        h.interrupt(0, "notify")
        h.settle()
        h.send_byte(1, "sleep", extended=True)
        h.send_body(1)
        while h.oracle.get(h.state, "session[1].pc") != "deep_wait":
            h.carrier_step(h.enabled_carriers()[0])
        h.interrupt(1, "cancel")
        h.settle()
        h.send_byte(0, "commit", extended=True)
        h.send_body(0)
        h.settle()
        h.send_byte(1, "query", extended=True)
        h.send_body(1)
        h.settle()
        actions = [label.split("(")[0] for label in h.labels]
        assert "DeepWaitWake" in actions and actions.count("Execute") == 4
    finally:
        h.close()


def test_a_step_the_model_does_not_allow_is_reported_with_an_itf_trace(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PGCHECK_CONFORMANCE_DIR", str(tmp_path))
    h = Conformance()
    try:
        h.settle()
        h.send_byte(0, "query")
        try:
            h.send_byte(0, "query")  # the client has not finished its message: not a model action
        except ConformanceError as e:
            message = str(e)
        else:
            raise AssertionError("a disabled model action was accepted")
    finally:
        h.close()
    assert "ClientSendByte(b=0, cmd=query) is not an enabled model action" in message
    traces = list(tmp_path.glob("*.itf.json"))
    assert len(traces) == 1 and '"kind": "conformance"' in traces[0].read_text()


class PollStepsMachine(ConformanceMachine):
    """The poller's call as three steps in both (model option poll_steps, §2.6 steps 3-10)."""

    poll_steps = True


def test_reference_conforms_with_the_poll_call_in_three_steps() -> None:
    run_state_machine_as_test(PollStepsMachine, settings=settings.get_profile(PROFILE))


def _poll_window(h: Conformance) -> None:
    """Carrier 0 takes both parked sessions and its wait makes session 0 runnable (§2.6 step 8)."""
    h.settle()
    h.carrier_step(0)  # PollTake
    h.carrier_step(0)  # PollImmediate: nothing ready
    h.send_byte(0, "query")
    h.send_body(0)
    h.carrier_step(0)  # PollWait


def test_the_recheck_rejects_a_wake_for_a_backend_that_parked_again() -> None:
    """§3.4 stale park generation: carrier 1 resumes and re-parks session 0 before carrier 0's
    re-check (step 9) reaches it with the generation read at T5; T7 refuses that wake."""
    h = Conformance(carriers=2, sessions=2, timeouts=False, poll_steps=True)
    try:
        _poll_window(h)
        h.settle()  # carrier 1: lease, resume, the query, park again (new generation)
        assert h.oracle.get(h.state, "session[0].q") == "parked"
        h.interrupt(0, "cancel")
        assert h.ctl.enabled_steps()[0].action == "PollRecheck"
        h.carrier_step(0)
        assert h.oracle.get(h.state, "session[0].q") == "parked"
        assert h.oracle.get(h.state, "session[0].wake") == "none"
    finally:
        h.close()


def test_the_recheck_marks_a_wake_on_a_backend_it_no_longer_holds() -> None:
    """W-recheck-unheld: session 0 is LEASED by carrier 1 (same park, not resumed) when carrier
    0's re-check reaches it; T7's generation check passes and the poller writes its wake, a
    thread that is not the holder (S19, §2.4). Model and implementation agree."""
    h = Conformance(carriers=2, sessions=2, timeouts=False, poll_steps=True)
    try:
        _poll_window(h)
        h.carrier_step(1)  # LeaseRunnable
        assert h.oracle.get(h.state, "session[0].q") == "leased"
        h.interrupt(0, "cancel")
        h.carrier_step(0)  # PollRecheck
        assert h.oracle.get(h.state, "session[0].q") == "leased"
        assert h.oracle.get(h.state, "session[0].wake") == "logical"  # TRANSPORT | LOGICAL
        h.settle()
    finally:
        h.close()
