"""Export a traced model as Murphi, for cross-checks with Rumur (ARCHITECTURE Decision 2).

The translation keeps pgcheck's state space one to one, as the Promela export does, so
that Rumur's count of explored states (symmetry reduction off) equals the explorer's
distinct count (symmetry off):

- One global state: every field of every entity instance is a state variable (an array
  per kind and field, a variable per singleton field), set to the model's initial state
  by the one `startstate`. Scratch values are rule-local variables, not part of the state.
- Each binding of each action is one `rule`: its guard, then a body that makes the
  binding's run-time checks (`error "..."`), its action properties (`assert`, before any
  write: a traced action property reads the post-state as the binding's updates) and its
  updates. Updates are simultaneous, as in pgcheck (values that read a field written by
  the same step are computed into locals first).
- Each invariant is a Murphi `invariant "ID" ...`, checked in every reached state.
- Deadlock: pgcheck reports a state with no enabled action unless the model's quiescence
  predicate holds. The rule `"quiescent"` is enabled exactly in quiescent states and
  changes nothing, so Rumur's `--deadlock-detection stuck` (a state where no rule is
  enabled) fires exactly in the states pgcheck calls deadlocks, and adds no state.
- Model errors (out-of-range write, FIFO over capacity, a read through a null reference)
  stop the verifier with an `error` or Rumur's own range, index and undefined-value checks.

With scalarsets (the default), each symmetry group the model declares is a Murphi
scalarset (references into it scalarset values, sets of it arrays of booleans indexed by
it), and only one binding per orbit of bindings is written, in a ruleset over the
instances its parameters name (the others are picked from the values left): under the
model's symmetry those rules fire exactly its bindings, and Rumur's symmetry reduction
can permute the instances (docs/rumur.md gives the argument and the counts). Without,
instance indices are constants and there is nothing for Rumur to permute.

Why one module of this size: the declarations, rulesets and properties of one Murphi file
share its naming of types and instances; expressions are murphi_expr.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pgcheck.checker.errors import UsageError, check_names
from pgcheck.checker.explicit.symmetry_check import check_symmetric
from pgcheck.checker.export.murphi_expr import (
    ERROR_BOOL,
    ERROR_INT,
    INT_TYPE,
    FieldStore,
    RefV,
    Seq,
    SetV,
    Symmetric,
    Translator,
    assign_ref,
    error_stmt,
    when,
)
from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.spec import ActionCheck, Binding, KindDecl, Spec, TracedModel
from pgcheck.checker.lang.types import NULL_REF, Bool, Enum, FieldType, Fifo, Int, Ref, Set

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


def _range(ty: FieldType, kinds: dict[str, KindDecl], label: str, sym: dict[str, str]) -> tuple[str, int]:
    """The Murphi type of one stored value and the offset added to the model value.
    `sym` maps a symmetric kind to its scalarset type: references to it are scalarset
    values (none is undefined), FIFOs of it hold scalarset values."""
    if isinstance(ty, Bool):
        return "boolean", 0
    if isinstance(ty, Enum):
        return f"0..{len(ty.values) - 1}", 0
    if isinstance(ty, (Ref, Fifo)) and ty.kind in sym:
        return sym[ty.kind], 0
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
    """State variable declarations, the start state and where each slot lives.

    With `scalarsets`, each symmetry group of the model is one scalarset type: the arrays
    of its kinds are indexed by it, references into it and FIFOs of it hold its values.
    In rules its instance k is the ruleset parameter `param(type, k)`; in the start state
    it is `q_TYPE[k]`, the k-th value in the order `for i: TYPE` visits them (so the start
    state is pgcheck's one initial state, not one per naming)."""

    def __init__(self, model: TracedModel, *, scalarsets: bool = False) -> None:
        self.model = model
        self.fields: dict[tuple[str, str], FieldStore] = {}
        self.decls: list[str] = []
        self.start: list[str] = []
        taken: set[str] = set(RESERVED)
        self.used: set[str] = set()  # instance names the rule being written mentions
        self.type_of: dict[str, str] = {}  # symmetric kind -> scalarset type
        self.size_of: dict[str, int] = {}  # scalarset type -> instances
        self.params: dict[str, list[str]] = {}  # scalarset type -> ruleset parameter per instance
        for kinds in model.symmetry if scalarsets else []:
            tname = "pg_" + "_".join(_ident(k) for k in kinds)
            while tname.lower() in taken:
                tname += "_"
            taken.add(tname.lower())
            n = int(model.kinds[kinds[0]].count or 1)
            self.size_of[tname] = n
            self.params[tname] = [f"{tname}_{k}" for k in range(n)]
            taken.update({p.lower() for p in self.params[tname]})
            taken.update({f"q_{tname}".lower(), f"pad_{tname}".lower(), f"model_error_{tname}".lower()})
            for k in kinds:
                self.type_of[k] = tname
        for kind in model.kinds.values():
            for fname, ty in kind.fields.items():
                name = _ident(f"{kind.name}_{fname}")
                if name.startswith(("_", "model_error", "tmp_", "pg_", "q_", "pad_")):  # locals and helpers use these
                    name = "v" + name
                while name.lower() in taken or f"{name}_n".lower() in taken:
                    name += "_"
                taken.update({name.lower(), f"{name}_n".lower()})
                rng, offset = _range(ty, model.kinds, f"{kind.name}.{fname}", self.type_of)
                cap = ty.capacity if isinstance(ty, Fifo) else 0
                sym = self.type_of.get(ty.kind, "") if isinstance(ty, (Ref, Fifo)) else ""
                members = ty.of if isinstance(ty, Set) and isinstance(ty.of, str) and ty.of in self.type_of else ""
                if members:
                    rng, offset = f"array[{self.type_of[members]}] of boolean", 0
                store = FieldStore(name, offset, cap, kind.count is None, sym, members)
                self.fields[(kind.name, fname)] = store
                self._declare(kind, fname, ty, rng, store)

    @property
    def symmetric(self) -> Symmetric | None:
        if not self.type_of:
            return None
        return Symmetric(
            self.type_of,
            self.param,
            {t: f"pad_{t}" for t in self.size_of},
            {t: f"model_error_{t}()" for t in self.size_of},
            {k: int(self.model.kinds[k].count or 1) for k in self.type_of},
        )

    def param(self, kind: str, i: int) -> str:
        name = self.params[self.type_of[kind]][i]
        self.used.add(name)
        return name

    def _start_name(self, kind: str, i: int | None) -> int | str | None:
        if i is None or kind not in self.type_of:
            return i
        return f"q_{self.type_of[kind]}[{i}]"

    def store_of(self, slot: int) -> tuple[FieldStore, int | str | None]:
        info = self.model.slots[slot]
        store = self.fields[(info.kind, info.field)]
        if info.instance is not None and info.kind in self.type_of:
            return store, self.param(info.kind, info.instance)
        return store, info.instance

    def field_store(self, kind: str, fname: str) -> FieldStore:
        return self.fields[(kind, fname)]

    def _declare(self, kind: KindDecl, fname: str, ty: FieldType, rng: str, store: FieldStore) -> None:
        insts: list[int | None] = [None] if kind.count is None else list(kind.instances)
        note = f"  -- {kind.name}.{fname}: {_comment(_describe(ty, store.sym))}"
        index = self.type_of.get(kind.name) or f"0..{len(insts) - 1}"
        outer = "" if kind.count is None else f"array[{index}] of "
        if isinstance(ty, Fifo):
            cap = max(ty.capacity, 1)
            self.decls.append(f"  {store.name}: {outer}array[0..{cap - 1}] of {rng};{note}")
            self.decls.append(f"  {store.name}_n: {outer}0..{ty.capacity};")
        else:
            self.decls.append(f"  {store.name}: {outer}{rng};{note}")
        for i in insts:
            value = self.model.init[self.model.slot_of[(kind.name, i, fname)]]
            at = self._start_name(kind.name, i)
            if isinstance(ty, Fifo) and store.sym:
                self.start += [f"{store.item(at, p)} := {self._start_name(ty.kind, v)}" for p, v in enumerate(value)]
                self.start += [f"undefine {store.item(at, p)}" for p in range(len(value), max(ty.capacity, 1))]
                self.start.append(f"{store.count(at)} := {len(value)}")
            elif isinstance(ty, Fifo):
                items = [*value, *([0] * (max(ty.capacity, 1) - len(value)))]
                self.start += [f"{store.item(at, p)} := {v}" for p, v in enumerate(items)]
                self.start.append(f"{store.count(at)} := {len(value)}")
            elif store.members:
                n = int(self.model.kinds[store.members].count or 1)
                self.start += [
                    f"{store.cell(at)}[{self._start_name(store.members, i)}] := {'true' if (int(value) >> i) & 1 else 'false'}"
                    for i in range(n)
                ]
            elif store.sym:
                assert isinstance(ty, Ref)
                none = int(value) == NULL_REF
                self.start.append(f"undefine {store.cell(at)}" if none else f"{store.cell(at)} := {self._start_name(ty.kind, int(value))}")
            else:
                self.start.append(f"{store.cell(at)} := {_literal(ty, int(value) + store.offset)}")

    def start_block(self) -> list[str]:
        """The one start state; with scalarsets, q_T names T's values in a fixed order first."""
        if not self.size_of:
            return ["startstate", "begin", *(f"  {s};" for s in self.start), "end;"]
        decls = [f"q_{t}: array[0..{n - 1}] of {t}; k_{t}: 0..{n}" for t, n in self.size_of.items()]
        naming: list[str] = []
        for t in self.size_of:
            naming += [f"k_{t} := 0", f"for i: {t} do q_{t}[k_{t}] := i; k_{t} := k_{t} + 1; end"]
        pads = [f"undefine pad_{t}" for t in self.size_of]
        body = [*naming, *pads, *self.start]
        return ["startstate", "var " + " ".join(f"{d};" for d in decls), "begin", *(f"  {s};" for s in body), "end;"]

    def naming(self, named: dict[str, int], used: set[str] | None = None) -> Naming:
        """How a rule names the instances: per scalarset T, instances 0..named[T]-1 are ruleset
        parameters (different values), the others the values left, in the order `for i: T`
        visits them (`pick_T_m`, an alias; only those in `used`, when given: Rumur computes
        every alias each time it evaluates the rule)."""
        params: list[str] = []
        aliases: list[str] = []
        distinct: list[str] = []
        for t, names in self.params.items():
            m = named.get(t, 0)
            params += [f"{names[j]}: {t}" for j in range(m)]
            distinct += [f"{names[a]} != {names[b]}" for a in range(m) for b in range(a + 1, m)]
            args = ", ".join(names[:m])
            aliases += [
                f"{names[j]}: pick_{t}_{m}({args}{', ' if args else ''}{j - m})"
                for j in range(m, len(names))
                if used is None or names[j] in used
            ]
        return Naming(params, aliases, "(" + " & ".join(distinct) + ")" if distinct else "")

    def pick_functions(self) -> list[str]:
        """`pick_T_m(a0, ..., k)`: the k-th value of T, in the order `for i: T` visits them, that is
        none of a0, ...; one function per number m of values left out."""
        out: list[str] = []
        for t, n in self.size_of.items():
            for m in range(n + 1):
                if m == n:
                    continue  # every instance is a parameter: nothing to pick
                args = [f"a{j}: {t}" for j in range(m)]
                head = "; ".join([*args, f"k: 0..{n - 1}"])
                skip = " & ".join(f"i != a{j}" for j in range(m)) or "true"
                out += [
                    f"function pick_{t}_{m}({head}): {t};",
                    f"var c: 0..{n};",
                    "begin",
                    "  c := 0;",
                    f"  for i: {t} do if {skip} then if c = k then return i; endif; c := c + 1; endif; end;",
                    f"  {error_stmt('internal: no instance left to pick')};",
                    f"  return pad_{t};",
                    "end;",
                    "",
                ]
        return out


@dataclass(frozen=True)
class Naming:
    """Ruleset parameters, aliases for the other instances, and "the parameters differ"."""

    params: list[str]
    aliases: list[str]
    distinct: str

    def wrap(self, lines: list[str]) -> list[str]:
        if self.aliases:
            lines = [f"alias {'; '.join(self.aliases)} do", *lines, "endalias;"]
        if self.params:
            lines = [f"ruleset {'; '.join(self.params)} do", *lines, "end;"]
        return lines


def _describe(ty: FieldType, sym: str = "") -> str:
    if isinstance(ty, Enum):
        return "enum " + " ".join(f"{i}={v}" for i, v in enumerate(ty.values))
    if isinstance(ty, Ref) and sym:
        return f"ref {ty.kind}, a {sym} value (undefined = none)"
    if isinstance(ty, Ref):
        return f"ref {ty.kind}, stored +1 (0 = none)"
    if isinstance(ty, Fifo) and sym:
        return f"fifo of {ty.kind}, capacity {ty.capacity}, {sym} items (undefined past the length) then length in _n"
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
        self.tr = Translator(layout.store_of, layout.field_store, model.slot_of, layout.symmetric)

    def condition(self, e: Expr) -> str:
        v = self.tr.pure(e)
        if isinstance(v, (Seq, RefV, SetV)):
            raise UsageError("internal: a guard is not a condition")
        return v

    def binding(self, b: Binding, checks: list[ActionCheck] | None = None, distinct: str = "") -> list[str]:
        """One rule: guard; run-time checks (`error`); action properties (`assert`, over the
        pre-state: the post-state of a check is the binding's update, substituted, so every
        check runs before the first write); then the simultaneous updates."""
        tr = self.tr
        tr.begin_block()
        guard = self.condition(b.guard)
        if distinct:
            guard = f"{distinct} & {guard}"
        body: list[str] = []
        for cond, msg in b.asserts:
            st, v = tr.stmt(cond)
            body += st
            body.append(when(f"!{v}", [error_stmt(msg)]))
        for a in checks or []:
            st, v = tr.stmt(a.cond)
            body += st
            body.append(f"assert {v} {_string(ACTION_PREFIX + a.prop.id)}")
        written = set(b.updates)
        writes: list[str] = []
        for idx, e in sorted(b.updates.items()):
            store, inst = self.layout.store_of(idx)
            st, v = tr.stmt(e)
            body += st
            clash = bool((tr.reads(e) & written) - ({idx} if not store.capacity else set()))
            if isinstance(v, Seq):
                if clash and not v.scratch:
                    v = tr.materialize(body, Seq(v.item, v.n, v.maxlen, False, sym=v.sym))
                writes += self._fifo_writes(store, inst, v)
                writes.append(f"{store.count(inst)} := {v.n}")
                continue
            if clash:
                v = tr.hold(body, e, v)
            if isinstance(v, RefV):
                writes.append(assign_ref(store.cell(inst), v))
                continue
            if isinstance(v, SetV):
                writes += [f"{store.cell(inst)}[{n}] := {bit}" for n, bit in v.bits]
                continue
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

    @staticmethod
    def _fifo_writes(store: FieldStore, inst: int | str | None, v: Seq) -> list[str]:
        if store.sym:  # positions past the length are undefined, as in the start state
            return [
                when(f"{p} < {v.n}", [f"{store.item(inst, p)} := {v.item(p)}"], [f"undefine {store.item(inst, p)}"])
                if p < v.maxlen
                else f"undefine {store.item(inst, p)}"
                for p in range(store.capacity)
            ]
        return [
            f"{store.item(inst, p)} := ({p} < {v.n} ? {v.item(p) if p < v.maxlen else '0'} : 0)"
            for p in range(store.capacity)
        ]


def _types(sym: dict[str, int]) -> list[str]:
    return [*(f"type {t}: scalarset({n});" for t, n in sym.items()), f"type {INT_TYPE}: -2147483648..2147483647;"]


def _functions(sym: dict[str, int]) -> list[str]:
    """The functions an evaluation error calls: they stop the verifier with a model error."""
    out: list[str] = []
    typed = [(ERROR_INT.removesuffix("()"), INT_TYPE, "0"), (ERROR_BOOL.removesuffix("()"), "boolean", "false")]
    typed += [(f"model_error_{t}", t, f"pad_{t}") for t in sym]
    for name, ty, value in typed:
        out += [
            f"function {name}(): {ty};",
            "begin",
            f"  {error_stmt('model error: evaluation error (null reference, empty FIFO or null set member)')};",
            f"  return {value};",
            "end;",
            "",
        ]
    return out


def representatives(model: TracedModel, layout: _Layout) -> list[tuple[Binding, dict[str, int]]]:
    """With scalarsets, one binding per orbit of the symmetry on bindings, with how many
    instances of each scalarset its parameters name: those are 0, 1, ... in order of first
    mention. Its ruleset over those parameters fires each binding of the orbit (the model is
    symmetric, so renaming a binding gives another binding of the same action, and a renaming
    that fixes its parameters gives the binding itself)."""
    if not layout.size_of:
        return [(b, {}) for b in model.bindings]
    domains = {a.name: a.params for a in model.actions}
    out: list[tuple[Binding, dict[str, int]]] = []
    for b in model.bindings:
        seen: dict[str, list[int]] = {}
        ok = True
        for pname, value in b.params.items():
            dom = domains.get(b.action, {}).get(pname)
            if not (isinstance(dom, str) and dom in layout.type_of) or not isinstance(value, int) or value < 0:
                continue
            named = seen.setdefault(layout.type_of[dom], [])
            if value not in named:
                if value != len(named):
                    ok = False
                    break
                named.append(value)
        if ok:
            out.append((b, {t: len(v) for t, v in seen.items()}))
    return out


ACTION_PREFIX = "action "


def to_murphi(
    model: TracedModel,
    invariants: list[str] | None = None,
    about: list[str] | None = None,
    *,
    check_deadlock: bool = True,
    scalarsets: bool = True,
) -> str:
    """The model as one Murphi source for Rumur. `invariants` names the invariants and
    action properties to check (None: all of them); `check_deadlock` only changes the
    header's suggested command (deadlock detection is an option of rumur, see
    `rumur.build`). `scalarsets`: each symmetry group the model declares becomes a
    scalarset and the rules one ruleset over its instances (docs/rumur.md), so Rumur's
    symmetry reduction has something to permute; without, instances are plain indices."""
    known = [p.id for p, _ in model.invariants]
    steps = [a.id for a in model.action_properties]
    check_names("invariant", invariants or [], known + steps, model.meta.get("invariants_not_applicable"))
    if scalarsets and model.symmetry:  # Rumur reduces over the scalarsets: only sound for a symmetric model
        check_symmetric(model, remedy="export with --no-scalarsets")
    layout = _Layout(model, scalarsets=scalarsets)
    em = _Emitter(model, layout)
    chosen_steps = {a for a in steps if invariants is None or a in invariants}
    by_binding: dict[int, list[ActionCheck]] = {}
    for a in model.action_checks:
        if a.prop.id in chosen_steps:
            by_binding.setdefault(a.binding, []).append(a)
    rules: list[str] = []
    chosen = representatives(model, layout)
    for b, named in chosen:
        layout.used.clear()
        lines = em.binding(b, by_binding.get(b.index), layout.naming(named).distinct)
        rules += layout.naming(named, layout.used).wrap(lines)
        rules.append("")
    # The quiescence predicate and the invariants under one naming of the instances: a
    # symmetric predicate (every one pgcheck reduces by symmetry for) holds under one naming
    # iff under all.
    layout.used.clear()
    quiet = em.condition(model.quiescent)
    props = layout.naming({}, layout.used).wrap([f"rule {_string(QUIESCENT_RULE)}", f"  {quiet}", "==>", "begin", "end;", ""])
    checked = [(p, e) for p, e in model.invariants if invariants is None or p.id in invariants]
    for p, e in checked:
        layout.used.clear()
        cond = em.condition(e)
        props += layout.naming({}, layout.used).wrap([f"invariant {_string(p.id)} {cond};  -- {_comment(p.statement)}"])
    body = [*rules, *props]
    deadlock = "stuck" if check_deadlock else "off"
    reduction = "exhaustive" if layout.size_of else "off"
    shape = (
        f"Scalarsets {', '.join(f'{t} ({n})' for t, n in layout.size_of.items())}: one rule per orbit of bindings "
        f"({len(chosen)} of {len(model.bindings)}), in a ruleset over the instances its parameters name."
        if layout.size_of
        else "Each binding is one rule."
    )
    header = [
        f"-- pgcheck model {model.name} as Murphi: {len(model.bindings)} action bindings, "
        f"{len(checked)} invariants, {len(chosen_steps)} action properties, {len(model.slots)} state fields.",
        *(f"-- {_comment(line)}" for line in about or []),
        f"-- {shape} Invariants are Murphi invariants, action properties assertions in each rule.",
        "-- Verify with Rumur (symmetry reduction off gives pgcheck explore --no-symmetry's count):",
        f"--   rumur --deadlock-detection {deadlock} --symmetry-reduction {reduction} -o model.c model.m",
        "--   gcc -O2 -mcx16 -o model model.c -lpthread -latomic && ./model",
        "-- See docs/rumur.md.",
        "",
    ]
    pads = [f"  pad_{t}: {t};  -- never defined: padding and none, never read" for t in layout.size_of]
    return "\n".join(
        [*header, *_types(layout.size_of), "", "var", *layout.decls, *pads, "", *_functions(layout.size_of),
         *layout.pick_functions(),
         *layout.start_block(), "", *body]
    ) + "\n"


def spec_to_murphi(
    spec: Spec,
    invariants: list[str] | None = None,
    about: list[str] | None = None,
    *,
    check_deadlock: bool = True,
    scalarsets: bool = True,
) -> str:
    """Trace `spec` (the model, a mutation of it, or a test variant) and export it."""
    return to_murphi(spec.trace(), invariants, about, check_deadlock=check_deadlock, scalarsets=scalarsets)
