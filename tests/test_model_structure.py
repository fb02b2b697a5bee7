"""Structural checks on the traced model (properties of the actions, not of states).

S19 ("only the holder marks wakes", scheduler-digest.md §4, §2.4 ownership discipline)
speaks of who executes T7, so specs/safety.py lists it as structural; it is checked here
on the traced IR: which actions write the session field `wake`, with what, and under
which ownership condition. Also: every action cites the design and has a docstring.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.spec import Binding, TracedModel
from pgcheck.model.config import ModelConfig
from pgcheck.model.runtime import build
from pgcheck.model.vocabulary import WAKE
from pgcheck.specs.safety import NOT_APPLICABLE
from variants import config

# Every optional action enabled, so that every action of every shape is traced.
ALL_ON: dict[str, Any] = dict(
    sticky_idle=True, hibernate=True, listeners=True, idle_session_timeout=True, idle_in_xact_timeout=True,
    client_close=True, postmaster_death=True, commands=("query", "begin", "commit", "listen", "sleep"),
    messages=1, active_clients=12, cancels=1, terminates=1, reloads=1, notifies=1, reschedules=1, transport_changes=1,
)

CONFIGS: list[ModelConfig] = [
    config("pooled", 2, 2, affinity_enforced=True, **ALL_ON),
    config("pooled", 2, 2, **ALL_ON),
    config("pooled", 2, 2, poll_steps=True, **ALL_ON),
    config("thread-per-session", None, 2, **ALL_ON),
    config("process", None, 2, **ALL_ON),
]
def _config_id(c: ModelConfig) -> str:
    flags = "".join(f"-{name}" for name in ("affinity_enforced", "poll_steps") if c.options.get(name))
    return f"{c.mode}-{c.carriers}x{c.sessions}{flags}"


IDS = [_config_id(c) for c in CONFIGS]

# T7: the poller holding POLLING, the staging thread of its own park.
MARKERS = {"PollPass", "PollImmediate", "PollWait", "StagingWake"}
RECHECK = "PollRecheck"  # poll_steps: §2.6 step 9 re-checks every backend taken at T5
CLEARERS = {"PreparePark", "Resume"}  # T1 / T12 zero the wake fields
RESETTERS = {"LogicalExit"}  # reset_session after T13
NONE = WAKE.index("none")


def _slots(e: Any) -> set[int]:
    """Every state slot an expression reads."""
    out: set[int] = set()
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, Expr):
            if x.op == "slot":
                out.add(x.args[0])
            else:
                stack.extend(x.args)
        elif isinstance(x, (tuple, list)):
            stack.extend(x)
    return out


def _slot(model: TracedModel, kind: str, inst: int | None, fname: str) -> int:
    return model.slot_of[(kind, inst, fname)]


def _wake_writes(model: TracedModel, b: Binding) -> dict[int, Expr]:
    """session index -> the expression binding b writes to session[i].wake."""
    out = {}
    for index, e in b.updates.items():
        info = model.slots[index]
        if info.kind == "session" and info.field == "wake":
            assert info.instance is not None
            out[info.instance] = e
    return out


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_s19_only_the_holder_marks_wakes(cfg: ModelConfig) -> None:
    assert "S19" not in NOT_APPLICABLE  # an action property (specs/steps.py); its structure is checked here too
    model = build(cfg).trace()
    writers: set[str] = set()
    for b in model.bindings:
        writes = _wake_writes(model, b)
        if not writes:
            continue
        writers.add(b.action)
        assert b.action in MARKERS | CLEARERS | RESETTERS | {RECHECK}, f"{b.label} writes wake reasons"
        if b.action in CLEARERS | RESETTERS:
            # Clearing (T1, T12) or the exit reset: the constant "none", of its own session only.
            assert set(writes) == {b.params["b"]}, b.label
            e = writes[b.params["b"]]
            assert e.op == "const" and e.args[0] == NONE, f"{b.label} writes {e.show()}"
        elif b.action == RECHECK:
            # Step 9 covers every backend taken at T5, held or not: each write is guarded by T7's
            # generation check (taken_cur) but not by the batch of backends c still holds. That is
            # the ownership gap W-recheck-unheld reaches (S19 at the C grain, docs/model.md).
            c = b.params["c"]
            for i, e in writes.items():
                assert e.op == "if", f"{b.label} writes session[{i}].wake unconditionally"
                guard = _slots(e.args[0])
                assert _slot(model, "carrier", c, "taken_cur") in guard, f"{b.label}: no generation check"
                assert _slot(model, "carrier", c, "batch") not in guard
        elif b.action == "StagingWake":
            # The staging thread c marks only its own committed park b: guarded by
            # loc(c) = stage and parked_carrier(b) = c, and it writes b's wake only.
            c, s = b.params["c"], b.params["b"]
            assert set(writes) == {s}, b.label
            guard = _slots(b.guard)
            assert _slot(model, "carrier", c, "loc") in guard
            assert _slot(model, "session", s, "pcar") in guard
            assert _slot(model, "session", s, "ps") in guard
        else:
            # The poller c changes session i's wake only under a condition on c's own batch
            # (the backends it holds POLLING, T5): if(cond, reason, old) with cond reading it.
            c = b.params["c"]
            batch = _slot(model, "carrier", c, "batch")
            assert _slot(model, "carrier", c, "loc") in _slots(b.guard)
            for i, e in writes.items():
                old = _slot(model, "session", i, "wake")
                assert e.op == "if", f"{b.label} writes session[{i}].wake unconditionally"
                cond, _then, otherwise = e.args
                assert batch in _slots(cond), f"{b.label}: session[{i}].wake not guarded by the batch"
                assert otherwise.op == "slot" and otherwise.args[0] == old
    if cfg.mode == "pooled" and cfg.get("poll_steps"):
        assert writers == {"PollImmediate", "PollWait", RECHECK, "PreparePark", "Resume", "LogicalExit"}
    elif cfg.mode == "pooled":
        assert writers == {"PollPass", "PreparePark", "Resume", "LogicalExit"}
    elif cfg.mode == "thread-per-session":
        assert writers == {"StagingWake", "PreparePark", "Resume", "LogicalExit"}
    else:
        assert writers == {"LogicalExit"}


CITE = re.compile(r"§\d|\b[TSBHLC]\d+\b")


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_every_action_cites_the_design_and_is_documented(cfg: ModelConfig) -> None:
    spec = build(cfg)
    assert spec.actions
    for a in spec.actions:
        assert a.cite.strip(), f"{a.name} has no citation"
        assert CITE.search(a.cite), f"{a.name}: citation {a.cite!r} names no digest section or id"
        assert a.doc.strip(), f"{a.name} has no docstring"
        assert (a.fn.__doc__ or "").strip(), f"{a.name} has no docstring"


def test_all_shapes_together_trace_every_action() -> None:
    names = set()
    for cfg in CONFIGS:
        names |= {a.name for a in build(cfg).actions}
    # Every action of the model modules is reachable through some configuration above.
    expected = {
        "StartCarrier", "LeaseRunnable", "AttachLeased", "TakeNewConnection", "PollTake", "PollPass",
        "PollImmediate", "PollWait", "PollRecheck",
        "Startup", "StepTop", "ServiceWakes", "ConsumeTypeByte", "ReadEOF", "BlockedReadWake", "StickyWait",
        "StickyWaitEnd", "PreparePark", "UnwindStep", "CommitPark", "Detach", "EnqueuePark", "Resume", "ReadBody",
        "Execute", "DeepWaitElapsed", "DeepWaitWake", "LogicalExit", "StagingWake", "StagingLease",
        "ClientSendByte", "ClientSendBody", "ClientClose", "SendInterrupt", "TimeoutDue", "TimeoutReschedule",
        "TransportChange", "IdleTimePasses", "PostmasterDies",
    }
    assert expected <= names, expected - names
