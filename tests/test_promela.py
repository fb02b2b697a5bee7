"""Spin cross-checks of the explorer through the Promela export (ARCHITECTURE Decision 2).

Spin is an independent checker: it reads only the exported Promela and explores it with
its own depth-first search. With partial-order reduction off, the number of states it
stores must equal pgcheck's distinct count with symmetry off, on the real model in every
mode; it must find each broken variant's invariant (tests/variants.py), a deadlock where
pgcheck finds one, and nothing on the unmutated model.

pan is compiled without optimisation (-O0): compiling is most of the time of these small
runs, and optimisation does not change what pan finds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pgcheck.checker.export.promela import spec_to_promela, to_promela
from pgcheck.checker.export.spin import SpinRun, missing_tools, verify
from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.checker.lang.types import Enum, Fifo, Ref
from pgcheck.checker.run.check import run_check
from pgcheck.model import load, make_config
from pgcheck.model.config import ModelConfig
from variants import VARIANTS, Variant, config

pytestmark = pytest.mark.skipif(
    bool(missing_tools()), reason=f"{' and '.join(missing_tools())} missing; './run tests' installs them"
)


def spin(pml: str, where: Path) -> SpinRun:
    run = verify(pml, where, optimize="-O0", hash_bits=18)
    assert run.complete, run.output
    return run


# Small configurations of every mode, with the options that add behaviour switched on
# in a few of them (interrupts, timeouts, closes, sticky idle, hibernation, affinity).
COUNT_CONFIGS: list[tuple[str, ModelConfig]] = [
    ("pooled-1x1", make_config("pooled", 1, 1, {})),
    ("pooled-2x2", make_config("pooled", 2, 2, {})),
    ("pooled-2x3", make_config("pooled", 2, 3, {})),
    ("process-2", make_config("process", None, 2, {})),
    ("tps-2", make_config("thread-per-session", None, 2, {})),
    (
        "pooled-1x1-rich",
        make_config(
            "pooled", 1, 1,
            {"cancels": 1, "notifies": 1, "terminates": 1, "client_close": True, "idle_session_timeout": True,
             "reschedules": 1, "transport_changes": 1},
        ),
    ),
    (
        "pooled-2x2-idle",
        make_config("pooled", 2, 2, {"sticky_idle": True, "hibernate": True, "affinity_enforced": True, "postmaster_death": True}),
    ),
    (
        "tps-1-rich",
        make_config("thread-per-session", None, 1, {"reloads": 1, "idle_in_xact_timeout": True, "messages": 2}),
    ),
]


@pytest.mark.parametrize("name,cfg", COUNT_CONFIGS, ids=[n for n, _ in COUNT_CONFIGS])
def test_spin_stores_as_many_states_as_pgcheck_finds(name: str, cfg: ModelConfig, tmp_path: Path) -> None:
    expected = run_check(load(cfg), symmetry=False, default_trace_dir=None)
    assert expected.result.verdict == "ok", name
    run = spin(spec_to_promela(load(cfg)), tmp_path)
    assert run.errors == 0, run.message
    assert run.states == expected.result.distinct


@pytest.mark.parametrize("v", VARIANTS, ids=[v.id for v in VARIANTS])
def test_spin_finds_each_broken_variant(v: Variant, tmp_path: Path) -> None:
    # Asserting only the variant's invariant: pan stops at its first error, and depth-first
    # it may reach a state that breaks another invariant first.
    run = spin(spec_to_promela(v.build(), [v.id]), tmp_path)
    assert run.violation == f"invariant_{v.id}", run.message


def test_unmutated_model_passes_in_the_variant_configurations(tmp_path: Path) -> None:
    """The configurations the variants need, without the broken action: no error at all."""
    seen: set[str] = set()
    for i, v in enumerate(VARIANTS):
        if repr(v.cfg) in seen:
            continue
        seen.add(repr(v.cfg))
        if len(seen) > 4:
            break
        run = spin(spec_to_promela(load(v.cfg)), tmp_path / str(i))
        expected = run_check(load(v.cfg), symmetry=False, default_trace_dir=None).result
        assert run.errors == 0, f"{v.cfg}: {run.message}"
        assert run.states == expected.distinct


def test_a_stop_outside_quiescence_is_a_deadlock_for_both(tmp_path: Path) -> None:
    cfg = config("process", None, 1)
    spec = load(cfg)
    plain = run_check(spec, symmetry=False, default_trace_dir=None)
    assert plain.result.verdict == "ok" and plain.result.quiescent_states > 0
    spec.quiescent_fns.clear()  # no state may stop now
    broken = run_check(spec, symmetry=False, default_trace_dir=None)
    assert broken.result.violation is not None and broken.result.violation.kind == "deadlock"
    assert spin(spec_to_promela(spec), tmp_path / "broken").violation == "deadlock"
    assert spin(spec_to_promela(load(cfg)), tmp_path / "plain").violation is None


def test_model_errors_stop_spin_too(tmp_path: Path) -> None:
    spec = Spec("overflow")
    spec.entity("p", 2, {"pc": Enum("ppc", ["idle", "sent"])})
    spec.singleton("q", {"items": Fifo("p", 1)})

    @spec.action(i="p")
    def send(s: Any, i: int) -> None:
        require(s.p[i].pc == "idle")
        s.q.items = X.fifo_push(s.q.items, i)  # the second send overflows capacity 1
        s.p[i].pc = "sent"

    run = run_check(spec, symmetry=False, default_trace_dir=None)
    assert run.result.violation is not None and run.result.violation.kind == "model-error"
    assert spin(to_promela(spec.trace()), tmp_path).violation == "model_error"


def test_a_field_nothing_reads_still_counts(tmp_path: Path) -> None:
    """pgcheck tells states apart by every field; Spin must not drop write-only variables."""
    spec = Spec("write-only")
    spec.entity("e", 1, {"f": Ref("e")})

    @spec.action()
    def point(s: Any) -> None:
        s.e[0].f = 0

    expected = run_check(spec, symmetry=False, default_trace_dir=None).result
    assert expected.distinct == 2
    assert spin(to_promela(spec.trace(), check_deadlock=False), tmp_path).states == 2


@pytest.mark.parametrize("name", ["wake-marked-by-sender", "runnable-pushed-at-head", "interrupt-to-wrong-session"])
def test_spin_checks_action_properties_inside_the_step(name: str, tmp_path: Path) -> None:
    """A rule about steps is an assertion in the binding's d_step: Spin reports the seeded bug
    by its expected action property, and the unmutated model at the same size passes."""
    from pgcheck.model.mutations import get

    m = get(name)
    left_out: list[str] = []
    run = spin(spec_to_promela(m.build(), [m.expected], not_expressible=left_out), tmp_path / "broken")
    assert left_out == [] and run.violation == f"action_{m.expected}", run.message
    plain = spin(spec_to_promela(load(m.smallest)), tmp_path / "plain")
    assert plain.errors == 0, plain.message
