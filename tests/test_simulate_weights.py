"""Weighted swarm walks (`pgcheck simulate --swarm=weights`, docs/simulate.md): each walk draws a
weight per action and picks among the enabled steps in proportion to it. Its walks are valid
walks of the model (every step replays on it), both steppers take the same ones, and the halving
swarm's walks, which the catalogue's finds replay by number, are not changed by it."""

from __future__ import annotations

from collections import Counter
from typing import Any

from click.testing import CliRunner
from pgcheck.checker.explicit.simulate import (
    WEIGHTS,
    Arm,
    Plan,
    Simulator,
    _weighted_pick,
    make_stepper,
    run_walk,
)
from pgcheck.checker.lang.compile import compile_model
from pgcheck.model import load, make_config

from pgcheck.cli import main

RICH = {"cancels": 1, "terminates": 1, "notifies": 1, "client_close": True, "idle_session_timeout": True, "messages": 2,
        "active_clients": 2}
WEIGHTED = Plan(seed=7, depth=80, swarm=True, weights=True)


def arm(mutation: str | None = None, engine: str = "python", carriers: int = 2, **opts: Any) -> Arm:
    cfg = make_config("pooled", carriers, 3, {**RICH, **opts})
    return Arm("asked", make_stepper(compile_model(load(cfg, mutation).trace()), engine))


def test_a_weighted_draw_gives_each_action_a_weight_and_leaves_the_halving_swarm_as_it_was() -> None:
    a = arm()
    halves = Plan(seed=7, depth=80, swarm=True)
    drawn = set()
    for i in range(30):
        _arm, depth, weights, _stick, seed = WEIGHTED.draw(i, [a])
        assert weights is not None and 20 <= depth <= 80
        by_action: dict[str, set[int]] = {}
        for b, w in zip(a.cm.model.bindings, weights, strict=True):
            by_action.setdefault(b.action, set()).add(w)
        assert all(len(ws) == 1 and ws <= set(WEIGHTS) for ws in by_action.values())  # one weight per action
        drawn |= set(weights)
        kept = halves.draw(i, [a])
        assert set(kept[2] or b"") <= {0, 1} and kept[4] == seed  # the same walk seed, a 0/1 mask
    assert drawn == set(WEIGHTS)


def test_a_step_is_picked_in_proportion_to_its_weight() -> None:
    pool: list[tuple[int, Any]] = [(0, "a"), (2, "b"), (3, "c")]
    weight = bytes([8, 0, 1, 64])
    total = 8 + 1 + 64
    picked = Counter(_weighted_pick(pool, weight, r)[1] for r in range(3 * total))
    assert picked == {"a": 3 * 8, "b": 3 * 1, "c": 3 * 64}  # bindings 0, 2, 3 weigh 8, 1, 64
    assert Counter(_weighted_pick(pool, None, r)[1] for r in range(6)) == {"a": 2, "b": 2, "c": 2}


def test_weighted_walks_replay_on_the_unmutated_model_without_a_violation() -> None:
    a = arm()
    cm = a.cm
    steps = 0
    for i in range(60):
        w = run_walk(i, WEIGHTED, [a])
        assert not w.failed, (i, w.outcome)
        assert len(w.path) == w.steps
        s = cm.model.init
        for b in w.path:
            nxt = cm.binding_step[b](s)
            assert nxt is not None  # each step was enabled where the walk took it
            s = nxt
            assert cm.first_violation(s) < 0
        steps += w.steps
    assert steps > 60 * 10


def test_native_and_python_steppers_take_the_same_weighted_walks() -> None:
    native, python = arm(engine="native"), arm(engine="python")
    assert native.stepper.engine == "native"
    sticky = 0
    for i in range(40):
        a, b = run_walk(i, WEIGHTED, [native]), run_walk(i, WEIGHTED, [python])
        assert (a.outcome, a.steps, a.path) == (b.outcome, b.steps, b.path)
        sticky += a.stick > 0
    assert sticky > 0
    assert native.stepper.fired == python.stepper.fired


def test_weighted_walks_find_a_seeded_bug_and_nothing_without_it() -> None:
    plan = Plan(seed=3, depth=200, swarm=True, weights=True)
    bad = Simulator([arm("wake-before-claim", carriers=1)], plan, walks=2000).run()
    assert bad.failure is not None
    clean = Simulator([arm()], plan, walks=bad.failure.index + 1).run()
    assert clean.failure is None and clean.walks == bad.failure.index + 1


def test_the_command_runs_a_weighted_swarm_and_refuses_an_unknown_one() -> None:
    done = CliRunner().invoke(main, ["simulate", "--quiet", "--json", "--walks=20", "--seed=1", "--swarm=weights",
                                     "--sessions=2", "--depth=40"])
    assert done.exit_code == 0, done.output
    assert '"weights": true' in done.output
    halves = CliRunner().invoke(main, ["simulate", "--quiet", "--json", "--walks=5", "--seed=1", "--swarm",
                                       "--sessions=2", "--depth=40"])
    assert halves.exit_code == 0 and '"swarm": true' in halves.output and '"weights": false' in halves.output
    bad = CliRunner().invoke(main, ["simulate", "--quiet", "--swarm=thirds"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
