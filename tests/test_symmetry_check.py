"""The symmetry check (checker/explicit/symmetry_check.py): a model declared symmetric must map
onto itself under every renaming of a symmetric kind's instances, or no reduced search runs.

The models of this project pass it, in every mode and with every option, and so does every
seeded bug of the catalogue (a realistic bug does not break symmetry). Each way a model can
break its declaration is refused with one line naming the part: a guard that names an
instance, a choice in index order, an order on instances, an action some instances lack,
an invariant or a temporal obligation about one instance. A choice in index order among
instances an invariant keeps alike is accepted only with that declaration and invariant.
Where the syntax differs but the meaning does not (a pair written one way round), the values
on every assignment of the slots read decide; where the meaning differs, it refuses.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pgcheck.checker.errors import ModelError
from pgcheck.checker.explicit.explore import Explorer
from pgcheck.checker.explicit.symmetry_check import NotSymmetric, _Renamer, check_symmetric
from pgcheck.checker.export.murphi import spec_to_murphi
from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.compile import compile_model
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.checker.lang.types import Bool, Enum, Int, Ref
from pgcheck.checker.run.check import run_check
from pgcheck.model import load, make_config
from pgcheck.model.code import carrier_pool
from pgcheck.model.mutations import CATALOGUE
from test_native_liveness import _skip_without_compiler

EVERY_OPTION = {
    "cancels": 1, "terminates": 1, "notifies": 1, "reloads": 1, "client_close": True, "idle_session_timeout": True,
    "idle_in_xact_timeout": True, "active_clients": 2, "reconnects": 1, "carrier_death": True, "postmaster_death": True,
}
PC = Enum("pc", ["idle", "busy"])


@pytest.mark.parametrize("model", ["code", "design"])
@pytest.mark.parametrize("mode", ["pooled", "thread-per-session", "process"])
@pytest.mark.parametrize("every_option", [False, True])
def test_the_project_models_are_symmetric(model: str, mode: str, every_option: bool) -> None:
    code_only = ("reconnects", "carrier_death")
    options = {k: v for k, v in EVERY_OPTION.items() if (mode == "pooled" and model == "code") or k not in code_only}
    try:
        cfg = make_config(mode, 3 if mode == "pooled" else None, 4, options if every_option else {}, model=model)
    except ModelError as e:
        pytest.skip(f"not a configuration of this model: {e}")
    check_symmetric(load(cfg).trace())


def test_every_seeded_bug_keeps_the_model_symmetric() -> None:
    for m in CATALOGUE:
        check_symmetric(m.build(m.smallest).trace())


# ------------------------------------------------------------------ models that break it

def workers(n: int = 3, *, break_with: str = "") -> Spec:
    """Jobs handed to workers: a symmetric model, or one with the asymmetry `break_with` names."""
    spec = Spec("workers", params={"n": n})
    spec.entity("worker", n, {"pc": PC, "done": Bool()})
    spec.singleton("q", {"owner": Ref("worker"), "last": Int(0, n), "err": Bool()})
    spec.symmetric("worker")

    @spec.action(w="worker", fairness="weak")
    def take(s: Any, w: int) -> None:
        require((s.worker[w].pc == "idle") & (s.q.owner == None))  # noqa: E711 - traced
        if break_with == "guard names an instance":
            require(s.worker[0].done == False)  # noqa: E712 - traced
        s.worker[w].pc = "busy"
        s.q.owner = w

    @spec.action(w="worker", fairness="weak")
    def finish(s: Any, w: int) -> None:
        require(s.worker[w].pc == "busy")
        s.worker[w].pc = "idle"
        s.worker[w].done = True
        s.q.owner = None

    if break_with == "first idle by index":
        @spec.action(fairness="weak")
        def dispatch(s: Any) -> None:
            require(s.q.owner == None)  # noqa: E711 - traced
            taken = X.const(0, Bool())
            for w in range(n):
                pick = (s.worker[w].pc == "idle") & ~taken
                s.worker[w].pc = X.when(pick, "busy", s.worker[w].pc)
                taken = taken | pick

    if break_with == "an instance number kept as an int":
        @spec.action(w="worker")
        def hand_over(s: Any, w: int) -> None:
            require((s.q.owner == w) & (s.q.last < w))  # "a later worker than the last": an order
            s.q.last = w

    if break_with == "an action only some have":
        @spec.action(w="worker")
        def reset(s: Any, w: int) -> None:
            if w != 0:  # a Python branch on the parameter: only worker 0 can reset
                require(False)
            s.worker[w].done = False

    if break_with == "an invariant about one instance":
        @spec.invariant("W1", "worker 0 is never busy twice")
        def w1(s: Any) -> object:
            return ~s.worker[0].done | (s.worker[0].pc == "idle")

    if break_with == "an obligation about one instance":
        @spec.leads_to("WL", "a busy worker finishes", "", each="worker")
        def wl(s: Any, w: int) -> tuple[object, object]:
            return s.worker[w].pc == "busy", s.worker[0].pc == "idle"

    @spec.invariant("W0", "the owner is busy")
    def w0(s: Any) -> object:
        return X.all_of(range(n), lambda w: X.implies(s.q.owner == w, s.worker[w].pc == "busy"))

    return spec


BREAKS = {
    "guard names an instance": "the guard of take",
    "first idle by index": "dispatch() does not write worker[1].pc as dispatch() writes worker[0].pc",
    "an instance number kept as an int": "the guard of hand_over",
    "an action only some have": "reset(w=0) has no image",
    "an invariant about one instance": "invariant W1 is not invariant",
    "an obligation about one instance": "WL[worker=",
}


def test_the_workers_model_is_symmetric() -> None:
    check_symmetric(workers().trace())


@pytest.mark.parametrize("how", list(BREAKS))
def test_each_way_of_breaking_symmetry_is_refused_in_one_line(how: str) -> None:
    with pytest.raises(NotSymmetric) as e:
        check_symmetric(workers(break_with=how).trace())
    msg = str(e.value)
    assert BREAKS[how] in msg and "\n" not in msg
    assert msg.startswith("the model is declared symmetric in worker but is not") and "--no-symmetry" in msg


def flag_pair() -> Spec:
    """Only when process 1 is set and process 0 is not may `boom` fire: a reduced search that
    keeps the representative with the flags sorted the other way never sees it."""
    spec = Spec("flags", params={})
    spec.entity("proc", 2, {"f": Bool()})
    spec.singleton("g", {"err": Bool()})
    spec.symmetric("proc")

    @spec.action(p="proc")
    def set_flag(s: Any, p: int) -> None:
        require(~s.proc[p].f)
        s.proc[p].f = True

    @spec.action()
    def boom(s: Any) -> None:
        require(s.proc[1].f & ~s.proc[0].f)
        s.g.err = True

    @spec.invariant("F1", "no boom")
    def f1(s: Any) -> object:
        return ~s.g.err

    return spec


def test_a_reduced_search_of_an_asymmetric_model_is_refused_not_wrong() -> None:
    cm = compile_model(flag_pair().trace())
    assert Explorer(cm, symmetry=False).run().verdict == "violation"  # the bug is there
    for engine in ("python", "native"):
        if engine == "native":
            _skip_without_compiler()
        with pytest.raises(NotSymmetric, match="the guard of boom"):
            run_check(flag_pair(), engine=engine, symmetry=True, default_trace_dir=None)
    assert run_check(flag_pair(), engine="python", symmetry=False, default_trace_dir=None).result.verdict == "violation"


# ------------------------------------------------------------------ the declared exception, and Z3

def test_the_code_models_index_order_carrier_start_needs_its_declaration(monkeypatch: pytest.MonkeyPatch) -> None:
    """ConnectionArrives starts unstarted carriers in index order (carrier_pool.start_carriers):
    without alike=("carrier", "K2") the check refuses it, and the declaration needs K2."""
    cfg = make_config("pooled", 3, 3, {}, model="code")
    spec = load(cfg)
    check_symmetric(spec.trace())
    plain = [a for a in spec.actions if a.name == "ConnectionArrives"]
    assert plain and plain[0].alike == ("carrier", "K2")
    spec.actions = [a if a.name != "ConnectionArrives" else dataclasses.replace(a, alike=None) for a in spec.actions]
    with pytest.raises(NotSymmetric, match="ConnectionArrives"):
        check_symmetric(spec.trace())
    without_k2 = load(cfg)
    without_k2.properties = [p for p in without_k2.properties if p.id != "K2"]
    with pytest.raises(NotSymmetric, match="invariant K2"):
        check_symmetric(without_k2.trace())
    assert carrier_pool.start_carriers.__doc__ and "K2" in carrier_pool.start_carriers.__doc__


def k2_broken() -> Any:
    """The code model with an unstarted carrier touched: a connection marks carrier 2's field."""
    spec = load(make_config("pooled", 3, 2, {"fix_poller_ownership": True}, model="code"))
    arrive = next(a for a in spec.actions if a.name == "ConnectionArrives")

    def touching(s: Any, b: int) -> None:
        arrive.fn(s, b)
        s.carrier[2].idle = True

    spec.replace_action("ConnectionArrives", touching)
    return spec


def test_k2_holds_on_the_code_model_and_fails_when_an_unstarted_carrier_is_touched() -> None:
    ok = run_check(load(make_config("pooled", 3, 2, {"fix_poller_ownership": True}, model="code")), engine="python",
                   symmetry=False, invariants=["K2"], default_trace_dir=None)
    assert ok.result.verdict == "ok"
    bad = run_check(k2_broken(), engine="python", symmetry=False, invariants=["K2"], default_trace_dir=None)
    assert bad.result.violation is not None and bad.result.violation.property_id == "K2"


def pair_spec(clause: str) -> Spec:
    spec = Spec("pairs", params={})
    spec.entity("c", 2, {"proc": Ref("c")})
    spec.symmetric("c")

    @spec.action(a="c", b="c")
    def point(s: Any, a: int, b: int) -> None:
        s.c[a].proc = b

    @spec.invariant("P1", "written for the pair (0, 1) only")
    def p1(s: Any) -> object:
        p0, p1_ = s.c[0].proc, s.c[1].proc
        if clause == "distinct or none":  # symmetric, though not as written
            return (p0 == None) | (p0 != p1_)  # noqa: E711 - traced
        return (p0 == None) | (p1_ != None)  # noqa: E711 - traced; not symmetric

    return spec


def test_a_pair_written_one_way_round_is_shown_symmetric_by_its_values() -> None:
    model = pair_spec("distinct or none").trace()
    inv = model.invariants[0][1]
    table: dict[Any, int] = {}
    same = _Renamer(model, {"c": 0}, [(0, 1)], table)
    swapped = _Renamer(model, {"c": 0}, [(1, 0)], table)
    assert swapped.key(inv) != same.key(inv)  # the syntax differs: the check had to compare values
    check_symmetric(model)


def test_values_refuse_a_pair_that_is_not_symmetric() -> None:
    with pytest.raises(NotSymmetric, match="invariant P1"):
        check_symmetric(pair_spec("one way").trace())


def test_the_murphi_export_refuses_scalarsets_for_an_asymmetric_model() -> None:
    """Rumur reduces over the scalarsets the export declares: for a model that is not
    symmetric it would be wrong in the same way, so the export refuses and names its flag."""
    with pytest.raises(NotSymmetric, match="export with --no-scalarsets"):
        spec_to_murphi(flag_pair())
    assert "boom" in spec_to_murphi(flag_pair(), scalarsets=False)
    assert "scalarset" in spec_to_murphi(workers())
