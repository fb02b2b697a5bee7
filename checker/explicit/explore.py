"""The reference engine: breadth-first explicit-state exploration (Decision 2).

Canonical states (symmetry), 64-bit fingerprints, a parent map, invariants checked on
every new state, deadlock detection, bounds, progress. Because exploration is
breadth-first and every new state is checked when first reached, the first violation
found is at minimal depth: its trace, rebuilt from the parent map by replay, is a
shortest counterexample.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pgcheck.checker.errors import ModelError
from pgcheck.checker.explicit.symmetry import Canonicalizer
from pgcheck.checker.explicit.symmetry_check import check_symmetric
from pgcheck.checker.lang.compile import CompiledModel
from pgcheck.checker.memory import peak_rss_bytes

State = tuple[Any, ...]

NO_PARENT = -1


class StopRequested(Exception):
    """Raised by an `on_progress` callback to end the search early (Ctrl-C): the run ends
    incomplete with this message as its stop reason, not with an exception."""


@dataclass
class Bounds:
    max_states: int | None = None
    max_depth: int | None = None
    time_limit: float | None = None


@dataclass
class Progress:
    distinct: int
    generated: int
    depth: int
    queue: int
    elapsed: float
    rss_bytes: int
    edges: int | None = None  # a search that stores its graph (liveness) counts edges, not successors


@dataclass
class Step:
    """One state of a trace and the binding that produced it (None for the initial state)."""

    state: State
    binding: int | None


@dataclass
class Violation:
    kind: str  # "invariant" | "action" | "deadlock" | "model-error" | "liveness"
    property_id: str
    trace: list[Step]
    message: str = ""
    loop_index: int | None = None  # liveness: index into trace where the repeating cycle starts


@dataclass
class Result:
    verdict: str  # "ok" | "violation" | "incomplete"
    distinct: int
    generated: int
    depth: int
    elapsed: float
    peak_rss_bytes: int
    symmetry: bool
    violation: Violation | None = None
    stop_reason: str = ""
    witnesses_reached: dict[str, int] = field(default_factory=dict)  # id -> depth first reached
    witness_states: dict[str, int] = field(default_factory=dict)  # id -> fingerprint
    fired: list[int] = field(default_factory=list)  # per binding: times its guard held
    new_states: list[int] = field(default_factory=list)  # per binding: times it reached a new state
    quiescent_states: int = 0
    engine: str = "python"
    workers: int = 1
    bytes_per_state: float | None = None  # visited set and parent map, where the engine knows it
    bytes_per_state_of: str = "the visited set and parent map"  # what bytes_per_state counts
    por: bool = False  # partial-order reduction was on (native engine)
    por_reduced: int = 0  # states expanded by a proper stubborn set
    por_expanded: int = 0  # states expanded while it was on
    por_dropped_at: int = 0  # it was switched off after this many states for not reducing (0: not)

    @property
    def collision_probability(self) -> float:
        """TLC's optimistic estimate of a fingerprint collision: n * (g - n) / 2^64."""
        n, g = self.distinct, self.generated
        return n * max(g - n, 0) / 2.0**64


class Explorer:
    def __init__(
        self,
        compiled: CompiledModel,
        *,
        symmetry: bool = True,
        bounds: Bounds | None = None,
        check_deadlock: bool = True,
        on_progress: Callable[[Progress], None] | None = None,
        progress_every: float = 1.0,
        keep_graph: bool = False,
    ) -> None:
        self.cm = compiled
        self.canon = Canonicalizer(compiled.model)
        self.symmetry = symmetry and self.canon.active
        if self.symmetry:
            check_symmetric(compiled.model)
        self._canonical = self.canon.compiled() if self.symmetry else None
        self.bounds = bounds or Bounds()
        self.check_deadlock = check_deadlock
        self.on_progress = on_progress
        self.progress_every = progress_every
        # fingerprint -> (parent fingerprint, binding index)
        self.parent: dict[int, tuple[int, int]] = {}
        self.keep_graph = keep_graph
        self.edges: list[tuple[int, int, int]] = []  # (from fp, binding, to fp) when keep_graph
        self.states: dict[int, State] = {}  # fp -> canonical state when keep_graph

    def normalize(self, s: State) -> State:
        return self._canonical(s) if self._canonical is not None else s

    def run(self) -> Result:
        cm = self.cm
        successors = cm.successors
        first_violation = cm.first_violation
        action_violation = cm.action_violation if cm.model.action_checks else None
        witness_hits = cm.witness_hits
        is_quiescent = cm.is_quiescent
        normalize = self.normalize
        parent = self.parent
        keep = self.keep_graph
        nb = len(cm.model.bindings)
        fired = [0] * nb
        new_states = [0] * nb
        witnesses = cm.model.witnesses
        w_reached: dict[str, int] = {}
        w_states: dict[str, int] = {}
        start = time.monotonic()
        last_report = start
        generated = 0
        quiescent = 0
        bounds = self.bounds

        def result(verdict: str, depth: int, violation: Violation | None = None, reason: str = "") -> Result:
            return Result(
                verdict=verdict,
                distinct=len(parent),
                generated=generated,
                depth=depth,
                elapsed=time.monotonic() - start,
                peak_rss_bytes=peak_rss_bytes(),
                symmetry=self.symmetry,
                violation=violation,
                stop_reason=reason,
                witnesses_reached=w_reached,
                witness_states=w_states,
                fired=fired,
                new_states=new_states,
                quiescent_states=quiescent,
            )

        init = normalize(cm.model.init)
        fp0 = hash(init)
        parent[fp0] = (NO_PARENT, -1)
        generated = 1
        if keep:
            self.states[fp0] = init
        v = first_violation(init)
        if v >= 0:
            return result("violation", 0, self._invariant_violation(v, fp0))
        for wi in witness_hits(init):
            w_reached.setdefault(witnesses[wi][0].id, 0)
            w_states.setdefault(witnesses[wi][0].id, fp0)
        level: list[State] = [init]
        depth = 0
        while level:
            if bounds.max_depth is not None and depth >= bounds.max_depth:
                return result("incomplete", depth, reason=f"--max-depth {bounds.max_depth} reached")
            nxt: list[State] = []
            for s in level:
                fs = hash(s)
                try:
                    succ = successors(s)
                except ModelError as e:
                    trace = self.trace_to(fs)
                    return result("violation", depth, Violation("model-error", "model-error", trace, str(e)))
                if action_violation is not None and action_violation(s) is not None:
                    return result("violation", depth + 1, action_step_violation(cm, self.trace_to(fs)))
                if not succ:
                    if is_quiescent(s):
                        quiescent += 1
                    elif self.check_deadlock:
                        return result("violation", depth, Violation("deadlock", "deadlock", self.trace_to(fs)))
                for bi, t in succ:
                    generated += 1
                    fired[bi] += 1
                    c = normalize(t)
                    fp = hash(c)
                    if keep:
                        self.edges.append((fs, bi, fp))
                    if fp in parent:
                        continue
                    parent[fp] = (fs, bi)
                    new_states[bi] += 1
                    if keep:
                        self.states[fp] = c
                    v = first_violation(c)
                    if v >= 0:
                        return result("violation", depth + 1, self._invariant_violation(v, fp))
                    if len(w_reached) < len(witnesses):
                        for wi in witness_hits(c):
                            wid = witnesses[wi][0].id
                            if wid not in w_reached:
                                w_reached[wid] = depth + 1
                                w_states[wid] = fp
                    nxt.append(c)
                if self.on_progress is not None or bounds.time_limit is not None:
                    now = time.monotonic()
                    if now - last_report >= self.progress_every:
                        last_report = now
                        if self.on_progress:
                            try:
                                self.on_progress(
                                    Progress(len(parent), generated, depth, len(level) + len(nxt), now - start, peak_rss_bytes())
                                )
                            except StopRequested as e:
                                return result("incomplete", depth, reason=str(e))
                        if bounds.time_limit is not None and now - start > bounds.time_limit:
                            return result("incomplete", depth, reason=f"--time-limit {bounds.time_limit:g}s reached")
                if bounds.max_states is not None and len(parent) >= bounds.max_states:
                    return result("incomplete", depth, reason=f"--max-states {bounds.max_states} reached")
            if nxt:
                depth += 1
            level = nxt
        return result("ok", depth)

    # ---- traces
    def _invariant_violation(self, index: int, fp: int) -> Violation:
        pid = self.cm.invariant_ids[index]
        return Violation("invariant", pid, self.trace_to(fp))

    def fingerprint_path(self, fp: int) -> list[int]:
        path = [fp]
        while True:
            p, _ = self.parent[path[-1]]
            if p == NO_PARENT:
                break
            path.append(p)
        path.reverse()
        return path

    def trace_to(self, fp: int) -> list[Step]:
        """Rebuild a concrete trace to the state with fingerprint `fp` by replay."""
        return replay_fingerprints(self.cm, self.normalize, self.fingerprint_path(fp))


def action_step_violation(cm: CompiledModel, trace: list[Step]) -> Violation:
    """The violation of an action property by a step out of the trace's last state: the trace
    is extended by that step, so it ends with the offending transition."""
    last = trace[-1].state
    found = cm.action_violation(last)
    if found is None:
        raise ModelError(
            "an action property is violated by a step of a symmetric state but not of the state the trace "
            "reaches: the property is not symmetric under the model's symmetry (run with --no-symmetry)"
        )
    bi, k = found
    t = cm.binding_step[bi](last)
    if t is None:  # pragma: no cover - the binding's guard held when action_violation chose it
        raise ModelError("internal: the offending step of an action property cannot be replayed")
    check = cm.model.action_checks[k]
    label = cm.model.bindings[bi].label
    return Violation("action", check.prop.id, [*trace, Step(t, bi)], f"the last step, {label}, breaks it")


def replay_fingerprints(
    cm: CompiledModel, normalize: Callable[[State], State], path: list[int]
) -> list[Step]:
    """Concrete states along a path of canonical fingerprints, starting at the initial state.

    With symmetry the stored states are orbit representatives; replay picks, at each
    step, a successor of the concrete state whose canonical form has the next
    fingerprint, so the trace keeps one consistent naming of instances.
    """
    cur = cm.model.init
    if hash(normalize(cur)) != path[0]:
        raise ModelError("internal: the trace does not start at the initial state")
    steps = [Step(cur, None)]
    for target in path[1:]:
        for bi, t in cm.successors(cur):
            if hash(normalize(t)) == target:
                steps.append(Step(t, bi))
                cur = t
                break
        else:
            raise ModelError("internal: a stored trace step cannot be replayed")
    return steps
