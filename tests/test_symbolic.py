"""The Z3 engines against the explicit explorer (Decision 2) and on a hand-made spec.

- A two-process lock whose mutual exclusion is not inductive alone (a known CTI) and is
  with the known lemma "critical iff holder"; a broken acquire is never proven.
- Broken one-action variants of the runtime model (tests/variants.py): `bmc` finds the
  invariant at the explorer's shortest length with a trace that replays, the unmutated
  model has no violation at that depth, and `prove` does not prove what a variant breaks
  where it proves it for the unmutated model.
- Hypothesis-generated specs: `bmc` agrees with the naive enumeration on verdict and
  shortest length.
- The command line: exit codes, CTIs as ITF that `pgcheck show` reads, one-line errors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import naive
import pytest
from click.testing import CliRunner
from hypothesis import event, given
from pgcheck.checker.errors import ModelError
from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.compile import compile_model
from pgcheck.checker.lang.interpret import apply_binding, evaluate
from pgcheck.checker.lang.spec import Property, Spec, TracedModel, require
from pgcheck.checker.lang.types import Enum, Ref
from pgcheck.checker.run.check import run_check
from pgcheck.checker.symbolic.bmc import run_bmc
from pgcheck.checker.symbolic.induction import Candidate, prove, trace_property
from pgcheck.checker.symbolic.prove import run_prove
from pgcheck.checker.traces.itf_read import load_trace
from pgcheck.model.runtime import build
from test_random_specs import SETTINGS, naive_reachable, spec_descriptions, trace_or_none
from variants import VARIANTS, Variant

from pgcheck.cli import main

PC = Enum("pc", ["idle", "critical"])


def lock_spec(broken: bool = False) -> Spec:
    spec = Spec("lock")
    spec.entity("proc", 2, {"pc": PC})
    spec.singleton("lock", {"holder": Ref("proc")})

    @spec.action(p="proc")
    def acquire(s: Any, p: int) -> None:
        require(s.proc[p].pc == "idle")
        if not broken:
            require(X.is_null(s.lock.holder))
        s.lock.holder = p
        s.proc[p].pc = "critical"

    @spec.action(p="proc")
    def release(s: Any, p: int) -> None:
        require(s.proc[p].pc == "critical")
        s.lock.holder = None
        s.proc[p].pc = "idle"

    @spec.invariant("MX", "at most one process is critical")
    def mx(s: Any) -> object:
        return ~((s.proc[0].pc == "critical") & (s.proc[1].pc == "critical"))

    return spec


HOLDER = Property(
    "LK", "lemma", "a process is critical exactly when it holds the lock", "",
    lambda s: X.all_of(s.proc.ids(), lambda p: (s.proc[p].pc == "critical") == (s.lock.holder == p)),
)


def _lock_candidates(model: TracedModel, with_lemma: bool) -> list[Candidate]:
    out = [Candidate(p, e) for p, e in model.invariants]
    if with_lemma:
        out.append(Candidate(HOLDER, trace_property(model, HOLDER), lemma=True))
    return out


def test_mutual_exclusion_alone_has_a_cti_that_is_a_real_step() -> None:
    model = lock_spec().trace()
    (v,) = prove(model, _lock_candidates(model, False)).verdicts
    assert v.status == "cti"
    before, after = v.cti
    assert model.bindings[after.binding].action == "acquire"
    assert apply_binding(model.bindings[after.binding], before.state) == after.state
    (_, mx), = model.invariants
    assert evaluate(mx, before.state) and not evaluate(mx, after.state)
    # ... and the CTI state is unreachable: the explorer finds no violation.
    assert run_check(lock_spec(), default_trace_dir=None).result.verdict == "ok"


def test_the_holder_lemma_makes_mutual_exclusion_inductive_but_not_for_a_broken_acquire() -> None:
    model = lock_spec().trace()
    assert [v.status for v in prove(model, _lock_candidates(model, True)).verdicts] == ["proven", "proven"]
    broken = lock_spec(broken=True).trace()
    statuses = {v.id: v.status for v in prove(broken, _lock_candidates(broken, True)).verdicts}
    assert statuses["MX"] != "proven"
    bmc = run_bmc(broken, 4)
    bfs = run_check(lock_spec(broken=True), default_trace_dir=None).result
    assert bmc.verdict == "violation" and bfs.violation is not None
    assert bmc.property_id == "MX" and len(bmc.trace) == len(bfs.violation.trace)


# ------------------------------------------------------------------ the runtime model

SHORT = [v for v in VARIANTS if v.id in {"S1", "S9", "S10", "S11", "S14", "S16", "S28", "S29"}]


def _bfs_length(v: Variant) -> int:
    run = run_check(v.build(), invariants=[v.id] if v.only else None, default_trace_dir=None)
    assert run.result.violation is not None and run.result.violation.property_id == v.id
    return len(run.result.violation.trace) - 1


@pytest.mark.parametrize("v", SHORT, ids=[v.id for v in SHORT])
def test_bmc_finds_each_variant_at_the_explorers_shortest_length(v: Variant) -> None:
    length = _bfs_length(v)
    model = v.build().trace()
    res = run_bmc(model, length, invariant_ids=[v.id] if v.only else None)
    assert res.verdict == "violation" and res.property_id == v.id
    assert len(res.trace) - 1 == length
    assert res.trace[0].state == model.init
    cm = compile_model(model)
    for prev, cur in zip(res.trace, res.trace[1:], strict=False):
        assert cur.binding is not None and cm.binding_step[cur.binding](prev.state) == cur.state
    assert v.id in cm.check(res.trace[-1].state)
    # One step shorter finds nothing, and so does the unmutated model at full length.
    assert run_bmc(model, length - 1, invariant_ids=[v.id]).verdict == "ok"
    assert run_bmc(build(v.cfg).trace(), length, invariant_ids=[v.id]).verdict == "ok"


def test_prove_does_not_prove_what_a_variant_breaks() -> None:
    checked = []
    for v in SHORT:
        plain = run_prove(build(v.cfg), v.cfg.mode).result.by_id()
        if plain[v.id].status != "proven":
            continue
        broken = run_prove(v.build(), v.cfg.mode).result.by_id()
        assert broken[v.id].status != "proven", v.id
        checked.append(v.id)
    assert len(checked) >= 2, checked  # the pairing is not vacuous


# ------------------------------------------------------------------ random specs


@SETTINGS
@given(spec_descriptions())
def test_bmc_agrees_with_the_naive_enumeration(desc: dict[str, Any]) -> None:
    model = trace_or_none(desc, with_invariant=True)
    if model is None or isinstance(naive_reachable(model), (str, type(None))):
        return
    try:
        dist = naive.depths(model)
        want = naive.shallowest_violation(model, dist)
    except ModelError:
        return
    depth = max(dist.values()) if want is None else want
    res = run_bmc(model, depth, check_errors=False)
    if want is None:
        event("invariant holds")
        assert res.verdict == "ok"
        return
    event("invariant fails")
    assert res.verdict == "violation" and res.property_id == "R1"
    assert len(res.trace) - 1 == want
    for prev, cur in zip(res.trace, res.trace[1:], strict=False):
        assert cur.binding is not None
        assert apply_binding(model.bindings[cur.binding], prev.state) == cur.state
    (_, inv), = model.invariants
    assert not evaluate(inv, res.trace[-1].state)


# ------------------------------------------------------------------ command line


def test_prove_cli_writes_ctis_that_show_reads(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["prove", "--carriers=1", "--sessions=1", "--invariant", "S9", "--no-lemmas",
                                  "--show-cti", "--cti-dir", str(tmp_path), "-q"])
    assert r.exit_code == 1, r.output
    assert "S9" in r.output and "CTI for S9" in r.output
    doc = json.loads((tmp_path / "pgcheck-cti-S9.itf.json").read_text())
    assert doc["#meta"]["kind"] == "cti" and len(doc["states"]) == 2
    assert doc["#meta"]["steps"][1]["action"]
    trace = load_trace(tmp_path / "pgcheck-cti-S9.itf.json")
    assert len(trace.states) == 2


def test_prove_cli_exits_zero_when_everything_selected_is_proven() -> None:
    plain = run_prove(build(SHORT[0].cfg), "pooled").result
    proven = [v.id for v in plain.verdicts if v.status == "proven" and not v.lemma]
    assert proven
    args = ["prove", "--carriers=1", "--sessions=1", "--json", "-q"]
    for pid in proven:
        args += ["--invariant", pid]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert {v["id"] for v in json.loads(r.output)["verdicts"] if v["status"] == "proven"} >= set(proven)


def test_bmc_cli_reports_no_violation_within_depth_and_bad_input_in_one_line(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["bmc", "--carriers=1", "--sessions=1", "--depth=3", "--json", "-q"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["verdict"] == "ok"
    for bad in (["bmc", "--carriers=0"], ["bmc", "--invariant", "S99"], ["prove", "--sessions=999"],
                ["prove", "--markdown", str(tmp_path / "x.md")]):
        r = CliRunner().invoke(main, bad)
        assert r.exit_code == 2
        assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output


def test_bmc_stops_at_its_memory_limit_instead_of_being_killed() -> None:
    """A budget already spent: the run reports how far it got and why, never "ok"."""
    from pgcheck.checker.memory import rss_bytes

    model = _pooled(1, 1).trace()
    res = run_bmc(model, 3, memory_limit=rss_bytes() // 2)
    assert res.verdict == "incomplete" and "memory limit" in res.reason and res.depth_reached < 3, res
    assert run_bmc(model, 3).verdict == "ok"  # the same run with the default budget finishes
    r = CliRunner().invoke(main, ["bmc", "--carriers=1", "--sessions=1", "--depth=3", "--memory-limit", "0.001", "-q"])
    assert r.exit_code == 3 and "memory" in r.output, r.output


# ------------------------------------------------------------------ symmetry, found lemmas, sizes


def _pooled(carriers: int, sessions: int, **options: Any) -> Any:
    from pgcheck.model import load, make_config

    return load(make_config("pooled", carriers, sessions, options))


@pytest.mark.parametrize("size", [(1, 2), (2, 2)])
def test_one_binding_per_symmetry_orbit_agrees_with_every_binding(size: tuple[int, int]) -> None:
    from pgcheck.checker.symbolic.prove import candidates
    from pgcheck.checker.symbolic.representatives import representatives

    model = _pooled(*size).trace()
    assert len(representatives(model, True)) < len(representatives(model, False)) == len(model.bindings)
    for with_lemmas in (False, True):
        cands = candidates(model, "pooled", None, with_lemmas)
        sym = prove(model, cands, symmetric=True)
        every = prove(model, cands, symmetric=False)
        assert [v.status for v in sym.verdicts] == [v.status for v in every.verdicts]
        assert sym.checked_bindings < every.checked_bindings


def test_found_lemmas_are_an_inductive_fixpoint_that_proves_every_safety_invariant() -> None:
    from pgcheck.specs.lemmas_found import FOUND

    run = run_prove(_pooled(2, 3), "pooled")
    statuses = {v.id: v.status for v in run.result.verdicts}
    assert all(statuses[lid] == "proven" for lid, *_ in FOUND)
    assert all(v.status == "proven" for v in run.result.verdicts if not v.lemma), statuses
    # The lemmas alone, without the invariants as hypotheses, are inductive too.
    alone = run_prove(_pooled(2, 3), "pooled", invariants=["S14"])
    assert all(v.status == "proven" for v in alone.result.verdicts)


def test_lemma_search_keeps_only_an_inductive_set() -> None:
    from pgcheck.checker.symbolic.lemma_search import clause_fn, search
    from pgcheck.specs.lemma_atoms import atoms_for

    model = _pooled(1, 1).trace()
    res = search(model)
    assert not res.stopped and 0 < len(res.kept) <= res.mined
    atoms = atoms_for(model.kinds)
    cands = []
    for n, (kind, lits) in enumerate(res.kept):
        prop = Property(f"K{n}", "lemma", "", "", clause_fn(atoms, kind, lits))
        cands.append(Candidate(prop, trace_property(model, prop), lemma=True))
    assert all(v.status == "proven" for v in prove(model, cands).verdicts)


SEEDED = ["attach-without-carrier-check", "stale-latch-after-migration", "park-mid-message", "commit-before-unwind",
          "attach-without-myproc", "carrier-exits-with-backend"]
# (timeout-handler-in-poller breaks S22, an action property now: tests/test_step_rules.py has
# its step obligation found broken by a seeded bug.)


def _with_mined_lemmas(model: TracedModel, invariant: str, kept: list[Any]) -> list[Candidate]:
    """The invariant, LM1-LM3 and LF…, and clauses mined (`search`) at this configuration."""
    from pgcheck.checker.symbolic.lemma_search import clause_fn
    from pgcheck.checker.symbolic.prove import candidates
    from pgcheck.specs.lemma_atoms import atoms_for

    out = candidates(model, "pooled", [invariant], with_lemmas=True)
    atoms = atoms_for(model.kinds)
    for n, (kind, lits) in enumerate(kept):
        prop = Property(f"K{n}", "lemma", "", "", clause_fn(atoms, kind, lits))
        out.append(Candidate(prop, trace_property(model, prop), lemma=True))
    return out


@pytest.mark.parametrize("name", SEEDED)
def test_a_seeded_mutation_is_not_proven_for_the_invariant_it_breaks(name: str) -> None:
    """The unmutated model at the mutation's smallest configuration is proven, the mutated one
    is not. Where that configuration's options make the committed lemmas (mined under the
    default options) too weak, lemmas are mined at the configuration itself, from the
    unmutated model, and given to both."""
    from pgcheck.checker.symbolic.lemma_search import search
    from pgcheck.model.mutations import MUTATION_BY_NAME

    m = MUTATION_BY_NAME[name]
    inv = m.expected
    plain = run_prove(build(m.smallest), "pooled", invariants=[inv]).result.by_id()
    broken = run_prove(m.build(), "pooled", invariants=[inv]).result.by_id()
    assert broken[inv].status != "proven"
    if plain[inv].status != "proven":
        plain_model, broken_model = build(m.smallest).trace(), m.build().trace()
        kept = search(plain_model).kept
        assert prove(plain_model, _with_mined_lemmas(plain_model, inv, kept)).by_id()[inv].status == "proven"
        assert prove(broken_model, _with_mined_lemmas(broken_model, inv, kept)).by_id()[inv].status != "proven"


def test_parametric_reports_per_invariant_up_to_a_size(tmp_path: Path) -> None:
    out = tmp_path / "proofs.md"
    r = CliRunner().invoke(main, ["prove", "--parametric", "--max-size", "2", "--json", "-q", "--markdown", str(out),
                                  "--no-all-sizes"])
    doc = json.loads(r.output)
    rows = {x["id"]: x for x in doc["invariants"]}
    assert rows["S1"]["proven_up_to_sessions"] == 2 and not rows["S1"]["first_failure"]
    assert "S1" in out.read_text()


def test_prove_honours_the_time_limit_at_a_large_size_and_never_calls_it_proven() -> None:
    r = CliRunner().invoke(main, ["prove", "--carriers=4", "--sessions=8", "--time-limit", "2", "--json", "-q"])
    assert r.exit_code in (0, 3), r.output
    verdicts = json.loads(r.output)["verdicts"]
    assert {v["id"] for v in verdicts} >= {"S1", "S6", "S26", "C1"}
    if r.exit_code == 3:
        assert all(v["status"] in ("timeout", "unknown") for v in verdicts)
        assert all("time limit" in v["reason"] or "Z3" in v["reason"] for v in verdicts if v["status"] == "timeout")


def test_prove_find_lemmas_rejects_other_modes_in_one_line() -> None:
    r = CliRunner().invoke(main, ["prove", "--find-lemmas", "--mode", "process", "--sessions=1"])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1
