"""The session step (§2.7) and the park/resume/exit transitions it drives (T1-T4, T12, T13).

Every action here runs on the attached carrier `c` of session `b`: it is enabled only
while c's Current* names b and c is inside the step.
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.model.config import ModelConfig
from pgcheck.model.poller_steps import forget_taken_generation
from pgcheck.model.state import MAILBOX, detach, output, reset_session, start_session
from pgcheck.model.vocabulary import OUT


def running(s: Any, c: int, b: int) -> X.Expr:
    """Carrier c is inside the step of session b."""
    return (s.carrier[c].loc == "step") & (s.carrier[c].cur == b)


def end_command(s: Any, b: int, ok: object, cfg: ModelConfig) -> None:
    """The command finished: result (or ErrorResponse), message done, ReadyForQuery due."""
    ses = s.session[b]
    output(s, b, "result", ok, cfg=cfg)
    output(s, b, "error", ~X.lift_bool(ok), cfg=cfg)
    ses.byte_car = None
    ses.send_rfq = True
    ses.cmd = "query"
    ses.pc = "top"


def service_wakes(s: Any, b: int, cfg: ModelConfig) -> None:
    """PgSessionServiceProtocolReadWake: due timeouts, the mailbox (consumed: exchange to 0),
    notify delivery outside a transaction or deferral inside one (T14), else T15."""
    ses = s.session[b]
    mb = ses.mbox
    fatal = X.set_has(mb, "die") | (ses.tmo_armed & ses.tmo_due)
    pending = ses.notify_pending | (X.set_has(mb, "notify") & ses.listening)
    deliver = ~fatal & pending & ~ses.in_xact
    ses.mbox = X.empty_set(MAILBOX)
    # A cancel while idle is a no-op: nothing is sent (C3).
    output(s, b, "notification", deliver, cfg=cfg)
    # ProcessInterrupts tests ProcDiePending before the idle timeouts: a terminate wins.
    idle_cause = X.when(ses.in_xact, X.lift("fatal_xact_timeout", OUT), X.lift("fatal_idle_timeout", OUT))
    output(s, b, "fatal", fatal, cfg=cfg, cause=X.when(X.set_has(mb, "die"), X.lift("fatal_die", OUT), idle_cause))
    ses.notify_pending = pending & ~deliver
    ses.deferred = X.when(fatal, ses.deferred, pending & ses.in_xact)  # T14 / T15
    ses.tmo_armed = X.when(fatal, False, ses.tmo_armed)
    ses.tmo_due = X.when(fatal, False, ses.tmo_due)
    ses.pc = X.when(fatal, "exit", "probe")


def add_session_step(spec: Spec, cfg: ModelConfig) -> None:
    parking = cfg.mode != "process"
    sticky = cfg.get("sticky_idle") and parking
    pooled = cfg.mode == "pooled"

    if not pooled:

        @spec.action(c="carrier", b="session", fairness="weak", cite="§2.5 step 2, B7 fix")
        def Startup(s: Any, c: int, b: int) -> None:
            """The session's own carrier runs authentication and InitPostgres, then resets the latch (B7)."""
            require(running(s, c, b) & (s.session[b].pc == "startup"))
            start_session(s, b)

    @spec.action(c="carrier", b="session", fairness="weak", cite="§2.7 steps 1-3 and 4a")
    def StepTop(s: Any, c: int, b: int) -> None:
        """Top of the step: outside a transaction deliver a pending notification, send ReadyForQuery,
        arm the idle timeout, doing_command_read := true; then service wakes (one step: nothing
        another party does between them changes what the service sees, the mailbox is level-triggered)."""
        require(running(s, c, b) & (s.session[b].pc == "top"))
        ses = s.session[b]
        rfq = ses.send_rfq
        deliver = rfq & ses.notify_pending & ~ses.in_xact
        output(s, b, "notification", deliver, cfg=cfg)  # ProcessNotifyInterrupt(false), S24
        ses.notify_pending = X.when(deliver, False, ses.notify_pending)
        output(s, b, "rfq", rfq, cfg=cfg)
        arm = X.when(ses.in_xact, cfg.get("idle_in_xact_timeout"), cfg.get("idle_session_timeout"))
        ses.tmo_armed = X.when(rfq, arm, ses.tmo_armed)
        ses.tmo_due = X.when(rfq, False, ses.tmo_due)
        ses.send_rfq = False
        ses.dcr = True
        service_wakes(s, b, cfg)

    @spec.action(c="carrier", b="session", fairness="weak", cite="§2.7 4a PgSessionServiceProtocolReadWake, T14/T15")
    def ServiceWakes(s: Any, c: int, b: int) -> None:
        """After a resume: service the wake before probing (the Parked Wake Service Contract, §3.4)."""
        require(running(s, c, b) & (s.session[b].pc == "service"))
        service_wakes(s, b, cfg)

    @spec.action(c="carrier", b="session", fairness="weak", cite="§2.7 4b/4e, S9, S23")
    def ConsumeTypeByte(s: Any, c: int, b: int) -> None:
        """The probe finds a type byte and consumes it: from here the carrier is pinned (S9)."""
        require(running(s, c, b) & (s.session[b].pc == "probe"))
        ses = s.session[b]
        require((ses.inbuf == "byte") | (ses.inbuf == "whole"))
        ses.inbuf = X.when(ses.inbuf == "whole", "body", "empty")
        ses.byte_car = c
        ses.holdoff = 1  # query_cancel_holdoff_count++ while the body is read
        ses.dcr = False
        ses.tmo_armed = False  # disable idle timeouts after a byte
        ses.tmo_due = False
        ses.sticky_done = False
        ses.pc = "body"

    @spec.action(c="carrier", b="session", fairness="weak", cite="§2.7 4e SocketBackendHandleEOF, L6")
    def ReadEOF(s: Any, c: int, b: int) -> None:
        """The probe finds EOF: the client closed; the step returns DONE."""
        require(running(s, c, b) & (s.session[b].pc == "probe"))
        require((s.session[b].inbuf == "empty") & (s.session[b].cl == "closed"))
        s.session[b].pc = "exit"

    if not parking:

        @spec.action(c="carrier", b="session", fairness="weak", cite="§2.1 process shape: blocking read")
        def BlockedReadWake(s: Any, c: int, b: int) -> None:
            """A process backend blocked in its read is woken by an interrupt or a due timeout."""
            require(running(s, c, b) & (s.session[b].pc == "probe"))
            ses = s.session[b]
            require((ses.inbuf == "empty") & (ses.cl != "closed"))
            require(~X.is_empty(ses.mbox) | (ses.tmo_armed & ses.tmo_due))
            ses.pc = "service"

    if sticky:

        @spec.action(c="carrier", b="session", fairness="weak", cite="§2.7 4c SocketBackendStickyIdleWait, H6")
        def StickyWait(s: Any, c: int, b: int) -> None:
            """No byte yet: wait attached for up to pooled_protocol_sticky_idle_ms."""
            require(running(s, c, b) & (s.session[b].pc == "probe"))
            ses = s.session[b]
            require((ses.inbuf == "empty") & (ses.cl != "closed") & ~ses.sticky_done)
            ses.pc = "sticky"

        @spec.action(c="carrier", b="session", fairness="weak", cite="§2.7 4c")
        def StickyWaitEnd(s: Any, c: int, b: int) -> None:
            """The sticky wait ends (input, interrupt, or its time): service wakes again, re-probe."""
            require(running(s, c, b) & (s.session[b].pc == "sticky"))
            s.session[b].sticky_done = True
            s.session[b].pc = "service"

    if parking:

        @spec.action(c="carrier", b="session", fairness="weak", cite="T1 PgBackendPrepareProtocolReadPark, S10")
        def PreparePark(s: Any, c: int, b: int) -> None:
            """No byte: record a park spec with fresh generations (ps := PREPARED)."""
            require(running(s, c, b) & (s.session[b].pc == "probe"))
            ses = s.session[b]
            require((ses.inbuf == "empty") & (ses.cl != "closed") & ses.dcr)
            if sticky:
                require(ses.sticky_done)
            ses.ps = "prepared"
            if cfg.get("poll_steps"):
                forget_taken_generation(s, b)  # T1: spec.generation = ++next_generation
            ses.wake = "none"
            ses.tstale = False
            ses.tmstale = False
            ses.pc = "prepared"

        @spec.action(c="carrier", b="session", fairness="weak", cite="T2")
        def UnwindStep(s: Any, c: int, b: int) -> None:
            """The step returns PG_STEP_PARK_PROTOCOL_READ: its frame unwinds (S11)."""
            require(running(s, c, b) & (s.session[b].pc == "prepared"))
            s.session[b].frame = False
            s.session[b].pc = "unwound"

        @spec.action(c="carrier", b="session", fairness="weak", cite="T3 PgCarrierCommitProtocolReadPark, §2.7 hibernate")
        def CommitPark(s: Any, c: int, b: int) -> None:
            """Commit the park: idle-memory compaction (hibernate), ps := COMMITTED, parked_carrier := c."""
            require(running(s, c, b) & (s.session[b].pc == "unwound") & (s.session[b].ps == "prepared"))
            ses = s.session[b]
            if cfg.get("hibernate"):
                ses.hibernated = ses.hibernated | (ses.last_long & ~ses.in_xact)
            ses.ps = "committed"
            ses.pcar = c
            ses.pc = "committed"

        @spec.action(c="carrier", b="session", fairness="weak", cite="T3 detach")
        def Detach(s: Any, c: int, b: int) -> None:
            """Detach: the backend owns no carrier from here (commit window, H5)."""
            require(running(s, c, b) & (s.session[b].pc == "committed"))
            detach(s, c, b)
            s.session[b].pc = "detached"
            s.carrier[c].loc = "commit"

        @spec.action(c="carrier", b="session", fairness="weak", cite="T4 PgRuntimeProtocolSchedulerParkBackend")
        def EnqueuePark(s: Any, c: int, b: int) -> None:
            """Push the committed park onto the parked queue under the lock."""
            require((s.carrier[c].loc == "commit") & (s.session[b].pc == "detached") & (s.session[b].pcar == c))
            ses = s.session[b]
            s.sched.parked = X.fifo_push(s.sched.parked, b)
            s.sched.parked_count = s.sched.parked_count + 1
            ses.q = "parked"
            ses.pc = "parked"
            s.carrier[c].loc = "loop" if pooled else "stage"

        @spec.action(c="carrier", b="session", fairness="weak", cite="T12 PgBackendResumeProtocolReadPark")
        def Resume(s: Any, c: int, b: int) -> None:
            """Resume the park on the attached carrier: record same/migrated, copy and clear the wake,
            reset the latch after a latch wake, re-enter the step."""
            require(running(s, c, b) & (s.session[b].pc == "resume"))
            ses = s.session[b]
            latch_wake = (ses.wake == "logical") | (ses.wake == "notify")
            ses.latch_set = X.when(latch_wake, False, ses.latch_set)  # ResetLatch after a latch wake
            ses.wake = "none"
            ses.ps = "none"
            ses.q = "none"
            ses.last_long = ses.long_idle
            ses.long_idle = False
            ses.hibernated = False
            ses.pcar = None
            ses.lease_owner = None
            ses.tstale = False
            ses.tmstale = False
            ses.frame = True
            ses.dcr = True
            ses.pc = "service"  # send_ready_for_query is false after a park: straight to the wake service

    @spec.action(c="carrier", b="session", fairness="weak", cite="§2.7 4e SocketBackendReadMessageBody")
    def ReadBody(s: Any, c: int, b: int) -> None:
        """Read the message body (the carrier blocks, pinned, until the client sends it)."""
        require(running(s, c, b) & (s.session[b].pc == "body") & (s.session[b].inbuf == "body"))
        ses = s.session[b]
        ses.inbuf = "empty"
        ses.cmd = ses.cl_cmd
        ses.holdoff = 0
        ses.pc = "exec"

    @spec.action(c="carrier", b="session", fairness="weak", cite="§2.7 step 5: CHECK_FOR_INTERRUPTS, dispatch")
    def Execute(s: Any, c: int, b: int) -> None:
        """Apply pending interrupts, then run the command: a query, BEGIN, COMMIT, LISTEN, or start a
        deep wait (pg_sleep) that keeps the carrier pinned (S12)."""
        execute(s, c, b, notify_self=False)

    if cfg.get("self_notify"):

        @spec.action(c="carrier", b="session", fairness="weak", cite="Async_Notify, AtCommit_Notify, ProcessNotifyInterrupt")
        def ExecuteNotifySelf(s: Any, c: int, b: int) -> None:
            """Execute, and the command NOTIFYs a channel this session listens on (with LISTEN in the
            same message, or committing a transaction that notified): once the transaction has
            committed the session's own notification is pending, delivered before its ReadyForQuery."""
            execute(s, c, b, notify_self=True)

    def execute(s: Any, c: int, b: int, notify_self: bool) -> None:
        require(running(s, c, b) & (s.session[b].pc == "exec"))
        ses = s.session[b]
        mb = ses.mbox
        die = X.set_has(mb, "die")
        cancel = ~die & X.set_has(mb, "cancel")
        normal = ~die & ~cancel
        cmd = ses.cmd
        sleeping = normal & (cmd == "sleep")
        ses.mbox = X.empty_set(MAILBOX)
        ses.notify_pending = ses.notify_pending | (X.set_has(mb, "notify") & ses.listening)
        ses.in_xact = X.when(normal & (cmd == "begin"), True, X.when(normal & (cmd == "commit"), False, ses.in_xact))
        ses.listening = ses.listening | (normal & (cmd == "listen"))
        ses.sleep_pending = sleeping
        output(s, b, "fatal", die, cfg=cfg, cause="fatal_die")
        finished = ~die & ~sleeping
        output(s, b, "result", finished & normal, cfg=cfg)
        output(s, b, "error", cancel, cfg=cfg)
        ses.byte_car = X.when(finished, None, ses.byte_car)
        ses.send_rfq = X.when(finished, True, ses.send_rfq)
        ses.cmd = X.when(finished, "query", cmd)
        ses.pc = X.when(die, "exit", X.when(sleeping, "deep_wait", "top"))
        if notify_self:
            # The NOTIFY commits in this step (outside a transaction block after it) on a
            # channel the session listens on after it.
            require(normal & ((cmd == "query") | (cmd == "commit") | (cmd == "listen")))
            require(ses.listening & ~ses.in_xact)
            ses.notify_pending = True

    @spec.action(c="carrier", b="session", fairness="weak", cite="§0 deep waits never detach")
    def DeepWaitElapsed(s: Any, c: int, b: int) -> None:
        """The deep wait's time passes: the command completes."""
        require(running(s, c, b) & (s.session[b].pc == "deep_wait"))
        s.session[b].sleep_pending = False
        end_command(s, b, True, cfg)

    @spec.action(c="carrier", b="session", fairness="weak", cite="§2.9 SetLatch, S15, B2")
    def DeepWaitWake(s: Any, c: int, b: int) -> None:
        """The latch this carrier waits on is set: apply interrupts; a cancel ends the wait with an
        error, a terminate exits, anything else keeps waiting."""
        require(running(s, c, b) & (s.session[b].pc == "deep_wait"))
        ses = s.session[b]
        require(ses.latch_set & (ses.latch == c))
        mb = ses.mbox
        die = X.set_has(mb, "die")
        cancel = ~die & X.set_has(mb, "cancel")
        ses.latch_set = False
        ses.mbox = X.empty_set(MAILBOX)
        ses.notify_pending = ses.notify_pending | (X.set_has(mb, "notify") & ses.listening)
        ses.sleep_pending = ses.sleep_pending & ~die & ~cancel
        output(s, b, "fatal", die, cfg=cfg, cause="fatal_die")
        output(s, b, "error", cancel, cfg=cfg)
        ses.byte_car = X.when(cancel, None, ses.byte_car)
        ses.send_rfq = X.when(cancel, True, ses.send_rfq)
        ses.cmd = X.when(cancel, "query", ses.cmd)
        ses.pc = X.when(die, "exit", X.when(cancel, "top", "deep_wait"))

    @spec.action(c="carrier", b="session", fairness="weak", cite="T13 RemoveBackend, §2.5 exit, S28, S29")
    def LogicalExit(s: Any, c: int, b: int) -> None:
        """Logical exit: leave every queue (T13), close the connection, detach; a pooled carrier
        returns to its loop (S29), a dedicated thread or process ends."""
        require(running(s, c, b) & (s.session[b].pc == "exit"))
        s.sched.parked = X.fifo_remove(s.sched.parked, b)
        s.sched.runnable = X.fifo_remove(s.sched.runnable, b)
        output(s, b, "fatal", cfg=cfg)  # the connection closes: EOF
        detach(s, c, b)
        reset_session(s, b)
        s.session[b].pc = "gone"
        if pooled:
            s.carrier[c].loc = "loop"
        else:
            s.carrier[c].loc = "dead"
            if cfg.mode == "thread-per-session":
                s.carrier[c].reg = False
                s.carrier[c].idle = False
                s.sched.registered = s.sched.registered - 1
                s.sched.idle_count = s.sched.idle_count - 1
