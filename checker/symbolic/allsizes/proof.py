"""Inductiveness for every number of instances (docs/symbolic.md "All sizes").

The model and the candidates are traced over symbolic instances (checker/symbolic/allsizes/trace.py)
at two configurations; an action or candidate whose symbolic trace differs between them
depends on the size and is refused. What is left is encoded with instances as
uninterpreted sorts (checker/symbolic/allsizes/encode.py), each candidate universally quantified, and
checked with Houdini as in checker/symbolic/induction.py: Init ⇒ P, and per symbolic action
H ∧ guard ∧ step ⇒ P′. Z3's `unknown` or a timeout is reported as such; `sat` is a
counterexample to induction in the abstraction (FIFOs as multisets), so it is reported
"possibly spurious", never concretized.

Refused up front (never asked, never proven): candidates that count instances
(`count_of`), speak of FIFO lengths other than "how often x occurs", or of FIFO order
(`fifo_head`), and any whose trace fails (a concrete instance, ordered pairs).

Why one module of this size: the problem set-up, the Houdini loop and the query
splitting share one `_Problem` and its caches; split apart they would pass it around whole.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pgcheck.checker.errors import ModelError
from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.spec import Spec, _Layout
from pgcheck.checker.lang.types import FieldType, Fifo, Int, Ref
from pgcheck.checker.symbolic.allsizes.encode import (
    Encoder,
    PostState,
    PreState,
    Sorts,
    Unsupported,
    uses,
    z3,
)
from pgcheck.checker.symbolic.allsizes.trace import (
    At,
    Base,
    FunState,
    Lam,
    SymBinding,
    trace_action,
    trace_predicate,
)

FINITE = {"carrier": 2, "session": 3}  # universes of the quick CTI search
REFUSED_OPS = {"count": "counts instances", "fifo_len": "speaks of FIFO lengths", "fifo_head": "speaks of FIFO order"}


@dataclass
class UCandidate:
    id: str
    fns: tuple[Callable[[Any], object], Callable[[Any], object]]  # the predicate at each of the two sizes
    lemma: bool = False


@dataclass
class UVerdict:
    id: str
    lemma: bool
    status: str  # proven | cti | initial | unknown | timeout | unsupported
    reason: str = ""


@dataclass
class AllSizesResult:
    verdicts: list[UVerdict] = field(default_factory=list)
    elapsed: float = 0.0
    bindings: int = 0
    rounds: int = 0

    def by_id(self) -> dict[str, UVerdict]:
        return {v.id: v for v in self.verdicts}


def _shown(e: Expr | FunState, memo: dict[int, str]) -> str:
    """A size-free rendering of a symbolic trace, to compare the two sizes."""
    if id(e) in memo:
        return memo[id(e)]
    if isinstance(e, Base):
        out = f"{e.kind}.{e.field}"
    elif isinstance(e, At):
        out = f"At({_shown(e.prev, memo)},{_shown(e.idx, memo)},{_shown(e.value, memo)})"
    elif isinstance(e, Lam):
        out = f"Lam({_shown(e.var, memo)},{_shown(e.body, memo)})"
    elif not isinstance(e, Expr):
        raise TypeError(f"unexpected node {e!r}")
    elif e.op in ("var", "qvar"):
        out = f"{e.op}:{_type_shown(e.ty)}"  # names are per trace; the binder's place identifies it
    else:
        parts = [_shown(x, memo) if isinstance(x, (Expr, FunState)) else repr(x) for x in e.args]
        out = f"{e.op}:{_type_shown(e.ty)}({','.join(parts)})"
    memo[id(e)] = out
    return out


def _type_shown(ty: FieldType) -> str:
    """A type without its size-dependent parts (int ranges, FIFO capacities: see `bounds`)."""
    if isinstance(ty, Int):
        return "int"
    if isinstance(ty, Fifo):
        return f"fifo[{ty.kind}]"
    return str(ty.describe())


def _binding_key(b: SymBinding) -> str:
    memo: dict[int, str] = {}
    funs = sorted(f"{k}={_shown(v, memo)}" for k, v in b.funs.items())
    singles = sorted(f"{k}={_shown(v, memo)}" for k, v in b.singles.items())
    return f"{b.label}|{_shown(b.guard, memo)}|{funs}|{singles}"


def reads(e: Expr | FunState, seen: set[int] | None = None) -> set[tuple[str, str]]:
    """The fields an expression reads (for skipping candidates a step cannot change)."""
    seen = set() if seen is None else seen
    if id(e) in seen:
        return set()
    seen.add(id(e))
    if isinstance(e, Base):
        return {(e.kind, e.field)}
    if isinstance(e, At):
        return reads(e.prev, seen) | reads(e.idx, seen) | reads(e.value, seen)
    if isinstance(e, Lam):
        return reads(e.body, seen)
    assert isinstance(e, Expr)
    out: set[tuple[str, str]] = {(e.args[0], e.args[1])} if e.op == "sread" else set()
    for x in e.args:
        if isinstance(x, (Expr, FunState)):
            out |= reads(x, seen)
    return out


class _Problem:
    """The traced model at two sizes, checked to be the same symbolic model."""

    def __init__(self, specs: tuple[Spec, Spec]) -> None:
        self.spec = specs[0]
        self.kinds = specs[0].kinds
        self.bindings: list[SymBinding] = []
        self.refused = ""
        self.init_a = specs[0]._trace_init(_Layout(specs[0].kinds))
        self.init_b = specs[1]._trace_init(_Layout(specs[1].kinds))
        self.layouts = (_Layout(specs[0].kinds), _Layout(specs[1].kinds))
        self.int_bounds = {
            (k, f): ty for k, d in specs[0].kinds.items() for f, ty in d.fields.items()
            if isinstance(ty, Int) and str(specs[1].kinds[k].fields[f].describe()) == str(ty.describe())
        }
        try:
            for act_a, act_b in zip(specs[0].actions, specs[1].actions, strict=True):
                ba, bb = trace_action(specs[0], act_a), trace_action(specs[1], act_b)
                if [_binding_key(b) for b in ba] != [_binding_key(b) for b in bb]:
                    self.refused = f"action {act_a.name} depends on the number of instances"
                    return
                self.bindings += ba
        except ModelError as e:
            self.refused = f"the transition has no all-sizes form: {e}"
        except ValueError:
            self.refused = "the two sizes declare different actions"

    def init_constraints(self, z: Sorts, st: PreState) -> list[Any]:
        """The initial states of every size, over-approximated: a field is fixed only where it is
        the same for every instance at both traced sizes (else it is left free)."""
        out: list[Any] = []
        enc = Encoder(z, self.kinds)
        for k, d in self.kinds.items():
            for f, ty in d.fields.items():
                vals = {self._init_value(layout, init, k, f, ty, i)
                        for layout, init in zip(self.layouts, (self.init_a, self.init_b), strict=True)
                        for i in (range(len(layout.kinds[k].instances)) if d.count is not None else [None])}
                if len(vals) == 1 and None not in vals:
                    out += self._fix(z, enc, st, k, f, ty, vals.pop(), d.count is None)
        return out + self.bounds(z, st)

    @staticmethod
    def _init_value(layout: _Layout, init: tuple[Any, ...], k: str, f: str, ty: Any, i: int | None) -> Any:
        raw = init[layout.slot_of[(k, i, f)]]
        if not isinstance(ty, Fifo):
            return raw
        # A FIFO as a size-free shape: empty, or every instance once; anything else stays free.
        if raw == ():
            return "none"
        n = len(layout.kinds[ty.kind].instances)
        return "all" if tuple(sorted(raw)) == tuple(range(n)) else None

    def bounds(self, z: Sorts, st: PreState) -> list[Any]:
        """Int fields whose range is the same at both sizes stay in it (a wider range at a
        larger size would make the bound unsound, so those are left unbounded)."""
        out = []
        for (k, f), ty in self.int_bounds.items():
            if self.kinds[k].count is None:
                v = st.single(k, f)
                out.append(z3.And(v >= ty.lo, v <= ty.hi))
            else:
                out.append(z.forall(k, _in_range(st, k, f, ty)))
        return out

    def _fix(self, z: Sorts, enc: Encoder, st: PreState, k: str, f: str, ty: Any, raw: Any, single: bool) -> list[Any]:
        if isinstance(ty, Fifo):
            def shape(bag: Any) -> Any:
                return z.forall(ty.kind, lambda y: z3.And(bag.mem(y), z3.Not(bag.dup(y))) if raw == "all" else z3.Not(bag.mem(y)))

            if single:
                return [shape(st.single(k, f))]
            return [z.forall(k, lambda x: shape(st.entity(k, f, x)))]
        try:
            v = enc.const(raw, ty)
        except Unsupported:
            return []
        if single:
            return [_eq(st.single(k, f), v)]
        return [z.forall(k, lambda x: _eq(st.entity(k, f, x), v))]


def _in_range(st: PreState, k: str, f: str, ty: Int) -> Callable[[Any], Any]:
    return lambda x: z3.And(st.entity(k, f, x) >= ty.lo, st.entity(k, f, x) <= ty.hi)


def _eq(x: Any, y: Any) -> Any:
    if isinstance(x, tuple):
        return z3.And(*(p == q for p, q in zip(x, y, strict=True)))
    return x == y


def _classify(exprs: tuple[Expr, Expr]) -> str:
    if _shown(exprs[0], {}) != _shown(exprs[1], {}):
        return "depends on the number of instances"
    found = uses(exprs[0], set(REFUSED_OPS))
    return "; ".join(REFUSED_OPS[o] for o in sorted(found))


def prove_all_sizes(
    specs: tuple[Spec, Spec],
    cands: list[UCandidate],
    *,
    query_limit: float = 30.0,
    time_limit: float | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> AllSizesResult:
    t0 = time.monotonic()
    res = AllSizesResult()
    verdicts: dict[str, UVerdict] = {}
    prob = _Problem(specs)
    exprs: dict[str, Expr] = {}
    for c in cands:
        if prob.refused:
            verdicts[c.id] = UVerdict(c.id, c.lemma, "unsupported", prob.refused)
            continue
        try:
            pair = (trace_predicate(specs[0], f"property {c.id}", c.fns[0]),
                    trace_predicate(specs[1], f"property {c.id}", c.fns[1]))
        except ModelError as e:
            verdicts[c.id] = UVerdict(c.id, c.lemma, "unsupported", f"no all-sizes form: {e}")
            continue
        why = _classify(pair)
        if why:
            verdicts[c.id] = UVerdict(c.id, c.lemma, "unsupported", why)
            continue
        exprs[c.id] = pair[0]
    res.bindings = len(prob.bindings)
    z = Sorts(prob.kinds)
    scratch, scratch_st = Encoder(z, prob.kinds), PreState(z, prob.kinds, "check")
    for cid in list(exprs):
        try:
            scratch.expr(exprs[cid], scratch_st, {})
        except Unsupported as e:
            lm = next(c.lemma for c in cands if c.id == cid)
            verdicts[cid] = UVerdict(cid, lm, "unsupported", str(e))
            del exprs[cid]
    qs = (_Queries(prob, Sorts(prob.kinds, finite=FINITE), exprs), _Queries(prob, z, exprs))
    alive = _initial(prob, z, exprs, verdicts, {c.id: c.lemma for c in cands}, query_limit)
    lemma = {c.id: c.lemma for c in cands}
    changed = True
    while changed and alive:
        res.rounds += 1
        changed = False
        for b in prob.bindings:
            if time_limit is not None and time.monotonic() - t0 > time_limit:
                for cid in alive:
                    verdicts[cid] = UVerdict(cid, lemma[cid], "timeout", f"time limit reached in round {res.rounds} at {b.label}")
                alive = []
                break
            if on_progress:
                on_progress(f"all sizes: round {res.rounds}, {b.label}, {len(alive)} candidates, {time.monotonic() - t0:.1f}s")
            writes = set(b.funs) | set(b.singles)
            goal = [cid for cid in alive if reads(exprs[cid]) & writes]
            try:
                dropped = _ask(qs, b, alive, goal, query_limit, None if time_limit is None else t0 + time_limit)
            except Unsupported as e:  # the step itself has no all-sizes encoding: nothing is proven
                dropped = {cid: ("unsupported", f"action {b.label}: {e}") for cid in alive}
            for cid, (status, why) in dropped.items():
                verdicts[cid] = UVerdict(cid, lemma[cid], status, why)
            if dropped:
                alive = [cid for cid in alive if cid not in dropped]
                changed = True
    for cid in alive:
        verdicts[cid] = UVerdict(cid, lemma[cid], "proven")
    res.verdicts = [verdicts[c.id] for c in cands]
    res.elapsed = time.monotonic() - t0
    return res


def _solver(query_limit: float) -> Any:
    s = z3.Solver()
    s.set("timeout", max(1, int(query_limit * 1000)))
    return s


def _initial(prob: _Problem, z: Sorts, exprs: dict[str, Expr], verdicts: dict[str, UVerdict],
             lemma: dict[str, bool], query_limit: float) -> list[str]:
    """Init ⇒ P for every candidate, on the over-approximated initial states."""
    st = PreState(z, prob.kinds, "init")
    enc = Encoder(z, prob.kinds)
    base = prob.init_constraints(z, st)
    alive = []
    for cid, e in exprs.items():
        s = _solver(query_limit)
        s.add(*st.axioms, *base)
        s.add(z3.Not(enc.expr(e, st, {})), *enc.side)
        r = s.check()
        if r == z3.unsat:
            alive.append(cid)
        elif r == z3.sat:
            verdicts[cid] = UVerdict(cid, lemma[cid], "initial", "false in an initial state of the abstraction (possibly spurious)")
        else:
            verdicts[cid] = UVerdict(cid, lemma[cid], "unknown", f"initial check: {s.reason_unknown()}")
    return alive


class _Queries:
    """The step questions of one run over one set of sorts; the pre-state and the
    hypotheses are encoded once and shared by every binding's question."""

    def __init__(self, prob: _Problem, z: Sorts, exprs: dict[str, Expr]) -> None:
        self.prob, self.z, self.exprs = prob, z, exprs
        self.enc = Encoder(z, prob.kinds)
        self.pre = PreState(z, prob.kinds, "pre")
        self.base = [*self.pre.axioms, *prob.bounds(z, self.pre)]
        self.lits = {cid: z3.Bool(f"{'fin' if z.finite else 'all'}_hyp_{cid}") for cid in exprs}
        self.hyp = {cid: self.enc.expr(e, self.pre, {}) for cid, e in exprs.items()}

    def step(self, b: SymBinding, goal: list[str]) -> tuple[list[Any], dict[str, Any]]:
        z, enc = self.z, self.enc
        kinds = {name: v.ty.kind for name, v in b.params.items() if isinstance(v, Expr) and isinstance(v.ty, Ref)}
        env = {name: z.fresh(kind, name) for name, kind in kinds.items()}
        post = PostState(enc, self.pre, b, env)
        facts = [*self.base, *(env[n] != z.none[k] for n, k in kinds.items()), enc.expr(b.guard, self.pre, env)]
        flags = {cid: z3.Bool(f"broken_{cid}") for cid in goal}
        # flag => broken, one direction only: an equivalence would put the post-state's
        # universal quantifiers under both polarities, which is what stalls MBQI.
        facts += [z3.Implies(flags[cid], z3.Not(enc.expr(self.exprs[cid], post, {}))) for cid in goal]
        return facts + enc.side, flags


def _ask(qs: tuple[_Queries, _Queries], b: SymBinding, alive: list[str], goal: list[str],
         query_limit: float, deadline: float | None = None) -> dict[str, tuple[str, str]]:
    """Which of `goal` can be broken by one step of b from a state satisfying all of `alive`.

    First over small finite universes: a model there is a CTI of the abstraction, found in
    well under a second where model search over uninterpreted sorts stalls. If there is none,
    the unsat core names the hypotheses that sufficed there, and the all-sizes question (sorts
    uninterpreted) is asked with only those: fewer hypotheses is still sound (a weaker
    premise), and it is what lets MBQI finish.
    """
    if not goal:
        return {}
    fin, full = qs
    facts, flags = fin.step(b, goal)
    s = _solver(query_limit)
    s.add(*facts, *(z3.Implies(fin.lits[c], fin.hyp[c]) for c in alive))
    assume = [fin.lits[c] for c in alive]
    s.push()
    s.add(z3.Or(*(flags[c] for c in goal)))
    r = s.check(*assume)
    if r == z3.sat:
        m = s.model()
        bad = [c for c in goal if z3.is_true(m.eval(flags[c], model_completion=True))] or goal[:1]
        return {c: ("cti", f"CTI at {b.label} (possibly spurious, abstraction)") for c in bad}
    s.pop()
    ufacts, uflags = full.step(b, goal)
    out: dict[str, tuple[str, str]] = {}
    for g in goal:  # one all-sizes question per candidate, with its own core as hypotheses
        s.push()
        s.add(flags[g])
        core = alive
        if s.check(*assume) == z3.unsat:
            names = {str(x) for x in s.unsat_core()}
            core = [c for c in alive if str(fin.lits[c]) in names]
        s.pop()
        if deadline is not None and time.monotonic() > deadline:
            out[g] = ("timeout", f"time limit reached at {b.label}")
            continue
        got = _split([*ufacts, *(full.hyp[c] for c in core)], [g], uflags, query_limit, b.label)
        if got.get(g, ("",))[0] == "cti" and len(core) < len(alive):
            # A model with the core alone: only the whole hypothesis set may call it a CTI.
            got = _split([*ufacts, *(full.hyp[c] for c in alive)], [g], uflags, query_limit, b.label)
        out.update(got)
    return out


def _split(facts: list[Any], goal: list[str], flags: dict[str, Any], query_limit: float,
           label: str) -> dict[str, tuple[str, str]]:
    s = _solver(query_limit)
    s.add(*facts)
    s.add(z3.Or(*(flags[cid] for cid in goal)))
    r = s.check()
    if r == z3.unsat:
        return {}
    if r == z3.sat:
        m = s.model()
        bad = {cid: ("cti", f"CTI at {label} (possibly spurious, abstraction)")
               for cid in goal if z3.is_true(m.eval(flags[cid], model_completion=True))}
        return bad or {goal[0]: ("cti", f"CTI at {label} (possibly spurious, abstraction)")}
    if len(goal) == 1:
        return {goal[0]: ("unknown", f"Z3 unknown at {label}: {s.reason_unknown()}")}
    half = len(goal) // 2
    out = _split(facts, goal[:half], flags, query_limit, label)
    out.update(_split(facts, goal[half:], flags, query_limit, label))
    return out
