"""Translate the expression IR into Promela expressions and `d_step` statements.

The semantics are those of `checker/lang/compile.py`, operator by operator:

- Scalars (enum index, bool, int, reference, set bit mask) are Promela integers. A
  reference reads as the instance index or -1 for none; sets use the same bit masks.
- A FIFO value is a `Seq`: a length and its items by position. State FIFOs are byte
  arrays with a length; FIFO-valued operators (push, pop, concat, filter, remove) are
  built in one of two ways. In a *pure* expression (guards, invariants, the quiescence
  predicate: the things Spin evaluates to decide whether a transition is enabled) they
  unfold into conditional expressions over item positions. In a `d_step` body they are
  computed by statements into hidden temporaries, so that big filters are not unfolded.
- Evaluation errors (a read through a null reference, the head of an empty FIFO, a set
  member that is none) make pan stop with "invalid array index", by indexing the
  one-element hidden array `model_error_at` out of bounds; statement-level checks use
  `assert(model_error)`. Like Python, `&&`, `||` and `(c -> a : b)` evaluate lazily, so an
  error is raised exactly where the compiled explorer would raise it.

Why one module of this size: one translation rule per IR operator, side by side, so the
Promela meaning of each can be checked against checker/lang/compile.py operator by operator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pgcheck.checker.errors import UsageError
from pgcheck.checker.export.ir_walk import IRWalk, Pos
from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.types import Fifo

ERROR_EXPR = "model_error_at[1]"  # pure: an out-of-bounds read pan reports
ERROR_STMT = "assert(model_error)"  # statement: a failed assertion named model_error


@dataclass(frozen=True)
class FieldStore:
    """Where one field of a kind lives in the Promela state."""

    name: str  # array (entity kinds) or variable (singletons); FIFO items for FIFO fields
    offset: int  # stored value = model value + offset (references: +1, so none is stored as 0)
    capacity: int  # FIFO capacity; 0 for a scalar field
    singleton: bool

    def cell(self, inst: Pos | None) -> str:
        return self.name if self.singleton else f"{self.name}[{inst}]"

    def read(self, inst: Pos | None) -> str:
        c = self.cell(inst)
        return f"({c} - {self.offset})" if self.offset else c

    def item(self, inst: Pos | None, pos: Pos) -> str:
        if self.singleton:
            return f"{self.name}[{pos}]"
        return f"{self.name}[({inst})*{self.capacity} + {pos}]"

    def count(self, inst: Pos | None) -> str:
        return f"{self.name}_n" if self.singleton else f"{self.name}_n[{inst}]"


@dataclass
class Seq:
    """A FIFO value. `item(p)` is in bounds for every p < maxlen; items at or past `n` are
    padding whose value does not matter. `dynamic` says `item` accepts a Promela position."""

    item: Callable[[Pos], str]
    n: str
    maxlen: int
    dynamic: bool
    scratch: bool = False  # held in a hidden temporary computed earlier in the d_step


Value = str | Seq


@dataclass
class Temps:
    """Hidden scratch variables; they are not part of Spin's state vector."""

    scalars: int = 0
    loops: int = 0
    fifos: dict[int, int] = field(default_factory=dict)  # number -> largest length needed

    def declarations(self) -> list[str]:
        out = [f"hidden int _t{i};" for i in range(self.scalars)]
        out += [f"hidden byte _i{i};" for i in range(self.loops)]
        for k, size in sorted(self.fifos.items()):
            out.append(f"hidden byte _q{k}[{max(size, 1)}];")
            out.append(f"hidden byte _q{k}_n;")
        return out


class Translator(IRWalk[Value, Seq]):
    """IR -> Promela for one model. `store_of(slot)` gives (field store, instance)."""

    def __init__(
        self,
        store_of: Callable[[int], tuple[FieldStore, int | None]],
        field_store: Callable[[str, str], FieldStore],
        slot_of: dict[tuple[str, int | None, str], int],
        counts: dict[str, int],
    ) -> None:
        self.store_of = store_of
        self.field_store = field_store
        self.slot_of = slot_of
        self.counts = counts
        self.temps = Temps()
        self._next_scalar = 0
        self._next_loop = 0
        self._next_fifo = 0
        super().__init__()

    # ---------------------------------------------------------------- temporaries

    def begin_block(self) -> None:
        """Temporaries are reused from one d_step to the next, never within one."""
        self._next_scalar = self._next_loop = self._next_fifo = 0

    def scalar_temp(self) -> str:
        name = f"_t{self._next_scalar}"
        self._next_scalar += 1
        self.temps.scalars = max(self.temps.scalars, self._next_scalar)
        return name

    def loop_var(self) -> str:
        name = f"_i{self._next_loop}"
        self._next_loop += 1
        self.temps.loops = max(self.temps.loops, self._next_loop)
        return name

    def fifo_temp(self, maxlen: int) -> tuple[str, Seq]:
        k = self._next_fifo
        self._next_fifo += 1
        self.temps.fifos[k] = max(self.temps.fifos.get(k, 0), maxlen)
        name = f"_q{k}"
        return name, Seq(lambda p: f"{name}[{p}]", f"{name}_n", maxlen, True, True)

    # ---------------------------------------------------------------- pure expressions

    def _scalar(self, v: Value) -> str:
        if isinstance(v, Seq):
            raise UsageError("internal: a FIFO value where a scalar is expected")
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
            if isinstance(e.ty, Fifo):
                items = tuple(a[0])
                return Seq(lambda p: str(items[p]) if isinstance(p, int) else ERROR_EXPR, str(len(items)), len(items), False)
            return str(int(a[0]))
        if op == "slot":
            store, inst = self.store_of(a[0])
            if store.capacity:
                return Seq(lambda p: store.item(inst, p), store.count(inst), store.capacity, True)
            return store.read(inst)
        if op == "var":
            return env[str(a[0])]
        infix = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "add": "+", "sub": "-"}
        if op in ("eq", "ne") and isinstance(vals[0], Seq):
            same = self._seq_equal(self._seq(vals[0]), self._seq(vals[1]))
            return same if op == "eq" else f"(!{same})"
        if op in infix:
            return f"({sc(vals[0])} {infix[op]} {sc(vals[1])})"
        if op == "and":
            return "(" + " && ".join(sc(v) for v in vals) + ")"
        if op == "or":
            return "(" + " || ".join(sc(v) for v in vals) + ")"
        if op == "not":
            return f"(!{sc(vals[0])})"
        if op == "if":
            c = sc(vals[0])
            if isinstance(vals[1], Seq):
                return self._seq_if(c, self._seq(vals[1]), self._seq(vals[2]))
            return f"({c} -> {sc(vals[1])} : {sc(vals[2])})"
        if op.startswith("set_"):
            return self._set_op(op, [sc(v) for v in vals], e)
        if op == "fifo_empty":
            return f"({self._seq(vals[0]).n} == 0)"
        if op == "fifo_len":
            return self._seq(vals[0]).n
        if op == "fifo_head":
            f = self._seq(vals[0])
            return f"({f.n} > 0 -> {f.item(0) if f.maxlen else ERROR_EXPR} : {ERROR_EXPR})"
        if op == "fifo_has":
            f, x = self._seq(vals[0]), sc(vals[1])
            terms = [f"({p} < {f.n} && {f.item(p)} == {x})" for p in range(f.maxlen)]
            return "(" + " || ".join(terms) + ")" if terms else "0"
        if op == "fifo_push":
            return self._sym_push(self._seq(vals[0]), sc(vals[1]))
        if op == "fifo_pop":
            return self._sym_pop(self._seq(vals[0]))
        if op == "fifo_concat":
            return self._sym_concat(self._seq(vals[0]), self._seq(vals[1]))
        raise UsageError(f"the Promela export does not know the IR operator {op!r}")

    def _set_op(self, op: str, v: list[str], e: Expr) -> str:
        if op == "set_empty":
            return f"({v[0]} == 0)"
        if op == "set_union":
            return f"({v[0]} | {v[1]})"
        if op == "set_minus":
            return f"({v[0]} & ~{v[1]})"
        if op == "set_inter":
            return f"({v[0]} & {v[1]})"
        s, m = v
        member_is_const = e.args[1].op == "const"
        body = {
            "set_has": f"((({s} >> {m}) & 1) == 1)",
            "set_add": f"({s} | (1 << {m}))",
            "set_del": f"({s} & ~(1 << {m}))",
        }[op]
        # Python refuses a negative shift (a null member): an evaluation error there too.
        return body if member_is_const else f"({m} >= 0 -> {body} : {ERROR_EXPR})"

    def _deref(self, e: Expr, idx: Value, cands: list[Value]) -> Value:
        kind, fname, _, candidates = e.args
        idx_s = self._scalar(idx)
        uniform = all(c.op == "slot" for c in candidates) and [c.args[0] for c in candidates] == [
            self.slot_of[(kind, i, fname)] for i in range(len(candidates))
        ]
        if uniform:
            store = self.field_store(kind, fname)
            if store.capacity:  # a null index reads a negative position: pan's bound check fires
                return Seq(lambda p: store.item(idx_s, p), store.count(idx_s), store.capacity, True)
            return store.read(idx_s)
        if isinstance(cands[0], Seq):
            seqs = [self._seq(c) for c in cands]
            out = Seq(lambda p: ERROR_EXPR, ERROR_EXPR, max(s.maxlen for s in seqs), False)
            for i in reversed(range(len(seqs))):
                out = self._seq_if(f"({idx_s} == {i})", seqs[i], out)
            return out
        chain = ERROR_EXPR
        for i in reversed(range(len(cands))):
            chain = f"({idx_s} == {i} -> {self._scalar(cands[i])} : {chain})"
        return chain

    # ---- FIFOs unfolded by position

    @staticmethod
    def _at(s: Seq, p: int) -> str:
        return s.item(p) if p < s.maxlen else "0"

    def _seq_if(self, c: str, a: Seq, b: Seq) -> Seq:
        return Seq(
            lambda p: f"({c} -> {self._at(a, int(p))} : {self._at(b, int(p))})",
            f"({c} -> {a.n} : {b.n})",
            max(a.maxlen, b.maxlen),
            False,
        )

    def _seq_equal(self, a: Seq, b: Seq) -> str:
        terms = [f"({a.n} == {b.n})"]
        terms += [f"({p} >= {a.n} || {a.item(p)} == {b.item(p)})" for p in range(min(a.maxlen, b.maxlen))]
        return "(" + " && ".join(terms) + ")"

    def _sym_push(self, f: Seq, x: str) -> Seq:
        def item(p: Pos) -> str:
            p = int(p)
            return x if p >= f.maxlen else f"({p} == {f.n} -> {x} : {f.item(p)})"

        return Seq(item, f"({f.n} + 1)", f.maxlen + 1, False)

    def _sym_pop(self, f: Seq) -> Seq:
        return Seq(lambda p: self._at(f, int(p) + 1), f"({f.n} > 0 -> {f.n} - 1 : 0)", f.maxlen, False)

    def _sym_concat(self, a: Seq, b: Seq) -> Seq:
        def item(p: Pos) -> str:
            p = int(p)
            chain = "0"
            for k in reversed(range(min(p + 1, b.maxlen))):  # item p is b's item p - a.n
                chain = f"({a.n} == {p - k} -> {b.item(k)} : {chain})"
            return f"({p} < {a.n} -> {self._at(a, p)} : {chain})"

        return Seq(item, f"({a.n} + {b.n})", a.maxlen + b.maxlen, False)

    def _sym_filter(self, f: Seq, pred: Callable[[str], str]) -> Seq:
        keep = [f"({j} < {f.n} && {pred(f.item(j))})" for j in range(f.maxlen)]
        kept = [f"({k} -> 1 : 0)" for k in keep]

        def before(j: int) -> str:
            return "(" + " + ".join(kept[:j]) + ")" if j else "0"

        def item(p: Pos) -> str:
            p = int(p)
            chain = "0"
            for j in reversed(range(p, f.maxlen)):
                chain = f"({keep[j]} && {before(j)} == {p} -> {f.item(j)} : {chain})"
            return chain

        return Seq(item, before(f.maxlen), f.maxlen, False)

    # ---------------------------------------------------------------- d_step statements

    def _checked_index(self, out: list[str], idx_e: Expr, idx: Value) -> Value:
        t = self.scalar_temp()
        out += [f"{t} = {self._scalar(idx)}", f"if :: {t} < 0 -> {ERROR_STMT} :: else -> skip fi"]
        return t

    def _settled(self, out: list[str], v: Value) -> Value:
        return self.materialize(out, v) if isinstance(v, Seq) else v

    def _stmt_fifo(self, op: str, vals: list[Value], out: list[str]) -> Value:
        if op == "fifo_push":
            src, x = self._seq(vals[0]), self._scalar(vals[1])
            name, made = self.fifo_temp(src.maxlen + 1)
            out += self._copy(src, name)
            out += [f"{name}[{src.n}] = {x}", f"{name}_n = {src.n} + 1"]
            return made
        if op == "fifo_pop":
            src = self._seq(vals[0])
            name, made = self.fifo_temp(src.maxlen)
            out += [f"{name}[{p}] = {src.item(p + 1)}" for p in range(src.maxlen - 1)]
            out.append(f"{name}_n = ({src.n} > 0 -> {src.n} - 1 : 0)")
            return made
        left, right = self._seq(vals[0]), self._seq(vals[1])
        name, made = self.fifo_temp(left.maxlen + right.maxlen)
        out += self._copy(left, name)
        out += [f"{name}[{left.n} + {p}] = {right.item(p)}" for p in range(right.maxlen)]
        out.append(f"{name}_n = {left.n} + {right.n}")
        return made

    def _copy(self, src: Seq, name: str) -> list[str]:
        return [f"{name}[{p}] = {src.item(p)}" for p in range(src.maxlen)] + [f"{name}_n = {src.n}"]

    def materialize(self, out: list[str], v: Seq) -> Seq:
        """A FIFO value whose items can be read at a run-time position."""
        if v.dynamic:
            return v
        name, t = self.fifo_temp(v.maxlen)
        out += self._copy(v, name)
        return t

    def _lazy(self, e: Expr, env: dict[str, Value]) -> tuple[list[str], Value]:
        """and / or / if with statements in an operand: only the operands Python evaluates run."""
        op, a = e.op, e.args
        out, c = self.stmt(a[0], env)
        c_s = self._scalar(c)
        if op in ("and", "or"):
            t = self.scalar_temp()
            out.append(f"{t} = ({c_s} -> 1 : 0)")
            for x in a[1:]:
                st, v = self.stmt(x, env)
                test = t if op == "and" else f"!{t}"
                body = "; ".join([*st, f"{t} = ({self._scalar(v)} -> 1 : 0)"])
                out.append(f"if :: {test} -> {body} :: else -> skip fi")
            return out, t
        st1, v1 = self.stmt(a[1], env)
        st2, v2 = self.stmt(a[2], env)
        if isinstance(v1, Seq):
            s1, s2 = self._seq(v1), self._seq(v2)
            name, t_seq = self.fifo_temp(max(s1.maxlen, s2.maxlen))
            b1 = st1 + self._copy(s1, name)
            b2 = st2 + self._copy(s2, name)
            out.append(f"if :: {c_s} -> {'; '.join(b1)} :: else -> {'; '.join(b2)} fi")
            return out, t_seq
        t = self.scalar_temp()
        then = "; ".join([*st1, f"{t} = {self._scalar(v1)}"])
        other = "; ".join([*st2, f"{t} = {self._scalar(v2)}"])
        out.append(f"if :: {c_s} -> {then} :: else -> {other} fi")
        return out, t

    def _filter(
        self, src_e: Expr, env: dict[str, Value], var: str | None, pred: Expr | None, removed: Expr | None
    ) -> tuple[list[str], Value]:
        """filter (var, pred) or remove (removed): a loop over the source, item by item,
        evaluating the predicate (or the removed item, as Python does) once per item."""
        out, v = self.stmt(src_e, env)
        src = self.materialize(out, self._seq(v))
        name, t = self.fifo_temp(src.maxlen)
        i = self.loop_var()
        item = src.item(i)
        if pred is not None and var is not None:
            st, keep = self.stmt(pred, {**env, var: item})
        else:
            assert removed is not None
            st, x = self.stmt(removed, env)
            keep = f"({item} != {self._scalar(x)})"
        body = "; ".join([*st, f"if :: {self._scalar(keep)} -> {name}[{name}_n] = {item}; {name}_n++ :: else -> skip fi"])
        out += [f"{name}_n = 0", f"{i} = 0", f"do :: {i} < {src.n} -> {body}; {i}++ :: else -> break od"]
        return out, t
