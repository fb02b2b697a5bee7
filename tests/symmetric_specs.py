"""Random small SYMMETRIC specs with liveness properties (test-only, Hypothesis).

A description is plain nested tuples (a failing example prints readably): a symmetric
entity kind `p` with 2-3 instances, optionally a second symmetric kind `c` (carriers)
with 1-2 instances (its own group) or one per instance of p (`joint`: permuted together
with p, each p reaching its own carrier), and a singleton `g` with shared state (a token reference, a FIFO of
references, a counter, a lock bit) so that instances interact. Every action is one body
for every binding of its parameters (p, a pair p != q, or a carrier and a p), and no
expression names an instance by a constant: instances enter only as the action's
parameters, the property's own instance, or through counts and quantifiers over all of
them. So every permutation of `p` (and of `c`) maps a step to a step and an obligation
of instance i to the same obligation of its image: symmetric by construction
(tests/test_symmetric_liveness.py checks it state by state).

The initial state may break the symmetry on purpose (`asym_init`: instance 0 starts with
the token or in another phase): the transition relation stays symmetric, but the
obligations of instance 0 and of the others are then not interchangeable, so a checker
that looks at one instance per orbit under the whole group would be wrong.

    types:  ("enum",) ("int",) ("bool",) ("ref",) ("fifo",)    (one type per field name)
    inst:   ("self",) ("other",) ("prop",) instances of p; ("car",) ("propc",) ("own",) of c
    value:  ("pf", inst, field) ("cf", inst, field) ("gf", field) ("const", v) ("when", cond, a, b)
            and per-type operators (inc, dec, count, inst, push, pop, remove, cond)
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.spec import Spec, require
from pgcheck.checker.lang.types import Bool, Enum, FieldType, Fifo, Int, Ref

PHASES = ("idle", "want", "crit")
CYCLE = (("idle", "want"), ("want", "crit"), ("crit", "idle"))  # the phase moves of a protocol step
PC = Enum("phase", list(PHASES))
HI = 2  # every int field counts 0..2

# field name -> type class; p's fields, c's fields, g's fields
P_FIELDS = {"pc": "enum", "cnt": "int", "flag": "bool", "peer": "ref"}
C_FIELDS = {"holds": "ref", "busy": "bool"}
G_FIELDS = {"tok": "ref", "queue": "fifo", "ctr": "int", "lock": "bool"}
FORMS = ("leads-to", "always-eventually", "eventually-always")


def field_type(cls: str, n: int) -> FieldType:
    return {"enum": PC, "int": Int(0, HI), "bool": Bool(), "ref": Ref("p"), "fifo": Fifo("p", n)}[cls]


class Ctx:
    """What an expression may name: the fields declared, and the instance terms in scope."""

    def __init__(self, desc: dict[str, Any], pinsts: list[str], cinsts: list[str]) -> None:
        self.pfields = desc["pfields"]
        self.cfields = desc["cfields"] if desc["carriers"] else []
        self.gfields = desc["gfields"]
        self.pinsts = pinsts
        self.cinsts = cinsts if desc["carriers"] else []

    def locations(self, cls: str) -> list[tuple[Any, ...]]:
        """Every readable location of type class `cls` with an instance term in scope."""
        out: list[tuple[Any, ...]] = []
        out += [("pf", (i,), f) for i in self.pinsts for f in self.pfields if P_FIELDS[f] == cls]
        out += [("cf", (i,), f) for i in self.cinsts for f in self.cfields if C_FIELDS[f] == cls]
        out += [("gf", f) for f in self.gfields if G_FIELDS[f] == cls]
        return out

    def writable(self) -> list[tuple[Any, ...]]:
        return [loc for c in ("enum", "int", "bool", "ref", "fifo") for loc in self.locations(c)]


def _cls(loc: tuple[Any, ...]) -> str:
    if loc[0] == "pf":
        return P_FIELDS[loc[2]]
    if loc[0] == "cf":
        return C_FIELDS[loc[2]]
    return G_FIELDS[loc[1]]


def draw_value(draw: Any, ctx: Ctx, cls: str, depth: int) -> tuple[Any, ...]:
    """A value of type class `cls`."""
    locs = ctx.locations(cls)
    options = ["const"] + ["read"] * (2 if locs else 0)
    if depth > 0:
        options += ["when"]
        options += {
            "int": ["inc", "dec", "count", "count"],
            "bool": ["cond", "cond"],
            "ref": ["inst", "inst"] if ctx.pinsts else [],
            "fifo": ["push", "push", "pop", "remove"] if ctx.pinsts else ["pop"],
            "enum": [],
        }[cls]
    op = draw(st.sampled_from(options))
    if op == "read":
        return draw(st.sampled_from(locs))
    if op == "const":
        return ("const", draw(st.sampled_from({
            "enum": PHASES, "int": (0, 1, 2), "bool": (False, True), "ref": (None,), "fifo": ((),),
        }[cls])))
    if op == "when":
        return ("when", draw_cond(draw, ctx, depth - 1), draw_value(draw, ctx, cls, depth - 1),
                draw_value(draw, ctx, cls, depth - 1), cls)
    if op in ("inc", "dec"):
        return (op, draw_value(draw, ctx, cls, depth - 1))
    if op == "count":  # how many instances of p are in a phase / have the flag: symmetric
        if "flag" in ctx.pfields and draw(st.booleans()):
            return ("count_flag",)
        return ("count_pc", draw(st.sampled_from(PHASES)))
    if op == "cond":
        return ("cond", draw_cond(draw, ctx, depth - 1))
    if op == "inst":
        return ("inst", (draw(st.sampled_from(ctx.pinsts)),))
    if op == "push":
        return ("push", draw_value(draw, ctx, cls, depth - 1), (draw(st.sampled_from(ctx.pinsts)),))
    if op == "pop":
        return ("pop", draw_value(draw, ctx, cls, depth - 1))
    return ("remove", draw_value(draw, ctx, cls, depth - 1), (draw(st.sampled_from(ctx.pinsts)),))


def draw_cond(draw: Any, ctx: Ctx, depth: int) -> tuple[Any, ...]:
    ops = ["any_pc"]
    classes = [c for c in ("enum", "int", "bool", "ref", "fifo") if ctx.locations(c)]
    if classes:
        ops += ["eq", "eq"]
    if ctx.locations("bool"):
        ops += ["bool", "bool"]
    if ctx.locations("int") or "cnt" in ctx.pfields:
        ops += ["lt"]
    if ctx.locations("ref"):
        ops += ["null"] + (["is", "is"] if ctx.pinsts else [])
    if ctx.locations("fifo"):
        ops += ["empty"] + (["fhas", "head"] if ctx.pinsts else [])
    if "flag" in ctx.pfields:
        ops += ["all_flag"]
    if depth > 0:
        ops += ["not", "and", "or"]
    op = draw(st.sampled_from(ops))
    if op == "any_pc":  # some instance of p is in a phase: symmetric
        return ("any_pc", draw(st.sampled_from(PHASES)))
    if op == "all_flag":
        return ("all_flag",)
    if op == "eq":
        cls = draw(st.sampled_from(classes))
        return ("eq", draw_value(draw, ctx, cls, depth), draw_value(draw, ctx, cls, max(depth - 1, 0)), cls)
    if op == "bool":
        return ("bool", draw(st.sampled_from(ctx.locations("bool"))))
    if op == "lt":
        return ("lt", draw_value(draw, ctx, "int", depth), draw_value(draw, ctx, "int", depth))
    if op == "null":
        return ("null", draw_value(draw, ctx, "ref", depth))
    if op == "is":
        return ("is", draw_value(draw, ctx, "ref", depth), (draw(st.sampled_from(ctx.pinsts)),))
    if op == "empty":
        return ("empty", draw_value(draw, ctx, "fifo", depth))
    if op in ("fhas", "head"):
        return (op, draw_value(draw, ctx, "fifo", depth), (draw(st.sampled_from(ctx.pinsts)),))
    if op == "not":
        return ("not", draw_cond(draw, ctx, depth - 1))
    return (op, draw_cond(draw, ctx, depth - 1), draw_cond(draw, ctx, depth - 1))


# the shared state's protocol steps (guards and updates on `g`, about `self` and `other`)
SHARED = {
    "tok": ("acquire", "take", "release", "pass"),
    "queue": ("enqueue", "serve"),
    "lock": ("lock", "unlock"),
    "ctr": ("up", "down"),
}

# three steps round the phases that use the shared state as a lock, a passed token or a queue
PROTOCOLS = {
    "tok": (("p", CYCLE[0], None), ("p", CYCLE[1], "acquire"), ("p", CYCLE[2], "release")),
    "ring": (("p", CYCLE[0], None), ("p", CYCLE[1], "take"), ("pq", CYCLE[2], "pass")),
    "lock": (("p", CYCLE[0], None), ("p", CYCLE[1], "lock"), ("p", CYCLE[2], "unlock")),
    "queue": (("p", CYCLE[0], "enqueue"), ("p", CYCLE[1], "serve"), ("p", CYCLE[2], None)),
}
NEEDS = {"tok": "tok", "ring": "tok", "lock": "lock", "queue": "queue"}

PARAMS = {"p": (["self"], []), "pq": (["self", "other"], []), "cp": (["self"], ["car"])}


@st.composite
def symmetric_descriptions(draw: Any, min_n: int = 2, max_n: int = 3) -> dict[str, Any]:
    n = draw(st.integers(min_n, max_n))
    extra = draw(st.lists(st.sampled_from(["cnt", "flag", "peer"]), max_size=1, unique=True))
    pfields = ["pc", *extra]
    carriers = draw(st.sampled_from([0, 0, 1, 2, "joint"]))
    joint = carriers == "joint"  # one carrier per instance of p, permuted with it (one group)
    carriers = n if joint else carriers
    cfields = draw(st.lists(st.sampled_from(list(C_FIELDS)), min_size=1, max_size=2, unique=True)) if carriers else []
    protocol = draw(st.sampled_from(list(PROTOCOLS)))
    gfields = [NEEDS[protocol], *draw(st.lists(st.sampled_from([f for f in G_FIELDS if f != NEEDS[protocol]]), max_size=1))]
    desc: dict[str, Any] = {"protocol": protocol, "n": n, "pfields": pfields, "carriers": carriers, "joint": joint,
                            "cfields": cfields, "gfields": gfields}
    # a symmetric initial state: the same for every instance, references null
    init: list[tuple[str, str, Any]] = []
    if draw(st.integers(0, 3)) == 3:
        init.append(("all_p", "pc", draw(st.sampled_from(PHASES))))
    for f in gfields:
        if G_FIELDS[f] in ("int", "bool") and draw(st.booleans()):
            init.append(("g", f, draw(st.sampled_from((0, 1, 2) if G_FIELDS[f] == "int" else (False, True)))))
    desc["init"] = init
    # or one that breaks it (the transitions stay symmetric): instance 0 starts apart
    asym = draw(st.sampled_from([None, None, None, "token", "phase", "queue"]))
    if asym == "token" and "tok" not in gfields:
        asym = None
    if asym == "queue" and "queue" not in gfields:
        asym = None
    desc["asym_init"] = (asym, draw(st.sampled_from(PHASES))) if asym else None
    kinds = ["p", "pq"] + (["cp"] if carriers else [])
    # a protocol (three steps round the phases, sharing `g`), perturbed, plus random actions
    steps: list[tuple[str, tuple[str, str] | None, str | None]] = list(PROTOCOLS[protocol])
    for _ in range(draw(st.integers(0, 2))):
        params = draw(st.sampled_from(kinds))
        move = draw(st.sampled_from([None, *CYCLE, (draw(st.sampled_from(PHASES)), draw(st.sampled_from(PHASES)))]))
        shared = [t for f in gfields for t in SHARED[f] if params == "pq" or t != "pass"]
        steps.append((params, move, draw(st.sampled_from([None, *shared]))))
    actions = []
    for k, (params, move, use) in enumerate(steps):
        pin, cin = PARAMS[params]
        ctx = Ctx(desc, pin, cin + (["own"] if joint else []))
        random_step = k >= 3
        guard = draw_cond(draw, ctx, 1) if draw(st.integers(0, 3 if random_step else 5)) == 3 else None
        updates = []
        taken = {("pf", ("self",), "pc")} if move else set()
        taken |= {("gf", f) for f in gfields if use in SHARED[f]}
        targets = [loc for loc in ctx.writable() if loc not in taken]
        for loc in draw(st.lists(st.sampled_from(targets), max_size=2 if random_step else 1, unique=True)) if targets else []:
            updates.append((loc, draw_value(draw, ctx, _cls(loc), 2)))
        fairness = draw(st.sampled_from(("weak", "strong", "weak", "strong", None)))
        actions.append({"params": params, "move": move, "use": use, "guard": guard, "updates": updates,
                        "fairness": fairness})
    desc["actions"] = actions
    desc["invariant"] = draw_cond(draw, Ctx(desc, [], []), 1) if draw(st.booleans()) else None
    props = []
    for _ in range(draw(st.integers(1, 3))):
        form = draw(st.sampled_from(FORMS))
        each = draw(st.sampled_from(["p", "p", None] + (["c"] if carriers else [])))
        if joint and each is not None:  # instance i of p and carrier i go together
            ctx = Ctx(desc, ["prop"], ["propc"])
        else:
            ctx = Ctx(desc, ["prop"] if each == "p" else [], ["propc"] if each == "c" else [])
        pc = draw_cond(draw, ctx, 2) if form == "leads-to" else None
        props.append((form, each, pc, draw_cond(draw, ctx, 2)))
    desc["props"] = props
    desc["check_deadlock"] = draw(st.booleans())
    return desc


def build_symmetric(desc: dict[str, Any]) -> Spec:
    n = desc["n"]
    spec = Spec("symmetric-random", params={"n": n})
    spec.entity("p", n, {f: field_type(P_FIELDS[f], n) for f in desc["pfields"]})
    if desc["carriers"]:
        spec.entity("c", desc["carriers"], {f: field_type(C_FIELDS[f], n) for f in desc["cfields"]})
    spec.singleton("g", {f: field_type(G_FIELDS[f], n) for f in desc["gfields"]})
    if desc.get("joint"):
        spec.symmetric("p", "c")
    else:
        spec.symmetric("p")
        if desc["carriers"]:
            spec.symmetric("c")

    def types(cls: str) -> FieldType:
        return field_type(cls, n)

    def inst(env: dict[str, int | None], d: tuple[Any, ...]) -> Any:
        return env[d[0]]

    def val(s: Any, env: dict[str, Any], d: tuple[Any, ...]) -> Any:
        op = d[0]
        if op == "pf":
            return s.p[inst(env, d[1])].__getattr__(d[2])
        if op == "cf":
            return s.c[inst(env, d[1])].__getattr__(d[2])
        if op == "gf":
            return s.g.__getattr__(d[1])
        if op == "const":
            return d[1]
        if op == "when":
            ty = types(d[4])
            return X.when(cond(s, env, d[1]), X.lift(val(s, env, d[2]), ty), X.lift(val(s, env, d[3]), ty))
        if op == "inc":
            x = X.lift(val(s, env, d[1]), Int(0, HI))
            return X.when(x < HI, x + 1, x)
        if op == "dec":
            x = X.lift(val(s, env, d[1]), Int(0, HI))
            return X.when(x > 0, x - 1, x)
        if op == "count_pc":
            return X.when(X.count_of(range(n), lambda j: s.p[j].pc == d[1]) < HI, X.count_of(range(n), lambda j: s.p[j].pc == d[1]), HI)
        if op == "count_flag":
            return X.when(X.count_of(range(n), lambda j: s.p[j].flag) < HI, X.count_of(range(n), lambda j: s.p[j].flag), HI)
        if op == "cond":
            return cond(s, env, d[1])
        if op == "inst":
            return inst(env, d[1])
        f = X.lift(val(s, env, d[1]), types("fifo"))
        if op == "push":
            x = inst(env, d[2])
            return X.when((X.fifo_len(f) < n) & ~X.fifo_has(f, x), X.fifo_push(f, x), f)
        if op == "pop":
            return X.when(X.is_empty(f), f, X.fifo_pop(f))
        assert op == "remove", op
        return X.fifo_remove(f, inst(env, d[2]))

    def cond(s: Any, env: dict[str, Any], d: tuple[Any, ...]) -> Any:
        op = d[0]
        if op == "any_pc":
            return X.any_of(range(n), lambda j: s.p[j].pc == d[1])
        if op == "all_flag":
            return X.all_of(range(n), lambda j: s.p[j].flag)
        if op == "eq":
            ty = types(d[3])
            return X.lift(val(s, env, d[1]), ty) == X.lift(val(s, env, d[2]), ty)
        if op == "bool":
            return val(s, env, d[1])
        if op == "lt":
            return X.lift(val(s, env, d[1]), Int(0, HI)) < X.lift(val(s, env, d[2]), Int(0, HI))
        if op == "null":
            return X.is_null(X.lift(val(s, env, d[1]), types("ref")))
        if op == "is":
            return X.lift(val(s, env, d[1]), types("ref")) == inst(env, d[2])
        if op == "empty":
            return X.is_empty(X.lift(val(s, env, d[1]), types("fifo")))
        if op == "fhas":
            return X.fifo_has(X.lift(val(s, env, d[1]), types("fifo")), inst(env, d[2]))
        if op == "head":
            f = X.lift(val(s, env, d[1]), types("fifo"))
            return X.when(X.is_empty(f), False, X.fifo_head(f) == inst(env, d[2]))  # lazy: no head of an empty FIFO
        if op == "not":
            return X.not_(cond(s, env, d[1]))
        if op == "and":
            return X.and_(cond(s, env, d[1]), cond(s, env, d[2]))
        return X.or_(cond(s, env, d[1]), cond(s, env, d[2]))

    @spec.initially
    def init(s: Any) -> None:
        for target, f, v in desc["init"]:
            if target == "all_p":
                for i in range(n):
                    s.p[i].__setattr__(f, v)
            else:
                s.g.__setattr__(f, v)
        if desc["asym_init"] is not None:  # instance 0 starts apart (a constant of the initial state only)
            how, phase = desc["asym_init"]
            if how == "token":
                s.g.tok = 0
            elif how == "queue":
                s.g.queue = (0,)
            else:
                s.p[0].pc = phase

    def write(s: Any, env: dict[str, Any], loc: tuple[Any, ...], value: Any) -> None:
        if loc[0] == "pf":
            s.p[inst(env, loc[1])].__setattr__(loc[2], value)
        elif loc[0] == "cf":
            s.c[inst(env, loc[1])].__setattr__(loc[2], value)
        else:
            s.g.__setattr__(loc[1], value)

    for k, a in enumerate(desc["actions"]):

        def body(s: Any, a: dict[str, Any] = a, **params: int) -> None:
            env = {"self": params["p"], "other": params.get("q"), "car": params.get("c"), "own": params["p"]}
            if a["params"] == "pq":
                require(params["p"] != params["q"])  # statically false on the diagonal: no binding
            me = params["p"]
            if a["move"] is not None:
                require(s.p[me].pc == a["move"][0])
            if a["guard"] is not None:
                require(cond(s, env, a["guard"]))
            values = [(loc, val(s, env, d)) for loc, d in a["updates"]]  # all read the state before
            use = a["use"]
            if use == "acquire":
                require(X.is_null(s.g.tok))
                values.append((("gf", "tok"), me))
            elif use == "take":
                require(X.is_null(s.g.tok) | (s.g.tok == me))
                values.append((("gf", "tok"), me))
            elif use == "release":
                require(s.g.tok == me)
                values.append((("gf", "tok"), None))
            elif use == "pass":
                require(s.g.tok == me)
                values.append((("gf", "tok"), params["q"]))
            elif use == "enqueue":
                require(~X.fifo_has(s.g.queue, me))
                values.append((("gf", "queue"), X.fifo_push(s.g.queue, me)))
            elif use == "serve":
                require(X.when(X.is_empty(s.g.queue), False, X.fifo_head(s.g.queue) == me))
                values.append((("gf", "queue"), X.when(X.is_empty(s.g.queue), s.g.queue, X.fifo_pop(s.g.queue))))
            elif use == "lock":
                require(~s.g.lock)
                values.append((("gf", "lock"), True))
            elif use == "unlock":
                require(s.g.lock)
                values.append((("gf", "lock"), False))
            elif use in ("up", "down"):
                x = s.g.ctr
                values.append((("gf", "ctr"), X.when(x < HI, x + 1, x) if use == "up" else X.when(x > 0, x - 1, x)))
            if a["move"] is not None:
                values.append((("pf", ("self",), "pc"), a["move"][1]))
            for loc, v in values:
                write(s, env, loc, v)

        kinds: dict[str, str] = {"p": "p"}
        if a["params"] == "pq":
            kinds["q"] = "p"
        if a["params"] == "cp":
            kinds = {"c": "c", "p": "p"}
        spec.action(f"a{k}", fairness=a["fairness"], **kinds)(body)

    if desc["invariant"] is not None:
        spec.invariant("R1", "random symmetric invariant")(lambda s: cond(s, {}, desc["invariant"]))
    for k, (form, each, p, q) in enumerate(desc["props"]):

        def qf(s: Any, i: int | None = None, q: Any = q) -> Any:
            return cond(s, {"prop": i, "propc": i}, q)

        if form == "leads-to":

            def pq(s: Any, i: int | None = None, p: Any = p, q: Any = q) -> Any:
                return (cond(s, {"prop": i, "propc": i}, p), cond(s, {"prop": i, "propc": i}, q))

            spec.leads_to(f"T{k}", "random", "", each=each)(pq)
        elif form == "always-eventually":
            spec.always_eventually(f"T{k}", "random", "", each=each)(qf)
        else:
            spec.eventually_always(f"T{k}", "random", "", each=each)(qf)
    return spec
