"""The model as an oracle for an implementation: look up bindings by action and
parameters, take one step, read and write fields by label ("session[2].q", "sched.parked").

Used by the conformance tests (a compiled model) and by `pgcheck check-trace`, which
compiles only the bindings a log uses, when first used (a whole model with hundreds of
sessions would take long to compile).  Values are plain
Python: enum names, bools, ints, `None` for a null reference, sorted name lists for sets,
lists for FIFOs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from pgcheck.checker.errors import ModelError
from pgcheck.checker.lang.compile import _binding_block, _Gen
from pgcheck.checker.lang.spec import Binding, TracedModel
from pgcheck.checker.lang.types import NULL_REF, Enum, Fifo, Ref, Set

State = tuple[Any, ...]
LABEL = re.compile(r"^(\w+)(?:\[(\d+)\])?\.(\w+)$")


class ModelOracle:
    def __init__(self, model: TracedModel, steps: Sequence[Callable[[State], State | None]] | None = None) -> None:
        self.model = model
        self._steps = steps
        self._lazy: dict[int, Callable[[State], State | None]] = {}
        self._by_key: dict[tuple[str, tuple[tuple[str, Any], ...]], Binding] = {}
        self.params_of: dict[str, tuple[str, ...]] = {}
        for b in model.bindings:
            self._by_key[(b.action, tuple(sorted(b.params.items())))] = b
            self.params_of.setdefault(b.action, tuple(b.params))

    def binding(self, action: str, params: dict[str, Any]) -> Binding | None:
        """The binding of `action` for the parameters it declares (others are ignored)."""
        names = self.params_of.get(action)
        if names is None or any(n not in params for n in names):
            return None
        return self._by_key.get((action, tuple(sorted((n, params[n]) for n in names))))

    def step(self, state: State, b: Binding) -> State | None:
        """The successor under `b`, or None where its guard is false."""
        if self._steps is not None:
            return self._steps[b.index](state)
        fn = self._lazy.get(b.index)
        if fn is None:
            fn = self._lazy[b.index] = _compile_one(self.model, b)
        return fn(state)

    def enabled(self, state: State, action: str, params: dict[str, Any]) -> bool:
        b = self.binding(action, params)
        return b is not None and self.step(state, b) is not None

    def _slot(self, label: str) -> int:
        m = LABEL.match(label)
        if m is None:
            raise KeyError(label)
        kind, index, field = m.group(1), m.group(2), m.group(3)
        return self.model.slot_of[(kind, None if index is None else int(index), field)]

    def get(self, state: State, label: str) -> Any:
        slot = self._slot(label)
        ty = self.model.slots[slot].ty
        raw = state[slot]
        if isinstance(ty, Ref):
            return None if raw == NULL_REF else int(raw)
        if isinstance(ty, Set):
            return sorted(str(x) for x in ty.to_itf(raw)["#set"])
        if isinstance(ty, Fifo):
            return list(raw)
        if isinstance(ty, Enum):
            return ty.values[raw]
        return ty.to_itf(raw)

    def set(self, state: State, label: str, value: Any) -> State:
        slot = self._slot(label)
        ty = self.model.slots[slot].ty
        if isinstance(ty, Ref) and value is None:
            value = NULL_REF
        out = list(state)
        out[slot] = ty.encode(value)
        return tuple(out)


def _compile_one(model: TracedModel, b: Binding) -> Callable[[State], State | None]:
    """The step function of one binding, generated as compile.py generates them all."""
    g = _Gen(model)
    lines = ["def step(s):", *_binding_block(g, b, "    ", "return {n}"), "    return None"]
    sites = g.sites

    def _null(site: int) -> Any:
        raise ModelError(sites[site])

    namespace: dict[str, Any] = {"_null": _null, "NULL_REF": NULL_REF}
    exec(compile("\n".join(lines) + "\n", f"<pgcheck binding {b.label}>", "exec"), namespace)
    fn: Callable[[State], State | None] = namespace["step"]
    return fn

