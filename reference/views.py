"""The implementation's abstract state in model terms (§4 vocabulary, §10 suggested model).

`backend_view`, `carrier_view` and `scheduler_view` are what `snapshot()` returns and
what each event's `writes` are computed from (a diff of the views before and after the
step).  Only untimed facts appear here, so controlled runs are reproducible.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pgcheck.reference.mailbox import mask_names
from pgcheck.reference.states import WakeReason

if TYPE_CHECKING:
    from pgcheck.reference.backend import Backend
    from pgcheck.reference.carrier import Carrier
    from pgcheck.reference.scheduler import Scheduler

# Fields any thread may write (the mailbox, §2.9) or the environment sets (a timeout
# becoming due).  A carrier step reports them in `writes` only when it consumed them.
ENVIRONMENT_FIELDS = frozenset({"mbox", "nsig", "tdue"})


def _index(obj: Carrier | Backend | None) -> int | None:
    return None if obj is None else obj.index


def reason_names(reasons: WakeReason) -> list[str]:
    return [r.name for r in WakeReason if r.value and r in reasons and r.name]


def carrier_view(c: Carrier) -> dict[str, Any]:
    return {
        "loc": c.loc.value,
        "cur": _index(c.cur),
        "reg": c.registered,
        "idle": c.idle,
        "batch": [b.index for b in c.batch],
    }


def backend_view(b: Backend) -> dict[str, Any]:
    s = b.session
    conn = b.connection
    return {
        "pc": b.pc,
        "ps": b.ps.value,
        "q": b.q.value,
        "car": _index(b.carrier),
        "ecar": _index(b.execution.carrier),
        "pcar": _index(b.parked_carrier),
        "gen": b.spec.generation,
        "ngen": b.next_generation,
        "wgen": b.wake_generation,
        "wake": reason_names(b.wake_reasons),
        "last_wake": reason_names(b.last_wake_reasons),
        "nwgen": b.notify_wake_generation,
        "dngen": b.deferred_notify_generation,
        "dnpgen": b.deferred_notify_park_generation,
        "dnreasons": reason_names(b.deferred_notify_reasons),
        "mbox": mask_names(b.mailbox.peek()),
        "nsig": b.mailbox.notify_generation,
        "notify_pending": s.notify_pending,
        "in_xact": s.in_transaction_block,
        "xact_failed": s.transaction_failed,
        "rfq": s.send_ready_for_query,
        "dcr": s.doing_command_read,
        "mid_msg": b.mid_msg,
        "reading": bool(conn is not None and conn.comm_reading_msg),
        "deep_wait": b.deep_wait,
        "timeout": None if b.timeouts.active is None else b.timeouts.active.value,
        "tgen": b.timeouts.generation,
        "spec_tgen": b.spec.timeout_generation,
        "tdue": b.timeouts.forced_due,
        "exiting": b.exiting,
        "exited": b.exited,
    }


def scheduler_view(s: Scheduler) -> dict[str, Any]:
    k = s.counters
    return {
        "parked": [b.index for b in s.parked],
        "runnable": [b.index for b in s.runnable],
        "parked_count": k.parked_protocol_count,
        "runnable_count": k.runnable_count,
        "parked_enqueue_count": k.parked_protocol_enqueue_count,
        "runnable_enqueue_count": k.runnable_enqueue_count,
        "registered": k.registered_carrier_count,
        "idle": k.idle_carrier_count,
        "active": k.active_carrier_count,
        "same_resume": k.same_carrier_resume_count,
        "migrated_resume": k.migrated_resume_count,
    }


def diff(prefix: str, before: dict[str, Any], after: dict[str, Any], keep: frozenset[str]) -> dict[str, Any]:
    """The fields of `after` that changed, as `prefix.field`; environment fields only if in `keep`."""
    out: dict[str, Any] = {}
    for key, value in after.items():
        if key in ENVIRONMENT_FIELDS and key not in keep:
            continue
        if before.get(key) != value:
            out[f"{prefix}.{key}"] = value
    return out
