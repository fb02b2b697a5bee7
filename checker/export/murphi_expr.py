"""Translate the expression IR into Murphi expressions and rule-body statements (Rumur's dialect).

The plan is the Promela translator's (`promela_expr.py`), operator by operator, with the
semantics of `checker/lang/compile.py`; only the target syntax and typing differ:

- Murphi is typed: a Bool-typed IR node becomes a Murphi `boolean`; every other scalar
  (enum index, int, reference, set bit mask) is an integer. References read as the instance
  index or -1 for none (stored + 1); sets are bit masks under Rumur's bitwise `& | ~ << >>`
  (on integers; on booleans `&` and `|` are Murphi's lazy and/or).
- A FIFO value is a `Seq`: a length and its items by position. In a *pure* expression
  (guards, invariants, the quiescence predicate) FIFO operators unfold into conditional
  expressions by position; in a rule body they are computed by statements into the rule's
  local variables, which are not part of the state.
- Evaluation errors (a read through a null reference, the head of an empty FIFO, a set
  member that is none) stop the verifier: in an expression through the functions
  `model_error_int()` / `model_error_bool()`, whose body is an `error` statement; in a
  statement through `error "..."`. A negative array index (a null reference used as an
  index) is Rumur's own "index out of range" error. `&`, `|` and `?:` are lazy, as in
  Python, so an error is raised exactly where the compiled explorer raises it.

Why one module of this size: one translation per IR operator, kept beside each other so
that each can be read against checker/explicit/native/cgen.py's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pgcheck.checker.errors import UsageError
from pgcheck.checker.export.ir_walk import IRWalk, Pos
from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.types import NULL_REF, Bool, Fifo, Ref, Set

ERROR_INT = "model_error_int()"
ERROR_BOOL = "model_error_bool()"
INT_TYPE = "pg_int"  # the type of scalar locals: wide enough for every intermediate value


def error_stmt(message: str) -> str:
    return f'error "{message.replace(chr(34), chr(39))}"'


def assign_ref(target: str, v: RefV) -> str:
    """`target := v` for a reference: none leaves the target undefined."""
    if v.none == "false":
        return f"{target} := {v.val}"
    if v.none == "true":
        return f"undefine {target}"
    return when(v.none, [f"undefine {target}"], [f"{target} := {v.val}"])


def when(cond: str, then: list[str], otherwise: list[str] | None = None) -> str:
    """A Murphi `if` statement over lists of statements (each without its `;`)."""
    body = " ".join(f"{s};" for s in then) or ""
    if otherwise:
        return f"if {cond} then {body} else {' '.join(f'{s};' for s in otherwise)} endif"
    return f"if {cond} then {body} endif"


@dataclass(frozen=True)
class FieldStore:
    """Where one field of a kind lives in the Murphi state."""

    name: str  # array (entity kinds) or variable (singletons); FIFO items for FIFO fields
    offset: int  # stored value = model value + offset (references: +1, so none is stored as 0)
    capacity: int  # FIFO capacity; 0 for a scalar field
    singleton: bool
    sym: str = ""  # the scalarset type of the value (or of the FIFO's items); "" for integers
    members: str = ""  # a set of this symmetric kind: an array of booleans indexed by its scalarset

    def cell(self, inst: Pos | None) -> str:
        return self.name if self.singleton else f"{self.name}[{inst}]"

    def read(self, inst: Pos | None) -> str:
        c = self.cell(inst)
        return f"({c} - {self.offset})" if self.offset else c

    def item(self, inst: Pos | None, pos: Pos) -> str:
        return f"{self.cell(inst)}[{pos}]"

    def count(self, inst: Pos | None) -> str:
        return f"{self.name}_n" if self.singleton else f"{self.name}_n[{inst}]"


@dataclass
class Seq:
    """A FIFO value. `item(p)` is in bounds for every p < maxlen; items at or past `n` are
    padding whose value does not matter. `dynamic` says `item` accepts a run-time position."""

    item: Callable[[Pos], str]
    n: str
    maxlen: int
    dynamic: bool
    scratch: bool = False  # held in a local computed earlier in the rule body
    sym: str = ""  # items are values of this scalarset type (padding undefined); "" for integers


@dataclass(frozen=True)
class RefV:
    """A reference into a symmetric kind: a scalarset value `val`, meaningful only where
    `none` is false (none is Murphi's undefined, which may not be read)."""

    none: str
    val: str


@dataclass(frozen=True)
class SetV:
    """A set of instances of a symmetric kind: per instance name, whether it is a member
    (a boolean expression). Stored as an array of booleans indexed by the scalarset."""

    bits: tuple[tuple[str, str], ...]


Value = str | Seq | RefV | SetV


@dataclass
class Locals:
    """The local variables one rule body uses (reset per rule)."""

    scalars: int = 0
    flags: int = 0
    loops: int = 0
    fifos: dict[int, int] = field(default_factory=dict)  # number -> largest length needed
    fifo_types: dict[int, str] = field(default_factory=dict)  # number -> scalarset item type
    refs: list[str] = field(default_factory=list)  # scalarset type of each reference local

    def declarations(self) -> list[str]:
        out = [f"tmp_t{i}: {INT_TYPE}" for i in range(self.scalars)]
        out += [f"tmp_b{i}: boolean" for i in range(self.flags)]
        out += [f"tmp_i{i}: {INT_TYPE}" for i in range(self.loops)]
        out += [f"tmp_r{i}: {t}" for i, t in enumerate(self.refs)]
        for k, size in sorted(self.fifos.items()):
            out.append(f"tmp_q{k}: array[0..{max(size, 1) - 1}] of {self.fifo_types.get(k) or INT_TYPE}")
            out.append(f"tmp_q{k}_n: {INT_TYPE}")
        return out

    def clears(self) -> list[str]:
        """FIFO locals start cleared (integer items) or undefined (scalarset items, whose
        padding is never read): padding positions may be copied before they are written."""
        return [f"{'undefine' if k in self.fifo_types else 'clear'} tmp_q{k}" for k in sorted(self.fifos)]


@dataclass(frozen=True)
class Symmetric:
    """How the scalarset export names instances: `type_of[kind]` is the scalarset type of a
    symmetric kind, `name(kind, i)` the Murphi expression naming its instance i (a ruleset
    parameter in rules), `pad[type]` a never-defined variable of that type (the value of a
    FIFO's padding and of none, never read), `error[type]` a function that stops with a
    model error and has that type."""

    type_of: dict[str, str]
    name: Callable[[str, int], str]
    pad: dict[str, str]
    error: dict[str, str]
    count: dict[str, int]  # symmetric kind -> instances


class Translator(IRWalk[Value, Seq]):
    """IR -> Murphi for one model. `store_of(slot)` gives (field store, instance)."""

    def __init__(
        self,
        store_of: Callable[[int], tuple[FieldStore, Pos | None]],
        field_store: Callable[[str, str], FieldStore],
        slot_of: dict[tuple[str, int | None, str], int],
        sym: Symmetric | None = None,
    ) -> None:
        self.store_of = store_of
        self.field_store = field_store
        self.slot_of = slot_of
        self.sym = sym
        self.locals = Locals()
        super().__init__()

    # ---------------------------------------------------------------- locals

    def begin_block(self) -> None:
        self.locals = Locals()

    def scalar_temp(self) -> str:
        name = f"tmp_t{self.locals.scalars}"
        self.locals.scalars += 1
        return name

    def flag_temp(self) -> str:
        name = f"tmp_b{self.locals.flags}"
        self.locals.flags += 1
        return name

    def loop_var(self) -> str:
        name = f"tmp_i{self.locals.loops}"
        self.locals.loops += 1
        return name

    def fifo_temp(self, maxlen: int, sym: str = "") -> tuple[str, Seq]:
        k = len(self.locals.fifos)
        self.locals.fifos[k] = maxlen
        if sym:
            self.locals.fifo_types[k] = sym
        name = f"tmp_q{k}"
        return name, Seq(lambda p: f"{name}[{p}]", f"{name}_n", maxlen, True, True, sym)

    def temp_for(self, e: Expr) -> str:
        return self.flag_temp() if isinstance(e.ty, Bool) else self.scalar_temp()

    def ref_temp(self, sym: str) -> str:
        self.locals.refs.append(sym)
        return f"tmp_r{len(self.locals.refs) - 1}"

    def hold(self, out: list[str], e: Expr, v: Value) -> Value:
        """`v` computed into a fresh local (appended to `out`), for a simultaneous update."""
        if isinstance(v, RefV):
            t = self.ref_temp(self.sym_of(e.ty))
            out.append(assign_ref(t, v))
            return RefV(f"isundefined({t})", t)
        if isinstance(v, SetV):
            held: list[tuple[str, str]] = []
            for name, bit in v.bits:
                f = self.flag_temp()
                out.append(f"{f} := {bit}")
                held.append((name, f))
            return SetV(tuple(held))
        t = self.temp_for(e)
        out.append(f"{t} := {self._scalar(v)}")
        return t

    # ---------------------------------------------------------------- scalarsets

    def set_of(self, ty: object) -> str:
        """The symmetric kind a set type ranges over, else ""."""
        if self.sym is None or not isinstance(ty, Set) or not isinstance(ty.of, str):
            return ""
        return ty.of if ty.of in self.sym.type_of else ""

    def names(self, kind: str) -> list[str]:
        assert self.sym is not None
        return [self.sym.name(kind, i) for i in range(self.sym.count[kind])]

    def sym_of(self, ty: object) -> str:
        """The scalarset type of a reference (or a FIFO's items) into a symmetric kind, else ""."""
        if self.sym is None or not isinstance(ty, (Ref, Fifo)):
            return ""
        return self.sym.type_of.get(ty.kind, "")

    def pad(self, sym: str) -> str:
        return self.sym.pad[sym] if self.sym and sym else "0"

    def _ref_eq(self, a: RefV, b: RefV) -> str:
        if a.none == "true" or b.none == "true":
            other = b if a.none == "true" else a
            return other.none
        if a.none == "false" and b.none == "false":
            return f"({a.val} = {b.val})"
        return f"({a.none} ? {b.none} : (!{b.none} & {a.val} = {b.val}))"

    # ---------------------------------------------------------------- pure expressions

    def _scalar(self, v: Value) -> str:
        if isinstance(v, (Seq, RefV, SetV)):
            raise UsageError("internal: a FIFO or scalarset value where an integer is expected")
        return v

    def _item(self, src: Seq, item: str) -> Value:
        """A FIFO item as a value: a present item is never none."""
        return RefV("false", item) if src.sym else item

    def _differs(self, item: str, x: Value) -> str:
        if isinstance(x, RefV):
            return "true" if x.none == "true" else f"({x.none} | {item} != {x.val})" if x.none != "false" else f"({item} != {x.val})"
        return f"({item} != {self._scalar(x)})"

    def _ref(self, v: Value) -> RefV:
        if not isinstance(v, RefV):
            raise UsageError("internal: an integer where a scalarset value is expected")
        return v

    def _seq(self, v: Value) -> Seq:
        if not isinstance(v, Seq):
            raise UsageError("internal: a scalar where a FIFO value is expected")
        return v

    def apply(self, e: Expr, vals: list[Value], env: dict[str, Value]) -> Value:
        """One operator over already translated operands (lazy where Python is lazy)."""
        op, a = e.op, e.args
        sc = self._scalar
        if op == "const":
            sym = self.sym_of(e.ty)
            if isinstance(e.ty, Fifo):
                items = tuple(a[0])
                if sym:
                    assert self.sym is not None
                    names = [self.sym.name(e.ty.kind, int(k)) for k in items]
                    err = self.sym.error[sym]
                    return Seq(lambda p: names[p] if isinstance(p, int) else err, str(len(items)), len(items), False, sym=sym)
                return Seq(lambda p: str(items[p]) if isinstance(p, int) else ERROR_INT, str(len(items)), len(items), False)
            if isinstance(e.ty, Bool):
                return "true" if a[0] else "false"
            of = self.set_of(e.ty)
            if of:
                mask = int(a[0])
                return SetV(tuple((n, "true" if (mask >> i) & 1 else "false") for i, n in enumerate(self.names(of))))
            if sym:
                assert self.sym is not None and isinstance(e.ty, Ref)
                if int(a[0]) == NULL_REF:
                    return RefV("true", self.pad(sym))
                return RefV("false", self.sym.name(e.ty.kind, int(a[0])))
            return str(int(a[0]))
        if op == "slot":
            store, inst = self.store_of(a[0])
            return self._stored(store, inst)
        if op == "var":
            return env[str(a[0])]
        infix = {"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "add": "+", "sub": "-"}
        if op in ("eq", "ne") and isinstance(vals[0], Seq):
            same = self._seq_equal(self._seq(vals[0]), self._seq(vals[1]))
            return same if op == "eq" else f"(!{same})"
        if op in ("eq", "ne") and isinstance(vals[0], SetV):
            same = self._set_equal(self._setv(vals[0]), self._setv(vals[1]))
            return same if op == "eq" else f"(!{same})"
        if op in ("eq", "ne") and isinstance(vals[0], RefV):
            same = self._ref_eq(self._ref(vals[0]), self._ref(vals[1]))
            return same if op == "eq" else f"(!{same})"
        if op in infix:
            return f"({sc(vals[0])} {infix[op]} {sc(vals[1])})"
        if op == "and":
            return "(" + " & ".join(sc(v) for v in vals) + ")"
        if op == "or":
            return "(" + " | ".join(sc(v) for v in vals) + ")"
        if op == "not":
            return f"(!{sc(vals[0])})"
        if op == "if":
            c = sc(vals[0])
            if isinstance(vals[1], Seq):
                return self._seq_if(c, self._seq(vals[1]), self._seq(vals[2]))
            if isinstance(vals[1], SetV):
                s1, s2 = self._setv(vals[1]), self._setv(vals[2])
                return SetV(tuple((n, f"({c} ? {b1} : {b2})") for (n, b1), (_, b2) in zip(s1.bits, s2.bits, strict=True)))
            if isinstance(vals[1], RefV):
                r1, r2 = self._ref(vals[1]), self._ref(vals[2])
                return RefV(f"({c} ? {r1.none} : {r2.none})", f"({c} ? {r1.val} : {r2.val})")
            return f"({c} ? {sc(vals[1])} : {sc(vals[2])})"
        if op.startswith("set_") and isinstance(vals[0], SetV):
            return self._sym_set_op(op, vals, e)
        if op.startswith("set_"):
            return self._set_op(op, [sc(v) for v in vals], e)
        if op == "fifo_empty":
            return f"({self._seq(vals[0]).n} = 0)"
        if op == "fifo_len":
            return self._seq(vals[0]).n
        if op == "fifo_head":
            f = self._seq(vals[0])
            err = self.sym.error[f.sym] if self.sym and f.sym else ERROR_INT
            head = f"({f.n} > 0 ? {f.item(0) if f.maxlen else err} : {err})"
            return RefV("false", head) if f.sym else head
        if op == "fifo_has":
            f = self._seq(vals[0])
            x = vals[1]
            if isinstance(x, RefV):
                if x.none == "true":
                    return "false"
                terms = [f"({p} < {f.n} & {f.item(p)} = {x.val})" for p in range(f.maxlen)]
                found = "(" + " | ".join(terms) + ")" if terms else "false"
                return found if x.none == "false" else f"(!{x.none} & {found})"
            terms = [f"({p} < {f.n} & {f.item(p)} = {sc(x)})" for p in range(f.maxlen)]
            return "(" + " | ".join(terms) + ")" if terms else "false"
        if op == "fifo_push":
            x = vals[1]
            return self._sym_push(self._seq(vals[0]), x.val if isinstance(x, RefV) else sc(x))
        if op == "fifo_pop":
            return self._sym_pop(self._seq(vals[0]))
        if op == "fifo_concat":
            return self._sym_concat(self._seq(vals[0]), self._seq(vals[1]))
        raise UsageError(f"the Murphi export does not know the IR operator {op!r}")

    def _setv(self, v: Value) -> SetV:
        if not isinstance(v, SetV):
            raise UsageError("internal: not a set of instances")
        return v

    @staticmethod
    def _set_equal(a: SetV, b: SetV) -> str:
        return "(" + " & ".join(f"({x} = {y})" for (_, x), (_, y) in zip(a.bits, b.bits, strict=True)) + ")"

    def _sym_set_op(self, op: str, vals: list[Value], e: Expr) -> Value:
        """Sets of instances, member by member; a none member is an evaluation error, as in Python."""
        s = self._setv(vals[0])
        if op == "set_empty":
            return "(" + " & ".join(f"!{b}" for _, b in s.bits) + ")"
        if op in ("set_union", "set_minus", "set_inter"):
            t = self._setv(vals[1])
            form = {"set_union": "({} | {})", "set_minus": "({} & !{})", "set_inter": "({} & {})"}[op]
            return SetV(tuple((n, form.format(x, y)) for (n, x), (_, y) in zip(s.bits, t.bits, strict=True)))
        member = e.args[1]
        if member.op == "const" and not isinstance(member.ty, Ref):  # a Python int: instance index
            m = RefV("false", self.names(str(e.args[0].ty.of))[int(member.args[0])])
        else:
            m = self._ref(vals[1])
        if op == "set_has":
            chain = ERROR_BOOL
            for n, b in reversed(s.bits):
                chain = f"({m.val} = {n} ? {b} : {chain})"
            return chain if m.none == "false" else f"({m.none} ? {ERROR_BOOL} : {chain})"
        form = "({} | {} = {})" if op == "set_add" else "({} & {} != {})"
        bits = [(n, form.format(b, m.val, n)) for n, b in s.bits]
        if m.none != "false":
            bits = [(n, f"({m.none} ? {ERROR_BOOL} : {b})") for n, b in bits]
        return SetV(tuple(bits))

    def _set_op(self, op: str, v: list[str], e: Expr) -> str:
        if op == "set_empty":
            return f"({v[0]} = 0)"
        if op == "set_union":
            return f"({v[0]} | {v[1]})"
        if op == "set_minus":
            return f"({v[0]} & ~{v[1]})"
        if op == "set_inter":
            return f"({v[0]} & {v[1]})"
        s, m = v
        member_is_const = e.args[1].op == "const"
        body = {
            "set_has": f"((({s} >> {m}) & 1) = 1)",
            "set_add": f"({s} | (1 << {m}))",
            "set_del": f"({s} & ~(1 << {m}))",
        }[op]
        # Python refuses a negative shift (a null member): an evaluation error there too.
        err = ERROR_BOOL if op == "set_has" else ERROR_INT
        return body if member_is_const else f"({m} >= 0 ? {body} : {err})"

    def _stored(self, store: FieldStore, inst: Pos | None) -> Value:
        """The value of one stored field of instance `inst`."""
        if store.capacity:
            return Seq(lambda p: store.item(inst, p), store.count(inst), store.capacity, True, sym=store.sym)
        if store.members:
            cell = store.cell(inst)
            return SetV(tuple((n, f"{cell}[{n}]") for n in self.names(store.members)))
        if store.sym:
            return RefV(f"isundefined({store.cell(inst)})", store.cell(inst))
        return store.read(inst)

    def _deref(self, e: Expr, idx: Value, cands: list[Value]) -> Value:
        kind, fname, _, candidates = e.args
        # A null scalarset index reads the undefined value, which Rumur refuses (a model
        # error); a null integer index is a negative array index: Rumur's bound check fires.
        idx_s = idx.val if isinstance(idx, RefV) else self._scalar(idx)
        uniform = all(c.op == "slot" for c in candidates) and [c.args[0] for c in candidates] == [
            self.slot_of[(kind, i, fname)] for i in range(len(candidates))
        ]
        if uniform:
            return self._stored(self.field_store(kind, fname), idx_s)
        names = [self.sym.name(kind, i) if self.sym and kind in self.sym.type_of else str(i) for i in range(len(cands))]
        if isinstance(cands[0], Seq):
            seqs = [self._seq(c) for c in cands]
            sym = seqs[0].sym
            err = self.sym.error[sym] if self.sym and sym else ERROR_INT
            out = Seq(lambda p: err, ERROR_INT, max(s.maxlen for s in seqs), False, sym=sym)
            for i in reversed(range(len(seqs))):
                out = self._seq_if(f"({idx_s} = {names[i]})", seqs[i], out)
            return out
        if isinstance(cands[0], SetV):
            sets = [self._setv(c) for c in cands]
            bits: list[tuple[str, str]] = []
            for k, (n, _) in enumerate(sets[0].bits):
                chain = ERROR_BOOL
                for i in reversed(range(len(sets))):
                    chain = f"({idx_s} = {names[i]} ? {sets[i].bits[k][1]} : {chain})"
                bits.append((n, chain))
            return SetV(tuple(bits))
        if isinstance(cands[0], RefV):
            refs = [self._ref(c) for c in cands]
            assert self.sym is not None
            sym = self.sym_of(e.ty)
            none, val = ERROR_BOOL, self.sym.error[sym]
            for i in reversed(range(len(refs))):
                none = f"({idx_s} = {names[i]} ? {refs[i].none} : {none})"
                val = f"({idx_s} = {names[i]} ? {refs[i].val} : {val})"
            return RefV(none, val)
        chain = ERROR_BOOL if isinstance(e.ty, Bool) else ERROR_INT
        for i in reversed(range(len(cands))):
            chain = f"({idx_s} = {names[i]} ? {self._scalar(cands[i])} : {chain})"
        return chain

    # ---- FIFOs unfolded by position

    def _at(self, s: Seq, p: int) -> str:
        return s.item(p) if p < s.maxlen else self.pad(s.sym)

    def _seq_if(self, c: str, a: Seq, b: Seq) -> Seq:
        return Seq(
            lambda p: f"({c} ? {self._at(a, int(p))} : {self._at(b, int(p))})",
            f"({c} ? {a.n} : {b.n})",
            max(a.maxlen, b.maxlen),
            False,
            sym=a.sym or b.sym,
        )

    def _seq_equal(self, a: Seq, b: Seq) -> str:
        terms = [f"({a.n} = {b.n})"]
        terms += [f"({p} >= {a.n} | {a.item(p)} = {b.item(p)})" for p in range(min(a.maxlen, b.maxlen))]
        return "(" + " & ".join(terms) + ")"

    def _sym_push(self, f: Seq, x: str) -> Seq:
        def item(p: Pos) -> str:
            p = int(p)
            if p >= f.maxlen:
                return x
            if f.sym:  # padding may not be read: past the new item is padding again
                return f"({p} < {f.n} ? {f.item(p)} : ({p} = {f.n} ? {x} : {self.pad(f.sym)}))"
            return f"({p} = {f.n} ? {x} : {f.item(p)})"

        return Seq(item, f"({f.n} + 1)", f.maxlen + 1, False, sym=f.sym)

    def _sym_pop(self, f: Seq) -> Seq:
        return Seq(lambda p: self._at(f, int(p) + 1), f"({f.n} > 0 ? {f.n} - 1 : 0)", f.maxlen, False, sym=f.sym)

    def _sym_concat(self, a: Seq, b: Seq) -> Seq:
        sym = a.sym or b.sym

        def item(p: Pos) -> str:
            p = int(p)
            chain = self.pad(sym)
            for k in reversed(range(min(p + 1, b.maxlen))):  # item p is b's item p - a.n
                chain = f"({a.n} = {p - k} ? {b.item(k)} : {chain})"
            return f"({p} < {a.n} ? {self._at(a, p)} : {chain})"

        return Seq(item, f"({a.n} + {b.n})", a.maxlen + b.maxlen, False, sym=sym)

    def _sym_filter(self, f: Seq, pred: Callable[[str], str]) -> Seq:
        keep = [f"({j} < {f.n} & {pred(f.item(j))})" for j in range(f.maxlen)]
        kept = [f"({k} ? 1 : 0)" for k in keep]

        def before(j: int) -> str:
            return "(" + " + ".join(kept[:j]) + ")" if j else "0"

        def item(p: Pos) -> str:
            p = int(p)
            chain = self.pad(f.sym)
            for j in reversed(range(p, f.maxlen)):
                chain = f"(({keep[j]} & {before(j)} = {p}) ? {f.item(j)} : {chain})"
            return chain

        return Seq(item, before(f.maxlen), f.maxlen, False, sym=f.sym)

    # ---------------------------------------------------------------- rule-body statements

    def _checked_index(self, out: list[str], idx_e: Expr, idx: Value) -> Value:
        if isinstance(idx, RefV):
            t = self.hold(out, idx_e, idx)
            assert isinstance(t, RefV)
            out.append(when(t.none, [error_stmt("a read through a null reference")]))
            return t
        s = self.scalar_temp()
        out += [f"{s} := {self._scalar(idx)}", when(f"{s} < 0", [error_stmt("a read through a null reference")])]
        return s

    def _settled(self, out: list[str], v: Value) -> Value:
        return self.materialize(out, v) if isinstance(v, Seq) else v

    def _stmt_fifo(self, op: str, vals: list[Value], out: list[str]) -> Value:
        if op == "fifo_push":
            src, xv = self._seq(vals[0]), vals[1]
            x = xv.val if isinstance(xv, RefV) else self._scalar(xv)
            name, made = self.fifo_temp(src.maxlen + 1, src.sym)
            out += self._copy(src, name)
            out += [f"{name}[{src.n}] := {x}", f"{name}_n := {src.n} + 1"]
            return made
        if op == "fifo_pop":
            src = self._seq(vals[0])
            name, made = self.fifo_temp(src.maxlen, src.sym)
            if src.sym:  # padding is never read
                out += [when(f"{p + 1} < {src.n}", [f"{name}[{p}] := {src.item(p + 1)}"]) for p in range(src.maxlen - 1)]
            else:
                out += [f"{name}[{p}] := {src.item(p + 1)}" for p in range(src.maxlen - 1)]
            out.append(f"{name}_n := ({src.n} > 0 ? {src.n} - 1 : 0)")
            return made
        left, right = self._seq(vals[0]), self._seq(vals[1])
        name, made = self.fifo_temp(left.maxlen + right.maxlen, left.sym or right.sym)
        out += self._copy(left, name)
        out += [when(f"{p} < {right.n}", [f"{name}[{left.n} + {p}] := {right.item(p)}"]) for p in range(right.maxlen)]
        out.append(f"{name}_n := {left.n} + {right.n}")
        return made

    def _copy(self, src: Seq, name: str) -> list[str]:
        if src.sym:  # the local's padding stays undefined: only present items are read
            items = [when(f"{p} < {src.n}", [f"{name}[{p}] := {src.item(p)}"]) for p in range(src.maxlen)]
        else:
            items = [f"{name}[{p}] := {src.item(p)}" for p in range(src.maxlen)]
        return [*items, f"{name}_n := {src.n}"]

    def materialize(self, out: list[str], v: Seq) -> Seq:
        """A FIFO value whose items can be read at a run-time position."""
        if v.dynamic:
            return v
        name, t = self.fifo_temp(v.maxlen, v.sym)
        out += self._copy(v, name)
        return t

    def _lazy(self, e: Expr, env: dict[str, Value]) -> tuple[list[str], Value]:
        """and / or / if with statements in an operand: only the operands Python evaluates run."""
        op, a = e.op, e.args
        out, c = self.stmt(a[0], env)
        c_s = self._scalar(c)
        if op in ("and", "or"):
            t = self.flag_temp()
            out.append(f"{t} := {c_s}")
            for x in a[1:]:
                st, v = self.stmt(x, env)
                test = t if op == "and" else f"!{t}"
                out.append(when(test, [*st, f"{t} := {self._scalar(v)}"]))
            return out, t
        st1, v1 = self.stmt(a[1], env)
        st2, v2 = self.stmt(a[2], env)
        if isinstance(v1, Seq):
            s1, s2 = self._seq(v1), self._seq(v2)
            name, t_seq = self.fifo_temp(max(s1.maxlen, s2.maxlen), s1.sym or s2.sym)
            out.append(when(c_s, st1 + self._copy(s1, name), st2 + self._copy(s2, name)))
            return out, t_seq
        if isinstance(v1, SetV):
            m1, m2 = self._setv(v1), self._setv(v2)
            flags = [self.flag_temp() for _ in m1.bits]
            then = [*st1, *(f"{f} := {b}" for f, (_, b) in zip(flags, m1.bits, strict=True))]
            other = [*st2, *(f"{f} := {b}" for f, (_, b) in zip(flags, m2.bits, strict=True))]
            out.append(when(c_s, then, other))
            return out, SetV(tuple((n, f) for f, (n, _) in zip(flags, m1.bits, strict=True)))
        if isinstance(v1, RefV):
            r = self.ref_temp(self.sym_of(a[1].ty))
            out.append(when(c_s, [*st1, assign_ref(r, self._ref(v1))], [*st2, assign_ref(r, self._ref(v2))]))
            return out, RefV(f"isundefined({r})", r)
        t = self.temp_for(a[1])
        out.append(when(c_s, [*st1, f"{t} := {self._scalar(v1)}"], [*st2, f"{t} := {self._scalar(v2)}"]))
        return out, t

    def _filter(
        self, src_e: Expr, env: dict[str, Value], var: str | None, pred: Expr | None, removed: Expr | None
    ) -> tuple[list[str], Value]:
        """filter (var, pred) or remove (removed): a loop over the source, item by item,
        evaluating the predicate (or the removed item, as Python does) once per item."""
        out, v = self.stmt(src_e, env)
        src = self.materialize(out, self._seq(v))
        name, t = self.fifo_temp(src.maxlen, src.sym)
        i = self.loop_var()
        item = src.item(i)
        if pred is not None and var is not None:
            st, keep = self.stmt(pred, {**env, var: self._item(src, item)})
        else:
            assert removed is not None
            st, x = self.stmt(removed, env)
            keep = self._differs(item, x)
        body = [*st, when(self._scalar(keep), [f"{name}[{name}_n] := {item}", f"{name}_n := {name}_n + 1"])]
        loop = f"while {i} < {src.n} do {' '.join(s + ';' for s in body)} {i} := {i} + 1; end"
        out += [f"{name}_n := 0", f"{i} := 0", loop]
        return out, t
