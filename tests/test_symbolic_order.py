"""The order FIFO encoding of `prove` (checker/symbolic/fifo_order.py) against the slot encoding,
the compiled model and broken variants.

- Exactness: on reachable states of small configurations (one with affinity, whose T9
  reads the head of a filtered queue) the encoded guard, successor and every candidate
  agree with the compiled model, for both encodings.
- The same verdicts as the slot encoding at small sizes with the lemmas (all proven);
  without them both leave invariants unproven (the order encoding then also stops at
  the first step that may create a duplicate nothing excludes). CTIs replay through
  the model.
- Duplicates: a step that may push a member is never proven from a set-shaped FIFO
  (the goal WF), and a no-duplicates invariant gets the CTI.
- Every "proven" is paired with a broken model that is not: seeded mutations at (2,3),
  two of which duplicate a queue entry.
- (3,5), where the slot encoding stops at PollPass, is proven with `auto`.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import z3
from click.testing import CliRunner
from pgcheck.checker.errors import ModelError
from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.compile import compile_model
from pgcheck.checker.lang.interpret import apply_binding, evaluate
from pgcheck.checker.lang.spec import Spec, TracedModel, require
from pgcheck.checker.lang.types import Fifo
from pgcheck.checker.run.check import run_check
from pgcheck.checker.symbolic.encode import Encoder
from pgcheck.checker.symbolic.induction import Candidate, prove
from pgcheck.checker.symbolic.lemma_search import reachable
from pgcheck.checker.symbolic.prove import candidates, fifo_encoding, run_prove
from pgcheck.model import load, make_config
from pgcheck.model.mutations import MUTATION_BY_NAME

from pgcheck.cli import main


def _pooled(carriers: int, sessions: int, **options: Any) -> Any:
    return load(make_config("pooled", carriers, sessions, options))


def _concrete(enc: Encoder, model: TracedModel, st: tuple[Any, ...]) -> list[Any]:
    return [enc.const(raw, info.ty) for info, raw in zip(model.slots, st, strict=True)]


@pytest.mark.parametrize("fifos", ["order", "slots"])
@pytest.mark.parametrize("options", [{}, {"affinity_enforced": True}], ids=["default", "affinity"])
def test_the_encoded_step_and_candidates_agree_with_the_model_on_reachable_states(
        fifos: str, options: dict[str, Any]) -> None:
    model = _pooled(2, 3, **options).trace()
    cm = compile_model(model)
    enc = Encoder(model, fifos)
    cands = candidates(model, "pooled", None, True)
    solver = z3.Solver()
    solver.check()
    m = solver.model()  # every term below is closed: any model evaluates it
    states = reachable(model)
    for st in random.Random(7).sample(states, 25):
        s = _concrete(enc, model, st)
        for b in model.bindings:
            nxt = cm.binding_step[b.index](st)
            assert z3.is_true(z3.simplify(enc.guard(b, s))) == (nxt is not None), b.label
            if nxt is not None:
                t = [enc.expr(b.updates[i], s) if i in b.updates else s[i] for i in range(len(s))]
                assert enc.decode(m, t) == nxt, b.label
        for c in cands:
            assert z3.is_true(z3.simplify(enc.pred(c.expr, s))) == bool(evaluate(c.expr, st)), c.prop.id


@pytest.mark.parametrize("size", [(1, 2), (2, 2), (2, 3)])
def test_order_and_slots_give_the_same_verdicts_at_small_sizes(size: tuple[int, int]) -> None:
    model = _pooled(*size).trace()
    for with_lemmas in (False, True):
        cands = candidates(model, "pooled", None, with_lemmas)
        order = prove(model, cands, fifos="order")
        slots = prove(model, cands, fifos="slots")
        if with_lemmas:
            assert [v.status for v in order.verdicts] == [v.status for v in slots.verdicts]
            assert all(v.status == "proven" for v in order.verdicts)
        else:
            assert any(v.status == "cti" for v in order.verdicts)
            assert any(v.status == "cti" for v in slots.verdicts)


def _replays(model: TracedModel, verdicts: list[Any]) -> int:
    """Every CTI with states is a real step of the model that breaks its property, or a step
    whose run-time check fails in the CTI's pre-state (unreachable, but satisfying every
    hypothesis): the encoding takes such a step, and prove reports open checks separately
    (docs/symbolic.md "Run-time errors"). Which CTI Z3 returns varies between runs."""
    by_id = {p.id: e for p, e in model.invariants}
    n = 0
    for v in verdicts:
        if v.status != "cti" or not v.cti:
            continue
        before, after = v.cti
        assert after.binding is not None
        try:
            replay = apply_binding(model.bindings[after.binding], before.state)
        except ModelError:
            continue
        if "duplicate" in v.reason:  # the successor shows a duplicated entry once
            fifos = [i for i, info in enumerate(model.slots) if isinstance(info.ty, Fifo)]
            assert replay is not None and any(len(set(replay[i])) < len(replay[i]) for i in fifos), v.id
            continue
        assert replay == after.state, v.id
        if v.id in by_id:
            assert not evaluate(by_id[v.id], after.state), v.id
        n += 1
    return n


# ------------------------------------------------------------------ duplicates


def _queue_spec(check_member: bool) -> Spec:
    spec = Spec("queue")
    spec.entity("job", 2, {"done": X.BOOL})
    spec.singleton("q", {"items": Fifo("job", 4)})

    @spec.action(j="job")
    def submit(s: Any, j: int) -> None:
        require(~s.job[j].done)
        if check_member:
            require(~X.fifo_has(s.q.items, j))
        require(X.fifo_len(s.q.items) < 4)
        s.q.items = X.fifo_push(s.q.items, j)

    @spec.action(j="job")
    def serve(s: Any, j: int) -> None:
        require(~X.is_empty(s.q.items) & (X.fifo_head(s.q.items) == j))
        s.q.items = X.fifo_pop(s.q.items)
        s.job[j].done = True

    @spec.invariant("DONE", "a served job is not queued")
    def done(s: Any) -> object:
        return X.all_of(s.job.ids(), lambda j: X.implies(s.job[j].done, ~X.fifo_has(s.q.items, j)))

    return spec


def test_a_step_that_may_push_a_duplicate_is_never_proven_from_set_shaped_fifos() -> None:
    # submit twice, serve once: the job is done and still queued. From duplicate-free queues
    # no single step breaks DONE, so the order encoding alone would call it inductive; the
    # goal WF sees that `submit` may push a member, and nothing is proven.
    broken = _queue_spec(check_member=False)
    assert run_check(broken, default_trace_dir=None).result.verdict == "violation"
    model = broken.trace()
    cands = [Candidate(p, e) for p, e in model.invariants]
    (v,) = prove(model, cands, fifos="order").verdicts
    assert v.status == "cti" and "duplicate" in v.reason
    assert [w.status for w in prove(model, cands, fifos="slots").verdicts] == ["cti"]
    # With the membership check no step creates a duplicate, and DONE is inductive.
    fixed = _queue_spec(check_member=True).trace()
    assert [w.status for w in prove(fixed, [Candidate(p, e) for p, e in fixed.invariants], fifos="order").verdicts] \
        == ["proven"]


BROKEN = ["wake-before-claim", "nonatomic-make-runnable", "attach-without-carrier-check", "park-mid-message"]


@pytest.mark.parametrize("name", BROKEN)
def test_a_seeded_mutation_is_not_proven_where_the_model_is(name: str) -> None:
    # The unmutated model at (2,3) is proven with every lemma (test above); each mutation,
    # including the two that duplicate a queue entry, leaves its invariant unproven.
    m = MUTATION_BY_NAME[name]
    run = run_prove(m.build(make_config("pooled", 2, 3, {})), "pooled", fifo_choice="order")
    assert run.result.by_id()[m.expected].status != "proven"
    _replays(run.model, run.result.verdicts)


# ------------------------------------------------------------------ sizes and the command line


def test_auto_picks_order_from_five_sessions_and_proves_every_invariant_at_3x5() -> None:
    assert fifo_encoding(_pooled(2, 3).trace(), "auto") == "slots"
    run = run_prove(_pooled(3, 5), "pooled")
    assert run.fifos == "order"
    assert all(v.status == "proven" for v in run.result.verdicts), [
        (v.id, v.status, v.reason) for v in run.result.verdicts if v.status != "proven"]
    # ... and without lemmas, at that size, some invariant has a CTI (the pairing is not vacuous).
    bare = run_prove(_pooled(3, 5), "pooled", invariants=["S6"], with_lemmas=False).result.by_id()
    assert bare["S6"].status == "cti"


def test_prove_cli_rejects_an_unknown_fifo_encoding_in_one_line() -> None:
    r = CliRunner().invoke(main, ["prove", "--fifo-encoding", "ranks", "--sessions=1", "-q"])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    ok = CliRunner().invoke(main, ["prove", "--fifo-encoding", "order", "--carriers=1", "--sessions=2", "-q", "--json"])
    assert ok.exit_code == 0, ok.output
    assert '"fifo_encoding": "order"' in ok.output


def test_one_conjunct_per_orbit_of_the_instances_a_binding_leaves_unfixed() -> None:
    from pgcheck.checker.symbolic.orbits import Orbits
    from pgcheck.checker.symbolic.representatives import conjuncts, representatives

    model = _pooled(2, 3).trace()
    orbits = Orbits(model)
    by_id = {p.id: e for p, e in model.invariants}
    s6 = conjuncts(by_id["S6"])
    poll = next(b for b in representatives(model, True) if b.action == "PollPass")
    lease = next(b for b in representatives(model, True) if b.action == "LeaseRunnable")
    # PollPass(c=0) fixes no session: "∀b: in P iff parked" needs one b; LeaseRunnable(c=0, b=0)
    # fixes session 0, so session 0 and one other are asked.
    per_session = [x for x in s6 if x.op in ("eq", "le") and "session" in x.show()]
    assert len(per_session) >= 3
    assert len(orbits.representatives(poll, s6)) < len(orbits.representatives(lease, s6)) < len(s6)
    # A conjunct that singles out an instance is never merged with another one.
    one = [X.fifo_has(X.slot(i, model.slots[i].ty, model.slots[i].label), 1) == X.lift(True, X.BOOL)
           for i, info in enumerate(model.slots) if info.field == "batch"]
    assert len(orbits.representatives(lease, one)) == len(one)
