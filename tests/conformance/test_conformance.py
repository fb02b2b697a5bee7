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
