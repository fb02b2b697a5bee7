"""Every invariant can fail, and the unmutated model satisfies them all.

For each invariant id the model declares, tests/variants.py has a broken variant (one
action changed, or the two a catalogue mutation concerns). Here we check that the explorer reports exactly that id, that
the counterexample is shortest (the same length with and without symmetry reduction:
breadth-first search returns a minimal-depth violation either way), and that it replays
step by step, also from the ITF document a run writes. The same configurations run on
the unmutated model must report nothing (no false alarm), and a last test runs the
unmutated model over every small configuration of every mode.
"""

from __future__ import annotations

from typing import Any

import pytest
from pgcheck.checker.run.check import CheckRun, run_check
from pgcheck.model.config import ModelConfig
from pgcheck.model.runtime import build
from pgcheck.specs.safety import NOT_APPLICABLE
from replay import assert_replays_to
from replay import labels as _labels
from variants import VARIANT_BY_ID, VARIANTS, Variant, config

# Variants checked with invariants=[id] because an earlier-declared invariant is implied
# to fail whenever theirs does (see the docstring of tests/variants.py).
RESTRICTED = {"S2", "S27"}


def _run(v: Variant, *, symmetry: bool = True) -> CheckRun:
    # Invariants only: the action properties (rules about steps, tests/test_step_rules.py)
    # often catch the same broken step earlier, at the step itself.
    return run_check(
        v.build(),
        invariants=[v.id] if v.only else None,
        symmetry=symmetry,
        default_trace_dir=None,
        action_properties=[],
    )


@pytest.mark.parametrize("v", VARIANTS, ids=[v.id for v in VARIANTS])
def test_variant_changes_only_the_actions_it_names(v: Variant) -> None:
    plain = {a.name: a.fn.__code__ for a in build(v.cfg).actions}
    broken = {a.name: a.fn.__code__ for a in v.build().actions}
    assert set(plain) <= set(broken)
    changed = {name for name, code in broken.items() if plain.get(name) is not code}
    assert changed == set(v.actions) and len(v.actions) <= 2
    assert v.cite


@pytest.mark.parametrize("v", VARIANTS, ids=[v.id for v in VARIANTS])
def test_variant_reports_its_invariant_with_a_shortest_replayable_trace(v: Variant) -> None:
    run = _run(v)
    res = run.result
    assert res.verdict == "violation", f"{v.id}: no violation found ({res.distinct} states)"
    viol = res.violation
    assert viol is not None
    assert viol.kind == "invariant", f"{v.id}: {viol.kind} {viol.message} via {_labels(run)}"
    assert viol.property_id == v.id, f"expected {v.id}, got {viol.property_id} via {_labels(run)}"
    # The broken action takes part (otherwise the unmutated model would be at fault).
    assert set(v.actions) & {run.model.bindings[st.binding].action for st in viol.trace[1:] if st.binding is not None}
    assert_replays_to(run, v.id)

    # Shortest: without symmetry reduction BFS finds a violation of the same length.
    flat = _run(v, symmetry=False)
    assert flat.result.violation is not None
    assert flat.result.violation.property_id == v.id
    assert len(flat.result.violation.trace) == len(viol.trace), (_labels(run), _labels(flat))


@pytest.mark.parametrize("v", VARIANTS, ids=[v.id for v in VARIANTS])
def test_unmutated_model_passes_in_the_variant_configuration(v: Variant) -> None:
    run = run_check(build(v.cfg), invariants=None, symmetry=True, default_trace_dir=None)
    viol = run.result.violation
    assert run.result.verdict == "ok", viol and (viol.property_id, _labels(run))


def test_restricted_variants_are_exactly_the_documented_ones() -> None:
    assert {v.id for v in VARIANTS if v.only} == RESTRICTED
    for pid in RESTRICTED:
        # Unrestricted, the implied earlier invariant is what BFS reports first.
        run = run_check(VARIANT_BY_ID[pid].build(), default_trace_dir=None, action_properties=[])
        assert run.result.violation is not None
        assert run.result.violation.property_id == {"S2": "S1", "S27": "S6"}[pid]


def _declared(cfg: ModelConfig) -> set[str]:
    return {p.id for p in build(cfg).properties if p.kind == "invariant"}


def test_every_declared_invariant_has_a_variant() -> None:
    rich = config("pooled", 2, 2, affinity_enforced=True, sticky_idle=True, hibernate=True, postmaster_death=True)
    declared = _declared(rich)
    steps = {a.id for a in build(rich).action_properties}
    for mode in ("process", "thread-per-session"):
        declared |= _declared(config(mode, None, 2))
    assert set(VARIANT_BY_ID) == declared
    assert len(VARIANT_BY_ID) == len(VARIANTS)
    # Digest invariants are state predicates, action properties (rules about steps, S19, S22,
    # S23: tests/test_step_rules.py), or listed, with a reason, as not applicable.
    digest = {f"S{i}" for i in range(1, 34)}
    assert {"S19", "S22", "S23"} <= steps
    assert digest - declared - steps == set(NOT_APPLICABLE)


# ------------------------------------------------------------------ the unmutated model, small sizes
#
# Every mode, every size up to 2 carriers x 3 sessions. The option set grows poorer as the
# size grows so that the whole table explores in about half a minute:
#
#   RICH   - every command, every interrupt kind, both timeout generations, both idle
#            timeouts, client close, two messages per client (1-session process only)
#   WIDE   - one message per client, cancel + terminate + notify + reschedule, listeners,
#            both idle timeouts, client close, query/begin/commit/sleep (1-session shapes)
#   LEAN   - one message per client, every client active, query/begin, client close
#            (2 sessions, and 3 process sessions / 1x3 pooled)
#   SMALL  - one message for two active clients (the third stays idle), query/begin
#            (3-session thread-per-session and 2x3 pooled)
#
# Extras per row are listed in the table.

RICH: dict[str, Any] = dict(
    messages=2, active_clients=12, cancels=1, terminates=1, notifies=1, reschedules=1, transport_changes=1,
    reloads=1, listeners=True, idle_session_timeout=True, idle_in_xact_timeout=True, client_close=True,
    commands=("query", "begin", "commit", "listen", "sleep"),
)
WIDE: dict[str, Any] = dict(
    messages=1, active_clients=12, cancels=1, terminates=1, notifies=1, reschedules=1, listeners=True,
    idle_session_timeout=True, idle_in_xact_timeout=True, client_close=True,
    commands=("query", "begin", "commit", "sleep"),
)
LEAN: dict[str, Any] = dict(messages=1, active_clients=12, commands=("query", "begin"), client_close=True)
SMALL: dict[str, Any] = dict(messages=1, active_clients=2, commands=("query", "begin"))

SIZES: list[tuple[str, int | None, int, str, dict[str, Any], dict[str, Any]]] = [
    ("process", None, 1, "RICH", RICH, {}),
    ("process", None, 2, "LEAN+interrupts", LEAN, dict(cancels=1, notifies=1, listeners=True)),
    ("process", None, 3, "LEAN", LEAN, {}),
    ("thread-per-session", None, 1, "WIDE+sticky", WIDE, dict(sticky_idle=True)),
    ("thread-per-session", None, 2, "LEAN+cancel", LEAN, dict(cancels=1)),
    ("thread-per-session", None, 3, "SMALL", SMALL, {}),
    ("pooled", 1, 1, "WIDE+sticky+hibernate+pm-death", WIDE, dict(sticky_idle=True, hibernate=True, postmaster_death=True)),
    ("pooled", 1, 2, "LEAN+cancel", LEAN, dict(cancels=1)),
    ("pooled", 1, 3, "LEAN", LEAN, {}),
    ("pooled", 2, 1, "WIDE+pm-death", WIDE, dict(postmaster_death=True)),
    ("pooled", 2, 2, "LEAN", LEAN, {}),
    ("pooled", 2, 2, "LEAN+affinity", LEAN, dict(affinity_enforced=True)),
    ("pooled", 2, 3, "SMALL", SMALL, {}),
]


@pytest.mark.parametrize(
    ("mode", "carriers", "sessions", "label", "base", "extra"),
    SIZES,
    ids=[f"{m}-{c}x{s}-{label}" if c else f"{m}-{s}-{label}" for m, c, s, label, _, _ in SIZES],
)
def test_unmutated_model_satisfies_every_invariant(
    mode: str, carriers: int | None, sessions: int, label: str, base: dict[str, Any], extra: dict[str, Any]
) -> None:
    cfg = config(mode, carriers, sessions, **{**base, **extra})
    run = run_check(build(cfg), invariants=None, symmetry=True, default_trace_dir=None)
    viol = run.result.violation
    assert run.result.verdict == "ok", viol and (viol.property_id, viol.message, _labels(run))
    assert len(run.model.invariants) >= 27
