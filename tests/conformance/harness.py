"""Drive the reference implementation in controlled mode with the model as the oracle.

`Conformance` owns one `ControlledRuntime` and one model state.  Every environment action
is first checked against the model (it must be an enabled model action), then done to the
implementation; every carrier step the implementation takes is read from its event log and
applied to the model as the action of the same name and parameters.  After each action the
implementation's observables (reference/abstraction.py) must equal the model's, every
client must be where the model says its client is (the client-visible outputs), and the
model's invariants must hold (Decision 5).  A failure raises `ConformanceError` with the
step, the differing fields, and an ITF file of the model's run so far.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from pgcheck.checker.explicit.explore import Step
from pgcheck.checker.lang.compile import CompiledModel, compile_model
from pgcheck.checker.lang.oracle import ModelOracle
from pgcheck.checker.lang.spec import TracedModel
from pgcheck.checker.traces.itf import trace_to_itf, write_trace
from pgcheck.model.config import ModelConfig
from pgcheck.model.runtime import build
from pgcheck.reference import ControlledRuntime
from pgcheck.reference.abstraction import differences, model_observables, snapshot_observables
from pgcheck.reference.client import extended_batch, query_message
from pgcheck.reference.controlled import IDLE_ACTIONS, POLL_CALL, ControlledClient
from pgcheck.reference.events import Action
from pgcheck.reference.mailbox import Interrupt

# The model's client commands and the SQL the test client sends for each.
COMMAND_SQL = {
    "query": "SELECT 1",
    "begin": "BEGIN",
    "commit": "COMMIT",
    "listen": "LISTEN ch",
    "sleep": "SELECT pg_sleep(1)",
}
INTERRUPTS = ("notify", "cancel", "die", "reload")
# Environment events the harness applies to the model itself (it knows the model's parameters).
ENVIRONMENT = frozenset(
    {"ClientConnect", "ClientSendByte", "ClientSendBody", "ClientClose", "SendInterrupt", "TimeoutDue"}
)
STUTTER = frozenset({"CarrierSleep"})  # steps that change no model field
TIMEOUT_MS = 60_000  # armed but never due by the clock: controlled mode has none
PRODUCTIVE_LIMIT = 400


class ConformanceError(AssertionError):
    """The implementation did something the model does not allow."""


def model_config(carriers: int, sessions: int, timeouts: bool = True, poll_steps: bool = False) -> ModelConfig:
    return ModelConfig(
        "pooled",
        carriers,
        sessions,
        {
            "commands": tuple(COMMAND_SQL),
            "messages": 4,
            "active_clients": sessions,
            "client_close": True,
            "cancels": 3,
            "terminates": 2,
            "reloads": 2,
            "notifies": 3,
            "idle_session_timeout": timeouts,
            "idle_in_xact_timeout": timeouts,
            "poll_steps": poll_steps,
        },
    )


@lru_cache(maxsize=4)
def compiled(carriers: int, sessions: int, timeouts: bool, poll_steps: bool) -> tuple[TracedModel, CompiledModel]:
    model = build(model_config(carriers, sessions, timeouts, poll_steps)).trace()
    return model, compile_model(model)


class ClientView:
    """What one client has seen: the model's `cl` reconstructed from the bytes it received."""

    def __init__(self, client: ControlledClient) -> None:
        self.client = client
        self.cl = "connecting"
        self.buf = bytearray()
        self.eof = False

    def read(self) -> None:
        sock = self.client.sock
        sock.setblocking(False)
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    self.eof = True
                    break
                self.buf += chunk
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self.eof = True
        finally:
            sock.setblocking(True)
        while len(self.buf) >= 5:
            (length,) = struct.unpack("!I", bytes(self.buf[1:5]))
            if len(self.buf) < 1 + length:
                break
            kind, payload = bytes(self.buf[:1]), bytes(self.buf[5 : 1 + length])
            del self.buf[: 1 + length]
            self._message(kind, payload)
        if self.eof:
            self.cl = "closed"

    def _message(self, kind: bytes, payload: bytes) -> None:
        if self.cl == "closed":
            return
        if kind == b"Z":
            self.cl = "idle"
        elif kind == b"E":
            self.cl = "closed" if b"SFATAL\0" in payload else "result"
        elif kind in (b"C", b"I"):
            self.cl = "result"


class Conformance:
    def __init__(
        self,
        carriers: int = 2,
        sessions: int = 3,
        mutations: frozenset[str] = frozenset(),
        seed: int = 0,
        timeouts: bool = True,
        write_itf: bool = True,
        poll_steps: bool = False,
    ) -> None:
        """`timeouts`: idle_session_timeout and idle_in_transaction_session_timeout are set;
        `poll_steps`: the poller's call is three steps in the model and the implementation;
        `write_itf`: a failure writes the model's run as ITF (a hunt that shrinks skips it)."""
        self.write_itf = write_itf
        self.carriers, self.sessions = carriers, sessions
        self.model, self.compiled = compiled(carriers, sessions, timeouts, poll_steps)
        self.oracle = ModelOracle(self.model, self.compiled.binding_step)
        self.mutations = mutations
        self.ctl = ControlledRuntime(
            carriers=carriers,
            poll_steps=poll_steps,
            seed=seed,
            idle_session_timeout_ms=TIMEOUT_MS if timeouts else 0,
            idle_in_transaction_timeout_ms=TIMEOUT_MS if timeouts else 0,
            mutations=mutations,
        )
        self.state = self.model.init
        self.trace: list[Step] = [Step(self.state, None)]
        self.labels: list[str] = ["init"]
        self.seen = 0
        self.views: list[ClientView] = []
        self.pending_body: dict[int, bytes] = {}
        try:
            for _ in range(sessions):  # the model starts with every client connected (pooled queue)
                self.views.append(ClientView(self.ctl.connect()))
            self._absorb("connect")
        except BaseException:
            self.close()
            raise

    # --- the model side ----------------------------------------------------------------

    def enabled(self, action: str, **params: Any) -> bool:
        return self.oracle.enabled(self.state, action, params)

    def _model_step(self, action: str, params: dict[str, Any], where: str) -> None:
        b = self.oracle.binding(action, params)
        nxt = None if b is None else self.oracle.step(self.state, b)
        if b is None or nxt is None:
            self.fail(f"{where}: {action}({_show(params)}) is not an enabled model action here")
        assert b is not None and nxt is not None
        self.state = nxt
        self.trace.append(Step(nxt, b.index))
        self.labels.append(f"{action}({_show(params)})")

    def _absorb(self, where: str) -> None:
        """Apply the implementation's new carrier events to the model, then compare."""
        events = self.ctl.events
        for event in events[self.seen :]:
            self.seen += 1
            if event.action in ENVIRONMENT or event.action in STUTTER:
                continue
            self._model_step(event.action, event.params, f"{where}, event seq {event.seq}")
        self.check(where)

    # --- comparison --------------------------------------------------------------------

    def check(self, where: str) -> None:
        expected = model_observables(self.oracle, self.state, self.sessions, self.carriers)
        actual = snapshot_observables(self.ctl.snapshot(), self.sessions, self.carriers)
        diffs = differences(expected, actual)
        if diffs:
            lines = "; ".join(f"{k}: model {m!r}, implementation {r!r}" for k, m, r in diffs)
            self.fail(f"after {where}: state differs: {lines}")
        self._check_clients(where)
        broken = self.compiled.check(self.state)
        if broken:
            self.fail(f"after {where}: model invariants {broken} fail on the matched state")

    def _check_clients(self, where: str) -> None:
        deadline = time.monotonic() + 5.0
        while True:
            wrong = []
            for i, view in enumerate(self.views):
                view.read()
                want = self.oracle.get(self.state, f"session[{i}].cl")
                if view.cl != want:
                    wrong.append(f"client {i}: model {want!r}, client saw {view.cl!r}")
            if not wrong:
                return
            if time.monotonic() > deadline:  # bytes in flight on loopback: give them time
                self.fail(f"after {where}: client-visible output differs: {'; '.join(wrong)}")
            time.sleep(0.01)

    def fail(self, message: str) -> None:
        steps = " -> ".join(self.labels[-12:])
        if not self.write_itf:
            raise ConformanceError(f"{message}\n  model steps (last 12): {steps}")
        doc = trace_to_itf(
            self.model,
            self.trace,
            kind="conformance",
            prop=None,
            engine="conformance",
            mutation=",".join(sorted(self.mutations)) or None,
            message=message,
        )
        out = Path(os.environ.get("PGCHECK_CONFORMANCE_DIR", tempfile.gettempdir()))
        path = write_trace(doc, out / f"conformance-{os.getpid()}-{len(self.trace)}.itf.json")
        raise ConformanceError(f"{message}\n  model steps (last 12): {steps}\n  ITF trace: {path}")

    # --- environment (each must be an enabled model action first) ----------------------

    def send_byte(self, b: int, cmd: str, extended: bool = False) -> None:
        """The command's type byte: a simple Query, or (`extended`) the Parse of a Parse … Sync
        batch, which the model sees as one message (S9)."""
        self._model_step("ClientSendByte", {"b": b, "cmd": cmd}, "client")
        message = (extended_batch if extended else query_message)(COMMAND_SQL[cmd])
        self.pending_body[b] = message[1:]
        self.views[b].cl = "byte"
        self.views[b].client.send_type_byte(message[:1])
        self._absorb(f"ClientSendByte(b={b}, cmd={cmd})")

    def send_body(self, b: int) -> None:
        self._model_step("ClientSendBody", {"b": b}, "client")
        self.views[b].cl = "sent"
        self.views[b].client.send_body(self.pending_body.pop(b))
        self._absorb(f"ClientSendBody(b={b})")

    def client_close(self, b: int) -> None:
        self._model_step("ClientClose", {"b": b}, "client")
        self.views[b].read()
        self.views[b].cl = "closed"
        self.views[b].client.close()
        self._absorb(f"ClientClose(b={b})")

    def interrupt(self, b: int, kind: str) -> None:
        self._model_step("SendInterrupt", {"b": b, "kind": kind}, "another backend")
        if kind == "cancel":
            assert self.ctl.cancel(b), "a CancelRequest with the right key was refused"
        elif kind == "die":
            assert self.ctl.terminate(b), "pg_terminate_backend found no backend"
        else:
            self.ctl.send_interrupt(b, Interrupt.CONFIG_RELOAD if kind == "reload" else Interrupt.NOTIFY)
        self._absorb(f"SendInterrupt(b={b}, kind={kind})")

    def wrong_key_cancel(self, b: int) -> None:
        """A CancelRequest with a wrong secret key cancels nothing: no model step at all."""
        backend = self.ctl.backend(b)
        assert not self.ctl.cancel(b, key=backend.secret ^ 0x5A5A)
        self._absorb(f"wrong-key CancelRequest(b={b})")

    def timeout_due(self, b: int) -> None:
        self._model_step("TimeoutDue", {"b": b}, "clock")
        assert self.ctl.timeout_due(b), "the implementation had no armed timeout to make due"
        self._absorb(f"TimeoutDue(b={b})")

    def xact_failed(self, b: int) -> bool:
        return bool(self.ctl.backend(b).session.transaction_failed)

    # --- carriers ----------------------------------------------------------------------

    def enabled_carriers(self) -> list[int]:
        return [c for c, _ in self.ctl.enabled()]

    def carrier_step(self, c: int) -> None:
        step = self.ctl.step(c)
        self._absorb(f"carrier {c} {step.action}")

    def settle(self) -> None:
        """Take productive steps (first enabled carrier) and poll rounds while they make progress."""
        for _ in range(PRODUCTIVE_LIMIT):
            steps = self.ctl.enabled_steps()
            productive = [s for s in steps if Action(s.action) not in IDLE_ACTIONS]
            if productive:
                self.carrier_step(productive[0].carrier)
                continue
            polls = [s for s in steps if s.action == "PollTake"]
            if not polls:
                return
            before = self.ctl.rt.scheduler.counters.runnable_enqueue_count
            carrier = polls[0].carrier
            self.carrier_step(carrier)
            while (step := {s.carrier: s for s in self.ctl.enabled_steps()}.get(carrier)) and Action(step.action) in POLL_CALL:
                self.carrier_step(carrier)  # the rest of the poll call
            if self.ctl.rt.scheduler.counters.runnable_enqueue_count == before:
                return
        self.fail(f"no quiescence within {PRODUCTIVE_LIMIT} steps")

    def close(self) -> None:
        for view in self.views:
            with contextlib.suppress(OSError):
                view.client.sock.shutdown(socket.SHUT_RDWR)
        self.ctl.close()


def _show(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())
