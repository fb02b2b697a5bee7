"""Spin against the explorer on Hypothesis-generated small specs (the specs of
tests/test_random_specs.py): the same reachable-state count, and a model error in one
exactly when there is one in the other. Each example compiles a pan, so there are few."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from pgcheck.checker.explicit.explore import Explorer
from pgcheck.checker.export.promela import to_promela
from pgcheck.checker.export.spin import missing_tools, verify
from pgcheck.checker.lang.compile import compile_model
from test_random_specs import spec_descriptions, trace_or_none

pytestmark = pytest.mark.skipif(
    bool(missing_tools()), reason=f"{' and '.join(missing_tools())} missing; './run tests' installs them"
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(spec_descriptions())
def test_spin_and_pgcheck_agree_on_random_specs(desc: dict[str, Any]) -> None:
    model = trace_or_none(desc)
    if model is None:
        return
    result = Explorer(compile_model(model), symmetry=False, check_deadlock=False, bounds=None).run()
    with tempfile.TemporaryDirectory() as where:
        run = verify(to_promela(model, check_deadlock=False), Path(where), optimize="-O0", hash_bits=16)
    assert run.complete, run.output
    if result.verdict == "violation":
        event("model error")
        assert run.errors > 0 and run.violation == "model_error", run.output
        return
    event(f"{min(result.distinct // 10 * 10, 100)}+ states")
    assert run.errors == 0, run.message
    assert run.states == result.distinct
