"""The enumerations of the runtime model, named after scheduler-digest.md.

Each value cites the design element it stands for; docs/model.md maps them in full.
"""

from __future__ import annotations

from pgcheck.checker.lang.types import Enum

MODES = ("process", "thread-per-session", "pooled")  # §2.1 runtime shapes

# Where a logical backend's code is (the design states of §2.2 refined to the step, §2.7).
PC = Enum(
    "pc",
    [
        "new",  # logical start queued in pooled_protocol_queue, never attached (DETACHED)
        "startup",  # attached: authentication + InitPostgres (§2.5 step 2)
        "top",  # top of PgSessionStepUnprotected: ReadyForQuery if send_ready_for_query (§2.7 1-3)
        "service",  # PgSessionServiceProtocolReadWake (§2.7 4a)
        "probe",  # PgConnectionProbeBufferedMessageType (§2.7 4b)
        "sticky",  # SocketBackendStickyIdleWait: attached idle wait (§2.7 4c, H6)
        "body",  # type byte consumed, reading the body (pinned, S9)
        "exec",  # dispatching the command
        "deep_wait",  # pg_sleep / lock wait: carrier-pinned (S12)
        "prepared",  # T1 done, step frame still live
        "unwound",  # T2: the step returned PARK, frame unwound
        "committed",  # T3 commit fields written, still attached
        "detached",  # T3 detach done, not yet enqueued (the commit window, H5)
        "parked",  # T4 done: in the scheduler (q says where)
        "resume",  # T10/T11 attach done, T12 resume next
        "exit",  # logical exit running attached (T13, PgBackendExit)
        "gone",  # exited; nothing references it any more (S28)
    ],
)
STEP_FRAME = ("top", "service", "probe", "sticky", "body", "exec", "deep_wait", "prepared")

PS = Enum("park_state", ["none", "prepared", "committed"])  # PgProtocolParkState
Q = Enum("queue_state", ["none", "parked", "polling", "runnable", "leased"])  # PgProtocolSchedulerQueueState

# Where a carrier thread's code is (§2.5 loop, §2.6 poller, §2.8 staging).
CLOC = Enum(
    "carrier_loc",
    [
        "off",  # not started yet (pooled carriers are demand-started)
        "loop",  # top of the carrier loop, no current work (S14)
        "leasing",  # T9 popped a runnable backend, T10 attach next
        "step",  # running the attached session's protocol loop
        "commit",  # between T3 detach and T4 enqueue
        "poll",  # holds a batch of POLLING backends (T5..T6)
        "poll_wait",  # poll_steps: in poll() after the immediate checks found nothing (§2.6 steps 5-8)
        "poll_recheck",  # poll_steps: after the wait, the re-check of step 9 next
        "stage",  # thread-per-session: waiting detached for its own backend (§2.8)
        "stage_woken",  # thread-per-session: T7 marked, T11 lease next
        "dead",  # thread exited
    ],
)

# Where a carrier is between T5 and the end of its poll call (one step without poll_steps).
POLL_LOCS = ("poll", "poll_wait", "poll_recheck")

# Client commands (simple Query protocol); LISTEN runs before the modeled window when
# the `listeners` option is on (docs/model.md, abstractions).
CMD = Enum("command", ["query", "begin", "commit", "listen", "sleep"])

# The interrupt kinds the model sends (§2.9 bit names).
INTR = Enum("interrupt", ["cancel", "die", "reload", "notify"])  # QUERY_CANCEL, PROC_DIE, CONFIG_RELOAD, NOTIFY

# The wake reason a park was woken with (§3.1). The immediate checks of §2.6 step 3 take
# the first match, so one reason per park; "notify" stands for LOGICAL|NOTIFY.
WAKE = Enum(
    "wake_reason",
    ["none", "stale_transport", "stale_timeout", "timeout", "logical", "notify", "hibernate", "closed", "transport"],
)
# First match wins, in this order (§2.6 step 3 b-g, then the poll events of step 8).
WAKE_ORDER = ("stale_transport", "stale_timeout", "timeout", "notify", "logical", "hibernate", "closed", "transport")

# What the client side of the connection is doing (§7: client-visible behaviour).
CLIENT = Enum(
    "client_state",
    [
        "connecting",  # waiting for the first ReadyForQuery
        "idle",  # may send the next message
        "byte",  # sent the type byte of a message, not its body (a partial message)
        "sent",  # sent a whole message, waiting for its result
        "result",  # got the result (or error), waiting for ReadyForQuery
        "closed",  # closed the connection, or got FATAL / EOF
    ],
)
# What a client receives in one message, as the client-history check reads it (with the
# switch client_log, model/config.py): the model's `output` calls, a FATAL split by its
# cause (the SQLSTATE a real server sends: 57P01 terminate, 57P05 idle_session_timeout,
# 25P03 idle_in_transaction_session_timeout).
OUT = Enum(
    "client_message",
    [
        "none",
        "notification",  # NotificationResponse
        "rfq_idle",  # ReadyForQuery 'I'
        "rfq_xact",  # ReadyForQuery 'T' (or 'E', a failed block: the model has no aborted state)
        "result",  # CommandComplete (with any rows)
        "error",  # ErrorResponse 57014 query_canceled
        "fatal_die",  # FATAL 57P01 admin_shutdown
        "fatal_idle_timeout",  # FATAL 57P05 idle_session_timeout
        "fatal_xact_timeout",  # FATAL 25P03 idle_in_transaction_session_timeout
        "eof",  # the server closed the connection without a message
    ],
)
OUT_CAPACITY = 3  # the most messages one action sends one client (StepTop: notification, ReadyForQuery, notification)

INBUF = Enum("socket_input", ["empty", "byte", "whole", "body"])  # unread bytes of the current message

