"""The session's read path as the C code has it (postgres.c SocketBackendProtocolPark and
SocketBackendStickyIdleWait, backend_runtime_backend.c T1/T3/T12), replacing the design
model's probe, sticky wait, prepare, commit and resume actions.

- The park path's probe (PgConnectionProbeBufferedMessageType) reads only bytes already in
  user space; clients here send one message at a time, so it never finds one. The kernel
  socket is read only inside the sticky idle wait (poll + pq_startmsgread_getbyte, or
  PgConnectionProbeMessageType), which runs on every pass, after every resume, and not at all
  with sticky_idle_ms = 0 (C3).
- A transport with no wait events (SSL, GSS) makes PgBackendPrepareProtocolReadPark refuse;
  the session then blocks in pq_startmsgread_getbyte on its carrier (C4).
- T3's hibernate: PgSessionReleasePooledProtocolIdleMemory sets `hibernated` only outside a
  transaction, with compaction on, and when PgSessionShouldHibernatePooledProtocolIdle says so.
- T12 (PgBackendResumeProtocolReadPark) writes the park state without the lock and the queue
  state last: two steps.
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.model.config import ModelConfig
from pgcheck.model.session_step import running, service_wakes


def can_park(s: Any, b: int, cfg: ModelConfig) -> X.Expr:
    """pq_connection_transport_wait_events reports WL_SOCKET_READABLE (not SSL/GSS, or the fix)."""
    if cfg.get("fix_ssl_park"):
        return X.lift_bool(True)
    return ~s.session[b].ssl


def _consume_byte(s: Any, c: int, b: int, when: X.Expr) -> None:
    """A type byte is read from the kernel socket: from here the carrier is pinned (S9)."""
    ses = s.session[b]
    ses.inbuf = X.when(when, X.when(ses.inbuf == "whole", "body", "empty"), ses.inbuf)
    ses.byte_car = X.when(when, c, ses.byte_car)
    ses.holdoff = X.when(when, 1, ses.holdoff)
    ses.dcr = X.when(when, False, ses.dcr)
    ses.tmo_armed = X.when(when, False, ses.tmo_armed)
    ses.tmo_due = X.when(when, False, ses.tmo_due)


def replace_read_path(spec: Spec, cfg: ModelConfig) -> None:
    pooled = cfg.mode == "pooled"
    sticky = cfg.get("sticky_idle_ms") > 0 or cfg.get("fix_sticky_zero")
    after = cfg.get("hibernate_after_ms")
    compaction = cfg.get("idle_memory_compaction")
    for name in ("ConsumeTypeByte", "ReadEOF", "PreparePark", "CommitPark", "Resume"):
        spec.remove_action(name)
    for name in ("StickyWait", "StickyWaitEnd"):
        if any(a.name == name for a in spec.actions):
            spec.remove_action(name)

    if sticky:

        @spec.action(c="carrier", b="session", fairness="weak", cite="SocketBackendStickyIdleWait, PgSessionServiceProtocolReadWake, pq_startmsgread_getbyte")
        def StickyWait(s: Any, c: int, b: int) -> None:
            """The buffered probe found nothing: wait attached up to sticky_idle_ms for the socket
            (not for a transport without wait events), service wakes, then read the type byte from the
            kernel if one came, EOF if the client closed, else go on to park. One step: only this
            carrier and the client touch it, and the client's send before or after the step gives both
            outcomes. With fix_sticky_zero at 0 ms: a kernel probe without the wait."""
            require(running(s, c, b) & (s.session[b].pc == "probe"))
            ses = s.session[b]
            require(~ses.sticky_done & can_park(s, b, cfg))
            service_wakes(s, b, cfg)
            fatal = ses.pc == "exit"
            has_byte = ~fatal & ((ses.inbuf == "byte") | (ses.inbuf == "whole"))
            eof = ~fatal & ~has_byte & (ses.cl == "closed") & (ses.inbuf == "empty")
            _consume_byte(s, c, b, has_byte)
            ses.sticky_done = True
            ses.pc = X.when(fatal | eof, "exit", X.when(has_byte, "body", "probe"))

    @spec.action(c="carrier", b="session", fairness="weak", cite="T1 PgBackendPrepareProtocolReadPark, SocketBackendProtocolPark")
    def PreparePark(s: Any, c: int, b: int) -> None:
        """No byte seen: build the park spec (ps := PREPARED). A transport without wait events is
        refused and the session falls back to a blocking read on its carrier."""
        require(running(s, c, b) & (s.session[b].pc == "probe"))
        ses = s.session[b]
        require(ses.dcr & X.is_null(ses.byte_car))
        if sticky:
            require(ses.sticky_done | ~can_park(s, b, cfg))
        ok = can_park(s, b, cfg)
        ses.ps = X.when(ok, "prepared", ses.ps)
        ses.wake = X.when(ok, "none", ses.wake)
        ses.tstale = X.when(ok, False, ses.tstale)
        ses.tmstale = X.when(ok, False, ses.tmstale)
        ses.pc = X.when(ok, "prepared", "blocked_read")

    @spec.action(c="carrier", b="session", fairness="weak", cite="SocketBackendProtocolPark: pq_startmsgread_getbyte (carrier-pinned)")
    def BlockedRead(s: Any, c: int, b: int) -> None:
        """The blocking read returns: a type byte, or EOF."""
        require(running(s, c, b) & (s.session[b].pc == "blocked_read"))
        ses = s.session[b]
        has_byte = (ses.inbuf == "byte") | (ses.inbuf == "whole")
        eof = (ses.cl == "closed") & (ses.inbuf == "empty")
        require(has_byte | eof)
        _consume_byte(s, c, b, has_byte)
        ses.pc = X.when(has_byte, "body", "exit")

    @spec.action(c="carrier", b="session", fairness="weak", cite="secure_read -> ProcessClientReadInterrupt(true) while blocked")
    def BlockedReadInterrupt(s: Any, c: int, b: int) -> None:
        """An interrupt or a due timeout reaches the blocked read: service it, then read again."""
        require(running(s, c, b) & (s.session[b].pc == "blocked_read"))
        ses = s.session[b]
        require(~X.is_empty(ses.mbox) | (ses.tmo_armed & ses.tmo_due))
        service_wakes(s, b, cfg)
        ses.pc = X.when(ses.pc == "exit", "exit", "blocked_read")

    @spec.action(c="carrier", b="session", fairness="weak", cite="T3 PgSessionCommitCurrentProtocolReadPark, PgSessionReleasePooledProtocolIdleMemory")
    def CommitPark(s: Any, c: int, b: int) -> None:
        """Commit: idle-memory compaction sets `hibernated` (pooled, outside a transaction, compaction
        on, and after = 0 or the last park lasted after_ms); ps := COMMITTED, committed_at, parked_carrier."""
        require(running(s, c, b) & (s.session[b].pc == "unwound") & (s.session[b].ps == "prepared"))
        ses = s.session[b]
        if pooled and compaction > 0 and after >= 0:
            should = X.lift_bool(True) if after == 0 else ses.last_long
            ses.hibernated = ses.hibernated | (should & ~ses.in_xact)
        ses.ps = "committed"
        ses.long_idle = False  # committed_at := now
        ses.pcar = c
        ses.pc = "committed"

    @spec.action(c="carrier", b="session", fairness="weak", cite="T12 PgBackendResumeProtocolReadPark (park state, unlocked)")
    def Resume(s: Any, c: int, b: int) -> None:
        """T12 first part, no lock: last_park_duration, state NONE, spec zeroed, committed_at 0,
        wake fields cleared, hibernated false, parked_carrier NULL; ResetLatch after a latch wake
        (backend_pooled_protocol_resume_logical_start reads wake_events before T12)."""
        require(running(s, c, b) & (s.session[b].pc == "resume"))
        ses = s.session[b]
        latch_wake = (ses.wake == "logical") | (ses.wake == "notify")
        ses.latch_set = X.when(latch_wake, False, ses.latch_set)
        ses.wake = "none"
        ses.ps = "none"
        ses.last_long = ses.long_idle
        ses.long_idle = False
        ses.hibernated = False
        ses.pcar = None
        ses.tstale = False
        ses.tmstale = False
        ses.pc = "resume_queue"

    @spec.action(c="carrier", b="session", fairness="weak", cite="T12 PgBackendResumeProtocolReadPark (scheduler_queue_state, last, unlocked)")
    def ResumeQueueState(s: Any, c: int, b: int) -> None:
        """T12 last write: scheduler_queue_state := NONE without the lock; the step runs again from
        SocketBackendProtocolPark, so the sticky wait runs again on this pass."""
        require(running(s, c, b) & (s.session[b].pc == "resume_queue"))
        ses = s.session[b]
        ses.q = "none"
        ses.lease_owner = None
        ses.frame = True
        ses.dcr = True
        ses.sticky_done = False
        ses.pc = "service"
