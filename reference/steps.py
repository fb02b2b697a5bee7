"""One instrumented step = one event.

`StepRecorder.step(...)` is a context manager around the body of a step.  It optionally
holds the scheduler lock for the whole step (the locked scheduler functions of §2.3),
takes the views of the entities the step touches before and after, and emits the event
with the diff as `writes`.  With no event sink it only takes the lock.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pgcheck.reference.events import Action
from pgcheck.reference.views import ENVIRONMENT_FIELDS, backend_view, carrier_view, diff, scheduler_view

if TYPE_CHECKING:
    from pgcheck.reference.backend import Backend
    from pgcheck.reference.carrier import Carrier
    from pgcheck.reference.runtime import Runtime


@dataclass
class StepInfo:
    params: dict[str, Any]
    writes: dict[str, Any] = field(default_factory=dict)
    suppress: bool = False  # a stutter step the free-running log may leave out


# What a step may write of a backend it does not hold (the re-check of §2.6 step 9 with
# poll_steps): T7's wake fields and, under the lock, T8's queue state. Other fields of such a
# backend belong to whichever carrier runs it, concurrently in free-running mode.
FOREIGN_FIELDS = frozenset({"q", "wake", "wgen", "nwgen"})


class StepRecorder:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def _scheduler_view(self, locked: bool) -> dict[str, Any] | None:
        """Scheduler fields for the diff: always inside a locked step; in controlled mode
        also for unlocked steps (no other thread runs); otherwise left out, because other
        carriers change the queues concurrently."""
        if locked:
            return scheduler_view(self.rt.scheduler)
        if self.rt.controlled:
            with self.rt.scheduler.lock:
                return scheduler_view(self.rt.scheduler)
        return None

    @contextmanager
    def step(
        self,
        action: Action,
        *,
        c: Carrier | None = None,
        b: Backend | None = None,
        others: Sequence[Backend] = (),
        foreign: Sequence[Backend] = (),
        locked: bool = False,
        owns: frozenset[str] = frozenset(),
        params: dict[str, Any] | None = None,
    ) -> Iterator[StepInfo]:
        """`others`: further backends the step holds; `foreign`: backends it may write without
        holding them, of which only FOREIGN_FIELDS are recorded."""
        log = self.rt.events
        if owns & ENVIRONMENT_FIELDS and log.enabled and not self.rt.controlled:
            # the step consumes the mailbox: linearize with SendInterrupt
            with log.order, self._step(action, c, b, others, foreign, locked, owns, params) as info:
                yield info
            return
        with self._step(action, c, b, others, foreign, locked, owns, params) as info:
            yield info

    @contextmanager
    def _step(
        self,
        action: Action,
        c: Carrier | None,
        b: Backend | None,
        others: Sequence[Backend],
        foreign: Sequence[Backend],
        locked: bool,
        owns: frozenset[str],
        params: dict[str, Any] | None,
    ) -> Iterator[StepInfo]:
        log = self.rt.events
        lock = self.rt.scheduler.lock if locked else nullcontext()
        info = StepInfo(params={})
        if c is not None:
            info.params["c"] = c.index
        if b is not None:
            info.params["b"] = b.index
        info.params.update(params or {})
        with lock:
            backends = ([b] if b is not None else []) + [o for o in others if o is not b]
            outside = [x for x in foreign if x not in backends]
            if log.enabled:
                before_b = [backend_view(x) for x in backends]
                before_f = [_foreign_view(x) for x in outside]
                before_c = carrier_view(c) if c is not None else None
                before_s = self._scheduler_view(locked)
            yield info
            if b is not None:
                b.pc = action.value
            if not log.enabled or info.suppress:
                return
            writes: dict[str, Any] = {}
            for x, before in zip(backends, before_b, strict=True):
                writes.update(diff(f"backend[{x.index}]", before, backend_view(x), owns))
            for x, before in zip(outside, before_f, strict=True):
                writes.update(diff(f"backend[{x.index}]", before, _foreign_view(x), owns))
            if c is not None and before_c is not None:
                writes.update(diff(f"carrier[{c.index}]", before_c, carrier_view(c), owns))
            after_s = self._scheduler_view(locked)
            if before_s is not None and after_s is not None:
                writes.update(diff("scheduler", before_s, after_s, owns))
            writes.update(info.writes)
            log.emit(action, info.params, writes)


def _foreign_view(b: Backend) -> dict[str, Any]:
    return {k: v for k, v in backend_view(b).items() if k in FOREIGN_FIELDS}
