"""Declaring a model: entity kinds, singletons, actions, properties (Decision 1).

A `Spec` is filled in by a model's build function for one configuration (instance
counts and options are ordinary Python values there). `Spec.trace()` runs every action
once per parameter binding over a tracing proxy and returns a `TracedModel`: plain
data (guards and updates as expression trees) that every engine consumes.

    spec = Spec("mutex", params={"procs": 2})
    spec.entity("proc", 2, {"pc": Enum("pc", ["idle", "waiting", "critical"])}, symmetric=True)
    spec.singleton("lock", {"holder": Ref("proc")})

    @spec.action(p="proc")
    def acquire(s, p):
        require(s.proc[p].pc == "waiting")
        require(s.lock.holder == None)
        s.lock.holder = p
        s.proc[p].pc = "critical"

Why one module of this size: `Spec` (kinds, actions, properties), the tracing proxy and
the traced model are one declaration API that model authors read together.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pgcheck.checker.errors import ModelError, UsageError
from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.expr import Expr, TraceContext
from pgcheck.checker.lang.types import NULL_REF, Bool, Enum, FieldType, Fifo, Int, Ref, Set

FAIRNESS = (None, "weak", "strong")


@dataclass
class KindDecl:
    name: str
    count: int | None  # None for a singleton
    fields: dict[str, FieldType]
    doc: dict[str, str] = field(default_factory=dict)

    @property
    def instances(self) -> range:
        return range(1 if self.count is None else self.count)


@dataclass
class ActionDecl:
    name: str
    params: dict[str, Any]  # param name -> entity kind name, Enum, or explicit list
    fn: Callable[..., None]
    fairness: str | None
    cite: str
    doc: str
    # (kind, invariant id): the action picks instances of a symmetric kind in index order
    # among instances the named invariant keeps alike (checker/explicit/symmetry_check.py).
    alike: tuple[str, str] | None = None


@dataclass
class Property:
    """A state predicate with a stable id (S9, C1, ...), statement and citation."""

    id: str
    kind: str  # "invariant" | "witness" | other kinds added by later engines
    statement: str
    cite: str
    fn: Callable[[Any], object]
    about: str | None = None  # entity kind the property is about, for highlighting


@dataclass
class ActionProperty(Property):
    """A rule about steps: `fn(pre, step, post)` over the state before and after one transition.

    Traced once per action binding (`step` carries the binding's action name and parameters
    as plain Python values); a binding for which the predicate is statically true is not
    checked at all. Every engine checks the rest on every transition it takes. `kind` is
    "action".
    """

    fn: Callable[..., object]


@dataclass(frozen=True)
class GhostDecl:
    """A history variable: a field that only properties read, written by the model's actions."""

    kind: str
    field: str
    ty: FieldType
    doc: str
    per: str = ""  # the entity kind the ghost speaks of


@dataclass
class ActionCheck:
    """One action property traced for one binding: `cond` over the pre-state must hold
    whenever the binding fires (the post-state is the binding's update, substituted)."""

    prop: ActionProperty
    binding: int
    cond: Expr


class StepInfo:
    """The `step` an action property receives: the binding's action name and parameters,
    static Python values, and which fields the binding may write."""

    def __init__(self, binding: Binding, layout: _Layout) -> None:
        self.name = binding.action
        self.params = dict(binding.params)
        self.label = binding.label
        self._binding = binding
        self._layout = layout

    def get(self, param: str, default: Any = None) -> Any:
        return self.params.get(param, default)

    def writes(self, kind: str, field: str) -> list[int | None]:
        """Instances of `kind` whose `field` this binding may change (statically)."""
        decl = self._layout.kinds.get(kind)
        if decl is None or field not in decl.fields:
            raise X._fail(f"step.writes: the model has no field {kind}.{field}")
        insts: list[int | None] = [None] if decl.count is None else list(decl.instances)
        return [i for i in insts if self._layout.slot_of[(kind, i, field)] in self._binding.updates]

    def writes_any(self, kind: str, fields: tuple[str, ...] | list[str]) -> list[int | None]:
        """Instances of `kind` any of whose `fields` this binding may change."""
        seen: list[int | None] = []
        for f in fields:
            for i in self.writes(kind, f):
                if i not in seen:
                    seen.append(i)
        return sorted(seen, key=lambda i: -1 if i is None else i)


def _unset(*_: Any) -> Any:
    raise ModelError("a temporal property was declared without a function")


TEMPORAL_FORMS = ("leads-to", "always-eventually", "eventually-always")


@dataclass
class Temporal:
    """A liveness property (§5 L1-L14): `P ~> Q`, `[]<> Q` or `<>[] Q`, per instance of `each`.

    `relies` names the fairness and environment assumptions it needs (shown with a lasso).
    For leads-to `fn(s[, i])` returns (P, Q); for the other forms it returns Q.
    """

    id: str
    form: str
    statement: str
    cite: str
    relies: tuple[str, ...]
    fn: Callable[..., Any]
    each: str | None = None  # entity kind: one obligation per instance
    never: str = ""  # what a violation never does, "{i}" is the instance: "session {i} is never leased"


@dataclass
class TracedTemporal:
    """One traced obligation of a temporal property: for instance `index` of its kind."""

    prop: Temporal
    index: int | None
    p: Expr | None  # None for the forms without an antecedent
    q: Expr

    @property
    def label(self) -> str:
        return self.prop.id if self.index is None else f"{self.prop.id}[{self.prop.each}={self.index}]"


@dataclass
class Binding:
    """One action traced for one parameter binding: a guarded update."""

    index: int
    action: str
    params: dict[str, Any]
    guard: Expr
    updates: dict[int, Expr]
    asserts: list[tuple[Expr, str]]
    fairness: str | None

    @property
    def label(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.action}({inner})"


@dataclass
class SlotInfo:
    kind: str
    instance: int | None  # None for singletons
    field: str
    ty: FieldType

    @property
    def label(self) -> str:
        return f"{self.kind}.{self.field}" if self.instance is None else f"{self.kind}[{self.instance}].{self.field}"


@dataclass
class TracedModel:
    """The model as data: what every engine reads."""

    name: str
    params: dict[str, Any]
    kinds: dict[str, KindDecl]
    slots: list[SlotInfo]
    slot_of: dict[tuple[str, int | None, str], int]
    init: tuple[Any, ...]
    bindings: list[Binding]
    invariants: list[tuple[Property, Expr]]
    witnesses: list[tuple[Property, Expr]]
    quiescent: Expr
    symmetry: list[list[str]]
    actions: list[ActionDecl]
    meta: dict[str, Any]
    temporal: list[TracedTemporal] = field(default_factory=list)
    action_properties: list[ActionProperty] = field(default_factory=list)
    action_checks: list[ActionCheck] = field(default_factory=list)
    ghosts: list[GhostDecl] = field(default_factory=list)

    def checks_of(self, binding: int) -> list[tuple[int, ActionCheck]]:
        """(index into action_checks, check) of one binding."""
        return [(k, a) for k, a in enumerate(self.action_checks) if a.binding == binding]

    def describe_entities(self) -> dict[str, Any]:
        return {
            k.name: {"count": k.count, "fields": {f: t.describe() for f, t in k.fields.items()}}
            for k in self.kinds.values()
        }

    def binding_by_label(self) -> dict[str, Binding]:
        return {b.label: b for b in self.bindings}


# ------------------------------------------------------------------ tracing proxy


class _Recorder:
    """Collects the guard, updates and run-time checks of one traced binding."""

    def __init__(self, model: _Layout) -> None:
        self.layout = model
        self.guard: list[Expr] = []
        self.writes: dict[int, Expr] = {}
        self.asserts: list[tuple[Expr, str]] = []
        self.requires = 0  # require() calls so far: the index an edited check is named by

    def read(self, index: int) -> Expr:
        if index in self.writes:
            return self.writes[index]
        info = self.layout.slots[index]
        return X.slot(index, info.ty, info.label)

    def write(self, index: int, value: object) -> None:
        info = self.layout.slots[index]
        e = _coerce(value, info.ty, info.label)
        if isinstance(info.ty, Int):
            if e.op == "const":
                if not info.ty.lo <= e.args[0] <= info.ty.hi:
                    raise X._fail(f"writes {e.args[0]} to {info.label}, outside its range {info.ty.lo}..{info.ty.hi}")
            else:
                rng = X.and_(e >= info.ty.lo, e <= info.ty.hi)
                self.asserts.append((rng, f"out-of-range write to {info.label} (range {info.ty.lo}..{info.ty.hi}): {e.show()}"))
        target = info.ty
        fits = e.op == "const" or (
            e.op == "slot" and isinstance(e.ty, Fifo) and isinstance(target, Fifo) and e.ty.capacity <= target.capacity
        )
        if isinstance(target, Fifo) and not fits:
            self.asserts.append(
                (X.fifo_len(e) <= target.capacity, f"FIFO {info.label} over capacity {target.capacity}: {e.show()}")
            )
        self.writes[index] = e


def _coerce(value: object, ty: FieldType, label: str) -> Expr:
    e = X.lift(value, ty)
    ok = X._same_kind(e.ty, ty) or (isinstance(ty, Int) and isinstance(e.ty, Int))
    if isinstance(ty, Bool) and isinstance(e.ty, Bool):
        ok = True
    if not ok:
        raise X._fail(f"type error: cannot assign {e.show()} ({e.ty.name}) to {label} ({ty.name})")
    return e


class _PostRecorder(_Recorder):
    """Reads of the post-state of one binding: the binding's update where it writes, else the slot."""

    def __init__(self, model: _Layout, updates: dict[int, Expr]) -> None:
        super().__init__(model)
        self.updates = updates

    def read(self, index: int) -> Expr:
        got = self.updates.get(index)
        if got is not None:
            return got
        return super().read(index)


class _InstanceView:
    def __init__(self, rec: _Recorder, kind: KindDecl, index: int | Expr | None) -> None:
        object.__setattr__(self, "_rec", rec)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_index", index)

    _rec: _Recorder
    _kind: KindDecl
    _index: int | Expr | None

    def _field(self, name: str) -> FieldType:
        kind = self._kind
        if name not in kind.fields:
            raise X._fail(f"{kind.name} has no field {name!r} (fields: {', '.join(kind.fields)})")
        return kind.fields[name]

    def __getattr__(self, name: str) -> Expr:
        ty = self._field(name)
        rec = self._rec
        kind = self._kind
        idx = self._index
        if not isinstance(idx, Expr):
            return rec.read(rec.layout.slot_of[(kind.name, idx, name)])
        candidates = tuple(rec.read(rec.layout.slot_of[(kind.name, i, name)]) for i in kind.instances)
        return Expr("deref", ty, kind.name, name, idx, candidates)

    def __setattr__(self, name: str, value: object) -> None:
        self._field(name)
        rec = self._rec
        kind = self._kind
        idx = self._index
        if not isinstance(idx, Expr):
            rec.write(rec.layout.slot_of[(kind.name, idx, name)], value)
            return
        rec.asserts.append((idx != None, f"write through a null reference {idx.show()}.{name}"))  # noqa: E711
        for i in kind.instances:
            index = rec.layout.slot_of[(kind.name, i, name)]
            info = rec.layout.slots[index]
            rec.write(index, X.when(idx == i, _coerce(value, info.ty, info.label), rec.read(index)))


class _KindView:
    def __init__(self, rec: _Recorder, kind: KindDecl) -> None:
        self._rec = rec
        self._kind = kind

    def __getitem__(self, index: int | Expr) -> _InstanceView:
        kind = self._kind
        if isinstance(index, Expr):
            if not (isinstance(index.ty, Ref) and index.ty.kind == kind.name):
                raise X._fail(f"{kind.name}[{index.show()}]: the index is not a {kind.name} reference")
            if index.op == "const":
                index = int(index.args[0])
                if index == NULL_REF:
                    raise X._fail(f"{kind.name}[None]: reference to a missing instance")
        if isinstance(index, bool) or not isinstance(index, (int, Expr)):
            raise X._fail(f"{kind.name}[{index!r}]: an instance index must be an int or a reference")
        if isinstance(index, int) and not 0 <= index < (kind.count or 0):
            raise X._fail(f"{kind.name}[{index}]: reference to a missing instance (there are {kind.count})")
        return _InstanceView(self._rec, kind, index)

    def ids(self) -> range:
        return self._kind.instances

    def __len__(self) -> int:
        return self._kind.count or 0

    def __iter__(self) -> Iterator[int]:
        return iter(self._kind.instances)


class StateProxy:
    """The `s` an action or predicate receives: `s.kind[i].field`, `s.singleton.field`."""

    def __init__(self, rec: _Recorder) -> None:
        self._rec = rec

    def __getattr__(self, name: str) -> Any:
        kinds = self._rec.layout.kinds
        if name not in kinds:
            raise X._fail(f"the model has no entity or singleton {name!r} (it has: {', '.join(kinds)})")
        kind = kinds[name]
        if kind.count is None:
            return _InstanceView(self._rec, kind, None)
        return _KindView(self._rec, kind)


_ACTIVE: list[_Recorder] = []


# Edits of an action's checks, innermost last: require() call index -> None (drop the check)
# or a function from the check to its replacement (how a mutation weakens one check).
CheckEdits = dict[int, "Callable[[Expr], object] | None"]
_CHECK_EDITS: list[CheckEdits] = []


class edited_checks:
    """`with edited_checks({1: None}): action(s, ...)` traces the action with its second
    require() dropped; `{0: lambda cond: cond | extra}` replaces the first one."""

    def __init__(self, edits: CheckEdits) -> None:
        self.edits = edits

    def __enter__(self) -> None:
        _CHECK_EDITS.append(self.edits)

    def __exit__(self, *_: object) -> None:
        _CHECK_EDITS.pop()


def require(cond: object) -> None:
    """Add a conjunct to the guard of the action being traced."""
    if not _ACTIVE:
        raise ModelError("require() called outside an action")
    rec = _ACTIVE[-1]
    index = getattr(rec, "requires", 0)  # recorders of other tracers may not count
    rec.requires = index + 1
    if _CHECK_EDITS and index in _CHECK_EDITS[-1]:
        edit = _CHECK_EDITS[-1][index]
        if edit is None:
            return  # the check is dropped
        cond = edit(X.lift_bool(cond))
    rec.guard.append(X.lift_bool(cond))


# ------------------------------------------------------------------ layout and spec


class _Layout:
    def __init__(self, kinds: dict[str, KindDecl]) -> None:
        self.kinds = kinds
        self.slots: list[SlotInfo] = []
        self.slot_of: dict[tuple[str, int | None, str], int] = {}
        for kind in kinds.values():
            for i in kind.instances:
                inst = None if kind.count is None else i
                for fname, ty in kind.fields.items():
                    self.slot_of[(kind.name, inst, fname)] = len(self.slots)
                    self.slots.append(SlotInfo(kind.name, inst, fname, ty))


class Spec:
    """A model under construction for one configuration."""

    def __init__(self, name: str, params: dict[str, Any] | None = None) -> None:
        self.name = name
        self.params = dict(params or {})
        self.kinds: dict[str, KindDecl] = {}
        self.actions: list[ActionDecl] = []
        self.properties: list[Property] = []
        self.quiescent_fns: list[Callable[[Any], object]] = []
        self.init_fns: list[Callable[[Any], None]] = []
        self.symmetry: list[list[str]] = []
        self.meta: dict[str, Any] = {}
        self.temporal: list[Temporal] = []
        self.action_properties: list[ActionProperty] = []
        self.ghosts: list[GhostDecl] = []
        self.history_updates: list[tuple[str, str, Callable[[Any, Any, Any, int | None], object]]] = []

    # ---- state
    def entity(
        self, name: str, count: int, fields: dict[str, FieldType], *, doc: dict[str, str] | None = None
    ) -> None:
        self._check_new(name)
        if count < 1:
            raise ModelError(f"entity {name}: count must be at least 1, got {count}")
        self.kinds[name] = KindDecl(name, count, dict(fields), dict(doc or {}))

    def singleton(self, name: str, fields: dict[str, FieldType], *, doc: dict[str, str] | None = None) -> None:
        self._check_new(name)
        self.kinds[name] = KindDecl(name, None, dict(fields), dict(doc or {}))

    def symmetric(self, *kinds: str) -> None:
        """Declare that permuting the instances of `kinds` (together) maps behaviours to behaviours."""
        counts = {self.kinds[k].count for k in kinds}
        if len(counts) != 1 or None in counts:
            raise ModelError(f"symmetry group {kinds}: kinds must be entities with one common count")
        self.symmetry.append(list(kinds))

    def ghost(self, kind: str, name: str, ty: FieldType, doc: str = "", *, per: str | None = None) -> None:
        """Declare a ghost (history) field of entity or singleton `kind`.

        `per` names the entity kind the ghost is about (default: `kind`). A ghost belongs on
        the entity it speaks of, where symmetry permutes it with its instance: a per-session
        ghost declared on another kind (a singleton) while sessions are symmetric is refused
        when the model is traced, with a UsageError naming it.
        """
        if kind not in self.kinds:
            raise ModelError(f"ghost {kind}.{name}: the model has no entity or singleton {kind!r}")
        decl = self.kinds[kind]
        if name in decl.fields:
            raise ModelError(f"ghost {kind}.{name} is declared twice (or clashes with a field)")
        if not name.isidentifier() or name.startswith("_"):
            raise ModelError(f"ghost {kind}.{name}: {name!r} is not a valid field name")
        if per is not None and (per not in self.kinds or self.kinds[per].count is None):
            raise ModelError(f"ghost {kind}.{name}: per={per!r} is not an entity kind")
        decl.fields[name] = ty
        decl.doc[name] = f"ghost: {doc}" if doc else "ghost"
        self.ghosts.append(GhostDecl(kind, name, ty, doc, per or kind))

    def history(
        self,
        kind: str,
        name: str,
        ty: FieldType,
        doc: str,
        update: Callable[[Any, Any, Any, int | None], object],
    ) -> None:
        """A ghost the language writes on every step: `update(pre, step, post, i)` gives the new
        value of instance i's ghost after the step (None: unchanged), from what the step did.

        The update reads the state before and after the step (after the action's own
        writes), so a change inside an action cannot hide the event from the ghost: it
        sees only what the step observably did.
        """
        self.ghost(kind, name, ty, doc)
        self.history_updates.append((kind, name, update))

    def mark_ghost(self, kind: str, name: str, doc: str = "") -> None:
        """Declare an already declared field of `kind` a ghost (keeps the state layout)."""
        decl = self.kinds.get(kind)
        if decl is None or name not in decl.fields:
            raise ModelError(f"ghost {kind}.{name}: no such field to mark as a ghost")
        if any(g.kind == kind and g.field == name for g in self.ghosts):
            raise ModelError(f"ghost {kind}.{name} is declared twice")
        self.ghosts.append(GhostDecl(kind, name, decl.fields[name], doc, kind))

    def _check_ghost_symmetry(self) -> None:
        """A per-instance ghost of a symmetric kind stored elsewhere is not permuted with its
        instance: states that differ only by naming would be told apart or, worse, merged wrongly."""
        symmetric = {k for group in self.symmetry for k in group}
        for g in self.ghosts:
            if g.per != g.kind and g.per in symmetric:
                raise UsageError(
                    f"ghost {g.kind}.{g.field} is per {g.per} but declared on {g.kind}, which symmetry over "
                    f"{g.per} does not permute: declare it with spec.ghost({g.per!r}, {g.field!r}, ...)"
                )

    def _check_new(self, name: str) -> None:
        if name in self.kinds:
            raise ModelError(f"{name} is declared twice")
        if not name.isidentifier() or name.startswith("_"):
            raise ModelError(f"{name!r} is not a valid entity name")

    def initially(self, fn: Callable[[Any], None]) -> Callable[[Any], None]:
        """Register a function that writes the initial state (unwritten fields take their type's default)."""
        self.init_fns.append(fn)
        return fn

    # ---- behaviour
    def action(
        self,
        name: str | None = None,
        *,
        fairness: str | None = None,
        cite: str = "",
        alike: tuple[str, str] | None = None,
        **params: Any,
    ) -> Callable[[Callable[..., None]], Callable[..., None]]:
        """Declare an action over the given parameters. `alike=(kind, invariant id)`: the
        action chooses instances of a symmetric kind by index among instances that the
        invariant keeps indistinguishable (fields at their defaults, named by nothing), so
        which of them it takes does not matter; the symmetry check then does not compare
        its bindings under renaming of that kind."""
        if fairness not in FAIRNESS:
            raise ModelError(f"fairness must be one of {FAIRNESS}, got {fairness!r}")

        def register(fn: Callable[..., None]) -> Callable[..., None]:
            aname = name or fn.__name__
            if any(a.name == aname for a in self.actions):
                raise ModelError(f"action {aname} is declared twice")
            doc = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else ""
            self.actions.append(ActionDecl(aname, dict(params), fn, fairness, cite, doc, alike))
            return fn

        return register

    def replace_action(self, name: str, fn: Callable[..., None], **changes: Any) -> None:
        """Swap the body of an action (how mutations and test variants change one step)."""
        for i, a in enumerate(self.actions):
            if a.name == name:
                self.actions[i] = ActionDecl(
                    name,
                    changes.get("params", a.params),
                    fn,
                    changes.get("fairness", a.fairness),
                    a.cite,
                    a.doc,
                    a.alike,
                )
                return
        raise ModelError(f"no action named {name} to replace")

    def remove_action(self, name: str) -> None:
        before = len(self.actions)
        self.actions = [a for a in self.actions if a.name != name]
        if len(self.actions) == before:
            raise ModelError(f"no action named {name} to remove")

    def invariant(
        self, id: str, statement: str, cite: str = "", about: str | None = None
    ) -> Callable[[Callable[[Any], object]], Callable[[Any], object]]:
        return self._property(id, "invariant", statement, cite, about)

    def witness(
        self, id: str, statement: str, cite: str = "", about: str | None = None
    ) -> Callable[[Callable[[Any], object]], Callable[[Any], object]]:
        """A scenario that must be reachable, or the checks are vacuous."""
        return self._property(id, "witness", statement, cite, about)

    def _property(
        self, id: str, kind: str, statement: str, cite: str, about: str | None
    ) -> Callable[[Callable[[Any], object]], Callable[[Any], object]]:
        def register(fn: Callable[[Any], object]) -> Callable[[Any], object]:
            if self._id_taken(id):
                raise ModelError(f"property {id} is declared twice")
            self.properties.append(Property(id, kind, statement, cite, fn, about))
            return fn

        return register

    def action_property(
        self, id: str, statement: str, cite: str = "", about: str | None = None
    ) -> Callable[[Callable[[Any, Any, Any], object]], Callable[[Any, Any, Any], object]]:
        """A rule about steps: `fn(pre, step, post)` must hold on every transition.

        `pre`/`post` read the state before and after the step; `step.name`, `step.params`
        (and `step.get("c")`) are the binding's action and parameters as Python values, so
        the predicate may branch on them; `step.writes(kind, field)` lists the instances
        whose field the binding may change. Return True for steps the rule does not speak of.
        """

        def register(fn: Callable[[Any, Any, Any], object]) -> Callable[[Any, Any, Any], object]:
            if self._id_taken(id):
                raise ModelError(f"property {id} is declared twice")
            self.action_properties.append(ActionProperty(id, "action", statement, cite, fn, about))
            return fn

        return register

    def _id_taken(self, pid: str) -> bool:
        return (
            any(p.id == pid for p in self.properties)
            or any(t.id == pid for t in self.temporal)
            or any(a.id == pid for a in self.action_properties)
        )

    def leads_to(
        self,
        id: str,
        statement: str,
        cite: str,
        relies: tuple[str, ...] = (),
        each: str | None = None,
        never: str = "",
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """`P ~> Q`: whenever P holds, Q holds then or later. The function returns (P, Q)."""
        return self._temporal(Temporal(id, "leads-to", statement, cite, tuple(relies), _unset, each, never))

    def always_eventually(
        self,
        id: str,
        statement: str,
        cite: str,
        relies: tuple[str, ...] = (),
        each: str | None = None,
        never: str = "",
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """`[]<> Q`: Q holds infinitely often (or in the state the behaviour ends in)."""
        return self._temporal(Temporal(id, "always-eventually", statement, cite, tuple(relies), _unset, each, never))

    def eventually_always(
        self,
        id: str,
        statement: str,
        cite: str,
        relies: tuple[str, ...] = (),
        each: str | None = None,
        never: str = "",
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """`<>[] Q`: from some point on Q holds for ever (not Q happens only finitely often)."""
        return self._temporal(Temporal(id, "eventually-always", statement, cite, tuple(relies), _unset, each, never))

    def _temporal(self, decl: Temporal) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            pid, each = decl.id, decl.each
            if self._id_taken(pid):
                raise ModelError(f"property {pid} is declared twice")
            if each is not None and (each not in self.kinds or self.kinds[each].count is None):
                raise ModelError(f"property {pid}: each={each!r} is not an entity kind")
            decl.fn = fn
            self.temporal.append(decl)
            return fn

        return register

    def quiescent(self, fn: Callable[[Any], object]) -> Callable[[Any], object]:
        """States matching any quiescence predicate may have no successor without being a deadlock."""
        self.quiescent_fns.append(fn)
        return fn

    # ---- tracing
    def trace(self) -> TracedModel:
        layout = _Layout(self.kinds)
        init = self._trace_init(layout)
        bindings: list[Binding] = []
        for action in self.actions:
            for params in _bindings(action, self.kinds):
                b = _trace_binding(layout, action, params, len(bindings))
                if b is not None and self.history_updates:
                    _add_history(layout, self.history_updates, b)
                if b is not None:
                    bindings.append(b)
        invariants: list[tuple[Property, Expr]] = []
        witnesses: list[tuple[Property, Expr]] = []
        for prop in self.properties:
            e = _trace_predicate(layout, f"{prop.kind} {prop.id}", prop.fn)
            (invariants if prop.kind == "invariant" else witnesses).append((prop, e))
        quiet = X.or_(*(_trace_predicate(layout, "quiescence predicate", q) for q in self.quiescent_fns))
        temporal = [o for t in self.temporal for o in _trace_temporal(layout, t)]
        self._check_ghost_symmetry()
        checks = [c for b in bindings for c in _trace_action_checks(layout, self.action_properties, b)]
        return TracedModel(
            name=self.name,
            params=dict(self.params),
            kinds=self.kinds,
            slots=layout.slots,
            slot_of=layout.slot_of,
            init=init,
            bindings=bindings,
            invariants=invariants,
            witnesses=witnesses,
            quiescent=quiet,
            symmetry=self.symmetry,
            actions=list(self.actions),
            meta=dict(self.meta),
            temporal=temporal,
            action_properties=list(self.action_properties),
            action_checks=checks,
            ghosts=list(self.ghosts),
        )

    def _trace_init(self, layout: _Layout) -> tuple[Any, ...]:
        rec = _Recorder(layout)
        TraceContext.where = "initial state"
        _ACTIVE.append(rec)
        try:
            for fn in self.init_fns:
                fn(StateProxy(rec))
        finally:
            _ACTIVE.pop()
        values = [info.ty.default() for info in layout.slots]
        for index, e in rec.writes.items():
            if e.op != "const":
                raise ModelError(f"initial state: {layout.slots[index].label} must be a constant, got {e.show()}")
            values[index] = e.args[0]
        return tuple(values)


def _domain(spec_param: Any, kinds: dict[str, KindDecl], where: str) -> list[Any]:
    if isinstance(spec_param, str):
        if spec_param not in kinds or kinds[spec_param].count is None:
            raise ModelError(f"{where}: parameter ranges over unknown entity kind {spec_param!r}")
        return list(kinds[spec_param].instances)
    if isinstance(spec_param, Enum):
        return list(spec_param.values)
    if isinstance(spec_param, (list, tuple, range)):
        return list(spec_param)
    raise ModelError(f"{where}: a parameter domain must be an entity kind, an Enum or a list")


def _bindings(action: ActionDecl, kinds: dict[str, KindDecl]) -> Iterator[dict[str, Any]]:
    names = list(action.params)
    domains = [_domain(action.params[n], kinds, f"action {action.name}") for n in names]
    for combo in itertools.product(*domains):
        yield dict(zip(names, combo, strict=True))


def _trace_binding(layout: _Layout, action: ActionDecl, params: dict[str, Any], index: int) -> Binding | None:
    label = f"{action.name}(" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")"
    TraceContext.where = f"action {label}"
    rec = _Recorder(layout)
    _ACTIVE.append(rec)
    try:
        action.fn(StateProxy(rec), **params)
    except ModelError:
        raise
    except Exception as e:  # a mistake in the model's Python, reported with the action
        raise ModelError(f"action {label}: {type(e).__name__}: {e}") from None
    finally:
        _ACTIVE.pop()
    guard = X.and_(*rec.guard)
    if guard.op == "const" and not guard.args[0]:
        return None  # statically disabled for this binding
    updates = {i: e for i, e in rec.writes.items() if not (e.op == "slot" and e.args[0] == i)}
    return Binding(index, action.name, params, guard, updates, rec.asserts, action.fairness)


def _add_history(
    layout: _Layout, updates: list[tuple[str, str, Callable[[Any, Any, Any, int | None], object]]], b: Binding
) -> None:
    """Add the history ghosts' updates to binding `b` (they read its pre- and post-state)."""
    step = StepInfo(b, layout)
    post = _Recorder(layout)
    post.writes = dict(b.updates)  # reads through `post` see the action's writes
    pre = _Recorder(layout)
    for kind, name, fn in updates:
        decl = layout.kinds[kind]
        for i in ([None] if decl.count is None else list(decl.instances)):
            where = f"history {kind}.{name} at {b.label}"
            TraceContext.where = where
            _ACTIVE.append(pre)
            try:
                value = fn(StateProxy(pre), step, StateProxy(post), i)
            except ModelError:
                raise
            except Exception as e:
                raise ModelError(f"{where}: {type(e).__name__}: {e}") from None
            finally:
                _ACTIVE.pop()
            if pre.writes or pre.guard:
                raise ModelError(f"{where}: a history update returns the new value; it must not assign or require")
            if value is not None:
                post.write(layout.slot_of[(kind, i, name)], value)
    b.updates = {i: e for i, e in post.writes.items() if not (e.op == "slot" and e.args[0] == i)}
    b.asserts = [*b.asserts, *post.asserts]


def _trace_action_checks(layout: _Layout, props: list[ActionProperty], b: Binding) -> list[ActionCheck]:
    """Trace every action property for binding `b`; statically true ones are dropped."""
    out: list[ActionCheck] = []
    if not props:
        return out
    step = StepInfo(b, layout)
    for prop in props:
        where = f"action property {prop.id} at {b.label}"
        TraceContext.where = where
        pre, post = _Recorder(layout), _PostRecorder(layout, b.updates)
        _ACTIVE.append(pre)
        try:
            result = prop.fn(StateProxy(pre), step, StateProxy(post))
        except ModelError:
            raise
        except Exception as e:
            raise ModelError(f"{where}: {type(e).__name__}: {e}") from None
        finally:
            _ACTIVE.pop()
        if pre.writes or post.writes:
            raise ModelError(f"{where}: a property must not assign state fields")
        if pre.guard:
            raise ModelError(f"{where}: require() is for actions; a property returns a condition")
        cond = X.lift_bool(result)
        if cond.op == "const" and cond.args[0]:
            continue
        out.append(ActionCheck(prop, b.index, cond))
    return out


def _trace_temporal(layout: _Layout, t: Temporal) -> list[TracedTemporal]:
    """Trace a temporal property once per instance of its kind (or once)."""
    out: list[TracedTemporal] = []
    indices: list[int | None] = [None] if t.each is None else list(layout.kinds[t.each].instances)
    for i in indices:
        where = f"property {t.id}" + ("" if i is None else f"[{t.each}={i}]")
        got: list[Any] = []

        def call(s: Any, i: int | None = i, got: list[Any] = got) -> object:
            got.append(t.fn(s) if i is None else t.fn(s, i))
            return True

        _trace_predicate(layout, where, call)
        value = got[0]
        TraceContext.where = where
        if t.form == "leads-to":
            if not (isinstance(value, tuple) and len(value) == 2):
                raise ModelError(f"{where}: a leads-to property returns the pair (P, Q)")
            out.append(TracedTemporal(t, i, X.lift_bool(value[0]), X.lift_bool(value[1])))
        else:
            out.append(TracedTemporal(t, i, None, X.lift_bool(value)))
    return out


def _trace_predicate(layout: _Layout, where: str, fn: Callable[[Any], object]) -> Expr:
    TraceContext.where = where
    rec = _Recorder(layout)
    _ACTIVE.append(rec)
    try:
        result = fn(StateProxy(rec))
    except ModelError:
        raise
    except Exception as e:
        raise ModelError(f"{where}: {type(e).__name__}: {e}") from None
    finally:
        _ACTIVE.pop()
    if rec.writes:
        raise ModelError(f"{where}: a predicate must not assign state fields")
    if rec.guard:
        raise ModelError(f"{where}: require() is for actions; a predicate returns a condition")
    return X.lift_bool(result)


__all__ = ["ActionProperty", "Bool", "Enum", "Fifo", "GhostDecl", "Int", "Ref", "Set", "Spec", "StepInfo", "TracedModel", "require"]
