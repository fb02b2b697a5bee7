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
