"""Random walks over a model: seeded, bounded, checked like a breadth-first search.

Where no exhaustive search finishes (8 carriers x 32 sessions with every option), a
random walk still runs each action as the model defines it and checks every invariant on
every state it visits. This is the engine of `pgcheck simulate` (docs/simulate.md):

- A walk starts at the initial state and takes at most `depth` steps; at each state it
  computes every successor (a model error in any binding stops it, as in the explorer),
  picks one uniformly with its own seeded generator, and checks the invariants of the new
  state. It also stops in a state without successors: a deadlock unless quiescent.
- Walk i of a run with seed S uses the generator seeded with mix(S, i): any walk can be
  rerun alone, and a run's result does not depend on the number of workers (the violation
  reported is the one of the lowest-numbered walk that finds one).
- Two steppers take the same walk for the same seed: the native one (the explorer's
  generated C library plus `native/walk.c`, no Python per step) and the Python one (the
  compiled model of checker/lang/compile.py), which runs what the native engine cannot
  pack (more than 15 instances of a kind). Both list successors in binding order and pick
  with splitmix64, so their paths are identical; the tests hold them to it.
- Swarm mode (Groce et al., "Swarm testing", ISSTA 2012): each walk draws its own arm (one
  of several configurations, e.g. option mixes), its own depth bound, and a random half of
  the actions to prefer; a preferred action is taken whenever one is enabled, any enabled
  action otherwise, so steering never invents a deadlock. A weighted swarm (--swarm=weights)
  draws a weight per action instead (WEIGHTS) and picks among the enabled steps in
  proportion to it: rare actions fire late in a walk or not at all.

Why one module of this size: the Python stepper, its swarm and weight strategies and the
walk loop share one walk's state; the native stepper is checker/explicit/native/walk.c.
"""

from __future__ import annotations

import ctypes
import hashlib
import multiprocessing
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pgcheck.checker.errors import ModelError
from pgcheck.checker.explicit.explore import Step, Violation
from pgcheck.checker.explicit.native import build, cgen
from pgcheck.checker.lang.compile import CompiledModel
from pgcheck.checker.lang.types import Fifo
from pgcheck.checker.memory import peak_rss_bytes

State = tuple[Any, ...]
MASK64 = (1 << 64) - 1
# Indexed like W_* in walk.c; "action" is the native engine's model error at an action
# property's site (Generated.action_sites), told apart in NativeStepper.walk.
OUTCOMES = ("depth", "stop", "invariant", "deadlock", "model-error", "action")
FAILURES = ("invariant", "deadlock", "model-error", "action")


# Swarm walks draw how often the next step stays with the actor of the last one (out of
# STICK_MASK + 1): never, 1/2, 9/10, 49/50. Preemption bounding (Musuvathi and Qadeer, PLDI 2007):
# most concurrency bugs need few preemptions, and a uniform walk preempts at nearly every step, so
# a carrier that must run a long sequence while another waits mid-call is exponentially rare there.
STICK_MASK = 1023
STICKS = (0, 512, 922, 1003)

# Weighted swarm walks draw each action's weight from WEIGHTS; a step is picked among the enabled
# ones in proportion to its action's weight. A halving swarm drops each action with probability 1/2,
# so a bug needing k actions kept and j others (e.g. the events that end sessions) left out is found
# by 2^-(k+j) of its walks; here an action of weight 1 beside ones of weight 64 is rarely taken and
# fires late in the walk if at all, so the j need not be left out: they are merely made rare.
WEIGHTS = (0, 1, 8, 64)


def actors(cm: CompiledModel) -> list[int]:
    """Per binding, its actor: the instance of its first parameter (the carrier of a carrier's
    step, the session of a client's), or the action itself when it has no parameter."""
    ids: dict[tuple[str, Any], int] = {}
    out = []
    for b in cm.model.bindings:
        key = next(iter(b.params.items())) if b.params else ("", b.action)
        out.append(ids.setdefault(key, len(ids)))
    return out


def splitmix64(x: int) -> tuple[int, int]:
    """(next state, output) of splitmix64, as walk.c computes it."""
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return x, z ^ (z >> 31)


def walk_seed(seed: int, walk: int, salt: int = 0) -> int:
    """The generator seed of walk number `walk` of a run seeded `seed` (salt: a second stream)."""
    _, a = splitmix64((seed * 0x100000001B3 + salt) & MASK64)
    _, b = splitmix64(a ^ walk)
    return b


@dataclass
class Walk:
    """What one walk did: how it ended, after how many steps, and the bindings it took."""

    index: int
    arm: int
    seed: int
    depth: int
    outcome: str  # one of OUTCOMES
    steps: int
    detail: int  # invariant index (invariant), index into model.action_checks (action), error site (native model error)
    path: list[int]
    message: str = ""  # the Python stepper's model-error message
    stick: int = 0  # how often a step stayed with the last step's actor (out of STICK_MASK + 1)

    @property
    def failed(self) -> bool:
        return self.outcome in FAILURES


class PythonStepper:
    """Walks with the compiled Python model (any size)."""

    engine = "python"

    def __init__(self, cm: CompiledModel, check_deadlock: bool = True) -> None:
        self.cm = cm
        self.check_deadlock = check_deadlock
        self.fired = [0] * len(cm.model.bindings)
        self.actor = actors(cm)

    def walk(self, seed: int, depth: int, allowed: bytes | None, stick: int = 0) -> tuple[str, int, int, list[int], str]:
        cm = self.cm
        actor = self.actor
        s = cm.model.init
        path: list[int] = []
        x = seed
        last = -1  # the actor of the previous step
        action_violation = cm.action_violation if cm.model.action_checks else None
        bad = self._check(s)
        if bad is not None:
            return bad[0], 0, bad[1], path, bad[2]
        for d in range(depth):
            try:
                succ = cm.successors(s)
                # Every step out of a visited state is checked against the action properties,
                # as explore does for every state it expands; the walk then ends with that step.
                broken = action_violation(s) if action_violation is not None else None
            except ModelError as e:
                return "model-error", d, 0, path, str(e)
            except Exception as e:  # an evaluation error inside an action property
                return "model-error", d, 0, path, f"{type(e).__name__}: {e}"
            if broken is not None:
                path.append(broken[0])
                return "action", d + 1, broken[1], path, ""
            if not succ:
                stuck = self.check_deadlock and not cm.is_quiescent(s)
                return ("deadlock" if stuck else "stop"), d, 0, path, ""
            for b, _ in succ:
                self.fired[b] += 1
            # allowed[b]: binding b's weight (walk.c picks the same way); all 1 if none is admitted
            pool = [bs for bs in succ if allowed[bs[0]]] if allowed is not None else succ
            weighed = allowed is not None and bool(pool)
            if not pool:
                pool = succ
            if stick and last >= 0:
                x, r = splitmix64(x)
                if (r & STICK_MASK) < stick:
                    same = [bs for bs in pool if actor[bs[0]] == last]
                    if same:
                        pool = same
            x, r = splitmix64(x)
            b, s = _weighted_pick(pool, allowed if weighed else None, r)
            last = actor[b]
            path.append(b)
            bad = self._check(s)
            if bad is not None:
                return bad[0], d + 1, bad[1], path, bad[2]
        return "depth", depth, 0, path, ""

    def _check(self, s: State) -> tuple[str, int, str] | None:
        try:
            v = self.cm.first_violation(s)
        except ModelError as e:
            return "model-error", 0, str(e)
        except Exception as e:  # an evaluation error inside an invariant
            return "model-error", 0, f"{type(e).__name__}: {e}"
        return ("invariant", v, "") if v >= 0 else None


def _weighted_pick(pool: list[tuple[int, State]], weight: bytes | None, r: int) -> tuple[int, State]:
    """The successor that r picks from pool in proportion to its binding's weight (1 each if None)."""
    if weight is None:
        return pool[r % len(pool)]
    pick = r % sum(weight[b] for b, _ in pool)
    for bs in pool:
        pick -= weight[bs[0]]
        if pick < 0:
            return bs
    raise AssertionError("unreachable: pick < the total weight")


def _walk_source(model_part: str) -> str:
    here = resources.files("pgcheck.checker.explicit.native")
    return build.engine_source(model_part) + "\n" + (here / "walk.c").read_text()


# -O1, not the explorer's -O2: on the largest models gcc -O2 takes minutes, -O1 seconds, and a
# walk spends its time in the same few guards either way. Above LARGE_SOURCE bytes of C (the
# fine-grained poller at 3x5 with every option: 4.4 MB) -O1 itself takes minutes (142 s there,
# against 17 s at -O0, for 430,000 against 260,000 steps/s): such a walker is built at -O0.
WALK_CFLAGS = ["-O1", "-fPIC", "-shared", "-pthread", "-fno-strict-aliasing", "-Wno-unused-function"]
LARGE_SOURCE = 2_000_000


def walk_cflags(source: str) -> list[str]:
    return WALK_CFLAGS if len(source) <= LARGE_SOURCE else ["-O0", *WALK_CFLAGS[1:]]


def _load_walker(source: str) -> ctypes.CDLL:
    """The walk library for `source`, compiled once per machine (cached by content, as build.py does)."""
    cc = build.compiler()
    flags = walk_cflags(source)
    key = hashlib.sha256("\0".join([cc, *flags, source]).encode()).hexdigest()[:24]
    lib = build.cache_dir() / f"walk-{key}.so"
    if not lib.exists():
        with tempfile.TemporaryDirectory(prefix="pgcheck-cc-") as tmp:
            src = Path(tmp) / "walk.c"
            src.write_text(source)
            out = Path(tmp) / "walk.so"
            proc = subprocess.run([cc, *flags, "-o", str(out), str(src)], capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                first = next((line for line in proc.stderr.splitlines() if "error" in line), proc.stderr.strip()[:300])
                raise RuntimeError(f"the C compiler rejected the generated walker: {first}")
            partial = lib.with_suffix(f".{os.getpid()}.tmp")
            shutil.copyfile(out, partial)
            os.replace(partial, lib)
    return ctypes.CDLL(str(lib))


class NativeStepper:
    """Walks in the generated C library: the explorer's successor function, no Python per step."""

    engine = "native"

    def __init__(self, cm: CompiledModel, check_deadlock: bool = True) -> None:
        model = cm.model
        self.cm = cm
        self.check_deadlock = check_deadlock
        self.gen = cgen.generate(model, cm.invariant_ids, None)
        self.lib = _load_walker(_walk_source(self.gen.source))
        i64p = ctypes.POINTER(ctypes.c_int64)
        i32p = ctypes.POINTER(ctypes.c_int32)
        self.lib.pg_walk.argtypes = [
            i64p, ctypes.c_uint64, ctypes.c_int64, ctypes.c_int, ctypes.c_char_p, i32p, ctypes.c_int,
            i32p, i64p, i64p,
        ]
        self.lib.pg_walk.restype = ctypes.c_int
        nslots, nb = len(model.slots), len(model.bindings)
        fifo = [isinstance(info.ty, Fifo) for info in model.slots]
        self.init = (ctypes.c_int64 * nslots)(
            *(cgen.pack_fifo(v) if f else int(v) for v, f in zip(model.init, fifo, strict=True))
        )
        self._fired = (ctypes.c_int64 * max(nb, 1))()
        self._actor = (ctypes.c_int32 * max(nb, 1))(*actors(cm))
        self._out = (ctypes.c_int64 * 3)()
        self._path = (ctypes.c_int32 * 1)()
        self._room = 0
        self.nb = nb

    @property
    def fired(self) -> list[int]:
        return list(self._fired[: self.nb])

    def walk(self, seed: int, depth: int, allowed: bytes | None, stick: int = 0) -> tuple[str, int, int, list[int], str]:
        if depth > self._room:
            self._room = depth
            self._path = (ctypes.c_int32 * max(depth, 1))()
        rc = self.lib.pg_walk(
            self.init, seed, depth, int(self.check_deadlock), allowed, self._actor, stick, self._path, self._out,
            self._fired,
        )
        if rc != 0:
            raise MemoryError("the native walker could not allocate its buffers")
        code, steps, detail = (int(v) for v in self._out)
        path = list(self._path[:steps])
        outcome = OUTCOMES[code]
        if outcome == "model-error" and detail in self.gen.action_sites:
            # The generated body checks a binding's action properties before it emits the
            # successor: the walk ends with that (offending) step, as explore's trace does.
            k = self.gen.action_sites[detail]
            path.append(self.cm.model.action_checks[k].binding)
            return "action", steps + 1, k, path, ""
        message = self.gen.sites[detail] if outcome == "model-error" and 0 <= detail < len(self.gen.sites) else ""
        return outcome, steps, detail, path, message


Stepper = PythonStepper | NativeStepper


def make_stepper(cm: CompiledModel, engine: str, check_deadlock: bool = True) -> Stepper:
    """engine: "native", "python" or "auto" (native when a C compiler is there and the model fits)."""
    if engine == "python":
        return PythonStepper(cm, check_deadlock)
    try:
        return NativeStepper(cm, check_deadlock)
    except (cgen.Unsupported, build.NoCompiler):
        if engine == "native":
            raise
        return PythonStepper(cm, check_deadlock)


@dataclass
class Arm:
    """One configuration walks may run on (one arm of a swarm, or the only one)."""

    label: str
    stepper: Stepper
    options: dict[str, Any] = field(default_factory=dict)  # what the command shows for it

    @property
    def cm(self) -> CompiledModel:
        return self.stepper.cm

    def actions(self) -> list[str]:
        return sorted({b.action for b in self.cm.model.bindings})


@dataclass
class Plan:
    """How walk number i is drawn: plain (arm 0, the full depth, every action), swarm (a random
    half of the actions preferred) or, with `weights`, a weighted swarm (a weight per action)."""

    seed: int
    depth: int
    swarm: bool = False
    weights: bool = False

    @classmethod
    def named(cls, how: str, seed: int, depth: int) -> Plan:
        """how: "plain", "swarm" (a random half of the actions preferred) or "weights" (a weighted swarm)."""
        return cls(seed, depth, how != "plain", weights=how == "weights")

    def draw(self, walk: int, arms: list[Arm]) -> tuple[int, int, bytes | None, int, int]:
        """(arm, depth, per-binding weights or None, stickiness, generator seed) of walk number `walk`."""
        seed = walk_seed(self.seed, walk)
        if not self.swarm:
            return 0, self.depth, None, 0, seed
        if self.weights:
            return self._draw_weighted(walk, arms, seed)
        x, arm, depth = self._arm_and_depth(walk_seed(self.seed, walk, salt=1), arms)
        names = arms[arm].actions()
        keep: set[str] = set()
        for name in names:
            x, r = splitmix64(x)
            if r & 1:
                keep.add(name)
        if not keep:
            x, r = splitmix64(x)
            keep.add(names[r % len(names)])
        allowed = bytes(1 if b.action in keep else 0 for b in arms[arm].cm.model.bindings)
        return arm, depth, allowed, self._stickiness(x), seed

    def _arm_and_depth(self, x: int, arms: list[Arm]) -> tuple[int, int, int]:
        """(generator state, arm, depth): the arm, then a depth between a quarter of the bound and the bound."""
        x, r = splitmix64(x)
        arm = r % len(arms)
        x, r = splitmix64(x)
        low = max(1, self.depth // 4)
        return x, arm, low + r % (self.depth - low + 1)

    @staticmethod
    def _stickiness(x: int) -> int:
        """The walk's stickiness, the last draw of its stream."""
        return STICKS[splitmix64(x)[1] % len(STICKS)]

    def _draw_weighted(self, walk: int, arms: list[Arm], seed: int) -> tuple[int, int, bytes | None, int, int]:
        # Its own stream (salt 2), so the halving swarm's walks stay as they were recorded.
        x, arm, depth = self._arm_and_depth(walk_seed(self.seed, walk, salt=2), arms)
        weight: dict[str, int] = {}
        for name in arms[arm].actions():
            x, r = splitmix64(x)
            weight[name] = WEIGHTS[r % len(WEIGHTS)]
        allowed = bytes(weight[b.action] for b in arms[arm].cm.model.bindings)
        return arm, depth, allowed, self._stickiness(x), seed


def run_walk(walk: int, plan: Plan, arms: list[Arm]) -> Walk:
    arm, depth, allowed, stick, seed = plan.draw(walk, arms)
    outcome, steps, detail, path, message = arms[arm].stepper.walk(seed, depth, allowed, stick)
    return Walk(walk, arm, seed, depth, outcome, steps, detail, path, message, stick)


@dataclass
class SimProgress:
    walks: int
    steps: int
    elapsed: float
    rss_bytes: int
    workers: int


@dataclass
class SimResult:
    verdict: str  # "ok" | "violation" | "incomplete"
    walks: int  # walks finished
    steps: int  # steps taken in all
    elapsed: float
    outcomes: dict[str, int]
    failure: Walk | None = None
    stop_reason: str = ""
    fired: list[list[int]] = field(default_factory=list)  # per arm, per binding: successors generated
    peak_rss_bytes: int = 0
    workers: int = 1

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.elapsed if self.elapsed > 0 else 0.0


class _Tally:
    def __init__(self, arms: list[Arm]) -> None:
        self.walks = 0
        self.steps = 0
        self.outcomes = dict.fromkeys(OUTCOMES, 0)
        self.best: Walk | None = None
        self.fired = [[0] * len(a.cm.model.bindings) for a in arms]

    def add(self, w: Walk) -> None:
        self.walks += 1
        self.steps += w.steps
        self.outcomes[w.outcome] += 1
        if w.failed and (self.best is None or w.index < self.best.index):
            self.best = w


def _indices(first: int, stride: int, walks: int | None) -> Iterator[int]:
    i = first
    while walks is None or i < walks:
        yield i
        i += stride


class Simulator:
    """Runs walks 0, 1, 2, ... until `walks` are done, one fails, or the time limit passes."""

    def __init__(
        self,
        arms: list[Arm],
        plan: Plan,
        *,
        walks: int | None = 1000,
        time_limit: float | None = None,
        workers: int = 1,
        on_progress: Callable[[SimProgress], None] | None = None,
        progress_every: float = 1.0,
    ) -> None:
        self.arms = arms
        self.plan = plan
        self.walks = walks
        self.time_limit = time_limit
        self.workers = workers
        self.on_progress = on_progress
        self.progress_every = progress_every

    def run(self) -> SimResult:
        start = time.monotonic()
        tally = _Tally(self.arms)
        try:
            stop = self._run_inline(tally, start) if self.workers == 1 else self._run_forked(tally, start)
        except KeyboardInterrupt:
            stop = "interrupted"
        elapsed = time.monotonic() - start
        if self.workers == 1:
            tally.fired = [list(a.stepper.fired) for a in self.arms]
        if tally.best is not None:
            verdict = "violation"
        elif stop:
            verdict = "incomplete" if self.walks is not None or stop == "interrupted" else "ok"
        else:
            verdict = "ok"
        return SimResult(
            verdict, tally.walks, tally.steps, elapsed, tally.outcomes, tally.best, stop, tally.fired,
            peak_rss_bytes(), self.workers,
        )

    def _time_up(self, start: float) -> bool:
        return self.time_limit is not None and time.monotonic() - start > self.time_limit

    def _report(self, tally: _Tally, start: float) -> None:
        if self.on_progress is not None:
            self.on_progress(SimProgress(tally.walks, tally.steps, time.monotonic() - start, peak_rss_bytes(), self.workers))

    def _run_inline(self, tally: _Tally, start: float) -> str:
        last = start
        for i in _indices(0, 1, self.walks):
            w = run_walk(i, self.plan, self.arms)
            tally.add(w)
            if w.failed:
                return ""
            now = time.monotonic()
            if now - last >= self.progress_every:
                last = now
                self._report(tally, start)
            if self._time_up(start):
                return f"--time-limit {self.time_limit:g}s reached"
        return ""

    def _run_forked(self, tally: _Tally, start: float) -> str:
        """Worker k runs walks k, k+W, k+2W, ...; each skips walks past the lowest failing one."""
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        best = ctx.Value("q", -1 if self.walks is None else self.walks)
        halt = ctx.Event()
        global _SHARED
        _SHARED = (self, queue, best, halt)
        procs = [ctx.Process(target=_worker_main, args=(k,), daemon=True) for k in range(self.workers)]
        for p in procs:
            p.start()
        done, last, stop = 0, start, ""
        try:
            while done < len(procs):
                try:
                    msg = queue.get(timeout=min(self.progress_every, 0.5))
                except KeyboardInterrupt:
                    # Ctrl-C: the workers ignore it and stop after their current walk; keep
                    # draining so their walks and counts still reach the summary.
                    stop = "interrupted"
                    halt.set()
                    continue
                except Exception:  # queue.Empty: nothing this round
                    msg = None
                if msg is not None:
                    kind, payload = msg
                    if kind == "walks":
                        for w in payload:
                            tally.add(w)
                    elif kind == "fired":
                        for a, counts in enumerate(payload):
                            tally.fired[a] = [x + y for x, y in zip(tally.fired[a], counts, strict=True)]
                        done += 1
                now = time.monotonic()
                if now - last >= self.progress_every:
                    last = now
                    self._report(tally, start)
                if not stop and self._time_up(start):
                    stop = f"--time-limit {self.time_limit:g}s reached"
                    halt.set()
        finally:
            for p in procs:
                p.join(timeout=5)
                if p.is_alive():
                    p.terminate()
            _SHARED = None
        return stop


_SHARED: Any = None  # (simulator, queue, best, halt), inherited by forked workers


def _worker_main(k: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the workers and prints the summary
    sim, queue, best, halt = _SHARED
    batch: list[Walk] = []
    last = time.monotonic()
    try:
        for i in _indices(k, sim.workers, sim.walks):
            if halt.is_set() or (best.value >= 0 and i > best.value):
                break
            w = run_walk(i, sim.plan, sim.arms)
            batch.append(w)
            if w.failed:
                with best.get_lock():
                    if best.value < 0 or i < best.value:
                        best.value = i
            now = time.monotonic()
            if w.failed or now - last > 0.2 or len(batch) >= 256:
                queue.put(("walks", batch))
                batch, last = [], now
    finally:
        queue.put(("walks", batch))
        queue.put(("fired", [list(a.stepper.fired) for a in sim.arms]))
        queue.close()
        queue.join_thread()
        os._exit(0)


def broken_property(cm: CompiledModel, w: Walk) -> str:
    """What a failing walk broke: an invariant's or action property's id, or its outcome
    ("deadlock", "model-error")."""
    if w.outcome == "invariant":
        return cm.invariant_ids[w.detail]
    if w.outcome == "action":
        return cm.model.action_checks[w.detail].prop.id
    return w.outcome


def trace_of(arm: Arm, w: Walk) -> Violation:
    """The failing walk as a violation with its full trace, replayed with the Python model."""
    cm = arm.cm
    s = cm.model.init
    steps = [Step(s, None)]
    for b in w.path:
        nxt = cm.binding_step[b](s)
        if nxt is None:
            raise ModelError("internal: a walk's step cannot be replayed by the Python model")
        s = nxt
        steps.append(Step(s, b))
    if w.outcome == "invariant":
        return Violation("invariant", cm.invariant_ids[w.detail], steps)
    if w.outcome == "action":
        check = cm.model.action_checks[w.detail]
        label = cm.model.bindings[check.binding].label
        return Violation("action", check.prop.id, steps, f"the last step, {label}, breaks it")
    if w.outcome == "deadlock":
        return Violation("deadlock", "deadlock", steps)
    return Violation("model-error", "model-error", steps, _error_message(cm, s) or w.message)


def _error_message(cm: CompiledModel, s: State) -> str:
    """The Python engine's message for a model error in `s` (it names the action and values)."""
    try:
        cm.successors(s)
        cm.first_violation(s)
    except ModelError as e:
        return str(e)
    except Exception as e:
        return f"{type(e).__name__}: {e}"
    return ""
