"""Every trace committed under docs/findings/ replays against the code model it names, ends in
the violation it reports, and the finding's fix variant holds at the same configuration
(docs/findings.md). The python engine keeps these small configurations fast."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pgcheck.checker.lang.compile import CompiledModel, compile_model
from pgcheck.checker.lang.interpret import evaluate
from pgcheck.checker.lang.spec import TracedModel
from pgcheck.checker.run.check import run_check
from pgcheck.checker.traces.itf import state_from_itf
from pgcheck.model import load, make_config
from pgcheck.model.config import ModelConfig

ROOT = Path(__file__).resolve().parents[1]
FINDINGS = ROOT / "docs" / "findings"

# trace name -> (property it violates, the fix variant's option, a smaller configuration for the
# fix check when the trace's own is too large for a test, liveness properties to check)
EXPECTED: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "main-job-S17c": ("S17c", "fix_poller_ownership", {"carriers": 2, "sessions": 2}),
    "C1-use-after-free": ("K1", "fix_poller_ownership", None),
    "C2-unowned-wake": ("S19", "fix_poller_ownership", None),
    "C3-sticky-zero": ("L15", "fix_sticky_zero", None),
    "C4-ssl-pinning": ("deadlock", "fix_ssl_park", None),
    "C5-hibernate-in-xact": ("L8", "fix_hibernate", None),
    "C6-dead-carrier": ("S26c", "fix_carrier_pool", None),
}


def _config(params: dict[str, Any], **change: Any) -> ModelConfig:
    skip = {"model", "mode", "carriers", "sessions"}
    options = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items() if k not in skip}
    options.update(change.pop("options", {}))
    mode = params["mode"]
    carriers = change.get("carriers", params["carriers"]) if mode == "pooled" else None
    return make_config(mode, carriers, change.get("sessions", params["sessions"]), options, model=params["model"])


def _load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((FINDINGS / f"{name}.itf.json").read_text())
    return doc


def _replay(doc: dict[str, Any]) -> tuple[TracedModel, CompiledModel, list[Any]]:
    model = load(_config(doc["#meta"]["params"])).trace()
    cm = compile_model(model)
    by_label = model.binding_by_label()
    states = [state_from_itf(model, rec) for rec in doc["states"]]
    assert states[0] == model.init
    for i, step in enumerate(doc["#meta"]["steps"][1:], start=1):
        label = step["action"] + "(" + ", ".join(f"{k}={v}" for k, v in step["params"].items()) + ")"
        assert cm.binding_step[by_label[label].index](states[i - 1]) == states[i], f"step {i}: {label}"
    return model, cm, states


def test_every_committed_trace_is_expected() -> None:
    assert {p.name.removesuffix(".itf.json") for p in FINDINGS.glob("*.itf.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_trace_replays_to_its_violation(name: str) -> None:
    doc = _load(name)
    pid = EXPECTED[name][0]
    assert doc["#meta"]["params"]["model"] == "code"
    model, cm, states = _replay(doc)
    prop = doc["#meta"].get("property") or {}
    if pid == "deadlock":
        last = states[-1]
        assert all(step(last) is None for step in cm.binding_step), "the last state has a successor"
        assert not cm.is_quiescent(last)
    elif prop.get("kind") == "liveness":
        assert prop["id"] == pid
        loop = doc["#meta"]["loop"]
        closing = doc["#meta"]["loop_closing"]
        label = closing["action"] + "(" + ", ".join(f"{k}={v}" for k, v in closing["params"].items()) + ")"
        assert cm.binding_step[model.binding_by_label()[label].index](states[-1]) == states[loop]
        ob = next(t for t in model.temporal if t.label == prop["instance"])
        cycle = states[loop:]
        if ob.prop.form == "leads-to":
            assert ob.p is not None
            pending = [i for i, st in enumerate(states) if evaluate(ob.p, st) and not evaluate(ob.q, st)]
            assert pending and min(pending) <= len(states) - 1
            start = min(pending)
            assert not any(evaluate(ob.q, st) for st in states[start:]), "Q holds after P"
        else:  # eventually-always: Q fails somewhere on the cycle, so infinitely often
            assert any(not evaluate(ob.q, st) for st in cycle)
    else:
        assert prop["id"] == pid
        assert pid in cm.check(states[-1])
        assert all(pid not in cm.check(st) for st in states[:-1])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fix_variant_holds_at_the_same_configuration(name: str) -> None:
    pid, fix, smaller = EXPECTED[name]
    params = _load(name)["#meta"]["params"]
    change: dict[str, Any] = dict(smaller or {})
    broken = _config(params, **change)
    fixed = _config(params, options={fix: True}, **change)
    live = pid.startswith("L")
    props = [pid] if live else None
    before = run_check(load(broken), engine="python", liveness=live, properties=props, default_trace_dir=None)
    after = run_check(load(fixed), engine="python", liveness=live, properties=props, default_trace_dir=None)
    assert before.verdict == "violation"
    assert after.verdict == "ok", after.result.violation and after.result.violation.kind
    if live:
        assert after.liveness is not None



@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_show_and_view_open_every_committed_trace(name: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from pgcheck.cli import main

    trace = str(FINDINGS / f"{name}.itf.json")
    shown = CliRunner().invoke(main, ["show", trace])
    assert shown.exit_code == 0, shown.output
    assert "model pgruntime-code" in shown.stdout and "params: model=code" in shown.stdout
    page = tmp_path / f"{name}.html"
    viewed = CliRunner().invoke(main, ["view", trace, "--out", str(page)])
    assert viewed.exit_code == 0, viewed.output
    assert page.stat().st_size > 10_000
