"""The executable reference implementation of the pooled-carrier runtime (Decision 5).

Real carrier threads, real sockets, PostgreSQL protocol v3, and events in the model's
action vocabulary.  `Runtime` runs free; `ControlledRuntime` lets a test choose every
step.  See docs/reference.md.
"""

from pgcheck.reference.controlled import ControlledClient, ControlledRuntime
from pgcheck.reference.events import Action, Event, FileSink, ListSink
from pgcheck.reference.runtime import Runtime, RuntimeConfig
from pgcheck.reference.states import Mode

__all__ = [
    "Action",
    "ControlledClient",
    "ControlledRuntime",
    "Event",
    "FileSink",
    "ListSink",
    "Mode",
    "Runtime",
    "RuntimeConfig",
]
