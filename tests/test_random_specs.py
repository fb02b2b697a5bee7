"""Differential tests of the explorer on randomly generated small specs (Decision 2).

Hypothesis draws a plain-data description of a spec: one entity kind with 1-3 instances,
1-3 fields of random small types, 1-4 actions whose guards and updates are random
expression trees, and a random invariant. `build_spec` turns the description into a
`Spec` with the language's own helpers. The explorer must then agree with the naive
enumerator of tests/naive.py: the same reachable states, the same model errors and
deadlocks, and counterexamples that are shortest and replay step by step.
"""

from __future__ import annotations

from typing import Any

import naive
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pgcheck.checker.errors import ModelError
from pgcheck.checker.explicit.explore import Explorer
from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.compile import compile_model
from pgcheck.checker.lang.interpret import apply_binding, evaluate
from pgcheck.checker.lang.spec import Spec, TracedModel, require
from pgcheck.checker.lang.types import Bool, Enum, FieldType, Fifo, Int, Ref, Set

LIMIT = 4000  # larger random state spaces are skipped: the naive enumerator is slow
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ------------------------------------------------------------------ descriptions
#
# A description is nested tuples, so a failing example prints as something readable:
#   types:  ("enum", k) ("bool",) ("int", hi) ("ref",) ("set",) ("fifo", cap)
#   inst:   ("p",) the action's parameter, ("c", i) a constant, ("d", inst, field) a deref
#   value:  ("read", inst, field) ("const", v) ("when", cond, a, b) and per-type operators


def field_type(desc: tuple[Any, ...], name: str) -> FieldType:
    kind = desc[0]
    if kind == "enum":
        return Enum(name, [f"v{i}" for i in range(desc[1])])
    if kind == "bool":
        return Bool()
    if kind == "int":
        return Int(0, desc[1])
    if kind == "ref":
        return Ref("e")
    if kind == "set":
        return Set("e")
    return Fifo("e", desc[1])


class _Ctx:
    def __init__(self, n: int, fields: list[tuple[str, tuple[Any, ...]]], param: bool, deref: bool) -> None:
        self.n = n
        self.fields = fields
        self.types = dict(fields)
        self.param = param
        self.deref = deref

    def like(self, f: str) -> list[str]:
        """Fields whose values may stand where a value of field f is expected."""
        t = self.types[f]
        if t[0] == "enum":
            return [f]
        return [g for g, u in self.fields if u[0] == t[0]]

    def of_kind(self, kind: str) -> list[str]:
        return [g for g, u in self.fields if u[0] == kind]


def draw_inst(draw: Any, ctx: _Ctx, depth: int) -> tuple[Any, ...]:
    choices: list[tuple[Any, ...]] = [("c", i) for i in range(ctx.n)]
    if ctx.param:
        choices += [("p",)] * 2
    refs = ctx.of_kind("ref")
    if ctx.deref and refs and depth > 0 and draw(st.integers(0, 5)) == 0:
        return ("d", draw_inst(draw, ctx, depth - 1), draw(st.sampled_from(refs)))
    return draw(st.sampled_from(choices))


def draw_plain_inst(draw: Any, ctx: _Ctx) -> tuple[Any, ...]:
    """An instance that is never null (set members, FIFO items)."""
    choices: list[tuple[Any, ...]] = [("c", i) for i in range(ctx.n)]
    if ctx.param:
        choices.append(("p",))
    return draw(st.sampled_from(choices))


def draw_const(draw: Any, n: int, t: tuple[Any, ...]) -> tuple[Any, ...]:
    kind = t[0]
    if kind == "enum":
        return ("const", f"v{draw(st.integers(0, t[1] - 1))}")
    if kind == "bool":
        return ("const", draw(st.booleans()))
    if kind == "int":
        return ("const", draw(st.integers(0, t[1])))
    if kind == "ref":
        return ("const", draw(st.sampled_from([None, *range(n)])))
    if kind == "set":
        return ("const", tuple(sorted(draw(st.sets(st.integers(0, n - 1))))))
    return ("const", tuple(draw(st.lists(st.integers(0, n - 1), max_size=t[1]))))


def draw_value(draw: Any, ctx: _Ctx, f: str, depth: int) -> tuple[Any, ...]:
    """A value expression that may be assigned to field f."""
    t = ctx.types[f]
    kind = t[0]
    read = ("read", draw_inst(draw, ctx, depth), draw(st.sampled_from(ctx.like(f))))
    options = ["read", "const"]
    if depth > 0:
        options += ["when"]
        options += {
            "bool": ["cond", "cond"],
            "int": ["inc", "dec", "raw_inc", "len", "count"],
            "ref": ["inst", "head"],
            "set": ["add", "del", "union", "minus"],
            "fifo": ["push", "push", "raw_push", "pop", "remove", "filter"],
        }.get(kind, [])
    op = draw(st.sampled_from(options))
    if op == "read":
        return read
    if op == "const":
        return draw_const(draw, ctx.n, t)
    if op == "when":
        return ("when", draw_cond(draw, ctx, depth - 1), draw_value(draw, ctx, f, depth - 1), draw_value(draw, ctx, f, depth - 1), f)
    if op == "cond":
        return ("cond", draw_cond(draw, ctx, depth - 1))
    if op in ("inc", "dec", "raw_inc"):
        return (op, draw_value(draw, ctx, f, depth - 1), t[1])
    if op == "len":
        fifos = ctx.of_kind("fifo")
        if not fifos:
            return read
        return ("len", ("read", draw_inst(draw, ctx, depth - 1), draw(st.sampled_from(fifos))))
    if op == "count":
        return ("count", draw(st.sampled_from(ctx.of_kind("bool") or [None])))
    if op == "inst":
        return ("inst", draw_plain_inst(draw, ctx))
    if op == "head":
        fifos = ctx.of_kind("fifo")
        if not fifos:
            return read
        return ("head", ("read", draw_inst(draw, ctx, depth - 1), draw(st.sampled_from(fifos))), draw(st.booleans()))
    if op in ("add", "del"):
        return (op, draw_value(draw, ctx, f, depth - 1), draw_plain_inst(draw, ctx))
    if op in ("union", "minus"):
        return (op, draw_value(draw, ctx, f, depth - 1), draw_value(draw, ctx, f, depth - 1))
    if op in ("push", "raw_push", "remove"):
        return (op, draw_value(draw, ctx, f, depth - 1), draw_plain_inst(draw, ctx), t[1])
    if op == "pop":
        return ("pop", draw_value(draw, ctx, f, depth - 1))
    return ("filter", draw_value(draw, ctx, f, depth - 1), draw_plain_inst(draw, ctx))


def draw_cond(draw: Any, ctx: _Ctx, depth: int) -> tuple[Any, ...]:
    ops = ["eq", "eq"]
    if ctx.of_kind("bool"):
        ops += ["bool"]
    if ctx.of_kind("int"):
        ops += ["lt"]
    if ctx.of_kind("set"):
        ops += ["has", "empty_set"]
    if ctx.of_kind("fifo"):
        ops += ["fhas", "empty_fifo"]
    if ctx.of_kind("ref"):
        ops += ["null"]
    if depth > 0:
        ops += ["not", "and", "or"]
    op = draw(st.sampled_from(ops))
    if op == "eq":
        f = draw(st.sampled_from([g for g, _ in ctx.fields]))
        return ("eq", draw_value(draw, ctx, f, depth), draw_value(draw, ctx, f, max(depth - 1, 0)))
    if op == "bool":
        return ("read", draw_inst(draw, ctx, depth), draw(st.sampled_from(ctx.of_kind("bool"))))
    if op == "lt":
        f = draw(st.sampled_from(ctx.of_kind("int")))
        return ("lt", draw_value(draw, ctx, f, depth), draw_value(draw, ctx, f, depth))
    if op in ("has", "empty_set"):
        f = draw(st.sampled_from(ctx.of_kind("set")))
        if op == "has":
            return ("has", draw_value(draw, ctx, f, depth), draw_plain_inst(draw, ctx))
        return ("empty", draw_value(draw, ctx, f, depth), "set")
    if op in ("fhas", "empty_fifo"):
        f = draw(st.sampled_from(ctx.of_kind("fifo")))
        if op == "fhas":
            return ("fhas", draw_value(draw, ctx, f, depth), draw_plain_inst(draw, ctx))
        return ("empty", draw_value(draw, ctx, f, depth), "fifo")
    if op == "null":
        f = draw(st.sampled_from(ctx.of_kind("ref")))
        return ("null", draw_value(draw, ctx, f, depth))
    if op == "not":
        return ("not", draw_cond(draw, ctx, depth - 1))
    return (op, draw_cond(draw, ctx, depth - 1), draw_cond(draw, ctx, depth - 1))


TYPES = st.one_of(
    st.tuples(st.just("enum"), st.integers(2, 3)),
    st.tuples(st.just("bool")),
    st.tuples(st.just("int"), st.integers(1, 3)),
    st.tuples(st.just("ref")),
    st.tuples(st.just("set")),
    st.tuples(st.just("fifo"), st.integers(1, 2)),
)


@st.composite
def spec_descriptions(draw: Any) -> dict[str, Any]:
    n = draw(st.integers(1, 3))
    types = draw(st.lists(TYPES, min_size=1, max_size=3))
    fields = [(f"f{i}", t) for i, t in enumerate(types)]
    init = []
    for i in range(n):
        for f, t in fields:
            if draw(st.integers(0, 3)) == 0:
                init.append((i, f, draw_const(draw, n, t)))
    actions = []
    for _ in range(draw(st.integers(1, 4))):
        param = draw(st.booleans())
        ctx = _Ctx(n, fields, param, True)
        guard = draw_cond(draw, ctx, 2) if draw(st.booleans()) else None
        updates = []
        for _ in range(draw(st.integers(1, 3))):
            f = draw(st.sampled_from([g for g, _ in fields]))
            updates.append((draw_inst(draw, ctx, 1), f, draw_value(draw, ctx, f, 2)))
        actions.append({"param": param, "guard": guard, "updates": updates})
    invariant = draw_cond(draw, _Ctx(n, fields, False, False), 2)
    return {"n": n, "fields": fields, "init": init, "actions": actions, "invariant": invariant}


# ------------------------------------------------------------------ building a Spec


def build_spec(
    desc: dict[str, Any], with_invariant: bool = False, action_property: tuple[Any, Any, int | None] | None = None
) -> Spec:
    """`action_property` (pre condition, post condition, action index or None for every action)
    adds the action property A1: pre-condition on the state before => post-condition after."""
    n = desc["n"]
    spec = Spec("random", params={"n": n})
    spec.entity("e", n, {f: field_type(t, f) for f, t in desc["fields"]})

    def inst(s: Any, d: tuple[Any, ...], p: int | None) -> Any:
        if d[0] == "p":
            return p
        if d[0] == "c":
            return d[1]
        return s.e[inst(s, d[1], p)].__getattr__(d[2])

    def val(s: Any, d: tuple[Any, ...], p: int | None) -> Any:
        op = d[0]
        if op == "read":
            return s.e[inst(s, d[1], p)].__getattr__(d[2])
        if op == "const":
            v = d[1]
            return list(v) if isinstance(v, tuple) else v
        if op == "when":
            ty = spec.kinds["e"].fields[d[4]]
            return X.when(cond(s, d[1], p), X.lift(val(s, d[2], p), ty), X.lift(val(s, d[3], p), ty))
        if op == "cond":
            return cond(s, d[1], p)
        if op == "inc":
            x = val(s, d[1], p)
            return X.when(X.lift(x, Int(0, 0)) < d[2], X.lift(x, Int(0, 0)) + 1, x)
        if op == "dec":
            x = X.lift(val(s, d[1], p), Int(0, 0))
            return X.when(x > 0, x - 1, x)
        if op == "raw_inc":
            return X.lift(val(s, d[1], p), Int(0, 0)) + 1
        if op == "len":
            return X.fifo_len(val(s, d[1], p))
        if op == "count":
            if d[1] is None:
                return 0
            return X.count_of(range(n), lambda i: s.e[i].__getattr__(d[1]))
        if op == "inst":
            return inst(s, d[1], p)
        if op == "head":
            f = val(s, d[1], p)
            return X.when(~X.is_empty(f), X.fifo_head(f), None) if d[2] else X.fifo_head(f)
        if op in ("add", "del"):
            fn = X.set_add if op == "add" else X.set_del
            return fn(_expr(val(s, d[1], p), s, d, p), inst(s, d[2], p))
        if op in ("union", "minus"):
            fn = X.set_union if op == "union" else X.set_minus
            return fn(_expr(val(s, d[1], p), s, d, p), val(s, d[2], p))
        if op == "push":
            f = _expr(val(s, d[1], p), s, d, p)
            return X.when(X.fifo_len(f) < d[3], X.fifo_push(f, inst(s, d[2], p)), f)
        if op == "raw_push":
            return X.fifo_push(_expr(val(s, d[1], p), s, d, p), inst(s, d[2], p))
        if op == "remove":
            return X.fifo_remove(_expr(val(s, d[1], p), s, d, p), inst(s, d[2], p))
        if op == "pop":
            return X.fifo_pop(_expr(val(s, d[1], p), s, d, p))
        if op == "filter":
            x = inst(s, d[2], p)
            return X.fifo_filter(_expr(val(s, d[1], p), s, d, p), lambda item: item != x)
        raise AssertionError(op)

    def _expr(v: Any, s: Any, d: tuple[Any, ...], p: int | None) -> Any:
        """Set and FIFO operators need an expression; lift a constant through its field type."""
        if isinstance(v, X.Expr):
            return v
        ty = Set("e") if d[0] in ("add", "del", "union", "minus") else Fifo("e", 2)
        return X.lift(v, ty)

    def cond(s: Any, d: tuple[Any, ...], p: int | None) -> Any:
        op = d[0]
        if op == "read":
            return s.e[inst(s, d[1], p)].__getattr__(d[2])
        if op == "eq":
            a, b = val(s, d[1], p), val(s, d[2], p)
            if not isinstance(a, X.Expr) and not isinstance(b, X.Expr) and not isinstance(a, X.PendingWhen):
                return a == b if not isinstance(b, X.PendingWhen) else b == a
            if isinstance(a, X.PendingWhen):
                a, b = b, a
            if isinstance(a, X.PendingWhen):
                return True  # two plain-value conditionals: nothing to type them by
            return a == b
        if op == "lt":
            return X.lift(val(s, d[1], p), Int(0, 0)) < val(s, d[2], p)
        if op == "has":
            return X.set_has(_expr(val(s, d[1], p), s, ("add",), p), inst(s, d[2], p))
        if op == "fhas":
            return X.fifo_has(_expr(val(s, d[1], p), s, ("push",), p), inst(s, d[2], p))
        if op == "empty":
            v = val(s, d[1], p)
            return X.is_empty(X.lift(v, Set("e") if d[2] == "set" else Fifo("e", 2)))
        if op == "null":
            v = val(s, d[1], p)
            return v is None if not isinstance(v, X.Expr) else X.is_null(v)
        if op == "not":
            return X.not_(cond(s, d[1], p))
        if op == "and":
            return X.and_(cond(s, d[1], p), cond(s, d[2], p))
        return X.or_(cond(s, d[1], p), cond(s, d[2], p))

    @spec.initially
    def init(s: Any) -> None:
        for i, f, d in desc["init"]:
            s.e[i].__setattr__(f, val(s, d, None))

    for k, a in enumerate(desc["actions"]):

        def body(s: Any, p: int | None = None, a: dict[str, Any] = a) -> None:
            if a["guard"] is not None:
                require(cond(s, a["guard"], p))
            for target, f, d in a["updates"]:
                s.e[inst(s, target, p)].__setattr__(f, val(s, d, p))

        if a["param"]:
            spec.action(f"a{k}", p="e")(body)
        else:
            spec.action(f"a{k}")(body)

    if with_invariant:
        spec.invariant("R1", "random")(lambda s: cond(s, desc["invariant"], None))
    if action_property is not None:
        before, after, only = action_property

        def a1(pre: Any, step: Any, post: Any) -> Any:
            if only is not None and step.name != f"a{only}":
                return True
            return X.implies(cond(pre, before, None), cond(post, after, None))

        spec.action_property("A1", "random")(a1)
    return spec


# ------------------------------------------------------------------ helpers


def trace_or_none(desc: dict[str, Any], with_invariant: bool = False) -> TracedModel | None:
    try:
        return build_spec(desc, with_invariant).trace()
    except ModelError as e:  # a description the language rightly refuses (e.g. a constant out of range)
        event(f"refused at trace time: {str(e).split(':')[-1][:40]}")
        return None


def naive_reachable(model: TracedModel) -> set[Any] | str | None:
    """The reachable set, the text of a model error, or None when the space is too large."""
    try:
        return naive.reachable(model, limit=LIMIT)
    except ModelError as e:
        return str(e)
    except RuntimeError:
        event("skipped: state space over the limit")
        return None


# ------------------------------------------------------------------ the properties


@SETTINGS
@given(spec_descriptions())
def test_reachable_states_equal_the_naive_enumeration(desc: dict[str, Any]) -> None:
    model = trace_or_none(desc)
    if model is None:
        return
    expected = naive_reachable(model)
    if expected is None:
        return
    cm = compile_model(model)
    ex = Explorer(cm, symmetry=False, check_deadlock=False, keep_graph=True)
    result = ex.run()
    if isinstance(expected, str):
        event("model error")
        assert result.verdict == "violation" and result.violation is not None
        assert result.violation.kind == "model-error"
        assert result.violation.message.startswith("action a")
        # The reported state really does trip the error.
        last = result.violation.trace[-1].state
        errors = 0
        for b in model.bindings:
            try:
                apply_binding(b, last)
            except ModelError:
                errors += 1
        assert errors > 0
        return
    event(f"{min(len(expected) // 10 * 10, 100)}+ states")
    event(f"{len(model.bindings)} bindings")
    assert result.verdict == "ok"
    assert result.distinct == len(expected)
    assert set(ex.states.values()) == expected
    # The compiled successor function agrees with the interpreter on every state.
    for s in expected:
        assert cm.successors(s) == list(naive.successors(model, s))


@SETTINGS
@given(spec_descriptions())
def test_counterexamples_are_shortest_and_replay(desc: dict[str, Any]) -> None:
    model = trace_or_none(desc, with_invariant=True)
    if model is None:
        return
    if isinstance(naive_reachable(model), (str, type(None))):
        return
    dist = naive.depths(model)
    want = naive.shallowest_violation(model, dist)
    (_, inv), = model.invariants
    result = Explorer(compile_model(model), symmetry=False, check_deadlock=False).run()
    if want is None:
        event("invariant holds")
        assert result.verdict == "ok"
        return
    event("invariant fails")
    assert result.verdict == "violation"
    v = result.violation
    assert v is not None and v.kind == "invariant" and v.property_id == "R1"
    assert len(v.trace) - 1 == want
    assert v.trace[0].state == model.init
    for prev, cur in zip(v.trace, v.trace[1:], strict=False):
        assert cur.binding is not None
        assert apply_binding(model.bindings[cur.binding], prev.state) == cur.state
    assert not evaluate(inv, v.trace[-1].state)
    for step in v.trace[:-1]:
        assert evaluate(inv, step.state)


@SETTINGS
@given(spec_descriptions())
def test_deadlocks_agree_with_the_naive_enumeration(desc: dict[str, Any]) -> None:
    model = trace_or_none(desc)
    if model is None:
        return
    if isinstance(naive_reachable(model), (str, type(None))):
        return
    dist = naive.depths(model)
    dead = [d for s, d in dist.items() if not any(True for _ in naive.successors(model, s))]
    result = Explorer(compile_model(model), symmetry=False).run()
    if not dead:
        event("no deadlock")
        assert result.verdict == "ok"
        return
    event("deadlock")
    assert result.verdict == "violation"
    assert result.violation is not None and result.violation.kind == "deadlock"
    # BFS finds a deadlock when it expands the state: the shallowest one.
    assert len(result.violation.trace) - 1 == min(dead)
    assert list(naive.successors(model, result.violation.trace[-1].state)) == []
