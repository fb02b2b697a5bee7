"""The environment of the code model: the design's (model/environment.py) with three changes
the C code requires.

- Idle time since the park's commit passes whatever the queue state (PgProtocolParkHibernateDelayMs
  reads committed_at), only with hibernate_after_ms > 0.
- Timeout and transport generations change only in the attached backend's own code
  (advance_timeout_generation in timeout.c, pq_recvbuf/pq_probe_recvbuf in pqcomm.c), so a stale
  park spec arises only while the park is PREPARED, before T3.
- Postmaster death is process death for threaded carriers (they are postmaster threads): nothing
  runs after it (build.py guards every action with the postmaster being alive).
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang.spec import Spec, require
from pgcheck.model.config import ModelConfig


def adapt_environment(spec: Spec, cfg: ModelConfig) -> None:
    names = {a.name for a in spec.actions}
    tick = "weak" if cfg.get("time_passes") else None
    if "IdleTimePasses" in names:
        spec.remove_action("IdleTimePasses")
    if cfg.mode == "pooled" and cfg.get("hibernate_after_ms") > 0:

        @spec.action(b="session", fairness=tick, cite="PgProtocolParkHibernateDelayMs (committed_at)")
        def IdleTimePasses(s: Any, b: int) -> None:
            """hibernate_after_ms pass since the park's commit (in whatever queue state)."""
            ses = s.session[b]
            require((ses.ps == "committed") & ~ses.long_idle)
            ses.long_idle = True

    if "TimeoutReschedule" in names:

        def reschedule(s: Any, b: int) -> None:
            """The attached backend's timeout state changes between T1 and T3 (advance_timeout_generation)."""
            ses = s.session[b]
            require((s.env.reschedules > 0) & (ses.ps == "prepared") & ~ses.tmstale)
            ses.tmstale = True
            s.env.reschedules = s.env.reschedules - 1

        spec.replace_action("TimeoutReschedule", reschedule)
    if "TransportChange" in names:

        def transport(s: Any, b: int) -> None:
            """The attached backend reads on its connection between T1 and T3 (transport_generation++)."""
            ses = s.session[b]
            require((s.env.transport_changes > 0) & (ses.ps == "prepared") & ~ses.tstale)
            ses.tstale = True
            s.env.transport_changes = s.env.transport_changes - 1

        spec.replace_action("TransportChange", transport)
    if "SendInterrupt" in names:
        send = next(a.fn for a in spec.actions if a.name == "SendInterrupt")

        def send_connected(s: Any, b: int, kind: str) -> None:
            require(s.session[b].pc != "absent")
            send(s, b=b, kind=kind)

        spec.replace_action("SendInterrupt", send_connected)
