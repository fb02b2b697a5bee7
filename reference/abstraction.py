"""The refinement mapping: the implementation's abstract views in the model's terms.

The conformance tests and `pgcheck check-trace` compare *observables*: one name per model
field the implementation can show, e.g. `session[2].q` or `sched.parked`.  `model_*`
computes them from a model state, `view_*` from the views of `views.py` (a snapshot, or
views rebuilt from event `writes`).  Fields the model has and the implementation does not
(client-side ghosts, latches, budgets) and fields the implementation has and the model
abstracts (generations, counters that only grow) are not observables; docs/trace-validation.md
lists both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from pgcheck.model.vocabulary import WAKE_ORDER

# Queue and carrier-location names: digest snapshot names (§7.1) -> model enum values.
QUEUE = {"none": "none", "parked_protocol_read": "parked", "polling": "polling", "runnable": "runnable", "leased": "leased"}
CARRIER_LOC = {
    "scheduler_loop": "loop",
    "leasing": "leasing",
    "in_step": "step",
    "committing": "commit",
    "polling": "poll",
    "poll_waiting": "poll_wait",
    "poll_rechecking": "poll_recheck",
    "staging_wait": "stage",
    "exiting": "dead",
    "stopped": "dead",
}
# The model's session location after each action (model/vocabulary.py PC), for `pc`.
PC_AFTER = {
    "new": "new",
    "TakeNewConnection": "top",
    "Startup": "top",
    "StepTop": "probe",
    "ServiceWakes": "probe",
    "ConsumeTypeByte": "body",
    "ReadEOF": "exit",
    "ReadBody": "exec",
    "Execute": "top",
    "DeepWaitElapsed": "top",
    "DeepWaitWake": "top",
    "PreparePark": "prepared",
    "UnwindStep": "unwound",
    "CommitPark": "committed",
    "Detach": "detached",
    "EnqueuePark": "parked",
    "StagingWake": "parked",
    "AttachLeased": "resume",
    "StagingLease": "resume",
    "Resume": "service",
    "LogicalExit": "gone",
}
WAKE = {
    "STALE_TRANSPORT": "stale_transport",
    "STALE_TIMEOUT": "stale_timeout",
    "TIMEOUT": "timeout",
    "NOTIFY": "notify",
    "LOGICAL": "logical",
    "HIBERNATE": "hibernate",
    "CLOSED": "closed",
    "TRANSPORT": "transport",
    "BUFFERED_INPUT": "transport",
}
MODEL_INTERRUPTS = ("cancel", "die", "reload", "notify")

SESSION_OBSERVABLES = (
    "pc", "ps", "q", "car", "ecar", "pcar", "dcr", "rfq", "in_xact", "notify_pending",
    "deferred", "mbox", "mid_msg", "tmo_armed", "tmo_due", "wake",
)  # fmt: skip
GONE_OBSERVABLES = ("pc", "ps", "q", "car", "ecar")  # an exited backend keeps nothing (S28)
CARRIER_OBSERVABLES = ("loc", "cur", "reg", "idle", "batch")
SCHEDULER_OBSERVABLES = (
    "parked", "runnable", "newconn", "parked_count", "runnable_count", "registered", "idle_count", "active_count",
)  # fmt: skip

# Which view field feeds which observable (for event `writes`).
SESSION_SOURCE = {
    "pc": "pc", "exiting": "pc", "exited": "pc", "deep_wait": "pc", "ps": "ps", "q": "q", "car": "car",
    "ecar": "ecar", "pcar": "pcar", "dcr": "dcr", "rfq": "rfq", "in_xact": "in_xact",
    "notify_pending": "notify_pending", "dngen": "deferred", "mbox": "mbox", "mid_msg": "mid_msg",
    "timeout": "tmo_armed", "tdue": "tmo_due", "wake": "wake",
}  # fmt: skip
SCHEDULER_SOURCE = {
    "parked": "parked", "runnable": "runnable", "new_connections": "newconn", "parked_count": "parked_count",
    "runnable_count": "runnable_count", "registered": "registered", "idle": "idle_count", "active": "active_count",
}  # fmt: skip


class Reader(Protocol):
    def get(self, state: tuple[Any, ...], label: str) -> Any: ...


def wake_name(reasons: Iterable[str]) -> str:
    """The model's single wake reason: the first of WAKE_ORDER among the reason bits."""
    names = {WAKE[r] for r in reasons if r in WAKE}
    return next((w for w in WAKE_ORDER if w in names), "none")


def view_pc(view: dict[str, Any]) -> str:
    if view["exited"]:
        return "gone"
    if view["exiting"]:
        return "exit"
    if view["deep_wait"]:
        return "deep_wait"
    return PC_AFTER.get(str(view["pc"]), str(view["pc"]))


SESSION_FROM_VIEW: dict[str, Callable[[dict[str, Any]], Any]] = {
    "pc": view_pc,
    "ps": lambda v: v["ps"],
    "q": lambda v: QUEUE[v["q"]],
    "car": lambda v: v["car"],
    "ecar": lambda v: v["ecar"],
    "pcar": lambda v: v["pcar"],
    "dcr": lambda v: bool(v["dcr"]),
    "rfq": lambda v: bool(v["rfq"]),
    "in_xact": lambda v: bool(v["in_xact"]),
    "notify_pending": lambda v: bool(v["notify_pending"]),
    "deferred": lambda v: v["dngen"] != 0,
    "mbox": lambda v: sorted(k for k in v["mbox"] if k in MODEL_INTERRUPTS),
    "mid_msg": lambda v: bool(v["mid_msg"]),
    "tmo_armed": lambda v: v["timeout"] is not None,
    "tmo_due": lambda v: bool(v["tdue"]),
    "wake": lambda v: wake_name(v["wake"]),
}
SESSION_FROM_MODEL: dict[str, str] = {"rfq": "send_rfq", "mid_msg": "byte_car"}


def model_session(oracle: Reader, state: tuple[Any, ...], i: int, name: str) -> Any:
    value = oracle.get(state, f"session[{i}].{SESSION_FROM_MODEL.get(name, name)}")
    return value is not None if name == "mid_msg" else value


def model_observables(
    oracle: Reader, state: tuple[Any, ...], sessions: int, carriers: int, skip: frozenset[str] = frozenset()
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in range(sessions):
        gone = oracle.get(state, f"session[{i}].pc") == "gone"
        for name in GONE_OBSERVABLES if gone else SESSION_OBSERVABLES:
            if name not in skip:
                out[f"session[{i}].{name}"] = model_session(oracle, state, i, name)
    for j in range(carriers):
        for name in CARRIER_OBSERVABLES:
            out[f"carrier[{j}].{name}"] = oracle.get(state, f"carrier[{j}].{name}")
    for name in SCHEDULER_OBSERVABLES:
        out[f"sched.{name}"] = oracle.get(state, f"sched.{name}")
    return out


def snapshot_observables(
    snap: dict[str, Any], sessions: int, carriers: int, skip: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The observables of a `snapshot()`; carriers not started yet are `off`."""
    out: dict[str, Any] = {}
    backends = snap["backends"]
    for i in range(sessions):
        if i >= len(backends):
            out.update(_unconnected(i, skip))
            continue
        view = backends[i]
        for name in GONE_OBSERVABLES if view["exited"] else SESSION_OBSERVABLES:
            if name not in skip:
                out[f"session[{i}].{name}"] = SESSION_FROM_VIEW[name](view)
    for j in range(carriers):
        if j < len(snap["carriers"]):
            c = snap["carriers"][j]
            values = {"loc": CARRIER_LOC[c["loc"]], "cur": c["cur"], "reg": c["reg"], "idle": c["idle"], "batch": c["batch"]}
        else:
            values = {"loc": "off", "cur": None, "reg": False, "idle": False, "batch": []}
        for name in CARRIER_OBSERVABLES:
            out[f"carrier[{j}].{name}"] = values[name]
    sched = snap["scheduler"]
    for source, name in SCHEDULER_SOURCE.items():
        out[f"sched.{name}"] = sched[source]
    return out


def _unconnected(i: int, skip: frozenset[str]) -> dict[str, Any]:
    view = fresh_backend_view()
    return {f"session[{i}].{n}": SESSION_FROM_VIEW[n](view) for n in SESSION_OBSERVABLES if n not in skip}


def fresh_backend_view() -> dict[str, Any]:
    """The view of a backend that has just connected (views.backend_view of a new Backend)."""
    return {
        "pc": "new", "ps": "none", "q": "none", "car": None, "ecar": None, "pcar": None, "gen": 0, "ngen": 0,
        "wgen": 0, "wake": [], "last_wake": [], "nwgen": 0, "dngen": 0, "dnpgen": 0, "dnreasons": [],
        "mbox": [], "nsig": 0, "notify_pending": False, "in_xact": False, "xact_failed": False, "rfq": True,
        "dcr": False, "mid_msg": False, "reading": False, "deep_wait": False, "timeout": None, "tgen": 0,
        "spec_tgen": 0, "tdue": False, "exiting": False, "exited": False,
    }  # fmt: skip


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(observable, model value, implementation value) for every observable that differs."""
    return [(k, expected[k], actual.get(k)) for k in expected if k in actual and expected[k] != actual[k]]
