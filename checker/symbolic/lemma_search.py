"""Finding strengthening lemmas: clauses over atoms, mined from reachable states, then Houdini.

1. Trace every atom of specs/lemma_atoms.py for every instance of a small configuration
   and evaluate them on every state the explicit explorer reaches (symmetry on: an atom
   clause quantified over all instances holds in a state iff in its canonical form).
2. Keep each clause "l1 ∨ l2" (and each unit "l1") over the atoms of one instance that holds
   for every instance in every reachable state, leaving out tautologies.
3. Prune with `prove` (Houdini): drop every clause not preserved by some step relative to
   the survivors, until a fixpoint. The fixpoint is inductive at that size.
4. Group the survivors by antecedent and write them as lemmas (specs/lemmas_found.py).

Sound by construction: a found lemma is a candidate like any other; `prove` re-checks it
at every size and drops it there if it is not inductive.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from pgcheck.checker.errors import ModelError
from pgcheck.checker.explicit.explore import Explorer
from pgcheck.checker.lang.compile import _Gen, compile_model
from pgcheck.checker.lang.spec import Property, TracedModel, _Layout, _trace_predicate
from pgcheck.checker.lang.types import NULL_REF
from pgcheck.checker.symbolic.induction import Candidate, prove
from pgcheck.specs.lemma_atoms import Atom, atoms_for

Lit = tuple[str, bool]  # atom name, polarity
Clause = tuple[str, tuple[Lit, ...]]  # kind, one or two literals


def lit_text(lit: Lit) -> str:
    return lit[0] if lit[1] else f"not {lit[0]}"


def parse_lit(text: str) -> Lit:
    return (text[4:], False) if text.startswith("not ") else (text, True)


def _at(fn: Atom, i: int, s: Any) -> object:
    return fn(s, i)


def atom_vectors(model: TracedModel, atoms: dict[str, dict[str, Atom]], states: list[tuple[Any, ...]]) -> dict[str, set[tuple[bool, ...]]]:
    """Per kind, the distinct vectors of atom values over all instances and states."""
    layout = _Layout(model.kinds)
    g = _Gen(model)
    lines = ["def vectors(s):", "    out = []"]
    for kind, table in atoms.items():
        for i in model.kinds[kind].instances:
            srcs = [g.src(_trace_predicate(layout, f"atom {name}", partial(_at, fn, i))) for name, fn in table.items()]
            lines.append(f"    out.append(({kind!r}, (" + ", ".join(f"bool({x})" for x in srcs) + ",)))")
    lines.append("    return out")

    def _null(site: int) -> Any:
        raise ModelError(g.sites[site])

    ns: dict[str, Any] = {"_null": _null, "NULL_REF": NULL_REF}
    exec(compile("\n".join(lines) + "\n", "<pgcheck atoms>", "exec"), ns)
    out: dict[str, set[tuple[bool, ...]]] = {k: set() for k in atoms}
    for st in states:
        for kind, vec in ns["vectors"](st):
            out[kind].add(vec)
    return out


def reachable(model: TracedModel) -> list[tuple[Any, ...]]:
    ex = Explorer(compile_model(model), keep_graph=True, check_deadlock=False)
    res = ex.run()
    if res.verdict != "ok":
        raise ModelError(f"lemma search: exploration did not finish cleanly ({res.verdict}: {res.stop_reason})")
    return list(ex.states.values())


def mine(atoms: dict[str, dict[str, Atom]], vectors: dict[str, set[tuple[bool, ...]]]) -> list[Clause]:
    out: list[Clause] = []
    for kind, table in atoms.items():
        names = list(table)
        vecs = list(vectors[kind])
        full = (1 << len(vecs)) - 1
        true = [sum(1 << j for j, v in enumerate(vecs) if v[a]) for a in range(len(names))]

        masks = {(a, pol): true[a] if pol else full & ~true[a] for a in range(len(names)) for pol in (True, False)}
        units = {a: pol for (a, pol), m in masks.items() if m == full}
        # An enum's atoms share the text before '='; clauses between them are tautologies or units.
        field = [n.split("=")[0] if "=" in n and " " not in n.split("=")[0] else n for n in names]
        for a, pol in units.items():
            out.append((kind, ((names[a], pol),)))
        for a in range(len(names)):
            if a in units:
                continue
            for b in range(a + 1, len(names)):
                if b in units or field[a] == field[b]:
                    continue
                for pa in (True, False):
                    for pb in (True, False):
                        if masks[a, pa] | masks[b, pb] == full:
                            out.append((kind, ((names[a], pa), (names[b], pb))))
    return out


def clause_fn(atoms: dict[str, dict[str, Atom]], kind: str, lits: tuple[Lit, ...]) -> Callable[[Any], object]:
    from pgcheck.checker.lang import expr as X

    def lit(s: Any, i: int, lt: Lit) -> object:
        v = X.lift_bool(atoms[kind][lt[0]](s, i))
        return v if lt[1] else ~v

    return lambda s: X.all_of(list(getattr(s, kind).ids()), lambda i: X.or_(*(lit(s, i, lt) for lt in lits)))


@dataclass
class SearchResult:
    mined: int
    kept: list[Clause]
    states: int
    seconds: float
    stopped: str = ""  # Z3 gave up or the time limit: the kept set is then not a fixpoint


def search(model: TracedModel, *, time_limit: float | None = None,
           on_progress: Callable[[Any], None] | None = None) -> SearchResult:
    t0 = time.monotonic()
    atoms = atoms_for(model.kinds)
    states = reachable(model)
    clauses = mine(atoms, atom_vectors(model, atoms, states))
    layout = _Layout(model.kinds)
    cands = []
    for n, (kind, lits) in enumerate(clauses):
        prop = Property(f"K{n}", "lemma", f"{kind}: " + " or ".join(lit_text(x) for x in lits), "", clause_fn(atoms, kind, lits))
        cands.append(Candidate(prop, _trace_predicate(layout, f"clause {n}", prop.fn), lemma=True))
    res = prove(model, cands, time_limit=time_limit, on_progress=on_progress)
    kept = [clauses[n] for n, v in enumerate(res.verdicts) if v.status == "proven"]
    odd = [v for v in res.verdicts if v.status in ("unknown", "timeout")]
    stopped = f"{len(odd)} clauses undecided ({odd[0].reason})" if odd else ""
    return SearchResult(len(clauses), kept, len(states), time.monotonic() - t0, stopped)


def group(kept: list[Clause]) -> list[tuple[str, str, tuple[str, ...]]]:
    """(kind, antecedent literal or "true", consequent literals): l1 ∨ l2 read as ¬l1 ⇒ l2."""
    groups: dict[tuple[str, str], list[str]] = {}
    for kind, lits in kept:
        if len(lits) == 1:
            groups.setdefault((kind, "true"), []).append(lit_text(lits[0]))
        else:
            a, b = lits
            groups.setdefault((kind, lit_text((a[0], not a[1]))), []).append(lit_text(b))
    return [(k, ante, tuple(cons)) for (k, ante), cons in groups.items()]


def render(groups: list[tuple[str, str, tuple[str, ...]]], how: str) -> str:
    """specs/lemmas_found.py: the found lemmas as data, one line each."""
    out = [
        '"""Lemmas found by `pgcheck prove --find-lemmas` (generated; do not edit by hand).',
        "",
        f"{how}",
        "Each row: id, kind, antecedent (an atom of specs/lemma_atoms.py, 'not <atom>', or 'true'),",
        "consequents; it reads: for every instance of kind, antecedent implies every consequent.",
        '"""',
        "",
        "FOUND: list[tuple[str, str, str, tuple[str, ...]]] = [",
    ]
    for n, (kind, ante, cons) in enumerate(groups, 1):
        out.append(f"    ({f'LF{n}'!r}, {kind!r}, {ante!r}, {cons!r}),")
    out += ["]", ""]
    return "\n".join(out)
