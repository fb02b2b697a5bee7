"""One check run: trace and compile a spec, explore it, turn the outcome into a report.

Shared by `pgcheck explore`, `pgcheck mutants` and the tests, so they all see one
behaviour.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgcheck.checker.errors import ModelError, UsageError, check_names
from pgcheck.checker.explicit.explore import Bounds, Explorer, Progress, Result, Violation
from pgcheck.checker.explicit.native import build, cgen
from pgcheck.checker.explicit.native.explorer import Checkpointing, NativeExplorer, NativeModel
from pgcheck.checker.lang.compile import CompiledModel, compile_model
from pgcheck.checker.lang.spec import Property, Spec, TracedModel
from pgcheck.checker.liveness.check import (
    SYMMETRY_OFF,
    LivenessReport,
    check_liveness,
    first_violation,
    lasso_itf_meta,
    select,
)
from pgcheck.checker.liveness.native import LivenessIncomplete, NativeLiveness
from pgcheck.checker.traces.itf import trace_to_itf, write_trace
from pgcheck.checker.traces.why import culprit_instances, explanation_meta, step_explanation_meta

from pgcheck import __version__

ENGINES = ("auto", "native", "python", "ray")
POR_LIVENESS = (
    "partial-order reduction off: it preserves safety here, not fair cycles (no cycle proviso for liveness)"
)
SAFETY_FIRST = (
    "liveness checked over the whole graph although a safety property fails (the native search goes on past it); "
    "the trace below is the safety violation"
)
INSTALL_RAY = "--engine=ray needs Ray: pip install 'pgcheck[distributed]'"


@dataclass
class CheckRun:
    model: TracedModel
    compiled: CompiledModel
    explorer: Explorer | NativeExplorer | NativeLiveness
    result: Result
    trace_path: Path | None
    compile_seconds: float
    unreached_witnesses: list[Property]
    liveness: LivenessReport | None = None  # when run with liveness=True and the search completed
    liveness_note: str = ""  # why symmetry was off, or why liveness was not checked
    trace_doc: dict[str, Any] | None = None  # the counterexample as ITF (also when not written)
    por_note: str = ""  # why partial-order reduction was asked for and not used

    @property
    def verdict(self) -> str:
        if self.result.verdict == "ok" and self.unreached_witnesses:
            return "vacuous"
        return self.result.verdict

    def property_by_id(self, pid: str) -> Property | None:
        for p, _ in self.model.invariants + self.model.witnesses:
            if p.id == pid:
                return p
        for a in self.model.action_properties:
            if a.id == pid:
                return a
        return None


def prepare(
    spec: Spec, invariants: list[str] | None = None, action_properties: list[str] | None = None
) -> tuple[TracedModel, CompiledModel, float]:
    """Trace and compile `spec`. `invariants` (ids of invariants or action properties) limits
    the checks to those; `action_properties` limits the action properties alone ([]: none)."""
    t0 = time.monotonic()
    model = spec.trace()
    known = [p.id for p, _ in model.invariants]
    steps = [a.id for a in model.action_properties]
    if invariants:
        check_names("invariant", invariants, known + steps, model.meta.get("invariants_not_applicable"))
        action_properties = [i for i in invariants if i in steps] if action_properties is None else action_properties
        invariants = [i for i in invariants if i in known]
    if action_properties is not None:
        chosen = set(action_properties)
        model.action_checks = [a for a in model.action_checks if a.prop.id in chosen]
        model.action_properties = [a for a in model.action_properties if a.id in chosen]
    # An explicit list with no invariant in it checks none (compile_model reads None as all).
    compiled = compile_model(model, invariants if invariants is not None else None)
    return model, compiled, time.monotonic() - t0


def run_check(
    spec: Spec,
    *,
    invariants: list[str] | None = None,
    symmetry: bool = True,
    bounds: Bounds | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    trace_out: str | Path | None = None,
    default_trace_dir: str | Path | None = ".",
    mutation: str | None = None,
    keep_graph: bool = False,
    engine: str = "python",
    workers: int = 1,
    checkpoint: Checkpointing | None = None,
    liveness: bool = False,
    properties: list[str] | None = None,
    check_deadlock: bool = True,
    address: str | None = None,
    on_event: Callable[[str], None] | None = None,
    por: bool = False,
    keep_por: bool = False,
    action_properties: list[str] | None = None,
) -> CheckRun:
    """Explore `spec` and check its invariants; with `liveness` (or `properties`, ids of
    temporal properties) also its liveness properties over the explored graph.

    engine: "python" (the reference explorer), "native" (generated C), or "auto" (native
    when a C compiler is there). With liveness the native engine builds the graph and finds
    fair cycles in C (checker/liveness/native.py); "python" keeps the networkx checker.
    `on_event` hears, before the search, the configuration and engine (header lines) and the
    C compile, so a long run says what it is doing from its first second.
    `por`: partial-order reduction (docs/reduction.md), used by the native engine for safety
    only; `por_note` in the result says when it was asked for and not used. `keep_por`: keep
    it on past its trial even when it leaves out few firings (for measuring it).
    action_properties: ids of the action properties to check (None: all; invariants may name
    them too)."""
    model, compiled, compile_s = prepare(spec, invariants, action_properties)
    liveness = liveness or bool(properties)
    skipped: dict[str, str] = dict(model.meta.get("liveness_skipped", {}))
    chosen_props = select(model, properties, skipped) if liveness else []
    note = ""
    if liveness:
        keep_graph = True
    por_note = ""
    if por and liveness:
        por, por_note = False, POR_LIVENESS
    explorer: Explorer | NativeExplorer | NativeLiveness
    if liveness and engine == "ray":
        raise UsageError("--liveness runs on the native or the python engine, not ray (drop --engine=ray)")
    if liveness and checkpoint is not None:
        raise UsageError("--checkpoint and --resume do not apply to --liveness (drop them)")
    chosen = choose_engine(engine, model, keep_graph and not liveness, workers)
    native_liveness = liveness and chosen == "native"
    if liveness and not native_liveness:
        # The Python checker judges components of the concrete graph only (docs/liveness.md).
        note, symmetry = SYMMETRY_OFF if symmetry else "", False
    if por and chosen != "native":
        por, por_note = False, f"partial-order reduction off: the {chosen} engine does not implement it"
    if checkpoint is not None and chosen != "native":
        raise UsageError(f"--checkpoint and --resume need the native engine, not {chosen} (use --engine=native)")
    if address is not None and chosen != "ray":
        raise UsageError("--address needs --engine=ray")
    if on_event is not None:
        for line in header_lines(model, chosen, workers, symmetry):
            on_event(line)
    if native_liveness:
        t0 = time.monotonic()
        try:
            explorer = NativeLiveness(
                compiled, bounds=bounds, check_deadlock=check_deadlock, on_progress=on_progress, on_event=on_event,
                symmetry=symmetry, workers=workers,
            )
        except RuntimeError as e:  # the compiler failed on generated code: a bug here, said in one line
            raise ModelError(str(e)) from None
        compile_s += time.monotonic() - t0
    elif chosen == "ray":
        from pgcheck.checker.explicit.native.distributed import RayExplorer

        t0 = time.monotonic()
        native = native_model(compiled, symmetry, on_event)
        compile_s += time.monotonic() - t0
        explorer = RayExplorer(
            compiled, symmetry=symmetry, bounds=bounds, on_progress=on_progress, actors=workers, address=address,
            native=native,
        )
    elif chosen == "native":
        t0 = time.monotonic()
        native = native_model(compiled, symmetry, on_event)
        compile_s += time.monotonic() - t0
        explorer = NativeExplorer(
            compiled, symmetry=symmetry, bounds=bounds, on_progress=on_progress, workers=workers, native=native,
            checkpoint=checkpoint, check_deadlock=check_deadlock, por=por,
            keep_por=keep_por,
        )
    else:
        explorer = Explorer(
            compiled,
            symmetry=symmetry,
            bounds=bounds,
            on_progress=on_progress,
            keep_graph=keep_graph,
            check_deadlock=check_deadlock,
        )
    result = explorer.run()
    report: LivenessReport | None = None
    if isinstance(explorer, NativeLiveness) and explorer.graph_complete:
        # The native search goes on past an invariant violation or a deadlock: liveness is
        # checked over the whole graph and reported beside the safety violation.
        # Ctrl-C during the search for fair cycles: the progress printer knows (explore.py).
        try:
            report = explorer.check(chosen_props, skipped, on_event, lambda: bool(getattr(on_progress, "interrupted", False)))
        except LivenessIncomplete as e:
            report, note = None, f"liveness not checked: {e}"
            if result.verdict == "ok":
                result.verdict, result.stop_reason = "incomplete", str(e)
        lv = first_violation(report) if report is not None else None
        if result.violation is None and lv is not None:
            result.verdict, result.violation = "violation", lv
        elif result.violation is not None:
            note = "\n".join(x for x in (note, SAFETY_FIRST) if x)
    elif liveness and result.verdict == "ok":
        assert isinstance(explorer, Explorer)  # liveness keeps the graph, so the Python engine ran
        report = check_liveness(model, explorer, chosen_props, skipped)
        lv = first_violation(report)
        if lv is not None:
            result.verdict, result.violation = "violation", lv
    elif liveness:
        note = "liveness not checked: the search stopped before the whole graph was explored"
        if isinstance(explorer, NativeLiveness) and explorer.stop_reason and result.violation is not None:
            note += f" ({explorer.stop_reason}, after the violation below was found)"
    trace_path: Path | None = None
    doc: dict[str, Any] = {}
    v = result.violation
    if v is not None:
        doc = violation_document(model, v, mutation=mutation, report=report)
        if trace_out is not None:
            trace_path = write_trace(doc, trace_out)
        elif default_trace_dir is not None:
            trace_path = write_trace(doc, Path(default_trace_dir) / f"pgcheck-{v.property_id}.itf.json")
    unreached: list[Property] = []
    if result.verdict == "ok" and invariants is None:
        unreached = [p for p, _ in model.witnesses if p.id not in result.witnesses_reached]
    doc_out = doc if v is not None else None
    return CheckRun(
        model, compiled, explorer, result, trace_path, compile_s, unreached, report, note,
        trace_doc=doc_out, por_note=por_note,
    )


def violation_document(
    model: TracedModel, v: Violation, *, mutation: str | None, report: LivenessReport | None = None,
    engine: str = "bfs", seed: int | None = None,
) -> dict[str, Any]:
    """A violation as the ITF counterexample every engine writes: the property, the entities to
    highlight, and the Why explanation (for an action property, of its offending last step on
    the state before it; for an invariant, of the last state)."""
    prop = next((p for p, _ in model.invariants if p.id == v.property_id), None)
    if prop is None and v.kind == "action":
        prop = next((a for a in model.action_properties if a.id == v.property_id), None)
    doc = trace_to_itf(
        model, v.trace, kind="lasso" if v.kind == "liveness" else "counterexample", prop=prop, engine=engine,
        mutation=mutation, seed=seed, message=v.message, loop=v.loop_index,
    )
    doc["#meta"]["highlight"] = highlight(model, v.trace, prop)
    if prop is not None:
        last = len(v.trace) - 1
        if v.kind == "action":  # the rule is about the last step: explain it on the state before
            why = step_explanation_meta(model, prop.id, v.trace)
        else:
            why = explanation_meta(model, prop.id, v.trace[-1].state, last)
        if why is not None:
            doc["#meta"]["explanation"] = why
            doc["#meta"]["highlight"] = culprit_instances(model, why["reads"], prop.about) or doc["#meta"]["highlight"]
    if v.kind == "liveness" and report is not None:
        doc["#meta"].update(lasso_itf_meta(model, report, v.property_id))
        doc["#meta"]["highlight"] = lasso_highlight(model, report, v.property_id)
    elif prop is None:
        doc["#meta"]["property"] = {"id": v.property_id, "kind": v.kind, "statement": describe_kind(v.kind), "citation": ""}
    return doc


def choose_engine(engine: str, model: TracedModel, keep_graph: bool, workers: int) -> str:
    """The engine a run uses; asking for one that cannot run here is a usage error."""
    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "ray":
        if not ray_available():
            raise UsageError(INSTALL_RAY)
        reason = native_unavailable(model) or ("an explored graph is needed" if keep_graph else None)
        if reason is not None:
            raise UsageError(f"--engine=ray runs the native engine's library, which cannot run this: {reason}")
        return "ray"
    if engine == "python":
        if workers != 1:
            raise UsageError("--workers needs the native engine (drop --engine=python)")
        return "python"
    reason = native_unavailable(model) or ("an explored graph is needed" if keep_graph else None)
    if reason is None:
        return "native"
    if engine == "native":
        raise UsageError(f"the native engine cannot run this: {reason} (use --engine=python)")
    if workers != 1:
        raise UsageError(f"--workers needs the native engine, which cannot run this: {reason}")
    return "python"


def native_unavailable(model: TracedModel) -> str | None:
    """Why the native engine cannot explore `model` on this machine, or None."""
    try:
        build.compiler()
        cgen.check_supported(model)
    except (build.NoCompiler, cgen.Unsupported) as e:
        return str(e)
    return None


def ray_available() -> bool:
    """Whether the distributed engine's dependency (the `distributed` extra) is installed."""
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def native_model(
    compiled: CompiledModel, symmetry: bool, on_event: Callable[[str], None] | None = None
) -> NativeModel:
    try:
        return NativeModel(compiled, symmetry, on_event)
    except RuntimeError as e:  # the compiler failed on generated code: a bug here, said in one line
        raise ModelError(str(e)) from None


def config_line(model: TracedModel) -> str:
    p = model.params
    which = ""
    if "model" in p:
        which = "model code (the C scheduler at c2c6ec31), " if p["model"] == "code" else "model design (scheduler-digest.md), "
    if p.get("mode") == "pooled":
        return f"{which}mode pooled, {p['carriers']} carriers x {p['sessions']} sessions"
    return f"{which}mode {p.get('mode')}, {p['sessions']} sessions (each with its own carrier)"


def options_line(model: TracedModel) -> str:
    skip = {"model", "mode", "carriers", "sessions"}
    parts = []
    for k, v in model.params.items():
        if k in skip:
            continue
        parts.append(f"{k}={','.join(v) if isinstance(v, list) else str(v).lower() if isinstance(v, bool) else v}")
    return "options " + " ".join(parts)


def engine_text(engine: str, workers: int) -> str:
    """The engine as the summary names it."""
    if engine == "native":
        return f"native (generated C), {workers} worker{'s' if workers != 1 else ''}"
    if engine == "ray":
        return f"ray (the native engine's states partitioned across {workers} actor{'s' if workers != 1 else ''})"
    return "python"


def header_lines(model: TracedModel, engine: str, workers: int, symmetry: bool) -> list[str]:
    """What a run is about to do: configuration, options, engine (printed before it starts)."""
    return [
        f"pgcheck {__version__} explore: {config_line(model)}",
        options_line(model),
        f"symmetry reduction: {'on' if symmetry else 'off'}; engine: breadth-first explicit state, {engine_text(engine, workers)}",
    ]


def describe_kind(kind: str) -> str:
    return {
        "deadlock": "a state with no enabled action that the model does not declare quiescent",
        "model-error": "the model could not be evaluated in this state",
        "liveness": "a fair behaviour along which the property's obligation is never met",
    }.get(kind, kind)


def highlight(model: TracedModel, trace: list[Any], prop: Property | None) -> list[dict[str, Any]]:
    """Entities the violation is about: instances of the property's kind changed by the last step."""
    if prop is None or prop.about is None or len(trace) < 2:
        return []
    before, after = trace[-2].state, trace[-1].state
    kind = model.kinds[prop.about]
    marked = []
    for i in kind.instances:
        if any(before[model.slot_of[(kind.name, i, f)]] != after[model.slot_of[(kind.name, i, f)]] for f in kind.fields):
            marked.append({"kind": kind.name, "index": i})
    return marked


def lasso_highlight(model: TracedModel, report: LivenessReport, pid: str) -> list[dict[str, Any]]:
    """The instance a violated liveness property is about: `L3[session=1]` -> session 1."""
    out = next((o for o in report.outcomes if o.prop.id == pid), None)
    if out is None or out.prop.each is None:
        return []
    ob = next((t for t in model.temporal if t.label == out.violated_instance), None)
    return [] if ob is None or ob.index is None else [{"kind": out.prop.each, "index": ob.index}]
