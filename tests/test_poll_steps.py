"""The option poll_steps: the poller's call at the C code's grain (§2.6 steps 3-4, 5-8, 9-10).

The unmutated model keeps every invariant; both re-check windows of step 9 are reachable
(W-recheck-reparked, W-recheck-unheld); without T7's generation check the re-check breaks
S20 (the mutation skip-park-generation); the native engine agrees with the reference
explorer on the finer model.
"""

from __future__ import annotations

import pytest
from pgcheck.checker.errors import UsageError
from pgcheck.checker.run.check import run_check
from pgcheck.model.config import make_config
from pgcheck.model.mutations import MUTATION_BY_NAME
from pgcheck.model.runtime import build
from replay import assert_replays_to, labels
from variants import config

WINDOW = config("pooled", 2, 2, messages=1, cancels=1, poll_steps=True)


def test_the_unmutated_model_keeps_every_invariant_and_reaches_both_recheck_windows() -> None:
    run = run_check(build(WINDOW), default_trace_dir=None)
    assert run.result.violation is None and not run.unreached_witnesses
    reached = run.result.witnesses_reached
    assert {"W-recheck-reparked", "W-recheck-unheld"} <= set(reached)
    # The unheld window needs only one poll call; the re-parked one a whole resume and park between.
    assert reached["W-recheck-unheld"] < reached["W-recheck-reparked"]


def test_without_the_generation_check_the_recheck_breaks_s20() -> None:
    m = MUTATION_BY_NAME["skip-park-generation"]
    assert m.smallest == WINDOW
    run = run_check(m.build(), default_trace_dir=None)
    viol = run.result.violation
    assert viol is not None and viol.property_id == "S20"
    steps = labels(run)
    # The window: carrier 1's wait wakes session 0 (step 8), carrier 0 resumes it and parks it
    # again (T1: a new generation), and carrier 1's re-check accepts a wake for the old one.
    assert steps[-1] == "PollRecheck(c=1)"
    waited = steps.index("PollWait(c=1)")
    assert "Resume(c=0, b=0)" in steps[waited:] and "PreparePark(c=0, b=0)" in steps[waited:]
    assert_replays_to(run, "S20")


def test_the_option_changes_the_state_space_and_not_the_verdicts() -> None:
    coarse = run_check(build(config("pooled", 2, 2, messages=1, cancels=1)), default_trace_dir=None)
    fine = run_check(build(WINDOW), default_trace_dir=None)
    assert coarse.result.violation is None and fine.result.violation is None
    assert fine.result.distinct > coarse.result.distinct


@pytest.mark.parametrize("symmetry", [True, False])
def test_the_native_engine_agrees_on_the_finer_model(symmetry: bool) -> None:
    spec = build(WINDOW)
    py = run_check(spec, symmetry=symmetry, default_trace_dir=None).result
    native = run_check(build(WINDOW), symmetry=symmetry, engine="native", default_trace_dir=None).result
    assert (native.distinct, native.generated, native.depth) == (py.distinct, py.generated, py.depth)


def test_poll_steps_outside_pooled_mode_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="poll_steps applies to pooled mode only"):
        make_config("thread-per-session", None, 2, {"poll_steps": True})
