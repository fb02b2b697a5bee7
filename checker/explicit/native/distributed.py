"""The distributed engine: the native engine's generated library, driven level by level
across Ray actors that each own a share of the state space.

Actor k of K owns the states whose 64-bit fingerprint is k (mod K): it holds their part of
the visited set (the library's table), the (parent fingerprint, binding) record of each, and
the current level's states it owns. One BFS level: every actor expands its frontier and
routes the successor records to their owners (Ray moves them between nodes directly, not
through the driver); every owner keeps the new ones, checks them and makes them its part of
the next level. The driver only sees counters, so the counts are exactly the native engine's,
and the first violation is found at the same (minimal) depth. A counterexample is the parent
chain asked of the owners, replayed as the native engine replays its own.

Import this module only when Ray is installed (`pgcheck[distributed]`).
"""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Callable
from typing import Any

import ray
from pgcheck.checker.errors import UsageError
from pgcheck.checker.explicit.explore import Bounds, Progress, Result, StopRequested, Violation
from pgcheck.checker.explicit.native import build
from pgcheck.checker.explicit.native.explorer import NativeExplorer, NativeModel
from pgcheck.checker.lang.compile import CompiledModel
from pgcheck.checker.memory import peak_rss_bytes

BATCH = 1024  # states expanded per library call


def _declare(lib: ctypes.CDLL) -> None:
    i64p = ctypes.POINTER(ctypes.c_int64)
    u64p = ctypes.POINTER(ctypes.c_uint64)
    lib.pg_rec_bytes.restype = ctypes.c_int
    lib.pg_nbindings.restype = ctypes.c_int
    lib.pg_root_record.argtypes = [i64p, ctypes.c_int, ctypes.c_char_p]
    lib.pg_root_record.restype = ctypes.c_uint64
    lib.pg_expand_batch.argtypes = [
        ctypes.c_char_p, ctypes.c_int64, ctypes.c_int, ctypes.c_void_p, ctypes.c_int64, i64p, i64p, i64p,
    ]
    lib.pg_expand_batch.restype = ctypes.c_int64
    lib.pg_route.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int, ctypes.c_void_p, i64p]
    lib.pg_route.restype = None
    lib.pg_visit_init.restype = ctypes.c_int
    lib.pg_visited_bytes.restype = ctypes.c_int64
    lib.pg_absorb.argtypes = [ctypes.c_char_p, ctypes.c_int64, ctypes.c_void_p, i64p, u64p, u64p, i64p]
    lib.pg_absorb.restype = ctypes.c_int64


class Shard:
    """One actor's share: the states whose fingerprint is `index` (mod `shards`)."""

    def __init__(self, source: str, index: int, shards: int, symmetry: bool, nwit: int) -> None:
        self.lib = build.load(source)  # compiled once per machine, cached by content
        _declare(self.lib)
        if self.lib.pg_visit_init() != 0:
            raise MemoryError("no memory for the visited set")
        self.index, self.shards, self.symmetry, self.nwit = index, shards, symmetry, nwit
        self.rec = self.lib.pg_rec_bytes()
        self.nb = self.lib.pg_nbindings()
        self.frontier = b""
        self.levels: list[bytes] = []  # the new records of each level, for parent look-ups
        self.kept_bytes = 0
        self.buffers: tuple[Any, Any] | None = None

    def expand(self) -> list[Any]:
        """Expand this actor's frontier: one blob of successor records per owner, then counters."""
        lib, rec, k = self.lib, self.rec, self.shards
        n = len(self.frontier) // rec
        fired = (ctypes.c_int64 * max(self.nb, 1))()
        stats = (ctypes.c_int64 * 4)()
        done = ctypes.c_int64()
        parts: list[list[bytes]] = [[] for _ in range(k)]
        cap = BATCH * max(self.nb, 1)
        if self.buffers is None:
            self.buffers = (ctypes.create_string_buffer(cap * rec), ctypes.create_string_buffer(cap * rec))
        out, routed = self.buffers
        counts = (ctypes.c_int64 * k)()
        generated = 0
        view = memoryview(self.frontier)
        pos = 0
        while pos < n:
            chunk = min(BATCH, n - pos)
            start = view[pos * rec : (pos + chunk) * rec].tobytes()
            m = lib.pg_expand_batch(start, chunk, int(self.symmetry), out, cap, ctypes.byref(done), stats, fired)
            if m < 0:
                raise MemoryError("no memory to expand a batch")
            lib.pg_route(out, m, k, routed, counts)
            raw = ctypes.string_at(routed, m * rec)
            off = 0
            for j in range(k):
                size = counts[j] * rec
                if size:
                    parts[j].append(raw[off : off + size])
                off += size
            generated += m
            pos += done.value
        self.frontier = b""
        blobs: list[Any] = [b"".join(p) for p in parts]
        blobs.append({
            "generated": generated, "fired": list(fired[: self.nb]), "quiescent": stats[0],
            "deadlock": stats[1] & 0xFFFFFFFFFFFFFFFF, "error": stats[2] & 0xFFFFFFFFFFFFFFFF, "site": stats[3],
            "expanded": n,
        })
        return blobs

    def absorb(self, *blobs: bytes) -> dict[str, Any]:
        """Keep the new states among the records routed here; they are this actor's next level."""
        data = b"".join(blobs)
        rec = self.rec
        n = len(data) // rec
        out = ctypes.create_string_buffer(max(n, 1) * rec)
        fresh = (ctypes.c_int64 * max(self.nb, 1))()
        hits = ctypes.c_uint64(0)
        wit_fp = (ctypes.c_uint64 * max(self.nwit, 1))()
        bad = ctypes.c_int64()
        m = self.lib.pg_absorb(data, n, out, fresh, ctypes.byref(hits), wit_fp, ctypes.byref(bad))
        if m < 0:
            raise MemoryError("no memory for the visited set")
        kept = out.raw[: m * rec]
        self.frontier = kept
        self.levels.append(kept)
        self.kept_bytes += len(kept)
        found: tuple[int, int] | None = None
        if bad.value >= 0:
            r = kept[bad.value * rec : (bad.value + 1) * rec]
            found = (int.from_bytes(r[:8], "little"), int.from_bytes(r[20:24], "little", signed=True))
        witnesses = {i: int(wit_fp[i]) for i in range(self.nwit) if hits.value >> i & 1}
        return {"new": m, "fresh": list(fresh[: self.nb]), "bad": found, "witnesses": witnesses}

    def parent(self, fp: int, level: int) -> tuple[int, int]:
        """(parent fingerprint, binding) of the state `fp` first reached at BFS level `level`."""
        data, rec = self.levels[level], self.rec
        key = fp.to_bytes(8, "little")
        pos = data.find(key)
        while pos >= 0 and pos % rec:
            pos = data.find(key, pos + 1)
        if pos < 0:
            raise LookupError(f"state {fp:#x} is not at level {level}")
        return int.from_bytes(data[pos + 8 : pos + 16], "little"), int.from_bytes(data[pos + 16 : pos + 20], "little", signed=True)

    def bytes_used(self) -> int:
        """Visited table plus the kept records (the packed states of the parent map)."""
        return int(self.lib.pg_visited_bytes()) + self.kept_bytes


def connect(address: str | None, actors: int) -> bool:
    """Join the cluster at `address` ("auto": the one started with `ray start`), or start a
    local one. True when this call started Ray (so the run shuts it down)."""
    if ray.is_initialized():
        return False
    try:
        if address is not None:
            ray.init(address=address, logging_level="ERROR", log_to_driver=False)
        else:
            ray.init(num_cpus=max(actors, os.cpu_count() or 1), include_dashboard=False,
                     logging_level="ERROR", log_to_driver=False)
    except ConnectionError as e:
        raise UsageError(f"cannot reach a Ray cluster at {address}: {str(e).splitlines()[0]}") from None
    return True


class RayExplorer(NativeExplorer):
    """Breadth-first search over `actors` Ray actors; same Result as NativeExplorer."""

    def __init__(
        self,
        compiled: CompiledModel,
        *,
        symmetry: bool = True,
        bounds: Bounds | None = None,
        check_deadlock: bool = True,
        on_progress: Callable[[Progress], None] | None = None,
        actors: int = 2,
        address: str | None = None,
        native: NativeModel | None = None,
    ) -> None:
        super().__init__(
            compiled, symmetry=symmetry, bounds=bounds, check_deadlock=check_deadlock, on_progress=on_progress,
            workers=actors, native=native,
        )
        self.actors = actors
        self.address = address
        self._path: list[int] = []

    def run(self) -> Result:
        started_ray = connect(self.address, self.actors)
        try:
            return self._run()
        finally:
            if started_ray:
                ray.shutdown()

    def _run(self) -> Result:
        nm, cm, bounds = self.native, self.cm, self.bounds
        model = cm.model
        nb, nw, k = len(model.bindings), len(model.witnesses), self.actors
        start = time.monotonic()
        lib = nm.lib
        _declare(lib)
        source = build.engine_source(nm.gen.source)
        remote = ray.remote(num_cpus=1)(Shard)
        shards = [remote.remote(source, j, k, nm.symmetry, nw) for j in range(k)]

        root = ctypes.create_string_buffer(lib.pg_rec_bytes())
        fp0 = int(lib.pg_root_record(nm.to_cells(model.init), int(nm.symmetry), root))
        owner0 = fp0 % k
        empty = b""
        first = ray.get(shards[owner0].absorb.remote(root.raw))
        others = ray.get([s.absorb.remote(empty) for j, s in enumerate(shards) if j != owner0])
        del others
        distinct, generated, depth, quiescent = 1, 1, 0, 0
        fired, fresh = [0] * nb, [0] * nb
        reached: dict[str, int] = {}
        wstates: dict[str, int] = {}
        self._note_witnesses(first["witnesses"], 0, reached, wstates)
        verdict, stop_reason = "ok", ""
        violation: Violation | None = None
        bad = first["bad"]
        level_size = 1
        while bad is None and level_size > 0:
            if bounds.max_depth is not None and depth >= bounds.max_depth:
                verdict, stop_reason = "incomplete", f"--max-depth {bounds.max_depth} reached"
                break
            if bounds.max_states is not None and distinct >= bounds.max_states:
                verdict, stop_reason = "incomplete", f"--max-states {bounds.max_states} reached"
                break
            if bounds.time_limit is not None and time.monotonic() - start > bounds.time_limit:
                verdict, stop_reason = "incomplete", f"--time-limit {bounds.time_limit:g}s reached"
                break
            outs = [s.expand.options(num_returns=k + 1).remote() for s in shards]
            absorbs = [shards[j].absorb.remote(*[o[j] for o in outs]) for j in range(k)]
            stats = ray.get([o[k] for o in outs])
            for st in stats:
                generated += st["generated"]
                quiescent += st["quiescent"]
                fired = [a + b for a, b in zip(fired, st["fired"], strict=True)]
            err = next((st for st in stats if st["error"]), None)
            dead = next((st for st in stats if st["deadlock"]), None) if self.check_deadlock else None
            if err is not None:
                trace = self._trace(shards, err["error"], depth)
                violation = Violation("model-error", "model-error", trace, self._error_message(trace[-1].state, err["site"]))
                break
            if dead is not None:
                violation = Violation("deadlock", "deadlock", self._trace(shards, dead["deadlock"], depth))
                break
            results = ray.get(absorbs)
            level_size = sum(r["new"] for r in results)
            distinct += level_size
            for r in results:
                fresh = [a + b for a, b in zip(fresh, r["fresh"], strict=True)]
                self._note_witnesses(r["witnesses"], depth + 1, reached, wstates)
            if level_size:
                depth += 1
            bad = next((r["bad"] for r in results if r["bad"] is not None), None)
            if self.on_progress is not None:
                now = time.monotonic()
                try:
                    self.on_progress(Progress(distinct, generated, depth, level_size, now - start, peak_rss_bytes()))
                except StopRequested as e:
                    if bad is None:
                        verdict, stop_reason = "incomplete", str(e)
                        break
        if bad is not None:
            fp, flag = bad
            trace = self._trace(shards, fp, depth)
            if flag >= 0:
                violation = Violation("invariant", cm.invariant_ids[flag], trace)
            else:  # as the native engine counts it: the level of the state that reached it
                depth = max(depth - 1, 0)
                violation = Violation("model-error", "model-error", trace, self._error_message(trace[-1].state, -2 - flag))
        if violation is not None:
            verdict = "violation"
        table = sum(ray.get([s.bytes_used.remote() for s in shards]))
        for s in shards:
            ray.kill(s)
        return Result(
            verdict=verdict,
            distinct=distinct,
            generated=generated,
            depth=depth,
            elapsed=time.monotonic() - start,
            peak_rss_bytes=peak_rss_bytes(),
            symmetry=nm.symmetry,
            violation=violation,
            stop_reason=stop_reason,
            witnesses_reached=reached,
            witness_states=wstates,
            fired=fired,
            new_states=fresh,
            quiescent_states=quiescent,
            engine="ray",
            workers=k,
            bytes_per_state=table / max(distinct, 1),
        )

    def _note_witnesses(self, hits: dict[int, int], depth: int, reached: dict[str, int], states: dict[str, int]) -> None:
        for i, fp in sorted(hits.items()):
            wid = self.cm.model.witnesses[i][0].id
            if wid not in reached:
                reached[wid] = depth
                states[wid] = fp

    def _trace(self, shards: list[Any], fp: int, level: int) -> list[Any]:
        """The concrete trace to the state `fp` reached at `level`, from the owners' parent records."""
        path: list[int] = []
        k = len(shards)
        while level > 0:
            fp, binding = ray.get(shards[fp % k].parent.remote(fp, level))
            path.append(binding)
            level -= 1
        self._path = path[::-1]
        return self.trace_to(0)

    def binding_path(self, state_id: int) -> list[int]:
        return list(self._path)
