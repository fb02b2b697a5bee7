"""Build the runtime model for one configuration (mode, carriers, sessions, options).

    spec = build(ModelConfig("pooled", carriers=3, sessions=5))
    traced = spec.trace()

The three runtime shapes of §2.1 share the session step; they differ in who carries a
session: `process` (one process per backend, blocking reads, no park), `thread-per-session`
(each session's own thread parks and resumes its backend, §2.8), `pooled` (a bounded,
demand-started pool with the parked-read poller, §2.5-§2.6).
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec
from pgcheck.model.carrier_loop import add_carrier_loop
from pgcheck.model.config import ModelConfig
from pgcheck.model.environment import add_environment
from pgcheck.model.session_step import add_session_step
from pgcheck.model.staging import add_staging
from pgcheck.model.state import declare_state

MODEL_NAME = "pgruntime"


def build(cfg: ModelConfig) -> Spec:
    from pgcheck.specs.client import add_client_properties, declare_client_ghosts
    from pgcheck.specs.liveness import add_liveness
    from pgcheck.specs.safety import add_safety
    from pgcheck.specs.steps import add_step_rules
    from pgcheck.specs.witnesses import add_witnesses

    spec = Spec(MODEL_NAME, params=cfg.as_params())
    declare_state(spec, cfg)
    declare_client_ghosts(spec, cfg)
    _initial_state(spec, cfg)
    if cfg.mode == "pooled":
        add_carrier_loop(spec, cfg)
        spec.symmetric("session")
        spec.symmetric("carrier")
    else:
        spec.symmetric("session", "carrier")  # carrier i is session i's own thread or process
    add_session_step(spec, cfg)
    if cfg.mode == "thread-per-session":
        add_staging(spec, cfg)
    add_environment(spec, cfg)
    add_safety(spec, cfg)
    add_witnesses(spec, cfg)
    add_liveness(spec, cfg)
    add_step_rules(spec, cfg)
    add_client_properties(spec, cfg)
    spec.quiescent(_quiescent)
    spec.meta["mode"] = cfg.mode
    return spec


def _initial_state(spec: Spec, cfg: ModelConfig) -> None:
    @spec.initially
    def init(s: Any) -> None:
        s.env.pm_alive = True
        for name in ("cancels", "terminates", "reloads", "notifies", "reschedules", "transport_changes"):
            setattr(s.env, name, cfg.get(name))
        for b in s.session.ids():
            ses = s.session[b]
            ses.cl = "connecting"
            ses.cl_budget = cfg.get("messages") if b < cfg.get("active_clients") else 0
            ses.listening = bool(cfg.get("listeners"))
        if cfg.mode == "pooled":
            # Every client has connected; its logical start waits in pooled_protocol_queue.
            s.sched.newconn = tuple(s.session.ids())
            return
        # Per-session shapes: session i's own carrier i is attached from the start.
        for b in s.session.ids():
            s.session[b].pc = "startup"
            s.session[b].car = b
            s.session[b].ecar = b
            s.session[b].latch = b
            s.carrier[b].loc = "step"
            s.carrier[b].cur = b
            s.carrier[b].proc = b
            if cfg.mode == "thread-per-session":
                s.carrier[b].reg = True  # each client thread registers as a carrier (§2.3)
        if cfg.mode == "thread-per-session":
            s.sched.registered = cfg.sessions
            s.sched.active_count = cfg.sessions


def _quiescent(s: Any) -> object:
    """Legitimately quiet: the postmaster is gone, or every session has exited or waits for a
    client that has nothing more to send."""
    def quiet(b: int) -> X.Expr:
        ses = s.session[b]
        waiting = (ses.pc == "probe") | (ses.pc == "parked") | (ses.pc == "sticky")
        done = (ses.cl == "idle") & (ses.cl_budget == 0) & (ses.inbuf == "empty")
        return (ses.pc == "gone") | (waiting & done)

    return ~s.env.pm_alive | X.all_of(s.session.ids(), quiet)
