"""Enumerations of the code model: the design model's (model/vocabulary.py) plus the places
the C code at c2c6ec31 has and the design does not."""

from __future__ import annotations

from pgcheck.checker.lang.types import Enum
from pgcheck.model.vocabulary import CLOC, PC

# Where a logical backend's code is: the design's places, and
CODE_PC = Enum(
    "pc",
    [
        *PC.values,
        "absent",  # no connection in this slot yet (or a released slot): postmaster_pooled_protocol_launch has not run
        "blocked_read",  # SocketBackendProtocolPark: prepare refused (SSL/GSS), pq_startmsgread_getbyte blocks on the carrier
        "resume_queue",  # PgBackendResumeProtocolReadPark wrote the park state; scheduler_queue_state (LEASED) is written last
    ],
)

# Where a carrier thread's code is: the design's places, and the steps of
# PgRuntimeProtocolSchedulerWaitParkedReads one by one.
CODE_CLOC = Enum(
    "carrier_loc",
    [
        *CLOC.values,
        "starting",  # pg_thread_create done, PgRuntimeProtocolSchedulerRegisterCarrier not yet
        "poll_early",  # step 4: step 3 made some runnable; ReparkIfPolling over the scratch array next
        "poll_mark",  # step 9: the unlocked guard of PgBackendProtocolReadParkMarkImmediateWake passed; T7 + T8 next
        "poll_repark",  # step 10: ReparkIfPolling over the scratch array next
    ],
)
# Carrier places inside one WaitParkedReads call ("poll" = step 3 next, "poll_wait" = steps 5-8,
# "poll_recheck" = step 9's next entry).
CODE_POLL_LOCS = ("poll", "poll_early", "poll_wait", "poll_recheck", "poll_mark", "poll_repark")
