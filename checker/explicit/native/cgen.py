"""Generate C from a traced model's IR: the model half of the native engine.

The output is part 2 of three (prelude.c, this, engine.c): the successor function with
one guarded block per binding, invariants, witnesses, quiescence, pack/unpack of states
into bytes, and the symmetry signatures and permutation of checker/explicit/symmetry.py. Every IR
operator means what checker/lang/compile.py makes it mean in Python; the differential tests
hold the two engines to the same state counts and verdicts.

Why one module of this size: one generator per IR operator, kept beside each other so that
the C meaning of every operator can be read against checker/lang/compile.py line by line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pgcheck.checker.errors import ModelError
from pgcheck.checker.explicit.symmetry import Canonicalizer, signature_plan
from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.spec import Binding, TracedModel
from pgcheck.checker.lang.types import Bool, Enum, FieldType, Fifo, Int, Ref, Set

FIFO_ROOM = 14  # items a packed FIFO cell holds (prelude.c)
MAX_INSTANCES = 15  # a FIFO item is stored in 4 bits as instance + 1


class Unsupported(Exception):
    """The model uses something the native engine cannot represent; use the Python engine."""


@dataclass
class Generated:
    source: str  # part 2 of the engine
    sites: list[str]  # error-site messages, indexed by pg_error_site()
    packed_bytes: int  # a stored state's size


def slot_bits(model: TracedModel, ty: FieldType) -> tuple[int, int]:
    """(offset, bits): a stored value v is packed as v - offset in that many bits."""
    if isinstance(ty, Bool):
        return 0, 1
    if isinstance(ty, Enum):
        return 0, max(1, (len(ty.values) - 1).bit_length())
    if isinstance(ty, Ref):
        return -1, max(1, (model.kinds[ty.kind].count or 0).bit_length())
    if isinstance(ty, Int):
        return ty.lo, max(1, (ty.hi - ty.lo).bit_length())
    if isinstance(ty, Set):
        return 0, max(1, len(ty.of.values) if isinstance(ty.of, Enum) else (model.kinds[ty.of].count or 0))
    if isinstance(ty, Fifo):
        return 0, 5 + 4 * ty.capacity
    raise Unsupported(f"no packed form for field type {ty.name}")


def check_supported(model: TracedModel) -> None:
    for k in model.kinds.values():
        if (k.count or 0) > MAX_INSTANCES:
            raise Unsupported(f"{k.name} has {k.count} instances; the native engine packs at most {MAX_INSTANCES}")
    for info in model.slots:
        if isinstance(info.ty, Fifo) and info.ty.capacity + 1 > FIFO_ROOM:
            raise Unsupported(f"{info.label} holds {info.ty.capacity} items; the native engine packs at most {FIFO_ROOM - 1}")
    if len(model.witnesses) > 64:
        raise Unsupported("more than 64 witnesses")
    if len(model.bindings) >= 0xFFFF:
        raise Unsupported("more than 65534 action bindings")


def pack_fifo(items: tuple[int, ...]) -> int:
    v = len(items)
    for k, x in enumerate(items):
        v |= (x + 1) << (5 + 4 * k)
    return v


def unpack_fifo(v: int) -> tuple[int, ...]:
    return tuple(((v >> (5 + 4 * k)) & 15) - 1 for k in range(v & 31))


# Operators that can fail at run time (a null reference, an empty FIFO, a FIFO over its
# room): never evaluated ahead of where the model evaluates them.
_PARTIAL = {"deref", "set_has", "set_add", "set_del", "fifo_head", "fifo_push", "fifo_concat", "fifo_filter", "var"}
_CONST_INDEX_OPS = {"set_has", "set_add", "set_del"}


def _const_member(e: Expr) -> bool:
    return e.op == "const" and isinstance(e.args[0], int) and 0 <= e.args[0] <= 62


class _Expr:
    """IR -> C expressions (GCC statement expressions where a loop or temporary is needed)."""

    def __init__(self) -> None:
        self.tmp = 0
        self.sites: list[str] = []
        self.where = ""
        self.var_names: dict[str, str] = {}
        # Common subexpressions of one block: structural ids to hoist, and their temporaries.
        self.ids: dict[int, int] = {}  # id(node) -> structural id
        self.interned: dict[tuple[Any, ...], int] = {}
        self.hoist: set[int] = set()
        self.names: dict[int, str] = {}
        self.decls: list[str] = []
        self._keep: list[Expr] = []

    # ---- common subexpressions
    def sid(self, e: Expr) -> int:
        """Structural id: equal for equal trees, whatever their identity."""
        got = self.ids.get(id(e))
        if got is not None:
            return got
        parts: list[Any] = [e.op]
        for x in e.args:
            if isinstance(x, Expr):
                parts.append(("e", self.sid(x)))
            elif isinstance(x, (list, tuple)) and x and isinstance(x[0], Expr):
                parts.append(("l", *(self.sid(y) for y in x)))
            else:
                parts.append(("v", x))
        key = tuple(parts)
        n = self.interned.setdefault(key, len(self.interned))
        self.ids[id(e)] = n
        self._keep.append(e)  # ids of live nodes only: keep them alive while ids are cached
        return n

    def begin_block(self, roots: list[Expr]) -> None:
        """Choose the total subexpressions used more than once in `roots` for hoisting."""
        self.ids, self.hoist, self.names, self.decls, self._keep = {}, set(), {}, [], []
        counts: dict[int, int] = {}
        total: dict[int, bool] = {}

        def visit(e: Expr) -> bool:
            k = self.sid(e)
            counts[k] = counts.get(k, 0) + 1
            if k in total and counts[k] > 1:
                return total[k]
            ok = e.op not in _PARTIAL or (e.op in _CONST_INDEX_OPS and _const_member(e.args[1]))
            for x in e.args:
                if isinstance(x, Expr):
                    ok = visit(x) and ok
                elif isinstance(x, (list, tuple)) and x and isinstance(x[0], Expr):
                    for y in x:
                        ok = visit(y) and ok
            total[k] = ok
            return ok

        for r in roots:
            visit(r)
        self.hoist = {k for k, n in counts.items() if n > 1 and total[k]}

    def end_block(self) -> None:
        self.ids, self.hoist, self.names, self.decls, self._keep = {}, set(), {}, [], []

    def take_decls(self) -> list[str]:
        out, self.decls = self.decls, []
        return out

    def c(self, e: Expr) -> str:
        if self.hoist and e.op not in ("const", "slot", "var"):
            k = self.sid(e)
            if k in self.hoist:
                name = self.names.get(k)
                if name is None:
                    text = self._c(e)
                    name = self.names[k] = f"h{len(self.names)}"
                    self.decls.append(f"int64_t {name} = {text};")
                return name
        return self._c(e)

    def site(self, message: str) -> int:
        self.sites.append(f"{self.where}: {message}" if self.where else message)
        return len(self.sites) - 1

    def var(self, name: str) -> str:
        """Lambda variables get names by order of appearance, so the source is reproducible."""
        return self.var_names.setdefault(name, f"v{len(self.var_names)}")

    def _t(self) -> str:
        self.tmp += 1
        return f"t{self.tmp}"

    def _c(self, e: Expr) -> str:
        op, a = e.op, e.args
        c = self.c
        if op == "const":
            v = a[0]
            if isinstance(v, tuple):
                return f"INT64_C({pack_fifo(v)})"
            return f"INT64_C({int(v)})"
        if op == "slot":
            return f"s[{a[0]}]"
        if op == "var":
            return self.var(a[0])
        if op == "deref":
            _kind, _field, idx, candidates = a
            t = self._t()
            site = self.site(f"read of {_kind}[{idx.show()}].{_field} through a null reference")
            slots = [x.args[0] for x in candidates if x.op == "slot"]
            n = len(candidates)
            uniform = len(slots) == n and (
                n < 2 or all(slots[i + 1] - slots[i] == slots[1] - slots[0] for i in range(n - 1))
            )
            if uniform:
                stride = slots[1] - slots[0] if n > 1 else 0
                access = f"s[{slots[0]} + {stride} * {t}]"
            else:
                access = "".join(f"{t} == {i} ? {c(x)} : " for i, x in enumerate(candidates[:-1])) + c(candidates[-1])
            return f"({{ int64_t {t} = {c(idx)}; ({t} >= 0 && {t} < {n}) ? ({access}) : pg_err({site}); }})"
        binops = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "add": "+", "sub": "-"}
        if op in binops:
            return f"({c(a[0])} {binops[op]} {c(a[1])})"
        if op == "and":
            return "(" + " && ".join(c(x) for x in a) + ")"
        if op == "or":
            return "(" + " || ".join(c(x) for x in a) + ")"
        if op == "not":
            return f"(!{c(a[0])})"
        if op == "if":
            return f"({c(a[0])} ? {c(a[1])} : {c(a[2])})"
        if op in ("set_has", "set_add", "set_del") and _const_member(a[1]):
            bit = f"(INT64_C(1) << {a[1].args[0]})"
            return {
                "set_has": f"(({c(a[0])} >> {a[1].args[0]}) & 1)",
                "set_add": f"({c(a[0])} | {bit})",
                "set_del": f"({c(a[0])} & ~{bit})",
            }[op]
        if op in ("set_has", "set_add", "set_del"):
            site = self.site(f"set member out of range in {e.show()}")
            return f"{op}({c(a[0])}, {c(a[1])}, {site})"
        if op == "set_union":
            return f"({c(a[0])} | {c(a[1])})"
        if op == "set_minus":
            return f"({c(a[0])} & ~{c(a[1])})"
        if op == "set_inter":
            return f"({c(a[0])} & {c(a[1])})"
        if op in ("set_empty", "fifo_empty"):
            return f"(!{c(a[0])})"
        if op == "fifo_len":
            return f"fifo_len({c(a[0])})"
        if op == "fifo_head":
            site = self.site(f"head of an empty FIFO {a[0].show()}")
            return f"fifo_head({c(a[0])}, {site})"
        if op == "fifo_push":
            site = self.site(f"FIFO {a[0].show()} over the native engine's room")
            return f"fifo_push({c(a[0])}, {c(a[1])}, {site})"
        if op == "fifo_pop":
            return f"fifo_pop({c(a[0])})"
        if op == "fifo_has":
            return f"fifo_has({c(a[0])}, {c(a[1])})"
        if op == "fifo_remove":
            return f"fifo_remove({c(a[0])}, {c(a[1])})"
        if op == "fifo_concat":
            site = self.site(f"FIFO {e.show()} over the native engine's room")
            return f"fifo_concat({c(a[0])}, {c(a[1])}, {site})"
        if op == "fifo_filter":
            src, out, k = self._t(), self._t(), self._t()
            var = self.var(a[1].args[0])
            return (
                f"({{ int64_t {src} = {c(a[0])}, {out} = 0; "
                f"for (int64_t {k} = 0; {k} < fifo_len({src}); {k}++) {{ "
                f"int64_t {var} = fifo_get({src}, {k}); if ({c(a[2])}) {out} = fifo_push({out}, {var}, 0); }} "
                f"{out}; }})"
            )
        raise ModelError(f"cannot generate C for IR operator {op!r}")


def _binding(g: _Expr, b: Binding, nslots: int) -> tuple[list[str], list[str]]:
    """(the guarded call in expand(), the body function) of one binding."""
    g.where = f"action {b.label}"
    label = b.label.replace("*/", "* /")
    call = [f"    /* {label} */", f"    if ({g.c(b.guard)} && body_{b.index}(s, w) < 0) return -1;"]
    g.begin_block([cond for cond, _ in b.asserts] + list(b.updates.values()))
    body = [f"static __attribute__((noinline)) int body_{b.index}(const int64_t *s, struct worker *w)", "{"]
    body.append(f"    int64_t n[{nslots}];")
    for cond, msg in b.asserts:
        text = g.c(cond)
        body += ["    " + d for d in g.take_decls()]
        body.append(f"    if (!{text}) pg_err({g.site(msg)});")
    body.append(f"    memcpy(n, s, sizeof(int64_t) * {nslots});")
    for idx, e in sorted(b.updates.items()):
        text = g.c(e)
        body += ["    " + d for d in g.take_decls()]
        body.append(f"    n[{idx}] = {text};")
    body += ["    if (pg_err_site >= 0) return -1;", f"    emit(w, {b.index}, n);", "    return 0;", "}"]
    g.end_block()
    g.where = ""
    return call, body


def _pack(model: TracedModel, layout: list[tuple[int, int]]) -> tuple[list[str], int]:
    """pack()/unpack() between cells and 64-bit words; a value never straddles two words.
    Returns the C lines and the packed size in bytes."""
    words: list[list[tuple[int, int, int, int]]] = [[]]  # per word: (slot, offset, bits, shift)
    used = 0
    for j, (off, bits) in enumerate(layout):
        if bits > 64:
            raise Unsupported(f"{model.slots[j].label} needs {bits} bits")
        if used + bits > 64:
            words.append([])
            used = 0
        words[-1].append((j, off, bits, used))
        used += bits
    pack = ["static void pack(const int64_t *s, uint8_t *o)", "{"]
    unpack = ["static void unpack(const uint8_t *o, int64_t *s)", "{", "    uint64_t w;"]
    for k, word in enumerate(words):
        terms = [f"((uint64_t)(s[{j}] - ({off})) << {shift})" for j, off, _bits, shift in word]
        pack.append(f"    {{ uint64_t w = {' | '.join(terms) or '0'}; memcpy(o + {8 * k}, &w, 8); }}")
        unpack.append(f"    memcpy(&w, o + {8 * k}, 8);")
        for j, off, bits, shift in word:
            mask = "UINT64_MAX" if bits == 64 else f"UINT64_C({(1 << bits) - 1})"
            unpack.append(f"    s[{j}] = (int64_t)((w >> {shift}) & {mask}) + ({off});")
    return [*pack, "}", *unpack, "}"], 8 * len(words)


# The features of checker/explicit/symmetry.py's signature plan, read in C.
C_FEATURE = {
    "raw": "s[{j}]",
    "ref": "(s[{j}] == -1 ? -1 : (s[{j}] == {i} ? {mark} : 1))",
    "fifo_len": "fifo_len(s[{j}])",
    "popcount": "popcount64(s[{j}])",
    "fifo_pos": "fifo_index(s[{j}], {i})",
    "is_ref": "(s[{j}] == {i})",
    "bit": "((s[{j}] >> {i}) & 1)",
    "count": "count_refs((const int[]){{{plus}}}, sizeof((const int[]){{{plus}}}) / sizeof(int), s, {i})",
}


def _symmetry(cz: Canonicalizer | None, model: TracedModel) -> list[str]:
    """Signatures, identity tests and the permutation, mirroring checker/explicit/symmetry.py."""
    if cz is None or not cz.active:
        return [
            "#define NGROUPS 0",
            "#define MAXN 1",
            "#define MAXF 1",
            "static void permute(const int64_t *s, int64_t *o, int P[][MAXN], int I[][MAXN])"
            " { (void)P; (void)I; memcpy(o, s, sizeof(int64_t) * NSLOTS); }",
        ]
    slots = model.slots
    ng = len(cz.groups)
    maxn = max(cz.counts)
    lines: list[str] = []
    feats_per_group: list[int] = []
    body: list[str] = []
    for gi, kinds in enumerate(cz.groups):
        n = cz.counts[gi]
        rows: list[list[str]] = []
        for i in range(n):
            feats = [C_FEATURE[f.kind].format(j=f.slot, i=i, mark=f.self_mark, plus=f.plus) for f in signature_plan(cz, gi, i)]
            rows.append(feats)
        nf = len(rows[0])
        feats_per_group.append(nf)
        body.append(f"static void sig_{gi}(const int64_t *s, int64_t *o)")
        body.append("{")
        for i, feats in enumerate(rows):
            for k, f in enumerate(feats):
                body.append(f"    o[{i * nf + k}] = {f};")
        body.append("}")
        # Identical own fields, and "referenced from anywhere" (checker/explicit/symmetry.py, _tie_perms).
        own_terms = []
        for kind in kinds:
            decl = model.kinds[kind]
            stride = len(decl.fields)
            for fname in decl.fields:
                base = cz.slot_of[(kind, 0, fname)]
                own_terms.append(f"s[{base} + {stride} * a] == s[{base} + {stride} * b]")
        body.append(f"static int own_eq_{gi}(const int64_t *s, int a, int b)")
        body.append("{ return " + (" && ".join(own_terms) or "1") + "; }")
        terms = []
        for j in range(len(slots)):
            vm = cz.value_map[j]
            if vm is None or vm[0] != gi:
                continue
            terms.append(
                f"s[{j}] == i" if vm[1] == "ref" else f"fifo_has(s[{j}], i)" if vm[1] == "fifo" else f"((s[{j}] >> i) & 1)"
            )
        body.append(f"static int refd_{gi}(const int64_t *s, int i)")
        body.append("{ return " + (" || ".join(terms) or "0") + "; }")
    lines += [f"#define NGROUPS {ng}", f"#define MAXN {maxn}", f"#define MAXF {max(feats_per_group)}"]
    lines += body
    lines.append("static const int G_N[NGROUPS] = {" + ", ".join(str(n) for n in cz.counts) + "};")
    lines.append("static const int G_F[NGROUPS] = {" + ", ".join(str(f) for f in feats_per_group) + "};")
    lines.append(
        "static void (*const G_SIG[NGROUPS])(const int64_t *, int64_t *) = {"
        + ", ".join(f"sig_{g}" for g in range(ng))
        + "};"
    )
    lines.append(
        "static int (*const G_OWN_EQ[NGROUPS])(const int64_t *, int, int) = {"
        + ", ".join(f"own_eq_{g}" for g in range(ng))
        + "};"
    )
    lines.append(
        "static int (*const G_REFD[NGROUPS])(const int64_t *, int) = {" + ", ".join(f"refd_{g}" for g in range(ng)) + "};"
    )
    # P[g][old] = new renames values; I[g][new] = old says where a moved slot comes from.
    lines.append("static void permute(const int64_t *s, int64_t *o, int P[][MAXN], int I[][MAXN])")
    lines.append("{")
    for j, info in enumerate(slots):
        g = cz.owner[j]
        if g < 0:
            src = f"s[{j}]"
        else:
            decl = model.kinds[info.kind]
            base = cz.slot_of[(info.kind, 0, info.field)]
            src = f"s[{base} + {len(decl.fields)} * I[{g}][{info.instance}]]"
        vm = cz.value_map[j]
        if vm is None:
            val = src
        else:
            fn = {"ref": "rename_ref", "fifo": "rename_fifo", "set": "rename_set"}[vm[1]]
            val = f"{fn}({src}, P[{vm[0]}])"
        lines.append(f"    o[{j}] = {val};")
    lines.append("}")
    return lines


def generate(model: TracedModel, invariant_ids: list[str] | None, symmetry: Canonicalizer | None) -> Generated:
    check_supported(model)
    g = _Expr()
    nslots = len(model.slots)
    layout = [slot_bits(model, info.ty) for info in model.slots]
    pack_lines, packed = _pack(model, layout)
    chosen = [(p, e) for p, e in model.invariants if invariant_ids is None or p.id in invariant_ids]
    out = [
        f"/* Generated by pgcheck from model {model.name}: {nslots} slots, {len(model.bindings)} bindings. */",
        f"#define NSLOTS {nslots}",
        f"#define NBINDINGS {len(model.bindings)}",
        f"#define NINV {len(chosen)}",
        f"#define NWIT {len(model.witnesses)}",
        f"#define PACKED_BYTES {packed}",
    ]
    out += _symmetry(symmetry, model)
    out += pack_lines
    calls: list[str] = []
    for b in model.bindings:
        call, body = _binding(g, b, nslots)
        calls += call
        out += body
    out += ["static int expand(const int64_t *s, struct worker *w)", "{", *calls]
    out += ["    return pg_err_site >= 0 ? -1 : 0;", "}"]
    out += ["static int first_violation(const int64_t *s)", "{"]
    for i, (p, e) in enumerate(chosen):
        g.where = f"invariant {p.id}"
        g.begin_block([e])
        text = g.c(e)
        out += ["    {"] + ["        " + d for d in g.take_decls()] + [f"        if (!{text}) return {i};", "    }"]
        g.end_block()
    out += ["    return -1;", "}"]
    out += ["static __attribute__((unused)) uint64_t witness_hits(const int64_t *s)", "{", "    uint64_t h = 0;"]
    for i, (p, e) in enumerate(model.witnesses):
        g.where = f"witness {p.id}"
        out.append(f"    if ({g.c(e)}) h |= UINT64_C(1) << {i};")
    out += ["    return h;", "}"]
    g.where = "quiescence predicate"
    out += [f"static int is_quiescent(const int64_t *s) {{ return {g.c(model.quiescent)}; }}"]
    return Generated("\n".join(out) + "\n", g.sites, packed)
