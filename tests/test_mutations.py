"""The seeded-bug catalogue (model/mutations/): each mutation is caught by exactly the property
the design says it breaks, at its declared smallest configuration, which really is needed; the
unmutated model at the same configuration is not flagged; docs/bugs.md matches a fresh run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pgcheck.checker.errors import ModelError, UsageError
from pgcheck.checker.run.check import run_check
from pgcheck.model.config import make_config
from pgcheck.model.mutations import CATALOGUE, MUTATION_BY_NAME, NOT_IN_CATALOGUE, Mutation, get
from pgcheck.model.mutations.base import drop_check, smaller_configs
from pgcheck.model.mutations.check import Outcome, check_mutation
from pgcheck.model.mutations.report import doc_text, table_lines
from pgcheck.model.runtime import build
from replay import assert_replays_to, labels

ROOT = Path(__file__).resolve().parent.parent
SAFETY = [m for m in CATALOGUE if not m.liveness]
LIVENESS = [m for m in CATALOGUE if m.liveness]


def ids(ms: list[Mutation]) -> list[str]:
    return [m.name for m in ms]


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    return {m.name: check_mutation(m) for m in CATALOGUE}


# ------------------------------------------------------------------ the declarations


def test_catalogue_covers_the_digest_bugs_and_design_rules() -> None:
    sources = {part.strip() for m in CATALOGUE for part in m.source.split(",")}
    wanted = {"B1", "B2", "B7", "B8a", "B8b", "B9(ii)", "B14", "B17", "B19", "B20", "H1", "H2", "H3", "H4", "H5", "H6"}
    assert wanted <= sources, wanted - sources
    # The design-rule breakers of the issue, by the property that must catch them.
    rules = {m.expected for m in CATALOGUE if m.source.endswith("rule")} | {"S29"}
    assert {"S9", "S11", "S13", "L2", "S22", "S23", "L7", "L8", "S30", "S24"} <= rules
    with pytest.raises(ModelError, match="kind must be"):
        Mutation("x", "B1", "S6", CATALOGUE[0].smallest, "x", (), lambda spec, cfg: None)
    assert "S29" in {m.expected for m in CATALOGUE}
    assert len(MUTATION_BY_NAME) == len(CATALOGUE)
    # Every bug and hazard of digest §6 is either a mutation or listed with the reason it is not.
    digest = {f"B{i}" for i in range(1, 25)} | {f"H{i}" for i in range(1, 7)}
    covered = {s.split("(")[0].rstrip("ab") for s in sources} | set(NOT_IN_CATALOGUE)
    assert digest <= covered, digest - covered
    assert not set(NOT_IN_CATALOGUE) & {s.split("(")[0].rstrip("ab") for s in sources}


@pytest.mark.parametrize("m", CATALOGUE, ids=ids(CATALOGUE))
def test_mutation_is_a_small_diff_of_the_actions_it_names(m: Mutation) -> None:
    plain = {a.name: a.fn.__code__ for a in build(m.smallest).actions}
    mutated = {a.name: a.fn.__code__ for a in m.build().actions}
    assert set(plain) <= set(mutated), "a mutation never removes an action here"
    changed = {n for n, code in mutated.items() if plain.get(n) is not code}
    assert changed == set(m.changes)
    assert m.source and m.expected and len(m.explanation.split()) >= 25
    # Every mode it declares builds and traces.
    for mode in m.modes:
        carriers = m.smallest.carriers if mode == "pooled" else None
        m.build(make_config(mode, carriers, m.smallest.sessions, m.smallest.options)).trace()


@pytest.mark.parametrize("m", SAFETY, ids=ids(SAFETY))
def test_expected_property_is_declared_in_the_smallest_configuration(m: Mutation) -> None:
    spec = build(m.smallest)
    assert m.expected in {p.id for p in spec.properties} | {a.id for a in spec.action_properties}


@pytest.mark.parametrize("m", CATALOGUE, ids=ids(CATALOGUE))
def test_stated_kind_matches_the_expected_property(m: Mutation) -> None:
    """A mutation states its kind; a liveness bug's property is temporal, a safety bug's is not."""
    spec = build(m.smallest)
    temporal = {t.id for t in spec.temporal}
    assert (m.kind == "liveness") == (m.expected in temporal)


def test_unknown_mutation_names_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"known mutations: .*wake-before-claim"):
        get("no-such-bug")


# ------------------------------------------------------------------ safety mutations are caught


@pytest.mark.parametrize("m", SAFETY, ids=ids(SAFETY))
def test_safety_mutation_is_caught_by_exactly_its_property(m: Mutation, outcomes: dict[str, Outcome]) -> None:
    o = outcomes[m.name]
    assert o.run is not None
    viol = o.run.result.violation
    assert viol is not None, f"{m.name}: not caught ({o.states} states)"
    step_rules = {a.id for a in o.run.model.action_properties}
    assert (viol.kind, viol.property_id) == ("action" if m.expected in step_rules else "invariant", m.expected), labels(o.run)
    assert o.caught and o.length == len(viol.trace) - 1
    # A changed action takes part in the counterexample.
    assert set(m.changes) & {o.run.model.bindings[st.binding].action for st in viol.trace if st.binding is not None}
    assert_replays_to(o.run, m.expected)
    # Shortest: without symmetry reduction the same length.
    flat = check_mutation(m, symmetry=False)
    assert flat.caught_by == m.expected and flat.length == o.length


@pytest.mark.parametrize("m", SAFETY, ids=ids(SAFETY))
def test_smallest_configuration_is_needed(m: Mutation) -> None:
    smaller = smaller_configs(m.smallest)
    for label, cfg in smaller:
        if not set(m.changes) <= {a.name for a in build(cfg).actions}:
            continue  # the code the bug changes is not there (an option turned it off)
        o = check_mutation(m, cfg)
        assert o.caught_by != m.expected, f"{m.name} still shows with {label}"


@pytest.mark.parametrize("m", CATALOGUE, ids=ids(CATALOGUE))
def test_unmutated_model_is_not_flagged_in_the_mutation_configuration(m: Mutation) -> None:
    run = run_check(build(m.smallest), default_trace_dir=None)
    viol = run.result.violation
    assert run.result.verdict == "ok", viol and (viol.property_id, labels(run))


# ------------------------------------------------------------------ liveness mutations


@pytest.mark.parametrize("m", LIVENESS, ids=ids(LIVENESS))
def test_liveness_mutation_breaks_no_safety_property(m: Mutation) -> None:
    """Only the liveness checker can catch these: every invariant holds and there is no deadlock."""
    run = run_check(m.build(), default_trace_dir=None)
    viol = run.result.violation
    assert run.result.verdict == "ok", viol and (viol.kind, viol.property_id, labels(run))


@pytest.mark.parametrize("m", LIVENESS, ids=ids(LIVENESS))
def test_liveness_mutation_is_caught_by_exactly_its_property(m: Mutation, outcomes: dict[str, Outcome]) -> None:
    o = outcomes[m.name]
    assert o.run is not None and o.caught, o.status
    viol = o.run.result.violation
    assert viol is not None and viol.kind == "liveness"
    assert isinstance(getattr(viol, "loop_index", None), int)
    extra: dict[str, Any] = {"liveness": True, "properties": [m.expected]}
    plain = run_check(build(m.smallest), default_trace_dir=None, **extra)
    assert plain.result.violation is None


def test_report_separates_expected_other_and_not_caught() -> None:
    """Three outcomes, from real runs: the catalogue's bug under its own expectation, the same bug
    expected (wrongly) to trip another property, and a change that breaks nothing."""
    real = get("wake-before-claim")
    wrong = Mutation("wrong-expectation", "B1", "S1", real.smallest, real.explanation, real.changes, real.apply, kind="safety")
    harmless = Mutation("no-bug", "B1", "S6", real.smallest, real.explanation, (), lambda spec, cfg: None, kind="safety")
    outs = [check_mutation(m) for m in (real, wrong, harmless)]
    assert [o.category for o in outs] == ["expected", "other", "missed"]
    lines = table_lines(outs, 0.0)
    assert "caught by the expected property: 1/3" in lines
    assert "caught by another property:      1 (wrong-expectation)" in lines
    assert any(line.startswith("not caught:                      1 (no-bug)") for line in lines)


def test_drop_and_weaken_check_edit_one_require_without_copying_the_action() -> None:
    cfg = get("blocked-read-ignores-timeout").smallest
    plain = build(cfg)
    guard = {b.label: b.guard.show() for b in plain.trace().bindings if b.action == "BlockedReadWake"}
    weakened = get("blocked-read-ignores-timeout").build().trace()
    changed = {b.label: b.guard.show() for b in weakened.bindings if b.action == "BlockedReadWake"}
    assert guard.keys() == changed.keys()
    assert all("tmo_due" in guard[k] and "tmo_due" not in changed[k] for k in guard)
    dropped = build(cfg)
    drop_check(dropped, "BlockedReadWake", 2)
    loose = {b.label: b.guard.show() for b in dropped.trace().bindings if b.action == "BlockedReadWake"}
    assert all("mbox" not in loose[k] and "mbox" in guard[k] for k in guard)


# ------------------------------------------------------------------ docs/bugs.md


def test_bugs_doc_is_the_generated_catalogue(outcomes: dict[str, Outcome]) -> None:
    text = (ROOT / "docs" / "bugs.md").read_text()
    expected = doc_text([outcomes[m.name] for m in CATALOGUE], NOT_IN_CATALOGUE)
    assert text == expected, "regenerate: pgcheck mutants --doc docs/bugs.md"
    assert re.findall(r"^\| `([^`]+)`", text, flags=re.M) == ids(CATALOGUE)
