"""`PgProtocolSchedulerState`: one lock, the parked and runnable queues, the counters.

Every method here is one locked scheduler function of §2.3 and runs with `lock` held
(callers take it, so that a step and its event are atomic together).  Methods whose
name ends in `_locked` assert nothing about the lock themselves: the caller holds it.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pgcheck.reference.backend import Backend
from pgcheck.reference.states import ParkState, QueueState

if TYPE_CHECKING:
    from pgcheck.reference.carrier import Carrier


class SchedulerError(RuntimeError):
    """A PANIC of the C implementation: an invariant the scheduler relies on broke."""


@dataclass
class Counters:
    parked_protocol_count: int = 0
    runnable_count: int = 0
    parked_protocol_enqueue_count: int = 0
    runnable_enqueue_count: int = 0
    registered_carrier_count: int = 0
    idle_carrier_count: int = 0
    active_carrier_count: int = 0
    same_carrier_resume_count: int = 0
    migrated_resume_count: int = 0
    carrier_register_count: int = 0
    carrier_reject_count: int = 0
    carrier_lease_count: int = 0
    carrier_release_count: int = 0


class Scheduler:
    def __init__(self, carrier_limit: int, affinity_enforced: bool) -> None:
        self.lock = threading.Lock()
        self.parked: deque[Backend] = deque()
        self.runnable: deque[Backend] = deque()
        self.counters = Counters()
        self.carrier_limit = carrier_limit
        self.affinity_enforced = affinity_enforced

    # --- carriers (§2.3 registration table, S26) -----------------------------

    def register_locked(self, carrier: Carrier) -> bool:
        k = self.counters
        if self.carrier_limit > 0 and k.registered_carrier_count >= self.carrier_limit:
            k.carrier_reject_count += 1
            return False
        carrier.registered = True
        carrier.idle = True
        k.registered_carrier_count += 1
        k.idle_carrier_count += 1
        k.carrier_register_count += 1
        return True

    def unregister_locked(self, carrier: Carrier) -> None:
        if not carrier.registered:
            return
        k = self.counters
        k.registered_carrier_count -= 1
        if carrier.idle:
            k.idle_carrier_count -= 1
        else:
            k.active_carrier_count -= 1
        carrier.registered = False

    def became_active_locked(self, carrier: Carrier) -> None:
        if carrier.registered and carrier.idle:
            carrier.idle = False
            self.counters.idle_carrier_count -= 1
            self.counters.active_carrier_count += 1

    def became_idle_locked(self, carrier: Carrier) -> None:
        if carrier.registered and not carrier.idle:
            carrier.idle = True
            self.counters.active_carrier_count -= 1
            self.counters.idle_carrier_count += 1
            self.counters.carrier_release_count += 1

    # --- backends (§2.3) ----------------------------------------------------

    def park_locked(self, b: Backend) -> None:
        """T4 `PgRuntimeProtocolSchedulerParkBackend`."""
        if b.carrier is not None or b.execution.carrier is not None:
            raise SchedulerError(f"could not enqueue committed protocol read park: {b} still attached")
        if b.ps is not ParkState.COMMITTED or b.q is not QueueState.NONE:
            raise SchedulerError(f"could not enqueue committed protocol read park: {b}")
        self.parked.append(b)
        b.q = QueueState.PARKED
        self.counters.parked_protocol_count += 1
        self.counters.parked_protocol_enqueue_count += 1

    def take_parked_locked(self, limit: int) -> list[Backend]:
        """T5 repeated: pop from the head of the parked list, q := POLLING."""
        batch: list[Backend] = []
        while self.parked and len(batch) < limit:
            b = self.parked.popleft()
            if b.ps is not ParkState.COMMITTED or b.q is not QueueState.PARKED:
                raise SchedulerError(f"inconsistent parked backend {b}")
            b.q = QueueState.POLLING
            self.counters.parked_protocol_count -= 1
            batch.append(b)
        return batch

    def repark_if_polling_locked(self, b: Backend) -> bool:
        """T6 `…ReparkBackendIfPolling`: push tail, no enqueue counter."""
        if b.ps is not ParkState.COMMITTED or b.q is not QueueState.POLLING:
            return False
        self.parked.append(b)
        b.q = QueueState.PARKED
        self.counters.parked_protocol_count += 1
        return True

    def mark_runnable_locked(self, b: Backend) -> bool:
        """T8 `…MarkRunnable`: idempotent on RUNNABLE (S27)."""
        if b.q is QueueState.RUNNABLE:
            return True
        if b.q in (QueueState.NONE, QueueState.LEASED):
            return False
        if b.ps is not ParkState.COMMITTED:
            return False
        if b.q is QueueState.PARKED:
            self.parked.remove(b)
            self.counters.parked_protocol_count -= 1
        self.runnable.append(b)
        b.q = QueueState.RUNNABLE
        self.counters.runnable_count += 1
        self.counters.runnable_enqueue_count += 1
        return True

    def leasable_by(self, carrier: Carrier) -> Backend | None:
        """The runnable backend T9 would pop for `carrier` (FIFO; affinity per §2.11/S30)."""
        for b in self.runnable:
            if not self.affinity_enforced or b.parked_carrier in (None, carrier):
                return b
        return None

    def pop_runnable_locked(self, carrier: Carrier) -> Backend | None:
        """T9 `…PopRunnable`: head of the FIFO (the first affine-compatible one if enforced)."""
        b = self.leasable_by(carrier)
        if b is None:
            return None
        self.runnable.remove(b)
        if b.q is not QueueState.RUNNABLE:
            raise SchedulerError(f"runnable backend in state {b.q}")
        b.q = QueueState.LEASED
        self.counters.runnable_count -= 1
        return b

    def lease_specific_locked(self, b: Backend) -> bool:
        """T11 `…LeaseBackend` (staging same-carrier resume)."""
        if b.ps is not ParkState.COMMITTED:
            return False
        if b.q is QueueState.PARKED:
            self.parked.remove(b)
            self.counters.parked_protocol_count -= 1
        elif b.q is QueueState.RUNNABLE:
            self.runnable.remove(b)
            self.counters.runnable_count -= 1
        else:
            return False
        b.q = QueueState.LEASED
        return True

    def remove_locked(self, b: Backend) -> bool:
        """T13 `…RemoveBackend`."""
        if b.q is QueueState.NONE:
            return False
        if b.q is QueueState.PARKED:
            self.parked.remove(b)
            self.counters.parked_protocol_count -= 1
        elif b.q is QueueState.RUNNABLE:
            self.runnable.remove(b)
            self.counters.runnable_count -= 1
        b.q = QueueState.NONE
        return True

    def record_resume_locked(self, b: Backend, carrier: Carrier) -> None:
        """T12's counter half: same vs migrated resume."""
        if b.parked_carrier is None:
            return
        if b.parked_carrier is carrier:
            self.counters.same_carrier_resume_count += 1
        else:
            self.counters.migrated_resume_count += 1
