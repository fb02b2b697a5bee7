"""Liveness in the native engine: the explored graph stored in C, fair cycles found in C.

The same semantics as check.py over graph.py and fair_cycles.py (the tests hold the two
to the same verdicts): the generated library (checker/explicit/native's three parts, the
temporal properties' predicates from cgen_live.py, and live.c) explores breadth first
without partial-order reduction and keeps, per state, its edges and the predicate bits;
then, per obligation, it finds a fair lasso. Lassos come back as state numbers and
bindings; the states are rebuilt here by replaying the bindings from the initial state,
so traces, `show`, `view` and the explanations read them as they read the Python checker's.

With symmetry (docs/liveness.md) the graph is the quotient: one representative per orbit,
each edge with the permutation that made its target canonical, and a component is judged
on the concrete component it stands for. A property per instance of a symmetric kind is
checked on the quotient of (state, instance) pairs, once per orbit of instances of the
initial state (the tracked instance is instance 0 of every representative). Traces and
lassos are lifted to concrete states here: each step is a concrete successor whose
representative is the next state of the quotient path, and a cycle is searched among the
concrete states of the chosen component.

Unlike the Python path, the search does not stop at an invariant violation or a deadlock:
it records the first one (at the least depth) and builds the whole graph, so `--liveness`
reports liveness verdicts also on a model whose safety fails. A model error (an action
property, or an evaluation failure) stops it: the graph past it is not defined.

Why one module of this size: the one class that drives live.c, whose calls (build, search,
lasso, the graphs of pairs) share its state; lifting to concrete states is lift.py.
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
from pgcheck.checker.explicit.symmetry import Canonicalizer
from pgcheck.checker.explicit.symmetry_check import check_symmetric
from pgcheck.checker.lang.compile import CompiledModel
from pgcheck.checker.lang.spec import Temporal, TracedModel, TracedTemporal
from pgcheck.checker.lang.types import Fifo
from pgcheck.checker.liveness.cgen_live import FORMS, binding_permutations, live_predicates
from pgcheck.checker.liveness.check import LassoNodes, LivenessReport, PropertyOutcome
from pgcheck.checker.liveness.fair_cycles import Lasso
from pgcheck.checker.liveness.lift import Component, lift_path, lifted_lasso
from pgcheck.checker.memory import human_bytes, peak_rss_bytes

State = tuple[Any, ...]

FAIRNESS_CODE = {None: 0, "weak": 1, "strong": 2}


def _declare(lib: ctypes.CDLL) -> None:
    i64p = ctypes.POINTER(ctypes.c_int64)
    lib.pg_live_build.argtypes = [
        i64p, ctypes.c_int, ctypes.c_int64, ctypes.c_int64, PROGRESS_FN, ctypes.c_double, i64p, i64p, i64p, i64p, i64p,
        ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
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
    lib.pg_live_path.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_int32), ctypes.c_int64, ctypes.c_int]
    lib.pg_live_path.restype = ctypes.c_int64
    lib.pg_live_search_bytes.argtypes = []
    lib.pg_live_search_bytes.restype = ctypes.c_int64
    lib.pg_live_reset.argtypes = []
    lib.pg_live_reset.restype = None
    lib.pg_live_need.argtypes = [i64p, ctypes.c_int, ctypes.POINTER(ctypes.c_int8)]
    lib.pg_live_need.restype = ctypes.c_int64
    lib.pg_live_label.argtypes = [ctypes.c_int64]
    lib.pg_live_label.restype = ctypes.c_int64
    lib.pg_live_node_of.argtypes = [i64p, ctypes.c_int]
    lib.pg_live_node_of.restype = ctypes.c_int64
    lib.pg_canon_tracked.argtypes = [i64p, ctypes.c_int, ctypes.c_int, i64p]
    lib.pg_canon_tracked.restype = None


def library_source(
    model: TracedModel, invariant_ids: list[str] | None, symmetry: Canonicalizer | None = None
) -> tuple[str, cgen.Generated, dict[str, int]]:
    """The whole C source of the liveness library, its model part, and each predicate's bit."""
    gen = cgen.generate(model, invariant_ids, symmetry)
    preds, bits = live_predicates(model, gen)
    perms = binding_permutations(model, symmetry.groups if symmetry is not None else [])
    live = (resources.files("pgcheck.checker.liveness") / "live.c").read_text()
    return build.engine_source(gen.source + preds + perms) + "\n" + live, gen, bits


class LivenessIncomplete(Exception):
    """A graph of (state, instance) pairs stopped early: its properties are not checked."""


class NotSymmetric(ModelError):
    """A permutation of a symmetric kind's instances turns a binding into one the model lacks."""


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
        symmetry: bool = False,
        workers: int = 1,
    ) -> None:
        self.cm = compiled
        model = compiled.model
        self.bounds = bounds or Bounds()
        self.check_deadlock = check_deadlock
        self.on_progress = on_progress
        self.progress_every = progress_every
        self.on_event = on_event
        cz = Canonicalizer(model) if symmetry else None
        self.cz = cz if cz is not None and cz.active else None
        self.symmetry = self.cz is not None
        if self.symmetry:
            check_symmetric(model)
        self.workers = workers  # threads expanding each batch; the graph is the same for any number
        self.track: tuple[int, int] = (-1, -1)  # (group, instance) the graph's pairs follow
        self.next_node = -1  # lifted lasso states get numbers of their own, below zero
        self.began: float | None = None  # when the first graph's search began
        t0 = time.monotonic()
        source, self.gen, self.bits = library_source(model, compiled.invariant_ids, self.cz)
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
    def _build(self) -> tuple[list[int], Any, Any, Any, Any]:
        """The graph in C, of states or of pairs with the tracked instance: (stats, fired,
        fresh, witness depths, witness states) of pg_live_build; sets the graph's figures,
        stop_reason and graph_complete."""
        bounds = self.bounds
        model = self.cm.model
        nb, nw = len(model.bindings), len(model.witnesses)
        fired = (ctypes.c_int64 * max(nb, 1))()
        fresh = (ctypes.c_int64 * max(nb, 1))()
        wit_depth = (ctypes.c_int64 * max(nw, 1))()
        wit_id = (ctypes.c_int64 * max(nw, 1))()
        stats = (ctypes.c_int64 * 10)()
        start = time.monotonic()
        began = self.began = self.began if self.began is not None else start  # --time-limit spans every graph
        stop: list[str] = []
        failure: list[BaseException] = []

        def progress(distinct: int, edges: int, depth: int, queue: int) -> int:
            try:
                now = time.monotonic()
                if self.on_progress is not None:
                    self.on_progress(Progress(distinct, edges, depth, queue, now - start, peak_rss_bytes(), edges))
                if bounds.time_limit is not None and now - began > bounds.time_limit:
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
            int(self.symmetry), *self.track, self.workers,
        )
        if failure:
            raise failure[0]
        self.graph_seconds = time.monotonic() - start
        verdict, distinct, edges, _, _, _, _, _, table_bytes, stopped = list(stats)
        self.graph_states, self.graph_edges, self.graph_bytes = distinct, edges, table_bytes
        self.stop_reason = {
            V_MAX_STATES: f"--max-states {bounds.max_states} reached",
            V_MAX_DEPTH: f"--max-depth {bounds.max_depth} reached",
            V_STOPPED: stop[0] if stop else "stopped",
        }.get(stopped)
        self.graph_complete = verdict in (V_OK, V_INVARIANT, V_DEADLOCK) and stopped == V_OK and rc == 0
        if rc != 0:
            stats[0] = V_NO_MEMORY
        return list(stats), fired, fresh, wit_depth, wit_id

    def run(self) -> Result:
        cm = self.cm
        model = cm.model
        nb, nw = len(model.bindings), len(model.witnesses)
        stats, fired, fresh, wit_depth, wit_id = self._build()
        verdict, distinct, _, depth, bad_id, detail, quiescent, generated, table_bytes, _ = stats
        out = Result(
            verdict="ok",
            distinct=distinct,
            generated=generated,
            depth=depth,
            elapsed=self.graph_seconds,
            peak_rss_bytes=peak_rss_bytes(),
            symmetry=self.symmetry,
            witnesses_reached={model.witnesses[i][0].id: wit_depth[i] for i in range(nw) if wit_depth[i] >= 0},
            witness_states={model.witnesses[i][0].id: wit_id[i] for i in range(nw) if wit_depth[i] >= 0},
            fired=list(fired[:nb]),
            new_states=list(fresh[:nb]),
            quiescent_states=quiescent,
            engine="native",
            workers=self.workers,
            bytes_per_state=table_bytes / max(distinct, 1),
            bytes_per_state_of="the liveness graph at its largest (edges, predicate bits, fingerprint table, frontier)",
        )
        if verdict == V_NO_MEMORY:
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
        if self.stop_reason is not None and out.verdict == "ok":
            out.verdict, out.stop_reason = "incomplete", self.stop_reason
        return out

    def _cells(self, s: State) -> Any:
        return self.cell_array(*(cgen.pack_fifo(v) if f else int(v) for v, f in zip(s, self.fifo, strict=True)))

    def _error_message(self, state: State, site: int) -> str:
        return python_error_message(self.cm, state, self.gen.sites[site])

    # ---- traces
    def binding_path(self, state_id: int, nodes: bool = False) -> list[int]:
        n = self.lib.pg_live_path(state_id, None, 0, 0)
        buf = (ctypes.c_int32 * max(n, 1))()
        self.lib.pg_live_path(state_id, buf, n, int(nodes))
        return list(buf[:n])

    def node_of(self, s: State) -> int:
        """The number of a concrete state's representative in the graph (symmetry only)."""
        return int(self.lib.pg_live_node_of(self._cells(s), self.track[1]))

    def lift(self, nodes: list[int]) -> list[Step]:
        """Concrete steps from the initial state through the representatives `nodes`."""
        return lift_path(self.cm, self.node_of, nodes)

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
        if self.symmetry:
            return self.lift([0, *self.binding_path(state_id, nodes=True)])
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
        self.largest = (self.graph_states, self.graph_edges)
        plan = self._plan(chosen)
        if on_event is not None:
            searches = (
                f"now fair components per obligation, one instance per orbit ({sum(len(g) for _, g in plan)})"
                if self.symmetry
                else f"now strongly connected components per obligation ({len(chosen)})"
            )
            on_event(f"{self._graph_line()}; {searches}")
        done = 0
        for track, group in plan:
            if track != self.track:
                self._rebuild(track, on_event)
            for k, (o, bits_of) in enumerate(group):
                form, pb, qb = self._operands(bits_of)
                if self.lib.pg_live_mark_pending(form, pb, qb) < 0:
                    raise MemoryError("out of memory for the liveness search")
                out = outcomes[o.prop.id]
                last_of_prop = all(x.prop.id != o.prop.id for x, _ in group[k + 1 :])
                done += 1
                if stop is not None and stop():
                    raise KeyboardInterrupt
                if out.lasso is None:
                    if on_event is not None:
                        on_event(
                            f"liveness: fair cycles for {o.label} ({done}/{sum(len(g) for _, g in plan)}), "
                            f"{time.monotonic() - t0:.1f}s, {human_bytes(peak_rss_bytes())} peak"
                        )
                    found = self.lib.pg_live_find(form, pb, qb, fair)
                    if found == -2:
                        raise NotSymmetric(
                            "the model is not symmetric: a permutation of its symmetric instances makes a binding "
                            "it does not have (check its symmetric() declarations, or run with --no-symmetry)"
                        )
                    if found < 0:
                        raise MemoryError("out of memory for the liveness search")
                    if found == 1:
                        out.verdict, out.violated_instance, out.lasso = "VIOLATED", o.label, self._lasso(nodes, o)
                if last_of_prop:
                    out.pending_states += self.lib.pg_live_pending_take()
        return LivenessReport(
            [outcomes[p.id] for p in props],
            self.largest[0],
            self.largest[1],
            time.monotonic() - t0,  # the fair-cycle pass, as the Python report counts it (the search is in Result)
            peak_rss_bytes(),
            nodes,
            dict(skipped or {}),
        )

    def _operands(self, o: TracedTemporal) -> tuple[int, int, int]:
        p = -1 if o.p is None else self.bits[f"{o.label}:p"]
        return FORMS.index(o.prop.form), p, self.bits[f"{o.label}:q"]

    def _plan(self, chosen: list[TracedTemporal]) -> list[tuple[tuple[int, int], list[tuple[TracedTemporal, TracedTemporal]]]]:
        """Which graph checks which obligation, and with whose predicate bits.

        Without symmetry, or for a property of the whole state or of a kind symmetry does not
        permute: the graph of states. For a property per instance of a symmetric kind: the
        graph of (state, instance) pairs, one per orbit of the initial state's instances
        (the other instances of an orbit have the same verdict), where the instance is
        instance 0 of every representative: its obligation is read off instance 0's bits."""
        plain = [(o, o) for o in chosen]
        if self.cz is None:
            return [((-1, -1), plain)]
        model = self.cm.model
        group_of = {k: g for g, kinds in enumerate(self.cz.groups) for k in kinds}
        whole = [(o, o) for o in chosen if o.prop.each is None or o.prop.each not in group_of]
        plan: list[tuple[tuple[int, int], list[tuple[TracedTemporal, TracedTemporal]]]] = [((-1, -1), whole)]
        per = [o for o in chosen if o.prop.each is not None and o.prop.each in group_of]
        by_kind: dict[str, list[TracedTemporal]] = {}
        for o in per:
            by_kind.setdefault(o.prop.each or "", []).append(o)
        for kind, obs in by_kind.items():
            g = group_of[kind]
            seen: set[tuple[int, ...]] = set()
            for i in model.kinds[kind].instances:
                out = self.cell_array()
                self.lib.pg_canon_tracked(self._cells(model.init), g, i, out)
                key = tuple(out)
                if key in seen:
                    continue  # the same orbit as an instance checked already
                seen.add(key)
                zero = {o.prop.id: o for o in obs if o.index == 0}
                plan.append(((g, i), [(o, zero[o.prop.id]) for o in obs if o.index == i]))
        return [(track, group) for track, group in plan if group]

    def _rebuild(self, track: tuple[int, int], on_event: Callable[[str], None] | None) -> None:
        """The graph again, of (state, instance) pairs for the tracked instance."""
        self.track = track
        kinds = "/".join(self.cz.groups[track[0]]) if self.cz is not None else ""
        if on_event is not None:
            on_event(f"liveness graph of the states paired with {kinds} {track[1]} (for its properties per instance)")
        self._build()  # the safety verdict is the first graph's: the same model, no trace again
        if not self.graph_complete:
            if self.stop_reason == "interrupted":
                raise KeyboardInterrupt
            raise LivenessIncomplete(
                f"the graph of states paired with {kinds} {track[1]} was not finished: "
                f"{self.stop_reason or 'out of memory for the liveness graph'}"
            )
        self.largest = max(self.largest, (self.graph_states, self.graph_edges))
        if on_event is not None:
            on_event(self._graph_line())

    def _graph_line(self) -> str:
        states = "representatives of states" if self.symmetry else "states"
        return (
            f"liveness graph: {self.graph_states:,} {states}, {self.graph_edges:,} edges, "
            f"{self.graph_bytes / max(self.graph_states, 1):.0f} bytes per state, built in {self.graph_seconds:.1f}s"
        )

    def _lasso(self, nodes: LassoNodes, o: TracedTemporal) -> Lasso:
        n = self.lib.pg_live_lasso(None, None, None)
        bs = (ctypes.c_int32 * max(n, 1))()
        ns = (ctypes.c_int64 * max(n, 1))()
        info = (ctypes.c_int64 * 2)()
        self.lib.pg_live_lasso(bs, ns, info)
        loop, closing = int(info[0]), int(info[1])
        if self.symmetry:
            return self._lifted_lasso(nodes, o, self.lift([ns[k] for k in range(n)]), closing)
        path: list[tuple[int | None, int]] = [(None if k == 0 else bs[k], ns[k]) for k in range(n)]
        states = self.replay([b for b, _ in path])
        for (_, node), s in zip(path, states, strict=True):
            nodes.states[node] = s
            nodes.enabled[node] = frozenset(b for b, t in self.cm.successors(s) if t != s)
        if closing >= 0 and self.cm.binding_step[closing](states[-1]) != states[loop]:
            raise ModelError("internal: the native lasso's closing step does not return to its loop state")
        return Lasso(path, loop, None if closing < 0 else closing)

    def _lifted_lasso(self, nodes: LassoNodes, o: TracedTemporal, stem: list[Step], closing: int) -> Lasso:
        """A concrete lasso: the lifted stem, then (closing -2) a fair cycle among the concrete
        states of the chosen component, with the requirements of the one the stem entered."""
        model = self.cm.model
        cycle: Component | None = None
        if closing == -2:
            need = (ctypes.c_int8 * max(len(model.bindings), 1))()
            label = self.lib.pg_live_need(self._cells(stem[-1].state), self.track[1], need)
            if label < 0:
                raise ModelError("internal: the lifted stem does not end in the orbit of the quotient's entry state")
            fair_here = {b for b in range(len(model.bindings)) if need[b]}
            cycle = Component(lambda s: self.lib.pg_live_label(self.node_of(s)) == label, fair_here)
        lasso, self.next_node = lifted_lasso(self.cm, o, stem, cycle, nodes, self.next_node)
        return lasso

    def close(self) -> None:
        self.lib.pg_live_reset()

