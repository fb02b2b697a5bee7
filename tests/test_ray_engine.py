"""The distributed engine on a local Ray cluster against the native engine.

Partitioning the states across actors must not change what is found: the same distinct and
generated counts, depth, witness depths, quiescent states and per-action firings; the same
counts with 2 and 3 actors; the same verdict, violated property and counterexample length
on broken variants, with a trace that replays through the reference compiled steps.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'pgcheck[distributed]')")

from click.testing import CliRunner  # noqa: E402
from pgcheck.checker.explicit.explore import Bounds, Result  # noqa: E402
from pgcheck.checker.explicit.native.distributed import RayExplorer  # noqa: E402
from pgcheck.checker.explicit.native.explorer import NativeExplorer  # noqa: E402
from pgcheck.checker.lang.spec import Spec  # noqa: E402
from pgcheck.checker.run import check as session  # noqa: E402
from pgcheck.checker.run.check import native_unavailable, prepare  # noqa: E402
from pgcheck.model import load, make_config  # noqa: E402
from variants import VARIANTS, Variant  # noqa: E402

from pgcheck.cli import main  # noqa: E402

pytestmark = pytest.mark.skipif(
    native_unavailable(load(make_config("pooled", 1, 1, {})).trace()) is not None, reason="no C compiler"
)


@pytest.fixture(scope="module", autouse=True)
def cluster() -> Iterator[None]:
    ray.init(num_cpus=3, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield
    ray.shutdown()


def both(spec: Spec, symmetry: bool, actors: int = 2, invariants: list[str] | None = None) -> tuple[Result, Result]:
    _, cm, _ = prepare(spec, invariants)
    nat = NativeExplorer(cm, symmetry=symmetry).run()
    dist = RayExplorer(cm, symmetry=symmetry, actors=actors).run()
    return nat, dist


CONFIGS = [
    ("process", None, 2, {"messages": 1, "cancels": 1, "client_close": True}),
    ("pooled", 2, 3, {}),
]


@pytest.mark.parametrize("mode,carriers,sessions,options", CONFIGS)
def test_same_states_as_the_native_engine(mode: str, carriers: int | None, sessions: int, options: dict[str, Any]) -> None:
    spec = load(make_config(mode, carriers, sessions, options))
    for symmetry in (False, True):
        nat, dist = both(spec, symmetry)
        assert dist.verdict == nat.verdict == "ok"
        assert dist.engine == "ray" and dist.workers == 2
        assert (dist.distinct, dist.generated, dist.depth) == (nat.distinct, nat.generated, nat.depth)
        assert dist.witnesses_reached == nat.witnesses_reached
        assert dist.quiescent_states == nat.quiescent_states
        assert dist.fired == nat.fired  # one canonical form, so the same states are expanded
        assert sum(dist.new_states) == dist.distinct - 1


def test_two_and_three_actors_find_the_same_states() -> None:
    spec = load(make_config("pooled", 2, 3, {"messages": 1, "active_clients": 2}))
    _, cm, _ = prepare(spec)
    two = RayExplorer(cm, symmetry=True, actors=2).run()
    three = RayExplorer(cm, symmetry=True, actors=3).run()
    assert (three.distinct, three.generated, three.depth) == (two.distinct, two.generated, two.depth)
    assert three.fired == two.fired
    assert three.witnesses_reached == two.witnesses_reached


SOME_VARIANTS = [v for v in VARIANTS if v.id in ("S2", "S15", "C1")]


@pytest.mark.parametrize("variant", SOME_VARIANTS, ids=[v.id for v in SOME_VARIANTS])
def test_same_counterexample_on_broken_variants(variant: Variant) -> None:
    invariants = [variant.id] if variant.only else None
    nat, dist = both(variant.build(), True, invariants=invariants)
    assert dist.verdict == nat.verdict == "violation"
    assert dist.violation is not None and nat.violation is not None
    assert (dist.violation.kind, dist.violation.property_id) == (nat.violation.kind, nat.violation.property_id)
    assert len(dist.violation.trace) == len(nat.violation.trace)
    assert dist.depth == nat.depth
    _, cm, _ = prepare(variant.build(), invariants)
    trace = dist.violation.trace
    for prev, step in itertools.pairwise(trace):
        assert step.binding is not None
        assert cm.binding_step[step.binding](prev.state) == step.state
    assert cm.invariant_ids[cm.first_violation(trace[-1].state)] == variant.id


def test_bounds_stop_the_distributed_engine() -> None:
    _, cm, _ = prepare(load(make_config("pooled", 2, 3, {})))
    r = RayExplorer(cm, bounds=Bounds(max_depth=5), actors=2).run()
    assert r.verdict == "incomplete" and "--max-depth" in r.stop_reason and r.depth == 5


def test_cli_runs_the_distributed_engine_and_explains_a_missing_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    args = ["explore", "--mode=process", "--sessions=1", "--engine=ray", "--workers=2", "-q", "--json"]
    out = runner.invoke(main, args)
    assert out.exit_code == 0, out.output
    assert '"engine": "ray"' in out.output
    text = runner.invoke(main, args[:-1])  # the human summary names the engine too
    assert text.exit_code == 0, text.output
    assert "engine: breadth-first explicit state, ray (the native engine's states partitioned across 2 actors)" in text.output
    out = runner.invoke(main, ["explore", "--mode=process", "--sessions=1", "--address=auto", "-q"])
    assert out.exit_code == 2 and "--address needs --engine=ray" in out.output
    monkeypatch.setattr(session, "ray_available", lambda: False)
    out = runner.invoke(main, args)
    assert out.exit_code == 2
    assert "pgcheck[distributed]" in out.output and len(out.output.strip().splitlines()) == 1
