"""Compile a traced model's IR into Python functions over flat state tuples.

The explorer's semantics are the IR's; this module only makes evaluating it fast by
generating straight-line Python source (one fused successor function, one invariant
checker) instead of walking trees per state. `checker/lang/interpret.py` evaluates the same
IR by walking the trees; the tests hold the two to the same answers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, overload

from pgcheck.checker.errors import ModelError
from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.spec import Binding, TracedModel
from pgcheck.checker.lang.types import NULL_REF

State = tuple[Any, ...]


class _Gen:
    """Turns expressions into Python source; numbers temporaries and error sites."""

    def __init__(self, model: TracedModel) -> None:
        self.model = model
        self.tmp = 0
        self.sites: list[str] = []
        self.where = ""  # "action acquire(p=0)", "invariant MX1": named in run-time errors

    def site(self, message: str) -> int:
        self.sites.append(f"{self.where}: {message}" if self.where else message)
        return len(self.sites) - 1

    def _t(self) -> str:
        self.tmp += 1
        return f"_t{self.tmp}"

    def src(self, e: Expr) -> str:
        op, a = e.op, e.args
        s = self.src
        if op == "const":
            return repr(a[0])
        if op == "slot":
            return f"s[{a[0]}]"
        if op == "var":
            return str(a[0])
        if op == "deref":
            kind, field, idx, candidates = a
            t = self._t()
            site = self.site(f"read of {kind}[{idx.show()}].{field} through a null reference")
            slots = [c.args[0] for c in candidates if c.op == "slot"]
            uniform = len(slots) == len(candidates) and (
                len(slots) < 2 or all(slots[i + 1] - slots[i] == slots[1] - slots[0] for i in range(len(slots) - 1))
            )
            if uniform:
                stride = slots[1] - slots[0] if len(slots) > 1 else 0
                access = f"s[{slots[0]} + {stride}*{t}]" if stride else f"s[{slots[0]}]"
            else:
                access = "(" + ", ".join(s(c) for c in candidates) + ",)[" + t + "]"
            return f"({access} if ({t} := {s(idx)}) >= 0 else _null({site}))"
        if op in ("eq", "ne", "lt", "le", "gt", "ge", "add", "sub"):
            sym = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "add": "+", "sub": "-"}[op]
            return f"({s(a[0])} {sym} {s(a[1])})"
        if op == "and":
            return "(" + " and ".join(s(x) for x in a) + ")"
        if op == "or":
            return "(" + " or ".join(s(x) for x in a) + ")"
        if op == "not":
            return f"(not {s(a[0])})"
        if op == "if":
            return f"({s(a[1])} if {s(a[0])} else {s(a[2])})"
        if op == "set_has":
            return f"((({s(a[0])} >> {s(a[1])}) & 1) == 1)"
        if op == "set_add":
            return f"({s(a[0])} | (1 << {s(a[1])}))"
        if op == "set_del":
            return f"({s(a[0])} & ~(1 << {s(a[1])}))"
        if op == "set_union":
            return f"({s(a[0])} | {s(a[1])})"
        if op == "set_minus":
            return f"({s(a[0])} & ~{s(a[1])})"
        if op == "set_inter":
            return f"({s(a[0])} & {s(a[1])})"
        if op in ("set_empty", "fifo_empty"):
            return f"(not {s(a[0])})"
        if op == "fifo_len":
            return f"len({s(a[0])})"
        if op == "fifo_head":
            t = self._t()
            site = self.site(f"head of an empty FIFO {a[0].show()}")
            return f"({t}[0] if ({t} := {s(a[0])}) else _null({site}))"
        if op == "fifo_push":
            return f"({s(a[0])} + ({s(a[1])},))"
        if op == "fifo_pop":
            return f"{s(a[0])}[1:]"
        if op == "fifo_has":
            return f"({s(a[1])} in {s(a[0])})"
        # filter() with a lambda rather than a comprehension: the iterable may hold a
        # walrus (a deref), which Python forbids in a comprehension's iterable.
        if op == "fifo_remove":
            t = self._t()
            return f"tuple(filter(lambda {t}: {t} != {s(a[1])}, {s(a[0])}))"
        if op == "fifo_concat":
            return f"({s(a[0])} + {s(a[1])})"
        if op == "fifo_filter":
            return f"tuple(filter(lambda {a[1].args[0]}: {s(a[2])}, {s(a[0])}))"
        raise ModelError(f"cannot compile IR operator {op!r}")


@dataclass
class CompiledModel:
    """Fast callables for one traced model."""

    model: TracedModel
    successors: Callable[[State], list[tuple[int, State]]]
    first_violation: Callable[[State], int]  # index into invariants, or -1
    witness_hits: Callable[[State], list[int]]
    is_quiescent: Callable[[State], bool]
    binding_step: Sequence[Callable[[State], State | None]]  # per binding, for replay
    source: str
    invariant_ids: list[str]
    invariant_fns: list[Callable[[State], bool]]
    # The first (binding, index into model.action_checks) whose action property fails on a
    # transition out of the state, in binding order; None when every step is allowed.
    action_violation: Callable[[State], tuple[int, int] | None] = lambda s: None

    def step_allowed(self, binding: int, state: State) -> list[str]:
        """Ids of the action properties that the step `binding` from `state` violates (slow path)."""
        from pgcheck.checker.lang.interpret import evaluate

        out = []
        for a in self.model.action_checks:
            if a.binding == binding and not evaluate(a.cond, state):
                out.append(a.prop.id)
        return out

    def check(self, state: State) -> list[str]:
        """All violated invariant ids of a state (slow path, for reports)."""
        return [
            pid for pid, fn in zip(self.invariant_ids, self.invariant_fns, strict=True) if not fn(state)
        ]


def _binding_block(g: _Gen, b: Binding, indent: str, emit: str) -> list[str]:
    g.where = f"action {b.label}"
    lines = [f"{indent}# {b.label}", f"{indent}if {g.src(b.guard)}:"]
    inner = indent + "    "
    for cond, msg in b.asserts:
        site = g.site(msg)
        lines.append(f"{inner}if not {g.src(cond)}: _null({site})")
    if b.updates:
        lines.append(f"{inner}n = list(s)")
        for idx, e in sorted(b.updates.items()):
            lines.append(f"{inner}n[{idx}] = {g.src(e)}")
        lines.append(f"{inner}{emit.format(i=b.index, n='tuple(n)')}")
    else:
        lines.append(f"{inner}{emit.format(i=b.index, n='s')}")
    g.where = ""
    return lines


def compile_model(model: TracedModel, invariant_ids: list[str] | None = None) -> CompiledModel:
    """Generate and load the successor, invariant and witness functions of `model`."""
    g = _Gen(model)
    chosen = [
        (p, e) for p, e in model.invariants if invariant_ids is None or p.id in invariant_ids
    ]
    out: list[str] = ["def successors(s):", "    out = []", "    add = out.append"]
    for b in model.bindings:
        out += _binding_block(g, b, "    ", "add(({i}, {n}))")
    out.append("    return out")
    # One function per binding, for replay only: compiled when first used (the fused successor
    # function above already holds every binding once; compiling them all again doubled the time
    # and memory of compiling the largest models, 8 carriers x 32 sessions).
    step_sources = []
    for b in model.bindings:
        lines = [f"def step_{b.index}(s):", *_binding_block(g, b, "    ", "return {n}"), "    return None"]
        step_sources.append("\n".join(lines) + "\n")
    out.append("def first_violation(s):")
    for i, (p, e) in enumerate(chosen):
        g.where = f"invariant {p.id}"
        out.append(f"    if not {g.src(e)}: return {i}")
    out.append("    return -1")
    for i, (p, e) in enumerate(chosen):
        g.where = f"invariant {p.id}"
        out.append(f"def inv_{i}(s): return bool({g.src(e)})")
    out.append("def witness_hits(s):")
    out.append("    hits = []")
    for i, (p, e) in enumerate(model.witnesses):
        g.where = f"witness {p.id}"
        out.append(f"    if {g.src(e)}: hits.append({i})")
    out.append("    return hits")
    out += _action_violation_source(g, model)
    g.where = "quiescence predicate"
    out.append(f"def is_quiescent(s): return bool({g.src(model.quiescent)})")
    g.where = ""
    source = "\n".join(out) + "\n"

    sites = g.sites

    def _null(site: int) -> Any:
        raise ModelError(sites[site])

    namespace: dict[str, Any] = {"_null": _null, "NULL_REF": NULL_REF}
    try:
        code = compile(source, f"<pgcheck model {model.name}>", "exec")
    except (RecursionError, MemoryError) as e:  # pragma: no cover - pathological models only
        raise ModelError(f"model {model.name} is too large to compile: {e}") from None
    exec(code, namespace)
    steps = LazySteps(step_sources, namespace, model.name)
    cm = CompiledModel(
        model=model,
        successors=_diagnosing(namespace["successors"], model, steps),
        first_violation=namespace["first_violation"],
        witness_hits=namespace["witness_hits"],
        is_quiescent=namespace["is_quiescent"],
        binding_step=steps,
        source=source + "".join(step_sources),
        invariant_ids=[p.id for p, _ in chosen],
        invariant_fns=[namespace[f"inv_{i}"] for i in range(len(chosen))],
        action_violation=namespace["action_violation"],
    )
    return cm


class LazySteps(Sequence[Callable[[State], "State | None"]]):
    """The per-binding step functions, each compiled on first use."""

    def __init__(self, sources: list[str], namespace: dict[str, Any], name: str) -> None:
        self._sources = sources
        self._namespace = namespace
        self._name = name
        self._done: list[Callable[[State], State | None] | None] = [None] * len(sources)

    def __len__(self) -> int:
        return len(self._sources)

    @overload
    def __getitem__(self, i: int) -> Callable[[State], State | None]: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Callable[[State], State | None]]: ...
    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        fn = self._done[i]
        if fn is None:
            exec(compile(self._sources[i], f"<pgcheck model {self._name} step {i}>", "exec"), self._namespace)
            fn = self._done[i] = self._namespace[self._sources[i][4:self._sources[i].index("(")]]
        return fn


def _action_violation_source(g: _Gen, model: TracedModel) -> list[str]:
    """`action_violation(s)`: each binding's guard, then its action properties, in binding order."""
    by_binding: dict[int, list[int]] = {}
    for k, a in enumerate(model.action_checks):
        by_binding.setdefault(a.binding, []).append(k)
    out = ["def action_violation(s):"]
    for b in model.bindings:
        ks = by_binding.get(b.index)
        if not ks:
            continue
        g.where = f"action {b.label}"
        out.append(f"    if {g.src(b.guard)}:")
        for k in ks:
            a = model.action_checks[k]
            g.where = f"action property {a.prop.id} at {b.label}"
            out.append(f"        if not {g.src(a.cond)}: return ({b.index}, {k})")
    out.append("    return None")
    g.where = ""
    return out


def _diagnosing(
    fused: Callable[[State], list[tuple[int, State]]],
    model: TracedModel,
    steps: Sequence[Callable[[State], State | None]],
) -> Callable[[State], list[tuple[int, State]]]:
    """The fused successor function; on an evaluation error, finds the action responsible."""

    def successors(s: State) -> list[tuple[int, State]]:
        try:
            return fused(s)
        except ModelError:
            raise
        except Exception as e:
            for b, step in zip(model.bindings, steps, strict=True):
                try:
                    step(s)
                except Exception as inner:
                    raise ModelError(f"action {b.label}: {type(inner).__name__}: {inner}") from None
            raise ModelError(f"evaluating successors: {type(e).__name__}: {e}") from None

    return successors
