"""Export a traced model as Murphi, for cross-checks with Rumur (ARCHITECTURE Decision 2).

The translation keeps pgcheck's state space one to one, as the Promela export does, so
that Rumur's count of explored states (symmetry reduction off) equals the explorer's
distinct count (symmetry off):

- One global state: every field of every entity instance is a state variable (an array
  per kind and field, a variable per singleton field), set to the model's initial state
  by the one `startstate`. Scratch values are rule-local variables, not part of the state.
- Each binding of each action is one `rule`: its guard, then a body that makes the
  binding's run-time checks (`error "..."`) and its updates. Updates are simultaneous, as
  in pgcheck (values that read a field written by the same step are computed into locals
  first).
- Each invariant is a Murphi `invariant "ID" ...`, checked in every reached state.
- Deadlock: pgcheck reports a state with no enabled action unless the model's quiescence
  predicate holds. The rule `"quiescent"` is enabled exactly in quiescent states and
  changes nothing, so Rumur's `--deadlock-detection stuck` (a state where no rule is
  enabled) fires exactly in the states pgcheck calls deadlocks, and adds no state.
- Model errors (out-of-range write, FIFO over capacity, a read through a null reference)
  stop the verifier with an `error` or Rumur's own range and index checks.

Every field is an integer range or a boolean and the rules are written per binding
(instance indices are constants), so the export has no scalarset: Rumur's symmetry
reduction has nothing to permute (docs/rumur.md says why, and what pgcheck's own
symmetry reduction saves on the same models).
"""

from __future__ import annotations

import re

from pgcheck.checker.errors import UsageError
from pgcheck.checker.export.murphi_expr import (
    ERROR_BOOL,
    ERROR_INT,
    INT_TYPE,
    FieldStore,
    Seq,
    Translator,
    error_stmt,
    when,
)
from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.spec import Binding, KindDecl, Spec, TracedModel
from pgcheck.checker.lang.types import Bool, Enum, FieldType, Fifo, Int, Ref, Set

QUIESCENT_RULE = "quiescent"
# Murphi keywords (and Rumur's additions) a generated name must not take; Murphi keywords
# are case-insensitive, so the check is too.
_KEYWORDS = """
    alias array assert assume begin boolean by case clear const cover do else elsif end endalias endexists
    endfor endforall endfunction endif endprocedure endrecord endrule endruleset endstartstate endswitch
    endwhile enum error exists false for forall function if in interleaved invariant isundefined liveness
    of procedure process program put record return rule ruleset scalarset startstate switch then to
    traceuntil true type undefine union var while ismember multiset multisetadd multisetcount
    multisetremove multisetremovepred choose property
"""
RESERVED = frozenset(_KEYWORDS.split())
MAX_SET_UNIVERSE = 30  # bit masks stay within pg_int, the widest type of the export


def _range(ty: FieldType, kinds: dict[str, KindDecl], label: str) -> tuple[str, int]:
    """The Murphi type of one stored value and the offset added to the model value."""
    if isinstance(ty, Bool):
        return "boolean", 0
    if isinstance(ty, Enum):
        return f"0..{len(ty.values) - 1}", 0
    if isinstance(ty, Ref):
        return f"0..{int(kinds[ty.kind].count or 1)}", 1
    if isinstance(ty, Int):
        return f"{ty.lo}..{ty.hi}", 0
    if isinstance(ty, Set):
        u = len(ty.of.values) if isinstance(ty.of, Enum) else int(kinds[ty.of].count or 0)
        if u > MAX_SET_UNIVERSE:
            raise UsageError(f"{label}: a set over {u} members does not fit a 31-bit mask")
        return f"0..{2**u - 1}", 0
    if isinstance(ty, Fifo):
        return f"0..{max(int(kinds[ty.kind].count or 1) - 1, 0)}", 0
    raise UsageError(f"{label}: the Murphi export does not know the field type {ty.name}")


def _ident(text: str) -> str:
    return re.sub(r"\W", "_", text)


def _literal(ty: FieldType, stored: int) -> str:
    if isinstance(ty, Bool):
        return "true" if stored else "false"
    return str(stored)


def _string(text: str) -> str:
    return '"' + text.replace('"', "'") + '"'


def _comment(text: str) -> str:
    return text.replace("--", "- -").replace("\n", " ")


class _Layout:
    """State variable declarations, the start state and where each slot lives."""

    def __init__(self, model: TracedModel) -> None:
        self.model = model
        self.fields: dict[tuple[str, str], FieldStore] = {}
        self.decls: list[str] = []
        self.start: list[str] = []
        taken: set[str] = set(RESERVED)
        for kind in model.kinds.values():
            for fname, ty in kind.fields.items():
                name = _ident(f"{kind.name}_{fname}")
                if name.startswith(("_", "model_error", "tmp_")):  # locals and helpers use these
                    name = "v" + name
                while name.lower() in taken or f"{name}_n".lower() in taken:
                    name += "_"
                taken.update({name.lower(), f"{name}_n".lower()})
                rng, offset = _range(ty, model.kinds, f"{kind.name}.{fname}")
                cap = ty.capacity if isinstance(ty, Fifo) else 0
                store = FieldStore(name, offset, cap, kind.count is None)
                self.fields[(kind.name, fname)] = store
                self._declare(kind, fname, ty, rng, store)

    def store_of(self, slot: int) -> tuple[FieldStore, int | None]:
        info = self.model.slots[slot]
        return self.fields[(info.kind, info.field)], info.instance

    def field_store(self, kind: str, fname: str) -> FieldStore:
        return self.fields[(kind, fname)]

    def _declare(self, kind: KindDecl, fname: str, ty: FieldType, rng: str, store: FieldStore) -> None:
        insts: list[int | None] = [None] if kind.count is None else list(kind.instances)
        note = f"  -- {kind.name}.{fname}: {_comment(_describe(ty))}"
        outer = "" if kind.count is None else f"array[0..{len(insts) - 1}] of "
        if isinstance(ty, Fifo):
            cap = max(ty.capacity, 1)
            self.decls.append(f"  {store.name}: {outer}array[0..{cap - 1}] of {rng};{note}")
            self.decls.append(f"  {store.name}_n: {outer}0..{ty.capacity};")
        else:
            self.decls.append(f"  {store.name}: {outer}{rng};{note}")
        for i in insts:
            value = self.model.init[self.model.slot_of[(kind.name, i, fname)]]
            if isinstance(ty, Fifo):
                items = [*value, *([0] * (max(ty.capacity, 1) - len(value)))]
                self.start += [f"{store.item(i, p)} := {v}" for p, v in enumerate(items)]
                self.start.append(f"{store.count(i)} := {len(value)}")
            else:
                self.start.append(f"{store.cell(i)} := {_literal(ty, int(value) + store.offset)}")


def _describe(ty: FieldType) -> str:
    if isinstance(ty, Enum):
        return "enum " + " ".join(f"{i}={v}" for i, v in enumerate(ty.values))
    if isinstance(ty, Ref):
        return f"ref {ty.kind}, stored +1 (0 = none)"
    if isinstance(ty, Int):
        return f"int {ty.lo}..{ty.hi}"
    if isinstance(ty, Set):
        of = " ".join(f"{i}={v}" for i, v in enumerate(ty.of.values)) if isinstance(ty.of, Enum) else ty.of
        return f"set of {of} (bit mask)"
    if isinstance(ty, Fifo):
        return f"fifo of {ty.kind}, capacity {ty.capacity}, items then length in _n"
    return ty.name


class _Emitter:
    def __init__(self, model: TracedModel, layout: _Layout) -> None:
        self.model = model
        self.layout = layout
        self.tr = Translator(layout.store_of, layout.field_store, model.slot_of)

    def condition(self, e: Expr) -> str:
        v = self.tr.pure(e)
        if isinstance(v, Seq):
            raise UsageError("internal: a guard is not a condition")
        return v

    def binding(self, b: Binding) -> list[str]:
        tr = self.tr
        tr.begin_block()
        guard = self.condition(b.guard)
        body: list[str] = []
        for cond, msg in b.asserts:
            st, v = tr.stmt(cond)
            body += st
            body.append(when(f"!{v}", [error_stmt(msg)]))
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
                    f"{store.item(inst, p)} := ({p} < {v.n} ? {v.item(p) if p < v.maxlen else '0'} : 0)"
                    for p in range(store.capacity)
                ]
                writes.append(f"{store.count(inst)} := {v.n}")
                continue
            if clash:
                t = tr.temp_for(e)
                body.append(f"{t} := {v}")
                v = t
            value = f"{v} + {store.offset}" if store.offset else v
            writes.append(f"{store.cell(inst)} := {value}")
        local = tr.locals
        lines = [f"rule {_string(b.label)}", f"  {guard}", "==>"]
        decls = local.declarations()
        if decls:
            lines.append("var " + " ".join(f"{d};" for d in decls))
        lines.append("begin")
        lines += [f"  {s};" for s in [*local.clears(), *body, *writes]]
        lines.append("end;")
        return lines


def _prelude() -> list[str]:
    return [
        f"type {INT_TYPE}: -2147483648..2147483647;",
        "",
        f"function {ERROR_INT.removesuffix('()')}(): {INT_TYPE};",
        "begin",
        f"  {error_stmt('model error: evaluation error (null reference, empty FIFO or null set member)')};",
        "  return 0;",
        "end;",
        "",
        f"function {ERROR_BOOL.removesuffix('()')}(): boolean;",
        "begin",
        f"  {error_stmt('model error: evaluation error (null reference, empty FIFO or null set member)')};",
        "  return false;",
        "end;",
    ]


def to_murphi(
    model: TracedModel,
    invariants: list[str] | None = None,
    about: list[str] | None = None,
    *,
    check_deadlock: bool = True,
) -> str:
    """The model as one Murphi source for Rumur. `invariants` names the invariants to check
    (None: all of them); `check_deadlock` only changes the header's suggested command
    (deadlock detection is an option of rumur, see `rumur.build`)."""
    known = [p.id for p, _ in model.invariants]
    unknown = [i for i in invariants or [] if i not in known]
    if unknown:
        raise UsageError(f"unknown invariant {', '.join(unknown)}; known: {', '.join(known)}")
    layout = _Layout(model)
    em = _Emitter(model, layout)
    rules: list[str] = []
    for b in model.bindings:
        rules += em.binding(b)
        rules.append("")
    quiet = em.condition(model.quiescent)
    rules += [f"rule {_string(QUIESCENT_RULE)}", f"  {quiet}", "==>", "begin", "end;", ""]
    checked = [(p, e) for p, e in model.invariants if invariants is None or p.id in invariants]
    props = [f"invariant {_string(p.id)} {em.condition(e)};  -- {_comment(p.statement)}" for p, e in checked]
    deadlock = "stuck" if check_deadlock else "off"
    header = [
        f"-- pgcheck model {model.name} as Murphi: {len(model.bindings)} action bindings, "
        f"{len(checked)} invariants, {len(model.slots)} state fields.",
        *(f"-- {_comment(line)}" for line in about or []),
        "-- Each binding is one rule; invariants are Murphi invariants. Verify with Rumur:",
        f"--   rumur --deadlock-detection {deadlock} --symmetry-reduction off -o model.c model.m",
        "--   gcc -O2 -mcx16 -o model model.c -lpthread -latomic && ./model",
        "-- See docs/rumur.md.",
        "",
    ]
    start = ["startstate", "begin", *(f"  {s};" for s in layout.start), "end;", ""]
    return "\n".join([*header, *_prelude(), "", "var", *layout.decls, "", *start, *rules, *props]) + "\n"


def spec_to_murphi(
    spec: Spec, invariants: list[str] | None = None, about: list[str] | None = None, *, check_deadlock: bool = True
) -> str:
    """Trace `spec` (the model, a mutation of it, or a test variant) and export it."""
    return to_murphi(spec.trace(), invariants, about, check_deadlock=check_deadlock)
