"""The logical backend object group (§1.1): Backend, Session, Execution.

Park fields other than `q` are written without the scheduler lock by their single
owner (§2.4): the attached carrier (T1, T3, T12, T14, T15), the poller holding
q == POLLING (T7), or the staging thread (T7 before T11).  `q` is written only under
the scheduler lock.  The mailbox is written by anyone (§2.9).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pgcheck.reference.connection import Connection
from pgcheck.reference.mailbox import Latch, Mailbox
from pgcheck.reference.states import ParkState, QueueState, WaitEvent, WakeReason
from pgcheck.reference.timeouts import LogicalTimeouts

if TYPE_CHECKING:
    from pgcheck.reference.carrier import Carrier


@dataclass
class ParkSpec:
    """The park record built at Prepare (T1)."""

    generation: int = 0
    transport_wait_events: WaitEvent = WaitEvent.NONE
    transport_buffered_input: bool = False
    transport_generation: int = 0
    timeout_wake_at: float | None = None
    timeout_generation: int = 0


@dataclass
class Notification:
    sender_pid: int
    channel: str
    payload: str


@dataclass
class Session:
    """`PgSession`: SQL session state and protocol loop state (§1.1)."""

    user: str = ""
    database: str = ""
    send_ready_for_query: bool = False  # set by the startup (ReadyForQuery due)
    doing_command_read: bool = False
    step_error_boundary_active: bool = False
    in_transaction_block: bool = False
    transaction_failed: bool = False
    listening: set[str] = field(default_factory=set)
    # notifications sent by this session inside a transaction, published at COMMIT
    outgoing: list[tuple[str, str]] = field(default_factory=list)
    # the legacy `notifyInterruptPending` flag: set when the NOTIFY bit is consumed
    notify_pending: bool = False
    reload_count: int = 0
    # extended query protocol: set from the first message of a batch until its Sync (S9)
    doing_extended_query_message: bool = False
    prepared: dict[str, PreparedStatement] = field(default_factory=dict)
    portals: dict[str, str] = field(default_factory=dict)  # name -> bound SQL text

    @property
    def transaction_status(self) -> str:
        if self.in_transaction_block:
            return "E" if self.transaction_failed else "T"
        return "I"


@dataclass
class PreparedStatement:
    """A Parse: the statement text and its parameter type oids."""

    text: str
    param_oids: list[int] = field(default_factory=list)


@dataclass
class Execution:
    """`PgExecution`: the active command (only its carrier back-pointer matters here)."""

    carrier: Carrier | None = None


class Backend:
    """`PgBackend`: logical identity, mailbox, timeouts and the protocol park state."""

    def __init__(self, index: int, pid: int, secret: int, conn: Connection, use_clock: bool) -> None:
        self.index = index
        self.pid = pid
        self.secret = secret
        self.connection: Connection | None = conn
        self.session = Session()
        self.execution = Execution()
        self.mailbox = Mailbox()
        self.latch = Latch()
        self.timeouts = LogicalTimeouts(use_clock)
        self.inbox: list[Notification] = []
        self.inbox_lock = threading.Lock()
        # attachment
        self.carrier: Carrier | None = None
        # protocol park (§2.2, §2.3)
        self.ps = ParkState.NONE
        self.q = QueueState.NONE
        self.next_generation = 0
        self.spec = ParkSpec()
        self.wake_reasons = WakeReason.NONE
        self.wake_events = WaitEvent.NONE
        self.wake_generation = 0
        self.notify_wake_generation = 0
        self.last_wake_reasons = WakeReason.NONE
        self.last_wake_events = WaitEvent.NONE
        self.last_wake_generation = 0
        self.deferred_notify_generation = 0
        self.deferred_notify_park_generation = 0
        self.deferred_notify_reasons = WakeReason.NONE
        self.parked_carrier: Carrier | None = None
        self.committed_at: float | None = None
        self.woken_at: float | None = None  # first accepted T7 of this park (measurement)
        self.last_park_duration_ms: int | None = None
        # session-step progress, for the abstract state
        self.pc = "new"
        self.mid_msg = False
        self.byte_carrier: Carrier | None = None
        self.deep_wait = False
        self.exiting = False
        self.exited = False
        self.exit_error: bytes | None = None  # a FATAL ErrorResponse to send before closing
        self.timeout_observed_generation = -1  # TimeoutDue reported for this timeout generation
        self.pending_type: bytes | None = None
        self.pending_body: bytes | None = None
        self.pending_batch: list[tuple[bytes, bytes]] | None = None  # an extended-query batch
        self.sleep_request: float | None = None
        self.startup_minor = 0
        self.created_at = time.monotonic()

    def __repr__(self) -> str:
        return f"Backend(b{self.index}, pid={self.pid}, ps={self.ps.value}, q={self.q.value})"

    def send_output(self, data: bytes) -> None:
        if self.connection is not None:
            self.connection.send(data)

    def take_inbox(self) -> list[Notification]:
        with self.inbox_lock:
            items, self.inbox = self.inbox, []
            return items
