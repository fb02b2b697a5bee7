"""The all-sizes proof (checker/symbolic/allsizes/proof.py): instances as uninterpreted sorts.

- A hand-made lock over any number of processes: mutual exclusion with the holder lemma
  is proven for all sizes; a broken acquire gives a CTI; a counting invariant and one
  about FIFO order are reported not provable, never proven.
- The pooled model: the set of invariants proven for all sizes (no lemmas) is stable, and
  a seeded mutation loses the all-sizes proof of the invariant it breaks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.checker.lang.types import Enum, Fifo, Ref
from pgcheck.checker.symbolic.allsizes.proof import UCandidate, prove_all_sizes
from pgcheck.checker.symbolic.allsizes.runtime import run_all_sizes

from pgcheck.cli import main

PC = Enum("lpc", ["idle", "waiting", "critical"])


def lock_spec(n: int, broken: bool = False) -> Spec:
    spec = Spec("lock")
    spec.entity("proc", n, {"pc": PC})
    spec.singleton("lock", {"holder": Ref("proc"), "queue": Fifo("proc", n)})

    @spec.action(p="proc")
    def wait(s: Any, p: int) -> None:
        require(s.proc[p].pc == "idle")
        s.lock.queue = X.fifo_push(s.lock.queue, p)
        s.proc[p].pc = "waiting"

    @spec.action(p="proc")
    def acquire(s: Any, p: int) -> None:
        require((s.proc[p].pc == "waiting") & X.fifo_has(s.lock.queue, p))
        if not broken:
            require(X.is_null(s.lock.holder))
        s.lock.holder = p
        s.lock.queue = X.fifo_remove(s.lock.queue, p)
        s.proc[p].pc = "critical"

    @spec.action(p="proc")
    def release(s: Any, p: int) -> None:
        require(s.proc[p].pc == "critical")
        s.lock.holder = None
        for i in s.proc.ids():  # a loop over every instance: a pointwise update
            s.proc[i].pc = X.when(i == p, "idle", s.proc[i].pc)

    return spec


def mutex(s: Any) -> object:
    return X.all_of(s.proc.ids(), lambda p: X.all_of(s.proc.ids(), lambda q: X.implies(
        (s.proc[p].pc == "critical") & (s.proc[q].pc == "critical"), p == q)))


def holder(s: Any) -> object:
    return X.all_of(s.proc.ids(), lambda p: (s.proc[p].pc == "critical") == (s.lock.holder == p))


def queued(s: Any) -> object:
    return X.all_of(s.proc.ids(), lambda p: X.fifo_has(s.lock.queue, p) == (s.proc[p].pc == "waiting"))


def one_critical(s: Any) -> object:
    return X.count_of(s.proc.ids(), lambda p: s.proc[p].pc == "critical") <= 1


def head_waits(s: Any) -> object:
    return X.is_empty(s.lock.queue) | (s.proc[X.fifo_head(s.lock.queue)].pc == "waiting")


def _verdicts(broken: bool, fns: dict[str, Any]) -> dict[str, str]:
    specs = (lock_spec(3, broken), lock_spec(4, broken))
    res = prove_all_sizes(specs, [UCandidate(k, (f, f)) for k, f in fns.items()], query_limit=20)
    return {v.id: v.status for v in res.verdicts}


def test_mutual_exclusion_is_proven_for_all_sizes_with_the_holder_lemma() -> None:
    assert _verdicts(False, {"MX": mutex, "LK": holder, "Q": queued}) == {"MX": "proven", "LK": "proven", "Q": "proven"}


def test_mutual_exclusion_alone_is_not_inductive() -> None:
    assert _verdicts(False, {"MX": mutex}) == {"MX": "cti"}


def test_a_broken_acquire_is_a_cti_not_a_proof() -> None:
    got = _verdicts(True, {"MX": mutex, "LK": holder, "Q": queued})
    assert got["MX"] == "cti" and got["LK"] == "cti"


def test_counting_and_order_are_reported_not_provable() -> None:
    specs = (lock_spec(3), lock_spec(4))
    res = prove_all_sizes(specs, [UCandidate("CNT", (one_critical, one_critical)),
                                  UCandidate("HD", (head_waits, head_waits))])
    got = {v.id: (v.status, v.reason) for v in res.verdicts}
    assert got["CNT"] == ("unsupported", "counts instances")
    assert got["HD"][0] == "unsupported" and "order" in got["HD"][1]


def test_a_predicate_that_depends_on_the_size_is_refused() -> None:
    res = prove_all_sizes((lock_spec(3), lock_spec(4)), [
        UCandidate("SZ", (lambda s: X.lift_bool(len(list(range(3))) == 3), lambda s: X.lift_bool(False)))])
    assert res.verdicts[0].status != "proven"


# ------------------------------------------------------------------ the pooled model

# Measured: these are the invariants the all-sizes proof settles without lemmas (S22 is an
# action property now, specs/steps.py).
PROVEN_ALL_SIZES = {"S14", "S15", "S16", "S24", "S29"}


def test_the_pooled_model_proves_a_stable_set_for_all_sizes() -> None:
    res = run_all_sizes("pooled", {}, None, with_lemmas=False, query_limit=20)
    got = {v.id: v for v in res.verdicts}
    assert {i for i, v in got.items() if v.status == "proven"} == PROVEN_ALL_SIZES
    assert got["S2"].status == "unsupported" and got["S2"].reason == "counts instances"
    assert got["S6"].status == "unsupported"  # counters equal FIFO lengths
    assert got["S26"].status == "unsupported"  # counts carriers, bounded by the pool size
    assert all(v.status != "proven" or v.reason == "" for v in res.verdicts)


@pytest.mark.parametrize(("mutation", "inv"), [("interrupt-latch-null", "S16"), ("stale-latch-after-migration", "S15")])
def test_a_seeded_mutation_loses_the_all_sizes_proof(mutation: str, inv: str) -> None:
    res = run_all_sizes("pooled", {}, [inv], with_lemmas=False, mutation=mutation, query_limit=20)
    assert res.by_id()[inv].status != "proven"


def test_parametric_prints_the_all_sizes_column(tmp_path: Path) -> None:
    out = tmp_path / "proofs.md"
    args = ["prove", "--parametric", "--max-size", "1", "--no-lemmas", "--query-limit", "20", "-q"]
    r = CliRunner().invoke(main, [*args, "--json", "--markdown", str(out)])
    doc = json.loads(r.output)
    assert set(doc["all_sizes"]["proven"]) == PROVEN_ALL_SIZES
    rows = {x["id"]: x for x in doc["invariants"]}
    assert rows["S2"]["all_sizes"] == "unsupported" and rows["S16"]["all_sizes"] == "proven"
    text = out.read_text()
    assert "| all sizes |" in text and "proven for all sizes" in text and "not provable for all sizes: counts instances" in text


def test_no_all_sizes_without_parametric_is_one_line_and_exit_2() -> None:
    r = CliRunner().invoke(main, ["prove", "--no-all-sizes"])
    assert r.exit_code == 2 and "--parametric" in r.output
