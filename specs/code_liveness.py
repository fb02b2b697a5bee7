"""Liveness of the code model beyond the design's L1-L14 (specs/liveness.py)."""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang.spec import Spec
from pgcheck.model.config import ModelConfig


def add_code_liveness(spec: Spec, cfg: ModelConfig) -> None:
    skipped: dict[str, str] = spec.meta.setdefault("liveness_skipped", {})
    spec.temporal = [t for t in spec.temporal if t.id != "L12"]
    skipped["L12"] = "code model: postmaster death is process death (carriers are postmaster threads), so nothing runs after it"
    talks = cfg.get("messages") > 0 and cfg.get("active_clients") > 0
    if cfg.mode != "process" and talks:

        @spec.leads_to(
            "L15",
            "input is eventually read: a type byte on a session's socket is eventually consumed (no park/wake loop that never reads)",
            "§5 L1 (the read, not only the resume), B17, SocketBackendProtocolPark",
            ("WF-carriers", "think_time", "clients_finish_messages"),
            each="session",
            never="session {i} has a type byte on its socket that is never read",
        )
        def l15(s: Any, b: int) -> tuple[object, object]:
            ses = s.session[b]
            waiting = (ses.inbuf == "byte") | (ses.inbuf == "whole")
            read = ~waiting | (ses.pc == "gone")
            return waiting, read | ~s.env.pm_alive
    else:
        skipped["L15"] = "needs a parking mode and a client that sends (messages > 0, active_clients > 0)"
