"""Where carrier threads stop before each instrumented step.

Free-running mode has no gate.  In controlled mode each carrier thread blocks at every
instrumented point until the controller grants it exactly one step; between grants at
most one carrier thread runs, so the same sequence of choices gives the same run.

A carrier waiting at a gate offers a *peek*: a function that says which action it would
take next (and for which backend), or None when that action is not enabled yet (e.g. a
message body not fully arrived).  The controller re-evaluates peeks whenever it lists the
enabled steps, so the answer always reflects the current state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pgcheck.reference.events import Action

if TYPE_CHECKING:
    from pgcheck.reference.backend import Backend
    from pgcheck.reference.carrier import Carrier


@dataclass(frozen=True)
class Choice:
    action: Action
    backend: Backend | None = None


Peek = Callable[[], "Choice | None"]


class CarrierStopped(Exception):
    """Raised inside a carrier thread when the runtime stops while it waits at a gate."""


class ControllerError(RuntimeError):
    """The controlled run cannot continue (a carrier did not reach a gate, or crashed)."""


@dataclass
class _Slot:
    carrier: Carrier
    peek: Peek | None = None
    waiting: bool = False
    granted: bool = False
    done: bool = False
    error: BaseException | None = None
    stack: list[str] = field(default_factory=list)


class ControlledGate:
    def __init__(self, settle_timeout: float = 10.0) -> None:
        self._cond = threading.Condition()
        self._slots: dict[int, _Slot] = {}
        self._stopping = False
        self.settle_timeout = settle_timeout

    # --- carrier side ---------------------------------------------------------

    def add(self, carrier: Carrier) -> None:
        with self._cond:
            self._slots[carrier.index] = _Slot(carrier)

    def wait(self, carrier: Carrier, peek: Peek) -> Choice:
        with self._cond:
            slot = self._slots[carrier.index]
            slot.peek = peek
            slot.waiting = True
            self._cond.notify_all()
            while not slot.granted:
                if self._stopping:
                    slot.waiting = False
                    raise CarrierStopped
                self._cond.wait()
            slot.granted = False
            slot.waiting = False
            slot.peek = None
        choice = peek()
        if choice is None:
            raise ControllerError(f"carrier {carrier.index} was granted a step that is not enabled")
        return choice

    def done(self, carrier: Carrier, error: BaseException | None = None) -> None:
        with self._cond:
            slot = self._slots[carrier.index]
            slot.done = True
            slot.waiting = False
            slot.error = error
            self._cond.notify_all()

    # --- controller side ------------------------------------------------------

    def settle(self) -> None:
        """Wait until every live carrier thread is blocked at a gate."""
        with self._cond:
            ok = self._cond.wait_for(
                lambda: all(s.done or s.waiting for s in self._slots.values()), self.settle_timeout
            )
            errors = [(i, s.error) for i, s in self._slots.items() if s.error is not None]
            if errors:
                index, error = errors[0]
                raise ControllerError(f"carrier {index} crashed: {error!r}") from error
            if not ok:
                busy = [i for i, s in self._slots.items() if not (s.done or s.waiting)]
                raise ControllerError(f"carriers {busy} did not reach a gate within {self.settle_timeout}s")

    def offers(self) -> list[tuple[Carrier, Choice]]:
        """The enabled step of every waiting carrier, in carrier order (call after settle)."""
        with self._cond:
            waiting = [(i, s.carrier, s.peek) for i, s in sorted(self._slots.items()) if s.waiting]
        result: list[tuple[Carrier, Choice]] = []
        for _, carrier, peek in waiting:
            choice = peek() if peek is not None else None
            if choice is not None:
                result.append((carrier, choice))
        return result

    def grant(self, index: int) -> None:
        with self._cond:
            slot = self._slots.get(index)
            if slot is None or not slot.waiting:
                raise ControllerError(f"carrier {index} is not waiting at a gate")
            slot.granted = True
            self._cond.notify_all()
            # wait until the carrier has left this gate
            self._cond.wait_for(lambda: not slot.granted, self.settle_timeout)

    def live(self) -> list[int]:
        with self._cond:
            return [i for i, s in self._slots.items() if not s.done]

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
