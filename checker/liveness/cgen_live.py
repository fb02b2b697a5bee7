"""C for the temporal properties' state predicates: one bit per predicate per state.

Each traced obligation contributes Q (and P for leads-to), generated from the IR by the
native engine's expression generator, as invariants are (checker/explicit/native/cgen.py);
live.c stores the bits of every state and derives allowed/start/must from them as
fair_cycles.obligation does.
"""

from __future__ import annotations

from pgcheck.checker.explicit.native import cgen
from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.spec import TracedModel

FORMS = ("leads-to", "always-eventually", "eventually-always")  # live.c's form codes 0, 1, 2


def live_predicates(model: TracedModel, gen: cgen.Generated) -> tuple[str, dict[str, int]]:
    """(C source defining NPRED, NPB (bytes per state) and live_preds(), the bit of `label:p` / `label:q`).

    Error sites are appended to `gen.sites`, so a failing predicate is reported like any
    other evaluation error of the model."""
    g = cgen._Expr()
    g.sites = gen.sites  # one numbering of error sites for the whole library
    exprs: list[tuple[str, Expr]] = []
    for o in model.temporal:
        if o.p is not None:
            exprs.append((f"{o.label}:p", o.p))
        exprs.append((f"{o.label}:q", o.q))
    bits = {name: k for k, (name, _) in enumerate(exprs)}
    npb = max(1, (len(exprs) + 7) // 8)
    out = [
        f"#define NPRED {len(exprs)}",
        f"#define NPB {npb}",
        "static void live_preds(const int64_t *s, uint8_t *o)",
        "{",
        f"    memset(o, 0, {npb});",
    ]
    for k, (name, e) in enumerate(exprs):
        g.where = f"liveness predicate {name}"
        g.begin_block([e])
        text = g.c(e)
        out += ["    {"] + ["        " + d for d in g.take_decls()]
        out += [f"        if ({text}) o[{k // 8}] |= (uint8_t)(1u << {k % 8});", "    }"]
        g.end_block()
    out += ["    (void)s;", "}"]
    return "\n".join(out) + "\n", bits


def binding_permutations(model: TracedModel, groups: list[list[str]]) -> str:
    """C tables for perm_binding() in live.c: the binding a permutation of the symmetry groups'
    instances makes of each binding (the same action, its instance parameters renamed).

    Per binding: its action's base in one flat table, and per parameter its position in its
    domain, the stride of that parameter, and the group that renames it (-1: none). A
    renamed binding the model does not have (statically disabled there while the original is
    not) maps to -1: the model is then not symmetric, which live.c reports."""
    group_of = {k: gi for gi, kinds in enumerate(groups) for k in kinds}
    actions = {a.name: a for a in model.actions}
    bases: dict[str, int] = {}
    strides: dict[str, list[int]] = {}
    domains: dict[str, list[list[object]]] = {}
    size = 0
    for a in model.actions:
        doms = [_domain_values(model, a.params[p]) for p in a.params]
        st, acc = [], 1
        for d in reversed(doms):
            st.append(acc)
            acc *= max(len(d), 1)
        strides[a.name], domains[a.name], bases[a.name] = list(reversed(st)), doms, size
        size += acc
    table = [-1] * max(size, 1)
    maxp = max([len(a.params) for a in model.actions] + [1])
    rows_group, rows_val, rows_stride, rows_base = [], [], [], []
    for b in model.bindings:
        a = actions[b.action]
        pos = [domains[a.name][k].index(v) for k, v in enumerate(b.params.values())]
        table[bases[a.name] + sum(p * s for p, s in zip(pos, strides[a.name], strict=True))] = b.index
        kinds = [a.params[p] if isinstance(a.params[p], str) else None for p in a.params]
        grp = [group_of.get(k, -1) if k is not None else -1 for k in kinds]
        pad = maxp - len(pos)
        rows_group.append(grp + [-1] * pad)
        rows_val.append(pos + [0] * pad)
        rows_stride.append(strides[a.name] + [0] * pad)
        rows_base.append(bases[a.name])

    def rows(name: str, ctype: str, data: list[list[int]]) -> str:
        body = ", ".join("{" + ", ".join(str(x) for x in r) + "}" for r in data) or "{0}"
        return f"static const {ctype} {name}[NBINDINGS > 0 ? NBINDINGS : 1][BP_MAXP] = {{{body}}};"

    return "\n".join(
        [
            f"#define BP_MAXP {maxp}",
            rows("BP_GROUP", "int8_t", rows_group),
            rows("BP_VAL", "int32_t", rows_val),
            rows("BP_STRIDE", "int32_t", rows_stride),
            "static const int32_t BP_BASE[NBINDINGS > 0 ? NBINDINGS : 1] = {" + (", ".join(map(str, rows_base)) or "0") + "};",
            "static const int32_t BP_TABLE[] = {" + ", ".join(map(str, table)) + "};",
        ]
    ) + "\n"


def _domain_values(model: TracedModel, dom: object) -> list[object]:
    """An action parameter's domain as checker/lang/spec.py enumerates it."""
    if isinstance(dom, str):
        return list(model.kinds[dom].instances)
    values = getattr(dom, "values", None)
    return list(values) if values is not None else list(dom)  # type: ignore[call-overload]
