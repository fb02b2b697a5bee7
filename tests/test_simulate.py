"""`pgcheck simulate`: random walks that are reproducible, engine-independent, and report
counterexamples the rest of pgcheck can replay (docs/simulate.md).

Every check of a found violation is paired with the unmutated model, where the same walks
find nothing.
"""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pgcheck.checker.explicit.simulate import Arm, Plan, PythonStepper, Simulator, make_stepper, run_walk
from pgcheck.checker.lang.compile import compile_model
from pgcheck.checker.traces.itf import state_from_itf
from pgcheck.model import load, make_config
from pgcheck.model.mutations import get

from pgcheck.cli import main
from pgcheck.commands.simulate import PARAMS, every_option, swarm_options

# A small configuration with interrupts, closes and timeouts, where walks are long enough to matter.
RICH = {"cancels": 1, "terminates": 1, "notifies": 1, "client_close": True, "idle_session_timeout": True, "messages": 2,
        "active_clients": 2}


def arm(mutation: str | None = None, engine: str = "auto", carriers: int = 2, sessions: int = 3, **opts: Any) -> Arm:
    cfg = make_config("pooled", carriers, sessions, {**RICH, **opts})
    return Arm("asked", make_stepper(compile_model(load(cfg, mutation).trace()), engine))


def simulate(*args: str) -> Any:
    return CliRunner().invoke(main, ["simulate", "--quiet", *args])


def test_native_and_python_walks_take_the_same_steps() -> None:
    native, python = arm(engine="native"), arm(engine="python")
    assert native.stepper.engine == "native" and python.stepper.engine == "python"
    for swarm in (False, True):
        plan = Plan(seed=11, depth=80, swarm=swarm)
        for i in range(40):
            a, b = run_walk(i, plan, [native]), run_walk(i, plan, [python])
            assert (a.outcome, a.steps, a.path) == (b.outcome, b.steps, b.path)
    assert native.stepper.fired == python.stepper.fired


def test_a_seed_reproduces_the_run_and_workers_do_not_change_the_result() -> None:
    a = arm("wake-before-claim", carriers=1, sessions=1, messages=1, active_clients=1)
    one = Simulator([a], Plan(5, 200), walks=400).run()
    again = Simulator([a], Plan(5, 200), walks=400).run()
    two = Simulator([a], Plan(5, 200), walks=400, workers=2).run()
    assert one.failure is not None and one.verdict == "violation"
    for other in (again, two):
        assert other.failure is not None
        assert (other.failure.index, other.failure.path) == (one.failure.index, one.failure.path)
    plain = Simulator([arm(carriers=1, sessions=1, messages=1, active_clients=1)], Plan(5, 200), walks=400, workers=2).run()
    assert plain.verdict == "ok" and plain.walks == 400 and plain.failure is None


def replayed_states(doc: dict[str, Any], mutation: str, carriers: int, sessions: int) -> tuple[Any, list[Any], list[int]]:
    """(compiled model, states, bindings) of an ITF counterexample, each step checked to be a model step."""
    spec = get(mutation).build(make_config("pooled", carriers, sessions, {}))
    model = spec.trace()
    cm = compile_model(model)
    states = [state_from_itf(model, rec) for rec in doc["states"]]
    by_label = model.binding_by_label()
    assert states[0] == model.init
    bindings = []
    for (prev, cur), step in zip(itertools.pairwise(states), doc["#meta"]["steps"][1:], strict=True):
        label = f"{step['action']}({', '.join(f'{k}={v}' for k, v in step['params'].items())})"
        bindings.append(by_label[label].index)
        assert cm.binding_step[bindings[-1]](prev) == cur
    return cm, states, bindings


@pytest.mark.parametrize("engine", ["python", "native"])
def test_the_counterexample_replays_and_show_reads_it(tmp_path: Path, engine: str) -> None:
    out = tmp_path / "walk.itf.json"
    done = simulate("--carriers=2", "--sessions=2", "--mutation=attach-leased-by-other-carrier", "--seed=3",
                    "--walks=300", "--depth=200", f"--engine={engine}", f"--trace-out={out}")
    assert done.exit_code == 1, done.output
    # The rule about the attaching step (LEASE1) breaks one step before the state invariant S18 would.
    assert "VIOLATION of LEASE1" in done.output
    doc = json.loads(out.read_text())
    meta = doc["#meta"]
    assert meta["property"]["id"] == "LEASE1" and meta["seed"] == 3 and meta["engine"] == f"simulate/{engine}"
    cm, states, bindings = replayed_states(doc, "attach-leased-by-other-carrier", 2, 2)
    assert all(cm.step_allowed(b, s) == [] for b, s in zip(bindings[:-1], states[:-2], strict=True))
    assert cm.step_allowed(bindings[-1], states[-2]) == ["LEASE1"]
    shown = CliRunner().invoke(main, ["show", str(out)])
    assert shown.exit_code == 0 and "the offending step: it breaks LEASE1" in shown.output
    # The same walks on the unmutated model find nothing.
    clean = simulate("--model=design", "--carriers=2", "--sessions=2", "--seed=3", "--walks=300", "--depth=200",
                     f"--engine={engine}")
    assert clean.exit_code == 0, clean.output
    assert "no violation in 300 walks" in clean.output


ORD2_WALKS = ["--carriers=1", "--sessions=2", "--mutation=newconn-taken-out-of-order", "--seed=1", "--walks=200", "--depth=100"]


@pytest.mark.parametrize("engine", ["python", "native"])
def test_a_bug_only_an_action_property_sees_is_found_and_explained(tmp_path: Path, engine: str) -> None:
    """newconn-taken-out-of-order breaks no invariant: only ORD2, a rule about the dequeuing step."""
    out = tmp_path / "ord2.itf.json"
    done = simulate(*ORD2_WALKS, f"--engine={engine}", f"--trace-out={out}")
    assert done.exit_code == 1, done.output
    assert "VIOLATION of ORD2" in done.output and "the last step, TakeNewConnection(c=0, b=1), breaks it" in done.output
    doc = json.loads(out.read_text())
    meta = doc["#meta"]
    assert meta["property"]["kind"] == "action" and meta["engine"] == f"simulate/{engine}"
    assert meta["explanation"]["step"] == len(doc["states"]) - 1  # Why: the rule on the state before the last step
    cm, states, bindings = replayed_states(doc, "newconn-taken-out-of-order", 1, 2)
    assert all(cm.check(s) == [] for s in states)  # no state breaks an invariant
    assert cm.step_allowed(bindings[-1], states[-2]) == ["ORD2"]
    shown = CliRunner().invoke(main, ["show", str(out)])
    assert shown.exit_code == 0 and "the offending step: it breaks ORD2" in shown.output
    # Checking the invariants alone, the same walks see nothing: the action property found it.
    invariants = [f"--invariant={p.id}" for p, _ in cm.model.invariants]
    blind = simulate(*ORD2_WALKS, f"--engine={engine}", *invariants)
    assert blind.exit_code == 0, blind.output


def test_the_python_engine_walks_what_the_native_engine_cannot_pack() -> None:
    done = simulate("--carriers=1", "--sessions=16", "--seed=1", "--walks=10", "--depth=50", "--json")
    assert done.exit_code == 0, done.output
    result = json.loads(done.output)
    assert result["arms"][0]["engine"] == "python"
    assert result["walks"] == 10 and result["steps"] == 10 * 50  # 16 sessions do not quiesce within 50 steps


def test_a_time_limit_before_the_walks_asked_for_is_incomplete() -> None:
    done = simulate("--carriers=1", "--sessions=1", "--walks=1000000000", "--time-limit=0.3", "--seed=1")
    assert done.exit_code == 3, done.output
    assert "INCOMPLETE" in done.output


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--sessions=40"], "--sessions must be within 1..32"),
        (["--mode=process", "--carriers=3"], "--carriers applies to pooled mode only"),
        (["--mutation=no-such-bug"], "unknown mutation 'no-such-bug'"),
        (["--option=cancels=9"], "cancels"),
        (["--invariant=S99", "--walks=1"], "unknown invariant S99"),
        (["--depth=0"], "--depth"),
        (["--model=code", "--mutation=wake-before-claim"], "seeded into the design model"),
        (["--option=poll_steps=true"], "belongs to the design model"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], needle: str) -> None:
    done = simulate(*args)
    assert done.exit_code == 2, done.output
    assert needle in done.output
    assert "Traceback" not in done.output and len(done.output.strip().splitlines()) == 1


def test_swarm_mixes_stay_below_the_configuration_asked_for() -> None:
    base = every_option("pooled", 5)
    seen_off = set()
    for k in range(20):
        mix = swarm_options(base, 9, k)
        assert mix == swarm_options(base, 9, k)  # a seed and arm number fix the mix
        for p in PARAMS:
            if p.group == "bound":
                assert 0 <= mix[p.name] <= base[p.name]
            elif p.kind == "bool" and p.group == "option" and not base[p.name]:
                assert not mix[p.name]
            elif p.kind == "bool" and p.group == "option" and not mix[p.name]:
                seen_off.add(p.name)
        assert set(mix["commands"]) <= set(base["commands"]) and mix["commands"]
        assert mix["poll_steps"] == base["poll_steps"]  # the poller's grain is kept
    assert len(seen_off) >= 5  # options really vary


def test_python_stepper_reports_a_model_error() -> None:
    from pgcheck.checker.lang import expr as X
    from pgcheck.checker.lang.spec import Spec, require
    from pgcheck.checker.lang.types import Enum, Fifo

    spec = Spec("overflow")
    spec.entity("p", 2, {"pc": Enum("ppc", ["idle", "sent"])})
    spec.singleton("q", {"items": Fifo("p", 1)})

    @spec.action(i="p")
    def send(s: Any, i: int) -> None:
        require(s.p[i].pc == "idle")
        s.q.items = X.fifo_push(s.q.items, i)  # the second send overflows capacity 1
        s.p[i].pc = "sent"

    cm = compile_model(spec.trace())
    for stepper in (PythonStepper(cm), make_stepper(cm, "native")):
        result = Simulator([Arm("x", stepper)], Plan(1, 10), walks=5).run()
        assert result.failure is not None and result.failure.outcome == "model-error"
        assert result.failure.steps == 1


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_ends_the_walks_with_the_summary_and_exit_3(workers: str) -> None:
    """A real SIGINT to a real process: the summary of the walks so far, exit 3, no traceback."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pgcheck", "simulate", "--model=design", "--carriers=1", "--sessions=2",
         "--engine=python", "--walks=100000000", "--seed=1", f"--workers={workers}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # the configuration first, then the engine, then walks
        seen.append(line)
        if "simulate: engine" in line:
            break
    assert seen and seen[0].startswith("simulate: design model, pooled 1x2"), seen
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, out + err
    assert "result: INCOMPLETE: interrupted" in out and "walks:" in out
    assert "Traceback" not in out + err


def test_the_model_is_explores_choice_code_by_default_design_with_a_mutation() -> None:
    plain = simulate("--carriers=1", "--sessions=1", "--walks=5", "--depth=20", "--seed=1", "--json")
    mutated = simulate("--carriers=1", "--sessions=1", "--walks=5", "--depth=20", "--seed=1", "--json",
                       "--mutation=wake-before-claim")
    assert plain.exit_code == 0 and mutated.exit_code in (0, 1), plain.output + mutated.output
    assert json.loads(plain.output)["model"] == "code"
    assert json.loads(mutated.output)["model"] == "design"
