"""Symmetry reduction: an exact canonical form, and the same verdicts with it on or off."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from pgcheck.checker.examples import mutex
from pgcheck.checker.explicit.explore import Explorer
from pgcheck.checker.explicit.symmetry import Canonicalizer
from pgcheck.checker.lang.compile import compile_model
from pgcheck.checker.lang.spec import TracedModel
from pgcheck.model import load, make_config

State = tuple[Any, ...]

QUIET = {
    "messages": 1,
    "active_clients": 2,
    "cancels": 0,
    "terminates": 0,
    "notifies": 0,
    "reschedules": 0,
    "client_close": False,
    "idle_session_timeout": False,
    "idle_in_xact_timeout": False,
}

# (mode, carriers, sessions, options): small enough to explore without symmetry.
CONFIGS = {
    "pooled-2x2": ("pooled", 2, 2, dict(QUIET, commands=("query", "sleep"))),
    "thread-per-session-2": ("thread-per-session", None, 2, dict(QUIET, commands=("query", "sleep"), cancels=1)),
}


def runtime(name: str) -> TracedModel:
    mode, carriers, sessions, opts = CONFIGS[name]
    return load(make_config(mode, carriers, sessions, opts)).trace()


def explore(model: TracedModel, symmetry: bool) -> tuple[Any, dict[int, State]]:
    ex = Explorer(compile_model(model), symmetry=symmetry, keep_graph=True)
    result = ex.run()
    return result, ex.states


def random_perms(cz: Canonicalizer, rng: random.Random) -> list[tuple[int, ...]]:
    perms = []
    for n in cz.counts:
        p = list(range(n))
        rng.shuffle(p)
        perms.append(tuple(p))
    return perms


@pytest.fixture(scope="module")
def explored() -> dict[str, Any]:
    """Each configuration explored with and without symmetry (shared by the tests below)."""
    out = {}
    for name in CONFIGS:
        model = runtime(name)
        out[name] = (model, explore(model, False), explore(model, True))
    return out


@pytest.mark.parametrize("name", list(CONFIGS))
def test_symmetry_on_and_off_agree(name: str, explored: dict[str, Any]) -> None:
    _model, (off, _), (on, _) = explored[name]
    assert on.symmetry and not off.symmetry
    assert on.verdict == off.verdict == "ok"
    assert on.distinct <= off.distinct
    assert on.distinct < off.distinct  # two symmetric instances: the reduction does something
    # The initial state need not be a fixed point of the symmetry (pooled: newconn lists the
    # sessions in order), so an orbit is first reached at the least depth of its members:
    # depths can only shrink, and every witness is reached either way, no later.
    assert on.depth <= off.depth
    assert set(on.witnesses_reached) == set(off.witnesses_reached)
    for wid, depth in on.witnesses_reached.items():
        assert depth <= off.witnesses_reached[wid]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_reduced_states_are_exactly_the_orbits(name: str, explored: dict[str, Any]) -> None:
    model, (_off, states_off), (on, states_on) = explored[name]
    canon = Canonicalizer(model).compiled()
    orbits = {canon(s) for s in states_off.values()}
    assert len(orbits) == on.distinct
    assert orbits == set(states_on.values())


@pytest.mark.parametrize("name", list(CONFIGS))
def test_canonical_form_is_invariant_under_permutation(name: str, explored: dict[str, Any]) -> None:
    model, (_, states_off), _ = explored[name]
    cz = Canonicalizer(model)
    fast = cz.compiled()
    rng = random.Random(name)
    states = list(states_off.values())
    for s in rng.sample(states, 250):
        c = cz.canonical(s)
        assert fast(s) == c
        for _ in range(3):
            perms = random_perms(cz, rng)
            t = cz.permute(s, perms)
            assert cz.canonical(t) == c
            assert fast(t) == c
        # The canonical form is a member of the orbit: some permutation of s.
        orbit = {cz.permute(s, list(ps)) for ps in itertools.product(*(itertools.permutations(range(n)) for n in cz.counts))}
        assert c in orbit


def test_permute_renames_references_sets_and_fifos() -> None:
    model = runtime("pooled-2x2")
    cz = Canonicalizer(model)
    groups = cz.groups
    assert sorted(map(tuple, groups)) == [("carrier",), ("session",)]
    s = list(model.init)
    # Pooled: sched.newconn holds every session in order; swap the sessions.
    newconn = model.slot_of[("sched", None, "newconn")]
    si = next(g for g, kinds in enumerate(groups) if kinds == ["session"])
    perms = [tuple(range(n)) for n in cz.counts]
    perms[si] = (1, 0)
    s[newconn] = (0, 1)
    car0 = model.slot_of[("session", 0, "car")]
    s[car0] = 1  # session 0 attached to carrier 1
    t = cz.permute(tuple(s), perms)
    assert t[newconn] == (1, 0)
    assert t[model.slot_of[("session", 1, "car")]] == 1  # moved to session 1, value not renamed
    assert t[car0] == model.init[model.slot_of[("session", 1, "car")]]
    # Permuting back gives the original.
    assert cz.permute(t, perms) == tuple(s)


@pytest.mark.parametrize("procs", [2, 3, 4])
def test_mutex_canonical_form(procs: int) -> None:
    model = mutex.build(procs).trace()
    cz = Canonicalizer(model)
    fast = cz.compiled()
    rng = random.Random(procs)
    _, states = explore(model, False)
    for s in states.values():
        assert fast(s) == cz.canonical(s)
        for _ in range(4):
            assert fast(cz.permute(s, random_perms(cz, rng))) == fast(s)
    # Orbits of the mutex: n + 1 with nobody critical, n with one critical.
    assert len({fast(s) for s in states.values()}) == 2 * procs + 1


@pytest.mark.parametrize("procs", [2, 3])
def test_broken_mutex_same_counterexample_length(procs: int) -> None:
    model = mutex.build(procs, broken=True).trace()
    (off, _), (on, _) = explore(model, False), explore(model, True)
    assert off.verdict == on.verdict == "violation"
    assert off.violation.property_id == on.violation.property_id == "MX1"
    assert len(off.violation.trace) == len(on.violation.trace) == 5


def test_symmetry_is_inactive_with_single_instances() -> None:
    model = load(make_config("pooled", 1, 1, QUIET)).trace()
    assert not Canonicalizer(model).active
    r = Explorer(compile_model(model), symmetry=True).run()
    assert r.symmetry is False
