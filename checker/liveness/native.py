"""Liveness in the native engine: the explored graph stored in C, fair cycles found in C.

The same semantics as check.py over graph.py and fair_cycles.py (the tests hold the two
to the same verdicts): the generated library (checker/explicit/native's three parts, the
temporal properties' predicates from cgen_live.py, and live.c) explores breadth first
without symmetry or partial-order reduction and keeps, per state, its edges, its BFS-tree
parent and the predicate bits; then, per obligation, it finds a fair lasso. Lassos come
back as state numbers and bindings; the states are rebuilt here by replaying the bindings
from the initial state, so traces, `show`, `view` and the explanations read them as they
read the Python checker's.

Unlike the Python path, the search does not stop at an invariant violation or a deadlock:
it records the first one (at the least depth) and builds the whole graph, so `--liveness`
reports liveness verdicts also on a model whose safety fails. A model error (an action
property, or an evaluation failure) stops it: the graph past it is not defined.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

from pgcheck.checker.errors import ModelError
from pgcheck.checker.explicit.explore import (
    Bounds,
    Progress,
    Result,
    Step,
    StopRequested,
    Violation,
    action_step_violation,
)
from pgcheck.checker.explicit.native import build, cgen
from pgcheck.checker.explicit.native.explorer import (  # the C engine's verdict codes, shared by live.c
    PROGRESS_FN,
    V_DEADLOCK,
    V_INVARIANT,
    V_MAX_DEPTH,
    V_MAX_STATES,
    V_MODEL_ERROR,
    V_NO_MEMORY,
    V_OK,
    V_STOPPED,
    python_error_message,
)
from pgcheck.checker.lang.compile import CompiledModel
from pgcheck.checker.lang.spec import Temporal, TracedModel, TracedTemporal
from pgcheck.checker.lang.types import Fifo
from pgcheck.checker.liveness.cgen_live import FORMS, live_predicates
from pgcheck.checker.liveness.check import LassoNodes, LivenessReport, PropertyOutcome
from pgcheck.checker.liveness.fair_cycles import Lasso
from pgcheck.checker.memory import human_bytes, peak_rss_bytes

State = tuple[Any, ...]

FAIRNESS_CODE = {None: 0, "weak": 1, "strong": 2}


def _declare(lib: ctypes.CDLL) -> None:
    i64p = ctypes.POINTER(ctypes.c_int64)
    lib.pg_live_build.argtypes = [
        i64p, ctypes.c_int, ctypes.c_int64, ctypes.c_int64, PROGRESS_FN, ctypes.c_double, i64p, i64p, i64p, i64p, i64p,
    ]
    lib.pg_live_build.restype = ctypes.c_int
    lib.pg_live_find.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int8)]
    lib.pg_live_find.restype = ctypes.c_int
    lib.pg_live_mark_pending.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.pg_live_mark_pending.restype = ctypes.c_int
    lib.pg_live_pending_take.argtypes = []
    lib.pg_live_pending_take.restype = ctypes.c_int64
    lib.pg_live_lasso.argtypes = [ctypes.POINTER(ctypes.c_int32), i64p, i64p]
    lib.pg_live_lasso.restype = ctypes.c_int64
    lib.pg_live_path.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_int32), ctypes.c_int64]
    lib.pg_live_path.restype = ctypes.c_int64
    lib.pg_live_search_bytes.argtypes = []
    lib.pg_live_search_bytes.restype = ctypes.c_int64
    lib.pg_live_reset.argtypes = []
    lib.pg_live_reset.restype = None


def library_source(model: TracedModel, invariant_ids: list[str] | None) -> tuple[str, cgen.Generated, dict[str, int]]:
    """The whole C source of the liveness library, its model part, and each predicate's bit."""
    gen = cgen.generate(model, invariant_ids, None)
    preds, bits = live_predicates(model, gen)
    live = (resources.files("pgcheck.checker.liveness") / "live.c").read_text()
    return build.engine_source(gen.source + preds) + "\n" + live, gen, bits


class NativeLiveness:
    """Build the graph of a compiled model in C and check its temporal properties there.

    Quacks like the explorers where a run needs it: `run()` gives the safety `Result` of the
    breadth-first part, `trace_to(id)` a trace to a state number."""

    def __init__(
        self,
        compiled: CompiledModel,
        *,
        bounds: Bounds | None = None,
        check_deadlock: bool = True,
        on_progress: Callable[[Progress], None] | None = None,
        progress_every: float = 1.0,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.cm = compiled
        model = compiled.model
        self.bounds = bounds or Bounds()
        self.check_deadlock = check_deadlock
        self.on_progress = on_progress
        self.progress_every = progress_every
        self.on_event = on_event
        self.symmetry = False
        self.workers = 1
        t0 = time.monotonic()
        source, self.gen, self.bits = library_source(model, compiled.invariant_ids)
        self.lib = build.load(source, on_event)
        self.build_seconds = time.monotonic() - t0
        _declare(self.lib)
        self.fifo = [isinstance(info.ty, Fifo) for info in model.slots]
        self.cell_array = ctypes.c_int64 * len(model.slots)
        self.graph_complete = False
        self.stop_reason: str | None = None  # the bound or interrupt that ended the search early
        self.graph_states = 0
        self.graph_edges = 0
        self.graph_bytes = 0
        self.graph_seconds = 0.0

    # ---- the breadth-first part
    def run(self) -> Result:
        cm, bounds = self.cm, self.bounds
        model = cm.model
        nb, nw = len(model.bindings), len(model.witnesses)
        fired = (ctypes.c_int64 * max(nb, 1))()
        fresh = (ctypes.c_int64 * max(nb, 1))()
        wit_depth = (ctypes.c_int64 * max(nw, 1))()
        wit_id = (ctypes.c_int64 * max(nw, 1))()
        stats = (ctypes.c_int64 * 10)()
        start = time.monotonic()
        stop: list[str] = []
        failure: list[BaseException] = []

        def progress(distinct: int, edges: int, depth: int, queue: int) -> int:
            try:
                now = time.monotonic()
                if self.on_progress is not None:
                    self.on_progress(Progress(distinct, edges, depth, queue, now - start, peak_rss_bytes(), edges))
                if bounds.time_limit is not None and now - start > bounds.time_limit:
                    stop.append(f"--time-limit {bounds.time_limit:g}s reached")
                    return 1
            except StopRequested as e:
                stop.append(str(e))
                return 1
            except KeyboardInterrupt:
                stop.append("interrupted")
                return 1
            except BaseException as e:  # surfaced after the C call returns
                failure.append(e)
                return 1
            return 0

        every = self.progress_every
        if bounds.time_limit is not None:
            every = min(every, max(bounds.time_limit / 20, 0.05))
        callback = PROGRESS_FN(progress)
        rc = self.lib.pg_live_build(
            self._cells(model.init),
            int(self.check_deadlock),
            -1 if bounds.max_states is None else bounds.max_states,
            -1 if bounds.max_depth is None else bounds.max_depth,
            callback, every, stats, fired, fresh, wit_depth, wit_id,
        )
        if failure:
            raise failure[0]
        self.graph_seconds = time.monotonic() - start
        verdict, distinct, edges, depth, bad_id, detail, quiescent, generated, table_bytes, stopped = list(stats)
        self.graph_states, self.graph_edges, self.graph_bytes = distinct, edges, table_bytes
        out = Result(
            verdict="ok",
            distinct=distinct,
            generated=generated,
            depth=depth,
            elapsed=self.graph_seconds,
            peak_rss_bytes=peak_rss_bytes(),
            symmetry=False,
            witnesses_reached={model.witnesses[i][0].id: wit_depth[i] for i in range(nw) if wit_depth[i] >= 0},
            witness_states={model.witnesses[i][0].id: wit_id[i] for i in range(nw) if wit_depth[i] >= 0},
            fired=list(fired[:nb]),
            new_states=list(fresh[:nb]),
            quiescent_states=quiescent,
            engine="native",
            workers=1,
            bytes_per_state=table_bytes / max(distinct, 1),
            bytes_per_state_of="the liveness graph at its largest (edges, predicate bits, fingerprint table, frontier)",
        )
        if rc != 0 or verdict == V_NO_MEMORY:
            out.verdict, out.stop_reason = "incomplete", "out of memory for the liveness graph"
        elif verdict == V_INVARIANT:
            out.verdict = "violation"
            out.violation = Violation("invariant", cm.invariant_ids[detail], self.trace_to(bad_id))
        elif verdict == V_DEADLOCK:
            out.verdict = "violation"
            out.violation = Violation("deadlock", "deadlock", self.trace_to(bad_id))
        elif verdict == V_MODEL_ERROR and detail in self.gen.action_sites:
            out.verdict = "violation"
            out.violation = action_step_violation(cm, self.trace_to(bad_id))
            out.depth = len(out.violation.trace) - 1
        elif verdict == V_MODEL_ERROR:
            out.verdict = "violation"
            trace = self.trace_to(bad_id)
            out.violation = Violation("model-error", "model-error", trace, self._error_message(trace[-1].state, detail))
        # A bound or an interrupt: incomplete, unless a safety violation was found before it
        # (then that is the verdict); either way the graph is partial and liveness unchecked.
        reason = {
            V_MAX_STATES: f"--max-states {bounds.max_states} reached",
            V_MAX_DEPTH: f"--max-depth {bounds.max_depth} reached",
            V_STOPPED: stop[0] if stop else "stopped",
        }.get(stopped)
        if reason is not None and out.verdict == "ok":
            out.verdict, out.stop_reason = "incomplete", reason
        self.stop_reason = reason
        self.graph_complete = verdict in (V_OK, V_INVARIANT, V_DEADLOCK) and stopped == V_OK and rc == 0
        return out

    def _cells(self, s: State) -> Any:
        return self.cell_array(*(cgen.pack_fifo(v) if f else int(v) for v, f in zip(s, self.fifo, strict=True)))

    def _error_message(self, state: State, site: int) -> str:
        return python_error_message(self.cm, state, self.gen.sites[site])

    # ---- traces
    def binding_path(self, state_id: int) -> list[int]:
        n = self.lib.pg_live_path(state_id, None, 0)
        buf = (ctypes.c_int32 * max(n, 1))()
        self.lib.pg_live_path(state_id, buf, n)
        return list(buf[:n])

    def replay(self, bindings: list[int | None]) -> list[State]:
        """The states along bindings from the initial state (no symmetry: one state each)."""
        cur = self.cm.model.init
        out = [cur]
        for b in bindings:
            if b is None:
                continue
            nxt = self.cm.binding_step[b](cur)
            if nxt is None:
                raise ModelError("internal: a step of the native liveness graph cannot be replayed")
            out.append(nxt)
            cur = nxt
        return out

    def trace_to(self, state_id: int) -> list[Step]:
        bindings = self.binding_path(state_id)
        states = self.replay(list(bindings))
        return [Step(states[0], None)] + [Step(s, b) for s, b in zip(states[1:], bindings, strict=True)]

    # ---- fair cycles
    def check(
        self,
        props: list[Temporal],
        skipped: dict[str, str] | None = None,
        on_event: Callable[[str], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> LivenessReport:
        """Every chosen property's obligations over the built graph (run() first). `stop`
        is asked between obligations (Ctrl-C): True ends the check with KeyboardInterrupt."""
        t0 = time.monotonic()
        model = self.cm.model
        fair = (ctypes.c_int8 * max(len(model.bindings), 1))(*[FAIRNESS_CODE[b.fairness] for b in model.bindings])
        chosen = [o for o in model.temporal if o.prop in props]
        outcomes = {p.id: PropertyOutcome(p, "holds", 0) for p in props}
        nodes = LassoNodes({}, {})
        if on_event is not None:
            on_event(
                f"liveness graph: {self.graph_states:,} states, {self.graph_edges:,} edges, "
                f"{self.graph_bytes / max(self.graph_states, 1):.0f} bytes per state, built in {self.graph_seconds:.1f}s; "
                f"now strongly connected components per obligation ({len(chosen)})"
            )
        for k, o in enumerate(chosen):
            form, pb, qb = self._operands(o)
            if self.lib.pg_live_mark_pending(form, pb, qb) < 0:
                raise MemoryError("out of memory for the liveness search")
            out = outcomes[o.prop.id]
            last_of_prop = all(x.prop.id != o.prop.id for x in chosen[k + 1 :])
            if stop is not None and stop():
                raise KeyboardInterrupt
            if out.lasso is None:
                if on_event is not None:
                    on_event(
                        f"liveness: fair cycles for {o.label} ({k + 1}/{len(chosen)}), "
                        f"{time.monotonic() - t0:.1f}s, {human_bytes(peak_rss_bytes())} peak"
                    )
                found = self.lib.pg_live_find(form, pb, qb, fair)
                if found < 0:
                    raise MemoryError("out of memory for the liveness search")
                if found == 1:
                    out.verdict, out.violated_instance, out.lasso = "VIOLATED", o.label, self._lasso(nodes)
            if last_of_prop:
                out.pending_states = self.lib.pg_live_pending_take()
        return LivenessReport(
            [outcomes[p.id] for p in props],
            self.graph_states,
            self.graph_edges,
            time.monotonic() - t0,  # the fair-cycle pass, as the Python report counts it (the search is in Result)
            peak_rss_bytes(),
            nodes,
            dict(skipped or {}),
        )

    def _operands(self, o: TracedTemporal) -> tuple[int, int, int]:
        p = -1 if o.p is None else self.bits[f"{o.label}:p"]
        return FORMS.index(o.prop.form), p, self.bits[f"{o.label}:q"]

    def _lasso(self, nodes: LassoNodes) -> Lasso:
        n = self.lib.pg_live_lasso(None, None, None)
        bs = (ctypes.c_int32 * max(n, 1))()
        ns = (ctypes.c_int64 * max(n, 1))()
        info = (ctypes.c_int64 * 2)()
        self.lib.pg_live_lasso(bs, ns, info)
        path: list[tuple[int | None, int]] = [(None if k == 0 else bs[k], ns[k]) for k in range(n)]
        loop, closing = int(info[0]), int(info[1])
        states = self.replay([b for b, _ in path])
        for (_, node), s in zip(path, states, strict=True):
            nodes.states[node] = s
            nodes.enabled[node] = frozenset(b for b, t in self.cm.successors(s) if t != s)
        if closing >= 0 and self.cm.binding_step[closing](states[-1]) != states[loop]:
            raise ModelError("internal: the native lasso's closing step does not return to its loop state")
        return Lasso(path, loop, None if closing < 0 else closing)

    def close(self) -> None:
        self.lib.pg_live_reset()
