"""Helpers for the viewer's browser tests: an opened page with what it did, a long trace."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DATA = Path(__file__).parent.parent / "data"
ARTIFACTS = Path(__file__).parent.parent.parent / "test-artifacts"


@dataclass
class OpenedPage:
    """A page opened from disk, with every request it made and every dialog it tried to open."""

    page: Any
    url: str
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def selected_step(self) -> int:
        return int(self.page.locator("#steps li.step.sel").get_attribute("data-step"))

    def changed_paths(self) -> list[str]:
        paths = self.page.locator("#state td.chg").evaluate_all("els => els.map(e => e.dataset.path)")
        return [str(p) for p in paths]


def write_long_trace(path: Path, steps: int) -> Path:
    """A valid pgcheck trace of `steps` steps: three sessions in turn go through poll, wake,
    lease, resume and park on two carriers, which alternate every round (so many resumes
    are migrated)."""
    doc = json.loads((DATA / "migrated_resume.itf.json").read_text(encoding="utf-8"))
    meta = doc["#meta"]
    meta["params"] = {"carriers": 2, "sessions": 3}
    meta["entities"]["session"]["count"] = 3
    meta["highlight"] = [{"kind": "session", "index": 2}]
    meta["property"] = {"id": "L3", "kind": "liveness", "statement": "Runnable eventually served",
                        "citation": "scheduler-digest.md §5 L3"}
    blank = {"pc": "idle_read", "ps": "committed", "q": "parked", "car": -1, "pcar": 0,
             "mbox": {"#set": []}, "wake": {"#set": []}, "cl_sent": 0, "cl_got": "ready"}
    state: dict[str, Any] = {
        "carrier": [{"loc": "loop", "cur": -1, "proc": -1, "batch": []} for _ in range(2)],
        "session": [dict(blank, pcar=i % 2) for i in range(3)],
        "sched": {"parked": [0, 1, 2], "runnable": [], "newconn": [], "parks": 3},
        "env": {"cancels_left": 1, "pm_alive": True},
    }
    phases = ["TakeForPolling", "MarkRunnable", "LeaseRunnable", "Resume", "CommitPark", "EnqueueParked"]
    states, metasteps = [copy.deepcopy(state)], [None]
    for n in range(1, steps + 1):
        # Each session in turn goes through all phases; the carrier alternates every round.
        s = ((n - 1) // len(phases)) % 3
        c = ((n - 1) // (len(phases) * 3)) % 2
        phase = phases[(n - 1) % len(phases)]
        ses, car = state["session"][s], state["carrier"][c]
        if phase == "TakeForPolling":
            state["sched"]["parked"].remove(s)
            ses["q"] = "polling"
        elif phase == "MarkRunnable":
            ses["q"] = "runnable"
            state["sched"]["runnable"].append(s)
        elif phase == "LeaseRunnable":
            state["sched"]["runnable"].remove(s)
            ses.update(q="leased", car=c)
            car.update(cur=s, loc="in_step")
        elif phase == "Resume":
            ses.update(q="none", ps="none", pcar=-1, cl_sent=n % 3)
        elif phase == "CommitPark":
            ses.update(ps="committed", pcar=ses["car"], car=-1)
            car.update(cur=-1, loc="loop")
        elif phase == "EnqueueParked":
            ses["q"] = "parked"
            state["sched"]["parked"].append(s)
        states.append(copy.deepcopy(state))
        metasteps.append({"action": phase, "params": {"c": c, "s": s}})
    for i, st in enumerate(states):
        states[i] = {"#meta": {"index": i}, **st}
    meta["steps"] = metasteps
    meta["kind"] = "counterexample"
    doc["states"] = states
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path
