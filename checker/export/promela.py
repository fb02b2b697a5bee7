"""Export a traced model as Promela, for cross-checks with Spin (ARCHITECTURE Decision 2).

The translation keeps pgcheck's state space one to one, so that Spin's count of stored
states (partial-order reduction off) equals the explorer's distinct count (symmetry off):

- One global state: every field of every entity instance is a global variable (arrays
  per kind and field), initialised to the model's initial state in its declaration.
  Scratch values live in `hidden` variables, which are not part of Spin's state vector.
- One process, `pgcheck_model`, whose body is a single `do` loop. Each binding of each
  action is one option `d_step { guard -> checks; updates }`: one indivisible transition
  from the loop head back to it. Updates are simultaneous, as in pgcheck (values that
  read a field written by the same step are computed into temporaries first).
- Each invariant is an option `d_step { !(inv) -> assert(invariant_ID) }`, enabled only
  in a state that breaks it, so it adds no state; pan reports "assertion violated
  invariant_ID". These options come first, so a violation is caught where it is reached.
- Deadlock: pgcheck reports a state with no enabled action unless the model's quiescence
  predicate holds. The loop head is an end state (`end_model:`), so Spin's own
  invalid-end-state check accepts every stop; the option
  `atomic { timeout && !(quiescent) -> assert(deadlock) }` fires exactly in the states
  pgcheck calls deadlocks. `timeout` holds only when nothing else is executable.
- Model errors (out-of-range write, FIFO over capacity, a read through a null reference)
  stop pan with "assertion violated model_error" or "invalid array index".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pgcheck.checker.errors import UsageError, check_names
from pgcheck.checker.export.promela_expr import FieldStore, Seq, Translator
from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.spec import Binding, KindDecl, Spec, TracedModel
from pgcheck.checker.lang.types import Bool, Enum, FieldType, Fifo, Int, Ref, Set

PROCESS = "pgcheck_model"
END_LABEL = "end_model"
# Spin keywords and pan names a generated variable must not take.
_KEYWORDS = """
    active assert atomic bit bool break byte c_code c_decl c_expr c_state c_track chan d_step do else
    empty enabled eval false fi full goto hidden if init inline int len local mtype nempty never nfull
    od of pc_value printf printm priority proctype provided run select short skip timeout true typedef
    unless unsigned xr xs deadlock model_error model_error_at
"""
RESERVED = frozenset(_KEYWORDS.split())


@dataclass(frozen=True)
class _Encoding:
    ptype: str  # Promela type of one stored value
    offset: int


def _universe(ty: Set, kinds: dict[str, KindDecl]) -> int:
    return len(ty.of.values) if isinstance(ty.of, Enum) else int(kinds[ty.of].count or 0)


def _int_type(top: int) -> str:
    if top <= 255:
        return "byte"
    if top <= 32767:
        return "short"
    return "int"


def _encoding(ty: FieldType, kinds: dict[str, KindDecl], label: str) -> _Encoding:
    if isinstance(ty, Bool):
        return _Encoding("bool", 0)
    if isinstance(ty, Enum):
        return _Encoding(_int_type(len(ty.values) - 1), 0)
    if isinstance(ty, Ref):
        return _Encoding(_int_type(int(kinds[ty.kind].count or 1)), 1)
    if isinstance(ty, Int):
        offset = -ty.lo if ty.lo < 0 else 0
        top = ty.hi + offset
        if top > 2**31 - 1:
            raise UsageError(f"{label}: the range {ty.lo}..{ty.hi} does not fit a Promela int")
        return _Encoding(_int_type(top), offset)
    if isinstance(ty, Set):
        u = _universe(ty, kinds)
        if u > 31:
            raise UsageError(f"{label}: a set over {u} members does not fit a Promela int")
        return _Encoding("byte" if u <= 8 else "short" if u <= 15 else "int", 0)
    if isinstance(ty, Fifo):
        if int(kinds[ty.kind].count or 1) > 255:
            raise UsageError(f"{label}: FIFO items are stored as bytes (at most 255 instances)")
        return _Encoding("byte", 0)
    raise UsageError(f"{label}: the Promela export does not know the field type {ty.name}")


def _ident(text: str) -> str:
    return re.sub(r"\W", "_", text)


class _Layout:
    """Global declarations for the model's state and where each slot lives."""

    def __init__(self, model: TracedModel) -> None:
        self.model = model
        self.fields: dict[tuple[str, str], FieldStore] = {}
        self.decls: list[str] = []
        taken: set[str] = set(RESERVED)
        for kind in model.kinds.values():
            for fname, ty in kind.fields.items():
                name = _ident(f"{kind.name}_{fname}")
                while name in taken or f"{name}_n" in taken or name.startswith(("_", "invariant_")):
                    name = "v" + name if name.startswith("_") else name + "_"
                taken.update({name, f"{name}_n"})
                enc = _encoding(ty, model.kinds, f"{kind.name}.{fname}")
                cap = ty.capacity if isinstance(ty, Fifo) else 0
                store = FieldStore(name, enc.offset, cap, kind.count is None)
                self.fields[(kind.name, fname)] = store
                self.decls += self._declare(kind, fname, ty, enc, store)

    def store_of(self, slot: int) -> tuple[FieldStore, int | None]:
        info = self.model.slots[slot]
        return self.fields[(info.kind, info.field)], info.instance

    def field_store(self, kind: str, fname: str) -> FieldStore:
        return self.fields[(kind, fname)]

    def _declare(self, kind: KindDecl, fname: str, ty: FieldType, enc: _Encoding, store: FieldStore) -> list[str]:
        init = self.model.init
        insts = [None] if kind.count is None else list(kind.instances)
        values = [init[self.model.slot_of[(kind.name, i, fname)]] for i in insts]
        note = f"  /* {kind.name}.{fname}: {_describe(ty)} */"
        if isinstance(ty, Fifo):
            cap = max(ty.capacity, 1)
            items: list[int] = []
            for v in values:
                items += [*v, *([0] * (cap - len(v)))]
            counts = [len(v) for v in values]
            if kind.count is None:
                return [
                    f"byte {store.name}[{cap}] = {_init_list(items)};{note}",
                    f"byte {store.name}_n = {counts[0]};",
                ]
            return [
                f"byte {store.name}[{cap * len(values)}] = {_init_list(items)};{note}",
                f"byte {store.name}_n[{len(values)}] = {_init_list(counts)};",
            ]
        stored = [int(v) + enc.offset for v in values]
        if kind.count is None:
            return [f"{enc.ptype} {store.name} = {stored[0]};{note}"]
        return [f"{enc.ptype} {store.name}[{len(stored)}] = {_init_list(stored)};{note}"]


def _init_list(values: list[int]) -> str:
    if len(set(values)) == 1:
        return str(values[0])
    return "{" + ", ".join(str(v) for v in values) + "}"


def _describe(ty: FieldType) -> str:
    if isinstance(ty, Enum):
        return "enum " + " ".join(f"{i}={v}" for i, v in enumerate(ty.values))
    if isinstance(ty, Ref):
        return f"ref {ty.kind}, stored +1 (0 = none)"
    if isinstance(ty, Int):
        return f"int {ty.lo}..{ty.hi}" + (f", stored +{-ty.lo}" if ty.lo < 0 else "")
    if isinstance(ty, Set):
        of = " ".join(f"{i}={v}" for i, v in enumerate(ty.of.values)) if isinstance(ty.of, Enum) else ty.of
        return f"set of {of} (bit mask)"
    if isinstance(ty, Fifo):
        return f"fifo of {ty.kind}, capacity {ty.capacity}, items then length in _n"
    return ty.name


def _comment(text: str) -> str:
    return text.replace("*/", "* /")


class _Emitter:
    def __init__(self, model: TracedModel, layout: _Layout) -> None:
        self.model = model
        self.layout = layout
        counts = {k.name: int(k.count or 1) for k in model.kinds.values()}
        self.tr = Translator(layout.store_of, layout.field_store, model.slot_of, counts)

    def guard(self, e: Expr) -> str:
        v = self.tr.pure(e)
        if isinstance(v, Seq):
            raise UsageError("internal: a guard is not a condition")
        return v

    def binding(self, b: Binding) -> list[str]:
        tr = self.tr
        tr.begin_block()
        body: list[str] = []
        for cond, msg in b.asserts:
            st, v = tr.stmt(cond)
            body += st
            body.append(f"if :: !{v} -> assert(model_error) /* {_comment(msg)} */ :: else -> skip fi")
        written = set(b.updates)
        writes: list[str] = []
        for idx, e in sorted(b.updates.items()):
            store, inst = self.layout.store_of(idx)
            st, v = tr.stmt(e)
            body += st
            clash = bool((tr.reads(e) & written) - ({idx} if not store.capacity else set()))
            if isinstance(v, Seq):
                if clash and not v.scratch:
                    v = tr.materialize(body, Seq(v.item, v.n, v.maxlen, False))
                writes += [
                    f"{store.item(inst, p)} = ({p} < {v.n} -> {v.item(p) if p < v.maxlen else '0'} : 0)"
                    for p in range(store.capacity)
                ]
                writes.append(f"{store.count(inst)} = {v.n}")
                continue
            if clash:
                t = tr.scalar_temp()
                body.append(f"{t} = {v}")
                v = t
            value = f"{v} + {store.offset}" if store.offset else v
            writes.append(f"{store.cell(inst)} = {value}")
        steps = body + writes or ["skip"]
        head = f"  :: d_step {{ /* {_comment(b.label)} */ {self.guard(b.guard)} ->"
        return [head, *(f"       {s};" for s in steps[:-1]), f"       {steps[-1]}", "     }"]


def to_promela(
    model: TracedModel,
    invariants: list[str] | None = None,
    about: list[str] | None = None,
    *,
    check_deadlock: bool = True,
) -> str:
    """The model as one Promela source. `invariants` names the invariants to assert (None:
    all of them); without `check_deadlock` every stop is a valid end state."""
    known = [p.id for p, _ in model.invariants]
    check_names("invariant", invariants or [], known, model.meta.get("invariants_not_applicable"))
    layout = _Layout(model)
    em = _Emitter(model, layout)
    options: list[str] = []
    checked = [(p, e) for p, e in model.invariants if invariants is None or p.id in invariants]
    names: list[str] = []
    for p, e in checked:
        name = "invariant_" + _ident(p.id)
        names.append(name)
        options.append(f"  :: d_step {{ !{em.guard(e)} -> assert({name}) }}  /* {_comment(p.statement)} */")
    for b in model.bindings:
        options += em.binding(b)
    if check_deadlock:
        quiet = em.guard(model.quiescent)
        options.append(f"  :: atomic {{ timeout && !{quiet} -> assert(deadlock) }}")
    if not options:  # nothing can ever happen: Promela has no empty do, so block at the end label
        options.append("  :: false")
    header = [
        "/*",
        f" * pgcheck model {model.name} as Promela: {len(model.bindings)} action bindings, "
        f"{len(checked)} invariants, {len(model.slots)} state fields"
        + ("." if check_deadlock else ", no deadlock check."),
        *(f" * {_comment(line)}" for line in about or []),
        " * Each binding is one d_step; invariants and deadlock freedom are assertions.",
        " * Verify (partial-order reduction off, so the stored-state count is comparable):",
        " *   spin -o2 -a model.pml && gcc -O2 -DNOREDUCE -DSAFETY -o pan pan.c && ./pan -m1000000",
        " * See docs/spin.md.",
        " */",
        "",
    ]
    hidden = ["hidden byte model_error;", "hidden byte model_error_at[1];", "hidden byte deadlock;"]
    hidden += [f"hidden byte {n};" for n in names]
    hidden += em.tr.temps.declarations()
    body = [
        f"active proctype {PROCESS}() {{",
        f"{END_LABEL}:",
        "  do",
        *options,
        "  od",
        "}",
    ]
    return "\n".join([*header, *layout.decls, "", *hidden, "", *body]) + "\n"


def spec_to_promela(
    spec: Spec, invariants: list[str] | None = None, about: list[str] | None = None, *, check_deadlock: bool = True
) -> str:
    """Trace `spec` (the model, a mutation of it, or a test variant) and export it."""
    return to_promela(spec.trace(), invariants, about, check_deadlock=check_deadlock)
