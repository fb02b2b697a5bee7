"""Build the code model for one configuration: the C scheduler of samwillis/multithreaded-postgres
at c2c6ec31 (docs/code-map.md maps every action to its C functions).

It starts from the design model's session step, staging and environment (model/), which the
C code follows where docs/code-map.md says so, and replaces what the code does differently:
the read path (session_read.py), the pooled carrier pool and loop (carrier_pool.py), the poller
(poller.py) and three environment rules (environment.py).
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.model.carrier_loop import add_carrier_loop
from pgcheck.model.code.carrier_pool import add_code_carrier_pool
from pgcheck.model.code.environment import adapt_environment
from pgcheck.model.code.poller import add_code_poller
from pgcheck.model.code.session_read import replace_read_path
from pgcheck.model.code.state import declare_code_state
from pgcheck.model.config import DESIGN_ONLY, PARAM_BY_NAME, ModelConfig
from pgcheck.model.environment import add_environment
from pgcheck.model.runtime import _initial_state
from pgcheck.model.session_step import add_session_step
from pgcheck.model.staging import add_staging

CODE_MODEL_NAME = "pgruntime-code"
CODE_COMMIT = "c2c6ec31438905ae996eabd28101b89f07a3ddbe"


def design_view(cfg: ModelConfig) -> ModelConfig:
    """The design-model options that say what the code's GUCs say, for the shared modules."""
    options: dict[str, Any] = {k: v for k, v in cfg.options.items() if k in PARAM_BY_NAME and k not in DESIGN_ONLY}
    options["sticky_idle"] = cfg.get("sticky_idle_ms") > 0 or bool(cfg.get("fix_sticky_zero"))
    options["hibernate"] = cfg.mode == "pooled" and cfg.get("hibernate_after_ms") >= 0
    return ModelConfig(cfg.mode, cfg.carriers, cfg.sessions, options, "design")


def build_code(cfg: ModelConfig) -> Spec:
    from pgcheck.specs.code_liveness import add_code_liveness
    from pgcheck.specs.code_safety import add_code_safety
    from pgcheck.specs.liveness import add_liveness
    from pgcheck.specs.safety import add_safety
    from pgcheck.specs.witnesses import add_witnesses

    view = design_view(cfg)
    pooled = cfg.mode == "pooled"
    spec = Spec(CODE_MODEL_NAME, params=cfg.as_params())
    declare_code_state(spec, cfg, view)
    _initial_state(spec, view)
    _code_initial_state(spec, cfg)
    if pooled:
        add_carrier_loop(spec, view)
        for name in ("StartCarrier", "TakeNewConnection", "PollTake", "PollPass"):
            spec.remove_action(name)
        spec.symmetric("session")
        spec.symmetric("carrier")
    elif cfg.mode == "thread-per-session":
        spec.symmetric("session", "carrier")
    else:
        spec.symmetric("session", "carrier")
    add_session_step(spec, view)
    if cfg.mode != "process":
        replace_read_path(spec, cfg)
    if pooled:
        spec.remove_action("LogicalExit")
        add_code_carrier_pool(spec, cfg)
        add_code_poller(spec, cfg)
    if cfg.mode == "thread-per-session":
        add_staging(spec, view)
    add_environment(spec, view)
    adapt_environment(spec, cfg)
    if cfg.get("postmaster_death"):
        _process_death(spec)
    add_safety(spec, view)
    add_code_safety(spec, cfg)
    add_witnesses(spec, view)
    add_liveness(spec, view)
    add_code_liveness(spec, cfg)
    spec.quiescent(_quiescent)
    spec.meta["mode"] = cfg.mode
    spec.meta["model"] = "code"
    spec.meta["commit"] = CODE_COMMIT
    return spec


def _code_initial_state(spec: Spec, cfg: ModelConfig) -> None:
    @spec.initially
    def init(s: Any) -> None:
        for b in s.session.ids():
            s.session[b].ssl = b < cfg.get("ssl_sessions")
            s.session[b].cl_active = b < cfg.get("active_clients")
            if cfg.mode == "pooled":
                s.session[b].pc = "absent"  # every client connects later (ConnectionArrives)
        s.env.reconnects = cfg.get("reconnects")
        if cfg.mode == "pooled":
            s.sched.newconn = ()


def _process_death(spec: Spec) -> None:
    """Carriers are postmaster threads: after PostmasterDies nothing else runs (TAP 008)."""
    for a in list(spec.actions):
        if a.name == "PostmasterDies":
            continue
        fn = a.fn

        def guarded(s: Any, _fn: Any = fn, **params: Any) -> None:
            require(s.env.pm_alive)
            _fn(s, **params)

        spec.replace_action(a.name, guarded)


def _quiescent(s: Any) -> object:
    """Legitimately quiet: the process is gone, or every session has exited or waits for a client
    that has nothing more to send (parked, in the sticky wait, or in a blocking read)."""

    def quiet(b: int) -> X.Expr:
        ses = s.session[b]
        waiting = (ses.pc == "probe") | (ses.pc == "parked") | (ses.pc == "sticky") | (ses.pc == "blocked_read")
        done = (ses.cl == "idle") & (ses.cl_budget == 0) & (ses.inbuf == "empty")
        return (ses.pc == "gone") | (waiting & done)

    return ~s.env.pm_alive | X.all_of(s.session.ids(), quiet)
