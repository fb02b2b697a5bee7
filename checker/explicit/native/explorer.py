"""The native engine seen from Python: same inputs and Result as checker/explicit/explore.py.

Exploration runs in the generated C library (no Python per state). Traces are rebuilt
here: the library returns the bindings along the parent chain of a state; replaying them
through its own canonical form gives the canonical path, and a concrete trace with one
consistent naming of instances is then picked successor by successor, as the Python
engine does.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgcheck.checker.errors import ModelError, UsageError
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
from pgcheck.checker.explicit.native.resume import checkpoint_lock, save_run
from pgcheck.checker.explicit.symmetry import Canonicalizer
from pgcheck.checker.explicit.symmetry_check import check_symmetric
from pgcheck.checker.lang.compile import CompiledModel
from pgcheck.checker.lang.types import Fifo
from pgcheck.checker.memory import peak_rss_bytes

State = tuple[Any, ...]
Cells = Any  # a ctypes int64 array

PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64)

V_OK, V_INVARIANT, V_DEADLOCK, V_MODEL_ERROR, V_MAX_STATES, V_MAX_DEPTH, V_STOPPED, V_NO_MEMORY = range(8)


class PgResult(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_int64)
        for name in (
            "verdict", "distinct", "generated", "depth", "bad_id", "detail",
            "quiescent", "table_bytes", "frontier_peak_bytes",
        )
    ]


def python_error_message(cm: CompiledModel, state: State, fallback: str) -> str:
    """The Python engine's message for a state the C code stopped at, when it has one (it names
    values); else `fallback`, the C code's description of the failing site."""
    try:
        cm.successors(state)
        cm.check(state)
    except ModelError as e:
        return str(e)
    except Exception as e:  # an evaluation error the Python engine does not wrap
        return f"{type(e).__name__}: {e}"
    return fallback


def _declare(lib: ctypes.CDLL) -> None:
    i64p = ctypes.POINTER(ctypes.c_int64)
    lib.pg_explore.argtypes = [
        i64p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64,
        PROGRESS_FN, ctypes.c_double, ctypes.POINTER(PgResult), i64p, i64p, i64p, i64p, ctypes.c_int,
    ]
    lib.pg_explore.restype = ctypes.c_int
    lib.pg_path.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_int32), ctypes.c_int64]
    lib.pg_path.restype = ctypes.c_int64
    lib.pg_canon.argtypes = [i64p, i64p]
    lib.pg_canon.restype = None
    lib.pg_step.argtypes = [ctypes.c_int, i64p, i64p]
    lib.pg_step.restype = ctypes.c_int
    lib.pg_reset.argtypes = []
    lib.pg_reset.restype = None
    lib.pg_checkpoint.argtypes = [ctypes.c_char_p, ctypes.c_double, ctypes.c_uint64]
    lib.pg_checkpoint.restype = None
    lib.pg_checkpoint_saves.argtypes = []
    lib.pg_checkpoint_saves.restype = ctypes.c_int64
    lib.pg_checkpoint_stopped.argtypes = []
    lib.pg_checkpoint_stopped.restype = ctypes.c_int
    lib.pg_profile.argtypes = [ctypes.POINTER(ctypes.c_double)]
    lib.pg_profile.restype = None
    lib.pg_set_por.argtypes = [ctypes.c_int]
    lib.pg_set_por.restype = None
    lib.pg_por_stats.argtypes = [i64p]
    lib.pg_por_stats.restype = None


class NativeModel:
    """One model's generated library and its state conversions."""

    def __init__(
        self, compiled: CompiledModel, symmetry: bool, on_event: Callable[[str], None] | None = None
    ) -> None:
        model = compiled.model
        self.cm = compiled
        canon = Canonicalizer(model)
        self.symmetry = symmetry and canon.active
        if self.symmetry:
            check_symmetric(model)
        t0 = time.monotonic()
        self.gen = cgen.generate(model, compiled.invariant_ids, canon if self.symmetry else None)
        source = build.engine_source(self.gen.source)
        # Names this exact search (model, configuration, invariants, symmetry) in checkpoints.
        self.key = int.from_bytes(hashlib.sha256(source.encode()).digest()[:8], "little")
        self.lib = build.load(source, on_event)
        self.build_seconds = time.monotonic() - t0
        _declare(self.lib)
        self.nslots = len(model.slots)
        self.fifo = [isinstance(info.ty, Fifo) for info in model.slots]
        self.cell_array = ctypes.c_int64 * self.nslots

    def to_cells(self, s: State) -> Cells:
        return self.cell_array(*(cgen.pack_fifo(v) if f else int(v) for v, f in zip(s, self.fifo, strict=True)))

    def from_cells(self, cells: Cells) -> State:
        return tuple(cgen.unpack_fifo(v) if f else v for v, f in zip(cells, self.fifo, strict=True))

    def canonical_cells(self, s: State) -> tuple[int, ...]:
        out = self.cell_array()
        if self.symmetry:
            self.lib.pg_canon(self.to_cells(s), out)
            return tuple(out)
        return tuple(self.to_cells(s))

    def step(self, binding: int, cells: tuple[int, ...]) -> tuple[int, ...]:
        out = self.cell_array()
        rc = self.lib.pg_step(binding, self.cell_array(*cells), out)
        if rc != 1:
            raise ModelError("internal: a stored trace step cannot be replayed by the native engine")
        return tuple(out)


@dataclass
class Checkpointing:
    """Save the search to `directory` every `every` seconds; `resume` starts from the save there."""

    directory: Path
    every: float = 60.0
    resume: bool = False
    on_save: Callable[[int, int, int], None] | None = None  # (saves so far, distinct, depth): announce it
    run: dict[str, Any] | None = None  # a new search: run.json, written once the run starts


class NativeExplorer:
    def __init__(
        self,
        compiled: CompiledModel,
        *,
        symmetry: bool = True,
        bounds: Bounds | None = None,
        check_deadlock: bool = True,
        on_progress: Callable[[Progress], None] | None = None,
        progress_every: float = 1.0,
        workers: int = 1,
        native: NativeModel | None = None,
        checkpoint: Checkpointing | None = None,
        por: bool = False,
        keep_por: bool = False,
    ) -> None:
        """por: partial-order reduction (docs/reduction.md); safety only, counterexamples
        then need not be shortest. keep_por: no trial that switches it off."""
        self.por = por
        self.keep_por = keep_por
        self.checkpoint = checkpoint
        self.checkpoint_saves = 0
        self.cm = compiled
        self.native = native or NativeModel(compiled, symmetry)
        self.symmetry = self.native.symmetry
        self.bounds = bounds or Bounds()
        self.check_deadlock = check_deadlock
        self.on_progress = on_progress
        self.progress_every = progress_every
        self.workers = workers

    def normalize(self, s: State) -> State:
        cells = self.native.canonical_cells(s)
        return self.native.from_cells(cells)

    def run(self) -> Result:
        nm, bounds = self.native, self.bounds
        model = self.cm.model
        nb, nw = len(model.bindings), len(model.witnesses)
        fired = (ctypes.c_int64 * max(nb, 1))()
        fresh = (ctypes.c_int64 * max(nb, 1))()
        wit_depth = (ctypes.c_int64 * max(nw, 1))(*([-1] * max(nw, 1)))
        wit_id = (ctypes.c_int64 * max(nw, 1))()
        res = PgResult()
        start = time.monotonic()
        stop: list[str] = []
        failure: list[BaseException] = []

        saves = [0]

        def announce_saves(distinct: int, depth: int) -> None:
            if ck is None or ck.on_save is None:
                return
            n = nm.lib.pg_checkpoint_saves()
            if n > saves[0]:
                saves[0] = n
                ck.on_save(n, distinct, depth)

        def progress(distinct: int, generated: int, depth: int, queue: int) -> int:
            try:
                announce_saves(distinct, depth)
                now = time.monotonic()
                if self.on_progress is not None:
                    self.on_progress(Progress(distinct, generated, depth, queue, now - start, peak_rss_bytes()))
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
        ck = self.checkpoint
        nm.lib.pg_set_por(0 if not self.por else 2 if self.keep_por else 1)
        with contextlib.ExitStack() as held:
            if ck is not None:
                held.enter_context(checkpoint_lock(ck.directory, create=ck.run is not None))
                if ck.run is not None:
                    save_run(ck.directory, ck.run)
                # A reduced search and a full one are different searches: never resume one as the other.
                nm.lib.pg_checkpoint(str(ck.directory).encode(), ck.every, nm.key ^ (0x504F52 if self.por else 0))
            else:
                nm.lib.pg_checkpoint(None, 0.0, 0)
            rc = self._explore(res, callback, every, fired, fresh, wit_depth, wit_id)
        self.checkpoint_saves = nm.lib.pg_checkpoint_saves() if ck is not None else 0
        announce_saves(res.distinct, res.depth)
        if failure:
            raise failure[0]
        return self._result(rc, res, fired, fresh, wit_depth, wit_id, start, stop)

    def _explore(self, res: PgResult, callback: Any, every: float, *counters: Any) -> int:
        nm, ck, bounds = self.native, self.checkpoint, self.bounds
        fired, fresh, wit_depth, wit_id = counters
        return int(nm.lib.pg_explore(
            nm.to_cells(self.cm.model.init),
            int(nm.symmetry),
            int(self.check_deadlock),
            self.workers,
            -1 if bounds.max_states is None else bounds.max_states,
            -1 if bounds.max_depth is None else bounds.max_depth,
            callback,
            every,
            ctypes.byref(res),
            fired,
            fresh,
            wit_depth,
            wit_id,
            int(ck is not None and ck.resume),
        ))

    def _result(
        self, rc: int, res: PgResult, fired: Any, fresh: Any, wit_depth: Any, wit_id: Any, start: float, stop: list[str]
    ) -> Result:
        nm, cm, bounds, ck = self.native, self.cm, self.bounds, self.checkpoint
        model = cm.model
        nb, nw = len(model.bindings), len(model.witnesses)
        if ck is not None and rc in (-2, -3):
            what = "is damaged or incomplete" if rc == -2 else "was written for another model, configuration or version"
            raise UsageError(f"the checkpoint in {ck.directory} {what}; start a new run with --checkpoint")
        if rc != 0:
            raise MemoryError("the native engine could not allocate its tables")
        reached = {model.witnesses[i][0].id: wit_depth[i] for i in range(nw) if wit_depth[i] >= 0}
        states = {model.witnesses[i][0].id: wit_id[i] for i in range(nw) if wit_depth[i] >= 0}
        out = Result(
            verdict="ok",
            distinct=res.distinct,
            generated=res.generated,
            depth=res.depth,
            elapsed=time.monotonic() - start,
            peak_rss_bytes=peak_rss_bytes(),
            symmetry=nm.symmetry,
            witnesses_reached=reached,
            witness_states=states,
            fired=list(fired[:nb]),
            new_states=list(fresh[:nb]),
            quiescent_states=res.quiescent,
            engine="native",
            workers=self.workers,
            bytes_per_state=res.table_bytes / max(res.distinct, 1),
            por=self.por,
        )
        stats = (ctypes.c_int64 * 3)()
        nm.lib.pg_por_stats(stats)
        out.por_reduced, out.por_expanded, out.por_dropped_at = stats[0], stats[0] + stats[1], stats[2]
        v = res.verdict
        if v == V_INVARIANT:
            out.verdict = "violation"
            out.violation = Violation("invariant", cm.invariant_ids[res.detail], self.trace_to(res.bad_id))
        elif v == V_DEADLOCK:
            out.verdict = "violation"
            out.violation = Violation("deadlock", "deadlock", self.trace_to(res.bad_id))
        elif v == V_MODEL_ERROR and res.detail in nm.gen.action_sites:
            out.verdict = "violation"
            out.depth = res.depth + 1
            out.violation = action_step_violation(cm, self.trace_to(res.bad_id))
        elif v == V_MODEL_ERROR:
            out.verdict = "violation"
            trace = self.trace_to(res.bad_id)
            out.violation = Violation("model-error", "model-error", trace, self._error_message(trace[-1].state, res.detail))
        elif v == V_MAX_STATES:
            out.verdict, out.stop_reason = "incomplete", f"--max-states {bounds.max_states} reached"
        elif v == V_MAX_DEPTH:
            out.verdict, out.stop_reason = "incomplete", f"--max-depth {bounds.max_depth} reached"
        elif v == V_STOPPED:
            out.verdict, out.stop_reason = "incomplete", stop[0] if stop else "stopped"
        if ck is not None and v in (V_MAX_STATES, V_MAX_DEPTH, V_STOPPED):
            saved = nm.lib.pg_checkpoint_stopped()
            if saved == 1:
                out.stop_reason += f"; the search is saved, continue it with --resume {ck.directory}"
            elif saved == -1:
                out.stop_reason += f"; the checkpoint could not be written in {ck.directory}"
        if v == V_NO_MEMORY:
            out.verdict = "incomplete"
            out.stop_reason = (
                f"the checkpoint could not be written in {ck.directory}"
                if ck is not None and res.detail == 1 else "out of memory for the state tables"
            )
        return out

    def _error_message(self, state: State, site: int) -> str:
        return python_error_message(self.cm, state, self.native.gen.sites[site])

    # ---- traces
    def binding_path(self, state_id: int) -> list[int]:
        lib = self.native.lib
        n = lib.pg_path(state_id, None, 0)
        buf = (ctypes.c_int32 * max(n, 1))()
        lib.pg_path(state_id, buf, n)
        return list(buf[:n])

    def trace_to(self, state_id: int) -> list[Step]:
        """A concrete trace to the state with this id (ids are what the library reports)."""
        nm, cm = self.native, self.cm
        bindings = self.binding_path(state_id)
        cur = cm.model.init
        canonical = nm.canonical_cells(cur)
        steps = [Step(cur, None)]
        for b in bindings:
            target = nm.step(b, canonical)
            if nm.symmetry:
                out = nm.cell_array()
                nm.lib.pg_canon(nm.cell_array(*target), out)
                target = tuple(out)
            for bi, t in ([(b, cm.binding_step[b](cur))] if not nm.symmetry else cm.successors(cur)):
                if t is not None and nm.canonical_cells(t) == target:
                    steps.append(Step(t, bi))
                    cur = t
                    break
            else:
                raise ModelError("internal: a stored trace step cannot be replayed")
            canonical = target
        return steps

    def profile(self) -> dict[str, float]:
        """CPU seconds of the last run: all threads, critical path, between levels, growing the visited set."""
        out = (ctypes.c_double * 4)()
        self.native.lib.pg_profile(out)
        return dict(zip(("cpu", "critical", "serial", "grow"), out, strict=True))

    def close(self) -> None:
        self.native.lib.pg_reset()
