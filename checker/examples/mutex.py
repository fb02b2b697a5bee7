"""Two processes and a lock: the worked example of docs/modeling-language.md.

`broken=True` drops the lock check from `acquire`, so both processes can enter the
critical section and the invariant MX1 fails.
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang.expr import all_of, count_of
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.checker.lang.types import Enum, Ref

PC = Enum("pc", ["idle", "waiting", "critical"])


def build(procs: int = 2, broken: bool = False) -> Spec:
    spec = Spec("mutex", params={"procs": procs, "broken": broken})
    spec.entity("proc", procs, {"pc": PC})
    spec.singleton("lock", {"holder": Ref("proc")})
    spec.symmetric("proc")

    @spec.action(p="proc", fairness="weak")
    def request(s: Any, p: int) -> None:
        """A process asks for the lock."""
        require(s.proc[p].pc == "idle")
        s.proc[p].pc = "waiting"

    @spec.action(p="proc", fairness="strong")
    def acquire(s: Any, p: int) -> None:
        """A waiting process takes the free lock."""
        require(s.proc[p].pc == "waiting")
        if not broken:  # a Python branch on a build parameter, not on state: allowed
            require(s.lock.holder == None)  # noqa: E711 - traced comparison, not identity
        s.lock.holder = p
        s.proc[p].pc = "critical"

    @spec.action(p="proc", fairness="weak")
    def release(s: Any, p: int) -> None:
        """The holder leaves the critical section and frees the lock."""
        require(s.proc[p].pc == "critical")
        s.lock.holder = None
        s.proc[p].pc = "idle"

    @spec.invariant("MX1", "at most one process is in the critical section")
    def mutual_exclusion(s: Any) -> object:
        return count_of(s.proc, lambda p: s.proc[p].pc == "critical") <= 1

    @spec.invariant("MX2", "the lock is held exactly when some process is critical")
    def holder_consistent(s: Any) -> object:
        return all_of(s.proc, lambda p: (s.proc[p].pc == "critical") == (s.lock.holder == p))

    @spec.witness("MXW", "a process reaches the critical section")
    def someone_critical(s: Any) -> object:
        return count_of(s.proc, lambda p: s.proc[p].pc == "critical") >= 1

    return spec
