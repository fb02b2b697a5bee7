"""Rumur cross-checks of the explorer through the Murphi export (ARCHITECTURE Decision 2).

Rumur is a second independent checker: it reads only the exported Murphi and explores it
breadth first with its own generated C verifier. With symmetry reduction off, the number of
states it explores must equal pgcheck's distinct count with symmetry off, on the real model
in every mode and on the examples; it must find a broken variant's invariant, a deadlock
where pgcheck finds one, a model error where pgcheck finds one, and nothing on the
unmutated model.

The export writes each symmetry group of the model as a Murphi scalarset and the rules as one
ruleset over every naming of its instances (docs/rumur.md). Rumur's exhaustive symmetry
reduction then stores one state per orbit, as pgcheck's exact canonical form does, so the two
counts with symmetry on must be equal too; its heuristic one may store more, never fewer.

The verifiers are compiled without optimisation (-O0): compiling is most of the time of
these small runs, and optimisation does not change what they find.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from pgcheck.checker.examples import mutex
from pgcheck.checker.explicit.explore import Explorer
from pgcheck.checker.export.murphi import spec_to_murphi, to_murphi
from pgcheck.checker.export.rumur import RumurRun, missing_tools, verify
from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.compile import compile_model
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.checker.lang.types import Enum, Fifo, Ref
from pgcheck.checker.run.check import run_check
from pgcheck.model import load, make_config
from pgcheck.model.config import ModelConfig
from pgcheck.model.mutations import MUTATION_BY_NAME
from test_random_specs import spec_descriptions, trace_or_none
from variants import VARIANT_BY_ID, config

from pgcheck.cli import main

pytestmark = pytest.mark.skipif(
    bool(missing_tools()), reason=f"{' and '.join(missing_tools())} missing; './run tests' installs them"
)


def rumur(murphi: str, where: Path, *, deadlock: bool = True) -> RumurRun:
    run = verify(murphi, where, optimize="-O0", deadlock=deadlock)
    assert run.complete, run.output
    return run


# Small configurations of every mode, one with interrupts, timeouts and client closes on.
COUNT_CONFIGS: list[tuple[str, ModelConfig]] = [
    ("pooled-2x2", make_config("pooled", 2, 2, {})),
    ("process-2", make_config("process", None, 2, {})),
    (
        "pooled-1x1-rich",
        make_config(
            "pooled", 1, 1,
            {"cancels": 1, "notifies": 1, "terminates": 1, "client_close": True, "idle_session_timeout": True,
             "reschedules": 1, "transport_changes": 1},
        ),
    ),
    (
        "tps-1-rich",
        make_config("thread-per-session", None, 1, {"reloads": 1, "idle_in_xact_timeout": True, "messages": 2}),
    ),
]


@pytest.mark.parametrize("name,cfg", COUNT_CONFIGS, ids=[n for n, _ in COUNT_CONFIGS])
def test_rumur_explores_as_many_states_as_pgcheck_finds(name: str, cfg: ModelConfig, tmp_path: Path) -> None:
    expected = run_check(load(cfg), symmetry=False, default_trace_dir=None)
    assert expected.result.verdict == "ok", name
    run = rumur(spec_to_murphi(load(cfg)), tmp_path)
    assert run.errors == 0, run.message
    assert run.states == expected.result.distinct


def test_the_export_without_scalarsets_explores_the_same_states(tmp_path: Path) -> None:
    cfg = make_config("pooled", 1, 2, {})
    expected = run_check(load(cfg), symmetry=False, default_trace_dir=None).result
    text = spec_to_murphi(load(cfg), scalarsets=False)
    assert "scalarset" not in text and "ruleset" not in text
    assert rumur(text, tmp_path).states == expected.distinct


# Every shape of symmetry group: sessions and carriers apart (pooled), a session together
# with its own carrier (process).
SYMMETRY_CONFIGS: list[tuple[str, ModelConfig]] = [
    ("pooled-2x2", make_config("pooled", 2, 2, {})),
    ("process-3", make_config("process", None, 3, {})),
]


@pytest.mark.parametrize("name,cfg", SYMMETRY_CONFIGS, ids=[n for n, _ in SYMMETRY_CONFIGS])
def test_rumur_symmetry_reduction_stores_what_pgcheck_stores(name: str, cfg: ModelConfig, tmp_path: Path) -> None:
    """Both permute the same groups (one scalarset per group of `spec.symmetric`) over the
    same transition relation, and both exhaustive forms keep exactly one state per orbit:
    so equal counts. The heuristic form may keep several states of one orbit."""
    canonical = run_check(load(cfg), symmetry=True, default_trace_dir=None).result
    full = run_check(load(cfg), symmetry=False, default_trace_dir=None).result
    assert canonical.distinct < full.distinct, name  # the symmetry saves something here
    murphi = spec_to_murphi(load(cfg))
    assert "scalarset" in murphi
    exhaustive = verify(murphi, tmp_path / "exhaustive", symmetry="exhaustive", optimize="-O0")
    assert exhaustive.complete and exhaustive.errors == 0, exhaustive.message
    assert exhaustive.states == canonical.distinct
    heuristic = verify(murphi, tmp_path / "heuristic", symmetry="heuristic", optimize="-O0")
    assert heuristic.complete and heuristic.errors == 0, heuristic.message
    assert canonical.distinct <= heuristic.states <= full.distinct


def test_a_set_of_sessions_is_permuted_with_the_sessions(tmp_path: Path) -> None:
    """poll_steps adds carrier.taken_cur, a set of sessions: an array of booleans indexed by
    the session scalarset, which Rumur's reduction permutes with the sessions."""
    cfg = make_config("pooled", 1, 2, {"poll_steps": True})
    canonical = run_check(load(cfg), symmetry=True, default_trace_dir=None).result
    full = run_check(load(cfg), symmetry=False, default_trace_dir=None).result
    assert canonical.distinct < full.distinct
    murphi = spec_to_murphi(load(cfg), ["S1"])  # one invariant: the counts are the point, and it builds faster
    assert "array[pg_session] of boolean" in murphi
    run = verify(murphi, tmp_path, symmetry="exhaustive", optimize="-O0")
    assert run.complete and run.errors == 0, run.message
    assert run.states == canonical.distinct


# Catalogue mutations caught only by an action property (no invariant breaks): Rumur must
# report the same property from the assertion in the rule of the offending step; one with
# two carriers and two sessions, under Rumur's symmetry reduction.
ACTION_MUTATIONS = [("exit-runs-detached", "off"), ("lease-records-parked-carrier", "exhaustive")]


@pytest.mark.parametrize("name,symmetry", ACTION_MUTATIONS, ids=[n for n, _ in ACTION_MUTATIONS])
def test_rumur_finds_a_mutation_only_an_action_property_catches(name: str, symmetry: str, tmp_path: Path) -> None:
    m = MUTATION_BY_NAME[name]
    assert m.expected in {a.id for a in m.build().action_properties}
    found = run_check(m.build(), symmetry=True, default_trace_dir=None).result
    assert found.violation is not None and found.violation.property_id == m.expected
    run = verify(spec_to_murphi(m.build()), tmp_path, symmetry=symmetry, optimize="-O0")
    assert run.violation == m.expected, run.message
    plain = run_check(load(m.smallest), symmetry=True, default_trace_dir=None).result
    assert plain.verdict == "ok"  # the unmutated model at the same size passes: the rule is what catches it


def test_an_invariant_mutation_is_found_under_rumur_symmetry_reduction(tmp_path: Path) -> None:
    m = MUTATION_BY_NAME["stale-latch-after-migration"]
    found = run_check(m.build(), symmetry=True, invariants=[m.expected], default_trace_dir=None).result
    assert found.violation is not None and found.violation.property_id == m.expected
    run = verify(spec_to_murphi(m.build(), [m.expected]), tmp_path, symmetry="exhaustive", optimize="-O0")
    assert run.violation == m.expected, run.message


@pytest.mark.parametrize("procs", [2, 3])
def test_rumur_agrees_on_the_mutex_example(procs: int, tmp_path: Path) -> None:
    plain = mutex.build(procs)
    expected = run_check(plain, symmetry=False, default_trace_dir=None).result
    run = rumur(spec_to_murphi(plain), tmp_path / "plain")
    assert run.violation is None, run.message
    assert run.states == expected.distinct
    broken = mutex.build(procs, broken=True)
    found = run_check(broken, symmetry=False, default_trace_dir=None).result
    assert found.violation is not None and found.violation.property_id == "MX1"
    assert rumur(spec_to_murphi(broken), tmp_path / "broken").violation == "MX1"


# Seeded mutations of the catalogue (the variants that are catalogue mutations), each in
# its smallest configuration; that the unmutated model passes there is the count test's job.
MUTATION_VARIANTS = ["S1", "S5", "S24"]


@pytest.mark.parametrize("pid", MUTATION_VARIANTS)
def test_rumur_finds_the_invariant_each_seeded_mutation_breaks(pid: str, tmp_path: Path) -> None:
    v = VARIANT_BY_ID[pid]
    found = run_check(v.build(), symmetry=False, invariants=[v.id], default_trace_dir=None).result
    assert found.violation is not None and found.violation.property_id == v.id
    run = rumur(spec_to_murphi(v.build(), [v.id]), tmp_path / "broken")
    assert run.violation == v.id, run.message


def test_a_stop_outside_quiescence_is_a_deadlock_for_both(tmp_path: Path) -> None:
    cfg = config("process", None, 1)
    spec = load(cfg)
    plain = run_check(spec, symmetry=False, default_trace_dir=None)
    assert plain.result.verdict == "ok" and plain.result.quiescent_states > 0
    assert rumur(spec_to_murphi(spec), tmp_path / "plain").violation is None
    spec.quiescent_fns.clear()  # no state may stop now
    broken = run_check(spec, symmetry=False, default_trace_dir=None)
    assert broken.result.violation is not None and broken.result.violation.kind == "deadlock"
    assert rumur(spec_to_murphi(spec), tmp_path / "broken").violation == "deadlock"


def test_model_errors_stop_rumur_too(tmp_path: Path) -> None:
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
    assert rumur(to_murphi(spec.trace()), tmp_path, deadlock=False).violation == "model_error"


def test_a_field_nothing_reads_still_counts(tmp_path: Path) -> None:
    spec = Spec("write-only")
    spec.entity("e", 1, {"f": Ref("e")})

    @spec.action()
    def point(s: Any) -> None:
        s.e[0].f = 0

    assert run_check(spec, symmetry=False, default_trace_dir=None).result.distinct == 2
    assert rumur(to_murphi(spec.trace()), tmp_path, deadlock=False).states == 2


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(spec_descriptions())
def test_rumur_and_pgcheck_agree_on_random_specs(desc: dict[str, Any]) -> None:
    model = trace_or_none(desc)
    if model is None:
        return
    result = Explorer(compile_model(model), symmetry=False, check_deadlock=False, bounds=None).run()
    with tempfile.TemporaryDirectory() as where:
        run = rumur(to_murphi(model, check_deadlock=False), Path(where), deadlock=False)
    if result.verdict == "violation":
        event("model error")
        assert run.violation == "model_error", run.output
        return
    event(f"{min(result.distinct // 10 * 10, 100)}+ states")
    assert run.errors == 0, run.message
    assert run.states == result.distinct


def test_export_command_writes_murphi_and_refuses_unknown_invariants(tmp_path: Path) -> None:
    out = tmp_path / "model.m"
    done = CliRunner().invoke(main, ["export", "--format=murphi", "--carriers=1", "--sessions=1", "-o", str(out)])
    assert done.exit_code == 0, done.output
    text = out.read_text()
    assert "startstate" in text and 'invariant "S1"' in text and 'rule "quiescent"' in text
    assert "type pg_session: scalarset(1);" in text and "ruleset" in text
    plain = CliRunner().invoke(main, ["export", "--format=murphi", "--carriers=1", "--sessions=1", "--no-scalarsets"])
    assert plain.exit_code == 0 and "scalarset" not in plain.output and 'invariant "S1"' in plain.output
    only = CliRunner().invoke(main, ["export", "--format=murphi", "--sessions=1", "--invariant", "OWN1"])
    assert only.exit_code == 0 and 'action OWN1' in only.output and 'invariant "S1"' not in only.output
    bad = CliRunner().invoke(main, ["export", "--format=murphi", "--invariant", "NOPE"])
    assert bad.exit_code == 2 and "unknown invariant NOPE" in bad.output
