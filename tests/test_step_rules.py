"""Rules about steps (specs/steps.py), client guarantees (specs/client.py) and ghosts.

- Every ghost a property reads is written by at least one action of the unmutated model, in
  every runtime shape and option set the README and the tests use (no property is blind by
  construction), and the check itself finds a ghost nobody writes.
- Every action property and every client property can fail: the catalogue has a seeded bug
  expected to be caught by it (tests/test_mutations.py checks the catch, the shortest trace
  ending with the offending step and its replay).
- The new properties hold on the unmutated model in the README's configurations, with the
  liveness checker in a configuration of each shape.
"""

from __future__ import annotations

from typing import Any

import pytest
from pgcheck.checker.errors import UsageError
from pgcheck.checker.lang.ghosts import ghosts_read_by_properties, unwritten_ghosts
from pgcheck.checker.lang.types import Bool
from pgcheck.checker.run.check import run_check
from pgcheck.model.config import ModelConfig, make_config
from pgcheck.model.mutations import CATALOGUE, config
from pgcheck.model.runtime import build

RICH: dict[str, Any] = dict(
    messages=1, cancels=1, terminates=1, reloads=1, notifies=1, reschedules=1, transport_changes=1,
    listeners=True, idle_session_timeout=True, idle_in_xact_timeout=True, client_close=True,
    commands=("query", "begin", "commit", "listen", "sleep"),
)
SHAPES: list[ModelConfig] = [
    config("process", None, 2, **RICH),
    config("thread-per-session", None, 2, sticky_idle=True, **RICH),
    config("pooled", 2, 2, hibernate=True, postmaster_death=True, sticky_idle=True, **RICH),
    config("pooled", 2, 2, affinity_enforced=True, **RICH),
    config("pooled", 2, 2, poll_steps=True, **RICH),
]


@pytest.mark.parametrize("cfg", SHAPES, ids=lambda c: f"{c.mode}-{c.carriers}x{c.sessions}")
def test_every_ghost_a_property_reads_is_written_by_an_action(cfg: ModelConfig) -> None:
    model = build(cfg).trace()
    read = ghosts_read_by_properties(model)
    assert "session.notify_owed" in read and "session.byte_car" in read
    assert unwritten_ghosts(model) == {}


def test_a_ghost_no_action_writes_is_found() -> None:
    """What S22 used to be: a ghost only a seeded bug wrote, read by an invariant that could not fail."""
    spec = build(config("pooled", 1, 1))
    spec.ghost("session", "handler_ran_detached", Bool(), "a timeout handler ran detached")
    spec.invariant("X22", "never set")(lambda s: ~s.session[0].handler_ran_detached)
    assert unwritten_ghosts(spec.trace()) == {"session.handler_ran_detached": {"X22"}}


def test_a_per_session_ghost_on_the_scheduler_record_is_refused() -> None:
    spec = build(config("pooled", 1, 2))
    spec.ghost("sched", "last_woken", Bool(), "the last session the poller woke was session 0", per="session")
    with pytest.raises(UsageError, match=r"ghost sched.last_woken is per session"):
        spec.trace()


def _step_and_client_properties(cfg: ModelConfig) -> set[str]:
    spec = build(cfg)
    ids = {a.id for a in spec.action_properties}
    return ids | {t.id for t in spec.temporal if t.id.startswith("CL")}


def test_every_step_rule_and_client_property_has_a_seeded_bug() -> None:
    declared: set[str] = set()
    for cfg in SHAPES:
        declared |= _step_and_client_properties(cfg)
    assert {"S19", "S22", "S23", "OWN1", "EXIT1", "EXIT2", "STAGE1", "LEASE1", "ORD1", "ORD2"} <= declared
    assert {"CL1", "CL2", "CL3", "CL4", "CL5"} <= declared
    expected = {m.expected for m in CATALOGUE}
    assert declared <= expected, declared - expected


# The README's example configurations (model/config.py defaults for the options not named).
README = [
    make_config("pooled", 2, 3, {"cancels": 1, "commands": ("query", "sleep")}),
    make_config("thread-per-session", None, 3, {}),
    make_config("pooled", 2, 2, {"poll_steps": True, "cancels": 1}),
]


@pytest.mark.parametrize("cfg", README, ids=lambda c: f"{c.mode}-{c.carriers}x{c.sessions}")
def test_step_rules_hold_at_the_readme_configurations(cfg: ModelConfig) -> None:
    run = run_check(build(cfg), engine="python", default_trace_dir=None)
    assert run.result.verdict == "ok", run.result.violation and run.result.violation.property_id
    assert len(run.model.action_properties) >= 7


LIVE = [
    config("process", None, 2, messages=1, notifies=1, listeners=True, idle_session_timeout=True),
    config("thread-per-session", None, 2, messages=1, notifies=1, listeners=True, idle_session_timeout=True,
           commands=("query", "begin", "commit")),
    config("pooled", 1, 2, messages=1, notifies=1, listeners=True, commands=("query", "begin", "commit")),
    config("pooled", 1, 1, messages=1, reloads=1, idle_session_timeout=True, reschedules=1, transport_changes=1),
]


@pytest.mark.parametrize("cfg", LIVE, ids=lambda c: f"{c.mode}-{c.carriers}x{c.sessions}")
def test_client_liveness_holds_in_every_shape(cfg: ModelConfig) -> None:
    props = [t.id for t in build(cfg).temporal if t.id.startswith("CL")]
    assert props
    run = run_check(build(cfg), properties=props, default_trace_dir=None)
    assert run.result.verdict == "ok", run.result.violation and run.result.violation.property_id


def test_z3_proves_the_step_rules_and_finds_the_broken_step_of_a_mutation() -> None:
    """`prove` asks each action property as a step obligation, H ∧ Guard ⇒ P, under the proven H."""
    from pgcheck.checker.symbolic.prove import run_prove
    from pgcheck.model.mutations import get

    cfg = make_config("pooled", 2, 3, {})  # the configuration `pgcheck prove` proves by default
    ok = run_prove(build(cfg), "pooled", time_limit=240)
    assert {v.id: v.status for v in ok.steps} == {a.id: "proven" for a in build(cfg).action_properties}
    broken = run_prove(get("lease-records-parked-carrier").build(cfg), "pooled", time_limit=240)
    by_id = {v.id: v for v in broken.steps}
    assert by_id["OWN1"].status == "cti" and "LeaseRunnable" in by_id["OWN1"].reason
    pre, post = by_id["OWN1"].cti[0].state, by_id["OWN1"].cti[1].state
    assert post is not None and pre != post
    assert by_id["ORD1"].status == "proven"
