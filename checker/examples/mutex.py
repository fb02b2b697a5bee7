"""Two processes and a lock: the worked example of docs/modeling-language.md.

`broken=True` drops the lock check from `acquire`, so both processes can enter the
critical section and the invariant MX1 fails. `steal=True` lets any process release the
lock, which the action property MX3 ("only the holder releases the lock") catches on the
offending step itself. With `history=True` the ghost `proc.entries` (how often a process
entered, saturating at 2) is written by `acquire` and read by the witness MXW2.
"""

from __future__ import annotations

from typing import Any

from pgcheck.checker.lang.expr import all_of, count_of, implies, when
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.checker.lang.types import Enum, Int, Ref

PC = Enum("pc", ["idle", "waiting", "critical"])


def build(procs: int = 2, broken: bool = False, steal: bool = False, history: bool = False) -> Spec:
    spec = Spec("mutex", params={"procs": procs, "broken": broken, "steal": steal, "history": history})
    spec.entity("proc", procs, {"pc": PC})
    spec.singleton("lock", {"holder": Ref("proc")})
    if history:
        spec.ghost("proc", "entries", Int(0, 2), "times this process entered the critical section (saturates)")
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
        if history:
            s.proc[p].entries = when(s.proc[p].entries < 2, s.proc[p].entries + 1, 2)

    @spec.action(p="proc", fairness="weak")
    def release(s: Any, p: int) -> None:
        """The holder leaves the critical section and frees the lock."""
        if steal:  # the bug: any process that sees the lock taken frees it
            require(s.lock.holder != None)  # noqa: E711
        else:
            require(s.proc[p].pc == "critical")
        s.lock.holder = None
        s.proc[p].pc = "idle"

    @spec.action_property("MX3", "only the holder releases the lock: a step that frees it is taken by the holder")
    def only_holder_releases(pre: Any, step: Any, post: Any) -> object:
        if not step.writes("lock", "holder") or "p" not in step.params:
            return True  # a step that cannot change the lock says nothing here
        freed = (pre.lock.holder != None) & (post.lock.holder == None)  # noqa: E711
        return implies(freed, pre.lock.holder == step.params["p"])

    if history:

        @spec.witness("MXW2", "some process enters the critical section twice")
        def someone_twice(s: Any) -> object:
            return count_of(s.proc, lambda p: s.proc[p].entries == 2) >= 1

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
