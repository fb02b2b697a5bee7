"""The compiled engine against the tree-walking interpreter, on the real runtime model.

For every state an exploration reaches, the compiled successor function must produce
exactly the successors that `interpret.apply_binding` produces binding by binding, and
every invariant, witness and the quiescence predicate must get the same verdict both ways.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from pgcheck.checker.explicit.explore import Bounds, Explorer
from pgcheck.checker.lang.compile import CompiledModel, compile_model
from pgcheck.checker.lang.interpret import apply_binding, evaluate
from pgcheck.checker.lang.spec import TracedModel
from pgcheck.model import load, make_config

State = tuple[Any, ...]

# Small configurations: one message per client and one cancel, with the other
# interrupt budgets and timeouts off so that every reachable state can be visited.
FOCUSED = {
    "messages": 1,
    "active_clients": 2,
    "cancels": 1,
    "terminates": 0,
    "notifies": 0,
    "reschedules": 0,
    "client_close": False,
    "idle_session_timeout": False,
    "idle_in_xact_timeout": False,
}

CONFIGS = [
    pytest.param("pooled", 1, 2, dict(FOCUSED, commands="query,sleep"), id="pooled-1x2"),
    pytest.param("thread-per-session", None, 2, dict(FOCUSED, commands="query"), id="thread-per-session-2"),
    pytest.param("process", None, 2, dict(FOCUSED, commands="query,begin,commit,sleep"), id="process-2"),
]


def explored_states(model: TracedModel, cm: CompiledModel, max_states: int | None = None) -> list[State]:
    ex = Explorer(cm, symmetry=False, check_deadlock=False, keep_graph=True, bounds=Bounds(max_states=max_states))
    result = ex.run()
    assert result.violation is None, result.violation
    if max_states is None:
        assert result.verdict == "ok"
    return list(ex.states.values())


def agree_on(model: TracedModel, cm: CompiledModel, s: State) -> None:
    expected = []
    for b in model.bindings:
        t = apply_binding(b, s)
        assert cm.binding_step[b.index](s) == t, b.label
        if t is not None:
            expected.append((b.index, t))
    assert cm.successors(s) == expected
    verdicts = [bool(evaluate(e, s)) for _, e in model.invariants]
    assert [fn(s) for fn in cm.invariant_fns] == verdicts
    first = verdicts.index(False) if False in verdicts else -1
    assert cm.first_violation(s) == first
    hits = [i for i, (_, e) in enumerate(model.witnesses) if evaluate(e, s)]
    assert cm.witness_hits(s) == hits
    assert cm.is_quiescent(s) == bool(evaluate(model.quiescent, s))


def options_of(opts: dict[str, Any]) -> dict[str, Any]:
    out = dict(opts)
    if isinstance(out.get("commands"), str):
        out["commands"] = tuple(out["commands"].split(","))
    return out


@pytest.mark.parametrize(("mode", "carriers", "sessions", "opts"), CONFIGS)
def test_every_explored_state_agrees(mode: str, carriers: int | None, sessions: int, opts: dict[str, Any]) -> None:
    model = load(make_config(mode, carriers, sessions, options_of(opts))).trace()
    cm = compile_model(model)
    states = explored_states(model, cm)
    assert len(states) > 500  # the configuration is not trivial
    fired: set[int] = set()
    for s in states:
        agree_on(model, cm, s)
        fired.update(bi for bi, _ in cm.successors(s))
    # Most bindings were exercised (some are statically possible but unreachable here).
    assert len(fired) >= len(model.bindings) // 3


@pytest.mark.parametrize(
    ("mode", "carriers", "sessions"),
    [("pooled", 1, 2), ("thread-per-session", None, 2), ("process", None, 2)],
)
def test_states_of_the_default_budgets_agree(mode: str, carriers: int | None, sessions: int) -> None:
    """With every interrupt budget on the space is too large to visit in a unit test:
    check the first states of the BFS and a random sample of later ones."""
    opts = {
        "messages": 1,
        "cancels": 1,
        "active_clients": 2,
        "terminates": 1,
        "notifies": 1,
        "reschedules": 1,
        "commands": ("query", "begin", "commit", "sleep"),
    }
    model = load(make_config(mode, carriers, sessions, opts)).trace()
    cm = compile_model(model)
    states = explored_states(model, cm, max_states=12_000)
    rng = random.Random(20240601)
    assert len(states) > 1000
    sample = states[:400] + rng.sample(states[400:], min(600, len(states) - 400))
    for s in sample:
        agree_on(model, cm, s)


def test_model_errors_agree_and_name_the_action() -> None:
    """A state the model never reaches, made to trip a null read: both engines say the same."""
    model = load(make_config("pooled", 1, 1, {"messages": 1})).trace()
    cm = compile_model(model)
    rng = random.Random(7)
    mismatches = 0
    errors = 0
    for _ in range(300):
        s = list(model.init)
        for j, info in enumerate(model.slots):
            if rng.random() < 0.3 and info.ty.name in ("enum", "bool"):
                n = len(info.ty.values) if info.ty.name == "enum" else 2  # type: ignore[attr-defined]
                s[j] = rng.randrange(n)
        st = tuple(s)
        for b in model.bindings:
            try:
                want: Any = apply_binding(b, st)
            except Exception as e:
                want = (type(e).__name__, str(e))
                errors += 1
            try:
                got: Any = cm.binding_step[b.index](st)
            except Exception as e:
                got = (type(e).__name__, str(e))
            mismatches += want != got
    assert mismatches == 0
    assert errors > 0  # the scrambled states do reach the error paths
