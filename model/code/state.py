"""State of the code model: the design model's state (model/state.py) with the fields the C
code needs and the design does not have.

- carrier `scratch`: the raw `PgBackend *` array of PgRuntimeProtocolSchedulerWaitParkedReads;
  `todo`/`cur_entry`/`cur_reason`: where step 9 is in that array.
- carrier `stale_ptrs`: the allocation epoch of each backend abstracted to "changed since this
  carrier took its pointer" (backend_pooled_logical_start_release, then _alloc for the next
  connection), as the design abstracts generations to current/stale.
- ghosts: carrier `uaf` (dereferenced a pointer to a released or reused backend), session
  `wake_unowned` (a wake field written by a thread that did not hold the backend), session
  `queue_unowned` (the queue state written by a thread that did not hold the backend).
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang.spec import Spec
from pgcheck.checker.lang.types import Bool, Fifo, Int, Ref, Set
from pgcheck.model.code.vocabulary import CODE_CLOC, CODE_PC
from pgcheck.model.config import ModelConfig
from pgcheck.model.state import declare_state
from pgcheck.model.vocabulary import WAKE


def declare_code_state(spec: Spec, cfg: ModelConfig, design_view: ModelConfig) -> None:
    n = cfg.sessions
    declare_state(spec, design_view)
    car = spec.kinds["carrier"].fields
    car["loc"] = CODE_CLOC
    car["scratch"] = Fifo("session", n)
    car["todo"] = Fifo("session", n)
    car["cur_entry"] = Ref("session")
    car["cur_reason"] = WAKE
    car["stale_ptrs"] = Set("session")
    car["uaf"] = Bool()
    ses = spec.kinds["session"].fields
    ses["pc"] = CODE_PC
    ses["ssl"] = Bool()
    ses["cl_active"] = Bool()  # this slot's clients send messages (active_clients)  # the transport reports no wait events (ssl_in_use or GSS encryption)
    ses["wake_unowned"] = Bool()
    ses["queue_unowned"] = Bool()
    env = spec.kinds["env"].fields
    env["reconnects"] = Int(0, 3)


def holds(s: Any, c: int, b: Any) -> Any:
    """Carrier c holds backend b: b is POLLING in c's call, or LEASED to c (§2.4)."""
    ses = s.session[b]
    return ((ses.q == "polling") & (ses.poll_owner == c)) | ((ses.q == "leased") & (ses.lease_owner == c))


