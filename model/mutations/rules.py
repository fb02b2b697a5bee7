"""Seeded bugs written from the digest's rules about steps, ordering and client guarantees.

Each breaks one rule of scheduler-digest.md that a plausible C mistake would break: who
may write a backend's fields (§2.4), where a logical exit runs (§2.5), that detached
code never fires timeouts (§2.10) nor consumes bytes (§3.3), FIFO discipline (T8/T9,
§2.5 step 2), interrupt addressing (§2.9), and what the client is owed (§2.7). They are
caught by the action properties of specs/steps.py and the client properties of
specs/client.py, several of them in runtime shapes where the older properties are silent.
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.model.config import ModelConfig
from pgcheck.model.mutations.base import Mutation, config, patch, replace, weaken_check
from pgcheck.model.state import MAILBOX, attach, output, start_session, wake_reasons

# What PgBackendExit leaves of a backend (model/state.py reset_session), for a conditional reset.
EXIT_RESET: dict[str, object] = {
    "ps": "none", "q": "none", "wake": "none", "pcar": None, "latch": None, "frame": False, "dcr": False,
    "in_xact": False, "listening": False, "mbox": (),
}


def exit_runs_detached(spec: Spec, cfg: ModelConfig) -> None:
    def PollPass(s: Any, original: Any, c: int) -> None:
        batch = s.carrier[c].batch
        closed = {
            i: X.fifo_has(batch, i) & s.env.pm_alive & (wake_reasons(s, i, cfg, latch_wakes=False)[1] == "closed")
            for i in s.session.ids()
        }
        original(s, c=c)
        for i in s.session.ids():
            # BUG (§2.5 exit, T13): the poller finishes a parked backend whose client hung up by
            # itself (unlink, PgBackendExit, close) instead of making it runnable for its own exit.
            s.sched.runnable = X.when(closed[i], X.fifo_remove(s.sched.runnable, i), s.sched.runnable)
            s.sched.runnable_count = X.fifo_len(s.sched.runnable)
            ses = s.session[i]
            for fname, value in EXIT_RESET.items():
                before = getattr(ses, fname)
                setattr(ses, fname, X.when(closed[i], X.lift(value, before.ty), before))
            ses.pc = X.when(closed[i], "gone", ses.pc)

    patch(spec, "PollPass", PollPass)


def wake_marked_by_sender(spec: Spec, cfg: ModelConfig) -> None:
    def SendInterrupt(s: Any, original: Any, b: int, kind: str) -> None:
        ses = s.session[b]
        parked = (ses.q == "parked") & (ses.ps == "committed") & (ses.wake == "none")
        original(s, b=b, kind=kind)
        # BUG (§2.4, T7): to cut wake latency the sender marks the LOGICAL wake on the parked
        # backend itself, a thread that does not hold it (no lock, not the poller).
        ses.wake = X.when(parked, "logical", ses.wake)

    patch(spec, "SendInterrupt", SendInterrupt)


def staging_timeout_handler_detached(spec: Spec, cfg: ModelConfig) -> None:
    def StagingWake(s: Any, original: Any, c: int, b: int) -> None:
        ses = s.session[b]
        due = ses.tmo_armed & ses.tmo_due
        original(s, c=c, b=b)
        # BUG (§2.10): the staging wait sees WL_TIMEOUT and runs the idle-session-timeout handler
        # right there, before leasing its backend back: FATAL from detached code.
        ses.tmo_armed = X.when(due, False, ses.tmo_armed)
        ses.tmo_due = X.when(due, False, ses.tmo_due)
        output(s, b, "fatal", due)

    patch(spec, "StagingWake", StagingWake)


def poller_reads_type_byte(spec: Spec, cfg: ModelConfig) -> None:
    def PollPass(s: Any, original: Any, c: int) -> None:
        batch = s.carrier[c].batch
        reads = {i: X.fifo_has(batch, i) & s.env.pm_alive & (s.session[i].inbuf == "byte") for i in s.session.ids()}
        original(s, c=c)
        for i in s.session.ids():
            # BUG (§3.3, S23): the readability check reads one byte (recv() without MSG_PEEK):
            # the type byte is gone from the socket before any attached probe saw it.
            s.session[i].inbuf = X.when(reads[i], "empty", s.session[i].inbuf)

    patch(spec, "PollPass", PollPass)


def runnable_pushed_at_head(spec: Spec, cfg: ModelConfig) -> None:
    def PollPass(s: Any, original: Any, c: int) -> None:
        before = s.sched.runnable
        original(s, c=c)
        # BUG (T8): make-runnable pushes at the head (dlist_push_head): a backend woken now is
        # leased before the ones that were already waiting.
        joined = X.fifo_filter(s.sched.runnable, lambda x: ~X.fifo_has(before, x))
        s.sched.runnable = X.fifo_concat(joined, before)

    patch(spec, "PollPass", PollPass)


def newconn_taken_out_of_order(spec: Spec, cfg: ModelConfig) -> None:
    def TakeNewConnection(s: Any, c: int, b: int) -> None:
        require(s.carrier[c].loc == "loop")
        require(X.is_empty(s.sched.runnable))
        # BUG (§2.5 step 2): the dequeue takes any queued logical start (a scan for one whose
        # socket is ready first), not the head of pooled_protocol_queue.
        require(X.fifo_has(s.sched.newconn, b))
        s.sched.newconn = X.fifo_remove(s.sched.newconn, b)
        attach(s, c, b)
        start_session(s, b)
        s.carrier[c].loc = "step"

    replace(spec, "TakeNewConnection", TakeNewConnection)


def interrupt_to_wrong_session(spec: Spec, cfg: ModelConfig) -> None:
    n = cfg.sessions

    def SendInterrupt(s: Any, original: Any, b: int, kind: str) -> None:
        other = (b + 1) % n
        mine, theirs = s.session[b].mbox, s.session[other].mbox
        original(s, b=b, kind=kind)
        # BUG (§2.9, PgBackendSendInterruptById): the id is looked up in a registry slot that was
        # reused, and the bit lands in the next backend's mailbox, not the target's.
        s.session[b].mbox = mine
        s.session[other].mbox = X.set_add(theirs, kind)
        s.session[other].latch_set = True

    patch(spec, "SendInterrupt", SendInterrupt)


def notify_dropped_on_deferral(spec: Spec, cfg: ModelConfig) -> None:
    def ServiceWakes(s: Any, original: Any, c: int, b: int) -> None:
        ses = s.session[b]
        in_xact = ses.in_xact
        original(s, c=c, b=b)
        # BUG (§3.4, T14): inside a transaction block the wake service clears the pending
        # notification instead of deferring it: nothing is left to deliver after COMMIT.
        ses.notify_pending = X.when(in_xact, False, ses.notify_pending)
        ses.deferred = X.when(in_xact, False, ses.deferred)

    patch(spec, "ServiceWakes", ServiceWakes)


def blocked_read_ignores_timeout(spec: Spec, cfg: ModelConfig) -> None:
    # BUG (§2.10 in process mode): the blocked read wakes only for interrupts; the idle
    # timeout's SIGALRM path is lost, so a due idle_session_timeout never fires.
    weaken_check(spec, "BlockedReadWake", 2, lambda s, cond, c, b: ~X.is_empty(s.session[b].mbox))


def reload_bit_left_after_resume(spec: Spec, cfg: ModelConfig) -> None:
    def ServiceWakes(s: Any, original: Any, c: int, b: int) -> None:
        mb = s.session[b].mbox
        original(s, c=c, b=b)
        # BUG (§2.9, §3.4): the wake service consumes only the bits it acts on; CONFIG_RELOAD stays
        # in the mailbox, so the poller's next immediate check wakes the session again, for ever.
        s.session[b].mbox = X.set_inter(mb, X.lift(("reload",), MAILBOX))

    patch(spec, "ServiceWakes", ServiceWakes)


def deep_wait_yields_carrier(spec: Spec, cfg: ModelConfig) -> None:
    def Execute(s: Any, original: Any, c: int, b: int) -> None:
        sleeping = (s.session[b].cmd == "sleep") & X.is_empty(s.session[b].mbox)
        original(s, c=c, b=b)
        # BUG (§0, §2.5): a deep wait hands the carrier back to the scheduler loop, fiber-style,
        # while the backend stays attached: not a protocol park, not an exit.
        s.carrier[c].loc = X.when(sleeping, "loop", s.carrier[c].loc)

    patch(spec, "Execute", Execute)


def lease_records_parked_carrier(spec: Spec, cfg: ModelConfig) -> None:
    def LeaseRunnable(s: Any, original: Any, c: int, b: int) -> None:
        original(s, c=c, b=b)
        # BUG (§2.4, T9): the pop under the scheduler lock also writes parked_carrier := the
        # leasing carrier, a protocol_park field owned by nobody at that point.
        s.session[b].pcar = c

    patch(spec, "LeaseRunnable", LeaseRunnable)


def cancel_in_deep_wait_answers_nothing(spec: Spec, cfg: ModelConfig) -> None:
    def DeepWaitWake(s: Any, original: Any, c: int, b: int) -> None:
        ses = s.session[b]
        mb, cl = ses.mbox, ses.cl
        cancel = ~X.set_has(mb, "die") & X.set_has(mb, "cancel")
        original(s, c=c, b=b)
        # BUG (§2.7 step 5, §2.9 QUERY_CANCEL): the cancelled wait returns to the top of the loop
        # without ereport(ERROR): no ErrorResponse and no ReadyForQuery reach the client.
        ses.cl = X.when(cancel, cl, ses.cl)
        ses.send_rfq = X.when(cancel, False, ses.send_rfq)

    patch(spec, "DeepWaitWake", DeepWaitWake)


MUTATIONS = [
    Mutation(
        "exit-runs-detached", "§2.5 exit rule", "EXIT1", config("pooled", 1, 1, client_close=True),
        "A parked session's client hangs up. The poller's immediate checks see CLOSED and, instead of "
        "making the backend runnable so that a carrier attaches it and runs its logical exit (T13, "
        "PgBackendExit, the exit continuation), the poller tears the backend down itself: exit code runs "
        "for a backend that has no carrier, no MyProc and no Current* roots.",
        ("PollPass",), exit_runs_detached,
        kind="safety",
    ),
    Mutation(
        "wake-marked-by-sender", "§2.4 rule", "S19", config("pooled", 1, 1, reloads=1),
        "A session parks. Another backend sends it a config-reload interrupt and, to shorten the wake "
        "latency, marks the park's wake reason LOGICAL itself. The park fields have exactly one owner at "
        "a time and the sender is not it: its write races the poller's T7 and T12's clearing, without "
        "the scheduler lock.",
        ("SendInterrupt",), wake_marked_by_sender,
        kind="safety",
    ),
    Mutation(
        "staging-timeout-handler-detached", "§2.10 rule", "S22",
        config("thread-per-session", None, 1, idle_session_timeout=True),
        "Thread-per-session: an idle session parks in staging with idle_session_timeout armed. The "
        "timeout becomes due and the staging wait returns WL_TIMEOUT; instead of only marking the wake "
        "and leasing the backend back, the wait runs the timeout handler, sending the FATAL from code "
        "that has no backend attached (the same bug as in the pooled poller, in the other shape).",
        ("StagingWake",), staging_timeout_handler_detached,
        kind="safety",
    ),
    Mutation(
        "poller-reads-type-byte", "S23 rule", "S23", config("pooled", 1, 1, messages=1),
        "A parked session's client sends the type byte of its next message. The poller's readability "
        "check reads a byte instead of peeking: the byte is consumed by a thread that holds the backend "
        "only for polling, with no probe and no transport generation check, and the session resumes to "
        "find its message headless.",
        ("PollPass",), poller_reads_type_byte,
        kind="safety",
    ),
    Mutation(
        "runnable-pushed-at-head", "T8 rule", "ORD1", config("pooled", 2, 2, messages=1, active_clients=2),
        "Two sessions park and both clients send. One carrier's poll pass makes the first runnable; the "
        "other carrier, polling the second, makes it runnable with a push at the head of the runnable "
        "queue, so the later wake overtakes the earlier one (with enough load, the earlier one waits "
        "without bound: L3).",
        ("PollPass",), runnable_pushed_at_head,
        kind="safety",
    ),
    Mutation(
        "newconn-taken-out-of-order", "§2.5 step 2 rule", "ORD2", config("pooled", 1, 2),
        "Two clients connect; their logical starts wait in pooled_protocol_queue in arrival order. An "
        "idle carrier dequeues the second one first, as a scan for a ready start would: a later "
        "connection overtakes an earlier one in the admission queue.",
        ("TakeNewConnection",), newconn_taken_out_of_order,
        kind="safety",
    ),
    Mutation(
        "interrupt-to-wrong-session", "§2.9 rule", "CL3", config("pooled", 1, 2, cancels=1),
        "A cancel request is sent to session 0. The sender's lookup of the target resolves a reused "
        "registry slot and sets the QUERY_CANCEL bit (and the latch) of session 1 instead: the intended "
        "session never sees it, and an innocent one may lose its running query.",
        ("SendInterrupt",), interrupt_to_wrong_session,
        kind="safety",
    ),
    Mutation(
        "notify-dropped-on-deferral", "§3.4 rule", "CL2",
        config("pooled", 1, 1, messages=2, notifies=1, listeners=True, commands=("begin", "commit")),
        "A listening session is idle in a transaction block, parked, when a NOTIFY arrives. The poller "
        "wakes it; its wake service, finding the session inside a transaction, clears the pending "
        "notification instead of deferring it (T14). After COMMIT nothing is left to deliver: the "
        "client never receives the notification, and every property that reads the server's pending "
        "flag is blind to the loss.",
        ("ServiceWakes",), notify_dropped_on_deferral,
        kind="liveness",
    ),
    Mutation(
        "blocked-read-ignores-timeout", "§2.10 rule", "CL5", config("process", None, 1, idle_session_timeout=True),
        "Process mode: an idle backend blocks in its read with idle_session_timeout armed. The timeout "
        "becomes due, but the blocked read wakes only for interrupts, so the handler never runs and the "
        "idle client is never disconnected. The parked-session timeout property (L4) is declared for "
        "parking shapes only and is silent here.",
        ("BlockedReadWake",), blocked_read_ignores_timeout,
        kind="liveness",
    ),
    Mutation(
        "reload-bit-left-after-resume", "§3.4 rule", "CL4", config("pooled", 1, 1, reloads=1),
        "A parked session is sent a config reload. The poller sees the mailbox bit and wakes it; the "
        "wake service consumes only the bits it acts on and leaves CONFIG_RELOAD set. The session parks "
        "again with the bit still there, the poller wakes it again, and so on for ever: a busy loop "
        "that services nothing, while every per-cause property (a mailbox bit leads to a resume) holds.",
        ("ServiceWakes",), reload_bit_left_after_resume,
        kind="liveness",
    ),
    Mutation(
        "deep-wait-yields-carrier", "§2.5 rule", "EXIT2",
        config("pooled", 1, 1, messages=1, commands=("sleep",)),
        "A session runs pg_sleep, a deep wait. The wait hands the carrier back to the scheduler loop, as "
        "a fiber yield would, while the backend stays attached and its C stack live: the carrier is "
        "back in scheduler code in the middle of a step that neither parked nor exited.",
        ("Execute",), deep_wait_yields_carrier,
        kind="safety",
    ),
    Mutation(
        "lease-records-parked-carrier", "§2.4 rule", "OWN1", config("pooled", 2, 2, messages=1),
        "A parked session becomes runnable. The carrier popping it (T9) also writes parked_carrier := "
        "itself under the scheduler lock, before it attaches. parked_carrier is a protocol_park field "
        "written without the lock by its single owner only; here nobody owns the backend, and the "
        "same-carrier/migrated accounting of T12 is lost.",
        ("LeaseRunnable",), lease_records_parked_carrier,
        kind="safety",
    ),
    Mutation(
        "cancel-in-deep-wait-answers-nothing", "§2.9 rule", "CL1",
        config("pooled", 1, 1, messages=1, cancels=1, commands=("sleep",)),
        "A session runs pg_sleep and its client sends a cancel. The deep wait wakes on the latch and "
        "ends, but returns to the top of the loop without raising the error: no ErrorResponse and no "
        "ReadyForQuery reach the client, whose request stays unanswered while the session parks as if "
        "idle.",
        ("DeepWaitWake",), cancel_in_deep_wait_answers_nothing,
        kind="liveness",
    ),
]
