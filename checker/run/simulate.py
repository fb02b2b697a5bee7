"""One simulation run's outcome as a report: the failing walk as an ITF trace, and summary lines.

Shared by `pgcheck simulate` and the tests. The trace is the same counterexample document
`explore` writes (Decision 3), so `pgcheck show`, `view` and trace replay read it; its
`#meta` adds the seed, the walk number and the arm, which rerun exactly that walk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pgcheck.checker.explicit.simulate import Arm, Plan, SimResult, Walk, trace_of
from pgcheck.checker.memory import human_bytes
from pgcheck.checker.run.check import violation_document
from pgcheck.checker.traces.itf import write_trace

OUTCOME_WORDS = {
    "depth": "reached the depth bound",
    "stop": "stopped where no action is enabled (quiescent)",
    "invariant": "broke an invariant",
    "action": "took a step that breaks an action property",
    "deadlock": "deadlocked",
    "model-error": "hit a model error",
}


def walk_document(arm: Arm, walk: Walk, plan: Plan, *, mutation: str | None, engine: str) -> dict[str, Any]:
    """The failing walk as an ITF counterexample, replayed state by state with the Python model."""
    v = trace_of(arm, walk)
    doc = violation_document(arm.cm.model, v, mutation=mutation, engine=f"simulate/{engine}", seed=plan.seed)
    doc["#meta"]["simulate"] = {
        "seed": plan.seed, "walk": walk.index, "walk_seed": walk.seed, "depth": walk.depth, "swarm": plan.swarm, "weights": plan.weights,
        "stick": walk.stick,
        "arm": arm.label, "arm_options": arm.options,
    }
    return doc


def write_walk_trace(
    arm: Arm, walk: Walk, plan: Plan, *, trace_out: str | None, default_dir: str | None, mutation: str | None, engine: str
) -> tuple[Path | None, dict[str, Any]]:
    doc = walk_document(arm, walk, plan, mutation=mutation, engine=engine)
    pid = doc["#meta"]["property"]["id"]
    if trace_out is not None:
        return write_trace(doc, trace_out), doc
    if default_dir is not None:
        return write_trace(doc, Path(default_dir) / f"pgcheck-{pid}.itf.json"), doc
    return None, doc


def summary_lines(result: SimResult, arms: list[Arm], plan: Plan, doc: dict[str, Any] | None, trace: Path | None) -> list[str]:
    r = result
    lines = [
        f"walks: {r.walks:,} ({r.steps:,} steps, {r.steps_per_second:,.0f} steps/s, {r.elapsed:.2f} s, "
        f"{r.workers} worker{'s' if r.workers != 1 else ''}, peak {human_bytes(r.peak_rss_bytes)})",
        "outcomes: " + ", ".join(f"{n:,} {OUTCOME_WORDS[k]}" for k, n in r.outcomes.items() if n),
    ]
    lines += coverage_lines(r, arms)
    if r.failure is not None and doc is not None:
        w = r.failure
        prop = doc["#meta"]["property"]
        arm = f", arm {arms[w.arm].label}" if len(arms) > 1 else ""
        lines.append(
            f"result: VIOLATION of {prop['id']} ({prop['statement']}) in walk {w.index} of seed {plan.seed}{arm}, "
            f"after {w.steps} steps"
        )
        if doc["#meta"].get("message"):
            lines.append(f"  {doc['#meta']['message']}")
        if trace is not None:
            lines.append(f"trace: {trace} (pgcheck show {trace})")
        lines.append(f"rerun: the same command with --seed {plan.seed}; walk {w.index} finds it first")
    elif r.verdict == "incomplete":
        lines.append(f"result: INCOMPLETE: {r.stop_reason} before the walks asked for; no violation in {r.walks:,} walks")
    else:
        stop = f" ({r.stop_reason})" if r.stop_reason else ""
        lines.append(f"result: ok: no violation in {r.walks:,} walks{stop}; a random search proves nothing, 'explore' does")
    return lines


def coverage_lines(result: SimResult, arms: list[Arm]) -> list[str]:
    """Which actions the walks could take at least once (enabled in a visited state)."""
    fired: dict[str, int] = {}
    for arm, counts in zip(arms, result.fired, strict=False):
        for b, n in zip(arm.cm.model.bindings, counts, strict=False):
            fired[b.action] = fired.get(b.action, 0) + n
    never = sorted(a for a, n in fired.items() if n == 0)
    line = f"coverage: {len(fired) - len(never)} of {len(fired)} actions enabled at least once"
    return [line + (f"; never: {', '.join(never)}" if never else "")]


def summary_dict(result: SimResult, arms: list[Arm], plan: Plan, doc: dict[str, Any] | None, trace: Path | None) -> dict[str, Any]:
    r = result
    out: dict[str, Any] = {
        "verdict": r.verdict, "model": arms[0].cm.model.params.get("model"), "walks": r.walks, "steps": r.steps, "elapsed": r.elapsed, "steps_per_second": r.steps_per_second,
        "outcomes": r.outcomes, "stop_reason": r.stop_reason, "seed": plan.seed, "depth": plan.depth, "swarm": plan.swarm, "weights": plan.weights,
        "workers": r.workers, "peak_rss_bytes": r.peak_rss_bytes, "arms": [{"label": a.label, "options": a.options, "engine": a.stepper.engine} for a in arms],
    }
    if r.failure is not None and doc is not None:
        out["violation"] = {
            "property": doc["#meta"]["property"]["id"], "walk": r.failure.index, "steps": r.failure.steps,
            "arm": arms[r.failure.arm].label, "trace": None if trace is None else str(trace),
        }
    return out
