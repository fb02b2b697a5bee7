"""The modeling language: tracing every field type, and the errors a model author meets.

Each spec here is built in the test, traced, and run both through the tree-walking
interpreter and the compiled successor function, so a read, a write or an error
message is checked where the author would see it.
"""

from __future__ import annotations

from typing import Any

import pytest
from pgcheck.checker.errors import ModelError
from pgcheck.checker.explicit.explore import Explorer
from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.compile import compile_model
from pgcheck.checker.lang.interpret import apply_binding, evaluate
from pgcheck.checker.lang.spec import Spec, TracedModel, require
from pgcheck.checker.lang.types import NULL_REF, Bool, Enum, Fifo, Int, Ref, Set

PC = Enum("pc", ["idle", "waiting", "critical"])
COLOR = Enum("color", ["red", "green"])


def slot(model: TracedModel, kind: str, inst: int | None, field: str) -> int:
    return model.slot_of[(kind, inst, field)]


def step(model: TracedModel, label: str, state: tuple[Any, ...] | None = None) -> tuple[Any, ...] | None:
    """Apply one binding (by label) both ways; they must agree."""
    s = model.init if state is None else state
    b = model.binding_by_label()[label]
    interpreted = apply_binding(b, s)
    compiled = compile_model(model).binding_step[b.index](s)
    assert interpreted == compiled
    return interpreted


def with_state(model: TracedModel, **changes: Any) -> tuple[Any, ...]:
    """The initial state with some slots changed; keys are 'kind.i.field' or 'kind.field'."""
    s = list(model.init)
    for key, value in changes.items():
        parts = key.split("__")
        if len(parts) == 3:
            s[slot(model, parts[0], int(parts[1]), parts[2])] = value
        else:
            s[slot(model, parts[0], None, parts[1])] = value
    return tuple(s)


def base_spec(procs: int = 2) -> Spec:
    spec = Spec("lang", params={"procs": procs})
    spec.entity(
        "proc",
        procs,
        {
            "pc": PC,
            "flag": Bool(),
            "n": Int(0, 3),
            "peer": Ref("proc"),
            "seen": Set("proc"),
            "colors": Set(COLOR),
            "q": Fifo("proc", 2),
        },
    )
    spec.singleton("lock", {"holder": Ref("proc"), "waiters": Fifo("proc", 2)})
    return spec


# ------------------------------------------------------------------ field types


def test_initial_state_uses_type_defaults_and_initially() -> None:
    spec = base_spec()

    @spec.initially
    def init(s: Any) -> None:
        s.proc[1].pc = "waiting"
        s.proc[1].n = 2
        s.lock.waiters = (1,)

    m = spec.trace()
    assert m.init[slot(m, "proc", 0, "pc")] == 0  # first enum value
    assert m.init[slot(m, "proc", 1, "pc")] == PC.index("waiting")
    assert m.init[slot(m, "proc", 0, "flag")] == 0
    assert m.init[slot(m, "proc", 0, "n")] == 0  # lo of the range
    assert m.init[slot(m, "proc", 1, "n")] == 2
    assert m.init[slot(m, "proc", 0, "peer")] == NULL_REF
    assert m.init[slot(m, "proc", 0, "seen")] == 0
    assert m.init[slot(m, "lock", None, "waiters")] == (1,)
    assert len(m.init) == 2 * 7 + 2


def test_enum_read_and_write() -> None:
    spec = base_spec()

    @spec.action(p="proc")
    def request(s: Any, p: int) -> None:
        require(s.proc[p].pc == "idle")
        s.proc[p].pc = "waiting"

    m = spec.trace()
    t = step(m, "request(p=1)")
    assert t is not None
    assert t[slot(m, "proc", 1, "pc")] == PC.index("waiting")
    assert t[slot(m, "proc", 0, "pc")] == PC.index("idle")
    assert step(m, "request(p=1)", t) is None  # guard now false


def test_bool_read_write_and_connectives() -> None:
    spec = base_spec()

    @spec.action(p="proc")
    def toggle(s: Any, p: int) -> None:
        require(~s.proc[p].flag | (s.proc[p].pc == "critical"))
        s.proc[p].flag = ~s.proc[p].flag

    m = spec.trace()
    t = step(m, "toggle(p=0)")
    assert t is not None and t[slot(m, "proc", 0, "flag")] == 1
    assert step(m, "toggle(p=0)", t) is None  # flag set and pc idle


def test_int_arithmetic_and_ordering() -> None:
    spec = base_spec()

    @spec.action(p="proc")
    def bump(s: Any, p: int) -> None:
        require(s.proc[p].n < 3)
        s.proc[p].n = s.proc[p].n + 1

    @spec.action(p="proc")
    def drop(s: Any, p: int) -> None:
        require(s.proc[p].n >= 1)
        s.proc[p].n = s.proc[p].n - 1

    m = spec.trace()
    assert step(m, "drop(p=0)") is None
    s = m.init
    for want in (1, 2, 3):
        s = step(m, "bump(p=0)", s)
        assert s is not None and s[slot(m, "proc", 0, "n")] == want
    assert step(m, "bump(p=0)", s) is None
    s = step(m, "drop(p=0)", s)
    assert s is not None and s[slot(m, "proc", 0, "n")] == 2


def test_ref_write_read_and_deref() -> None:
    spec = base_spec()

    @spec.action(p="proc")
    def take(s: Any, p: int) -> None:
        require(X.is_null(s.lock.holder))
        s.lock.holder = p

    @spec.action()
    def mark_holder(s: Any) -> None:
        require(X.not_null(s.lock.holder))
        s.proc[s.lock.holder].pc = "critical"  # write through a reference

    @spec.action(p="proc")
    def copy_holder_pc(s: Any, p: int) -> None:
        require(X.not_null(s.lock.holder))
        s.proc[p].flag = s.proc[s.lock.holder].pc == "critical"  # read through a reference

    m = spec.trace()
    assert step(m, "mark_holder()") is None
    t = step(m, "take(p=1)")
    assert t is not None and t[slot(m, "lock", None, "holder")] == 1
    u = step(m, "mark_holder()", t)
    assert u is not None
    assert u[slot(m, "proc", 1, "pc")] == PC.index("critical")
    assert u[slot(m, "proc", 0, "pc")] == PC.index("idle")
    v = step(m, "copy_holder_pc(p=0)", u)
    assert v is not None and v[slot(m, "proc", 0, "flag")] == 1
    w = step(m, "copy_holder_pc(p=0)", t)
    assert w is not None and w[slot(m, "proc", 0, "flag")] == 0


def test_sets_of_instances_and_of_enum_values() -> None:
    spec = base_spec()

    @spec.action(p="proc", q="proc")
    def see(s: Any, p: int, q: int) -> None:
        require(~X.set_has(s.proc[p].seen, q))
        s.proc[p].seen = X.set_add(s.proc[p].seen, q)
        s.proc[p].colors = X.set_add(s.proc[p].colors, "green")

    @spec.action(p="proc", q="proc")
    def forget(s: Any, p: int, q: int) -> None:
        require(X.set_has(s.proc[p].seen, q))
        s.proc[p].seen = X.set_del(s.proc[p].seen, q)

    @spec.action(p="proc")
    def clear(s: Any, p: int) -> None:
        require(~X.is_empty(s.proc[p].seen))
        s.proc[p].seen = X.set_minus(s.proc[p].seen, s.proc[p].seen)

    m = spec.trace()
    seen0 = slot(m, "proc", 0, "seen")
    s = step(m, "see(p=0, q=1)")
    assert s is not None and s[seen0] == 0b10
    assert s[slot(m, "proc", 0, "colors")] == 1 << COLOR.index("green")
    assert step(m, "see(p=0, q=1)", s) is None
    s = step(m, "see(p=0, q=0)", s)
    assert s is not None and s[seen0] == 0b11
    f = step(m, "forget(p=0, q=1)", s)
    assert f is not None and f[seen0] == 0b01
    c = step(m, "clear(p=0)", s)
    assert c is not None and c[seen0] == 0
    assert step(m, "clear(p=0)", c) is None


def test_fifo_push_pop_head_len_remove() -> None:
    spec = base_spec()

    @spec.action(p="proc")
    def enqueue(s: Any, p: int) -> None:
        require(~X.fifo_has(s.lock.waiters, p))
        s.lock.waiters = X.fifo_push(s.lock.waiters, p)

    @spec.action()
    def grant(s: Any) -> None:
        require(~X.is_empty(s.lock.waiters))
        s.lock.holder = X.fifo_head(s.lock.waiters)
        s.lock.waiters = X.fifo_pop(s.lock.waiters)

    @spec.action(p="proc")
    def leave(s: Any, p: int) -> None:
        require(X.fifo_has(s.lock.waiters, p) & (X.fifo_len(s.lock.waiters) == 2))
        s.lock.waiters = X.fifo_remove(s.lock.waiters, p)

    m = spec.trace()
    w = slot(m, "lock", None, "waiters")
    s = step(m, "enqueue(p=1)")
    s = step(m, "enqueue(p=0)", s)
    assert s is not None and s[w] == (1, 0)
    assert step(m, "enqueue(p=0)", s) is None
    g = step(m, "grant()", s)
    assert g is not None and g[w] == (0,) and g[slot(m, "lock", None, "holder")] == 1  # head first
    r = step(m, "leave(p=1)", s)
    assert r is not None and r[w] == (0,)
    assert step(m, "leave(p=1)", g) is None  # only one waiter left


def test_writes_are_sequential_reads_see_earlier_writes() -> None:
    spec = base_spec()

    @spec.action(p="proc")
    def twice(s: Any, p: int) -> None:
        s.proc[p].n = s.proc[p].n + 1
        s.proc[p].n = s.proc[p].n + 1  # reads the value written on the line above
        s.proc[p].flag = s.proc[p].n == 2

    @spec.action(p="proc")
    def swap_roles(s: Any, p: int) -> None:
        s.lock.holder = p
        s.proc[s.lock.holder].pc = "critical"  # the deref uses the new holder

    m = spec.trace()
    t = step(m, "twice(p=1)")
    assert t is not None
    assert t[slot(m, "proc", 1, "n")] == 2
    assert t[slot(m, "proc", 1, "flag")] == 1
    u = step(m, "swap_roles(p=1)")
    assert u is not None and u[slot(m, "proc", 1, "pc")] == PC.index("critical")


def test_when_chooses_per_state() -> None:
    spec = base_spec()

    @spec.action(p="proc")
    def cycle(s: Any, p: int) -> None:
        s.proc[p].pc = X.when(s.proc[p].pc == "idle", "waiting", "idle")
        s.proc[p].n = X.when(s.proc[p].n < 3, s.proc[p].n + 1, 0)

    m = spec.trace()
    a = step(m, "cycle(p=0)")
    b = step(m, "cycle(p=0)", a)
    assert a is not None and b is not None
    assert a[slot(m, "proc", 0, "pc")] == PC.index("waiting")
    assert b[slot(m, "proc", 0, "pc")] == PC.index("idle")
    assert b[slot(m, "proc", 0, "n")] == 2


def test_statically_false_guard_drops_the_binding_and_noop_updates_vanish() -> None:
    spec = base_spec()

    @spec.action(p="proc")
    def only_first(s: Any, p: int) -> None:
        require(p == 0)  # a plain Python bool over a parameter: traced per binding
        s.proc[p].pc = s.proc[p].pc  # writing a field to itself is no update

    m = spec.trace()
    labels = [b.label for b in m.bindings]
    assert labels == ["only_first(p=0)"]
    assert m.bindings[0].updates == {}


def test_predicate_is_an_expression_over_the_state() -> None:
    spec = base_spec()

    @spec.invariant("P1", "at most one process is critical")
    def p1(s: Any) -> object:
        return X.count_of(s.proc, lambda p: s.proc[p].pc == "critical") <= 1

    m = spec.trace()
    (prop, e), = m.invariants
    assert prop.id == "P1"
    both = with_state(m, proc__0__pc=2, proc__1__pc=2)
    one = with_state(m, proc__0__pc=2)
    assert evaluate(e, one) is True
    assert evaluate(e, both) is False


# ------------------------------------------------------------------ errors


def one_action_spec(body: Any, **params: Any) -> Spec:
    spec = base_spec()
    spec.action("acquire", **params)(body)
    return spec


def trace_error(body: Any, **params: Any) -> str:
    with pytest.raises(ModelError) as info:
        one_action_spec(body, **params).trace()
    return str(info.value)


def test_assigning_a_value_the_enum_lacks_names_the_action() -> None:
    def acquire(s: Any, p: int) -> None:
        s.proc[p].pc = "running"

    msg = trace_error(acquire, p="proc")
    assert msg.startswith("action acquire(p=0): ")
    assert "'running' is not a value of enum pc" in msg


def test_comparing_an_enum_with_an_unknown_value() -> None:
    def acquire(s: Any, p: int) -> None:
        require(s.proc[p].pc == "runing")

    msg = trace_error(acquire, p="proc")
    assert msg.startswith("action acquire(p=0): ")
    assert "'runing'" in msg and "enum pc" in msg


def test_comparing_two_different_enums() -> None:
    spec = base_spec()
    spec.singleton("light", {"c": COLOR})

    @spec.action(p="proc")
    def acquire(s: Any, p: int) -> None:
        require(s.proc[p].pc == s.light.c)

    with pytest.raises(ModelError, match=r"^action acquire\(p=0\): cannot compare"):
        spec.trace()


def test_arithmetic_on_a_bool() -> None:
    def acquire(s: Any, p: int) -> None:
        s.proc[p].n = s.proc[p].flag + 1

    msg = trace_error(acquire, p="proc")
    assert msg.startswith("action acquire(p=0): ")
    assert "arithmetic on a non-int value" in msg and "flag" in msg


def test_assigning_a_bool_expression_to_an_int_field_is_a_type_error() -> None:
    def acquire(s: Any, p: int) -> None:
        s.proc[p].n = s.proc[p].flag

    msg = trace_error(acquire, p="proc")
    assert msg.startswith("action acquire(p=0): type error: cannot assign")
    assert "proc[0].n" in msg


def test_constant_out_of_range_int_write_fails_at_trace_time() -> None:
    def acquire(s: Any, p: int) -> None:
        s.proc[p].n = 4

    msg = trace_error(acquire, p="proc")
    assert msg == "action acquire(p=0): writes 4 to proc[0].n, outside its range 0..3"


def test_computed_out_of_range_int_write_fails_at_evaluation_naming_the_action() -> None:
    def acquire(s: Any, p: int) -> None:
        s.proc[p].n = s.proc[p].n + 1  # no guard: 3 + 1 leaves the range

    m = one_action_spec(acquire, p="proc").trace()  # tracing is fine: the value is not known yet
    s = with_state(m, proc__1__n=3)
    b = m.binding_by_label()["acquire(p=1)"]
    with pytest.raises(ModelError, match=r"^action acquire\(p=1\): out-of-range write to proc\[1\]\.n"):
        apply_binding(b, s)
    cm = compile_model(m)
    with pytest.raises(ModelError, match=r"^action acquire\(p=1\): out-of-range write to proc\[1\]\.n"):
        cm.successors(s)
    # The explorer reports it as a model error with a trace to the offending state.
    result = Explorer(cm, symmetry=False, check_deadlock=False).run()
    assert result.verdict == "violation"
    assert result.violation is not None and result.violation.kind == "model-error"
    assert "action acquire(p=" in result.violation.message
    assert len(result.violation.trace) == 4  # n goes 0 -> 1 -> 2 -> 3, then the write fails


def test_fifo_over_capacity_fails_at_evaluation() -> None:
    def acquire(s: Any, p: int) -> None:
        s.lock.waiters = X.fifo_push(s.lock.waiters, p)

    m = one_action_spec(acquire, p="proc").trace()
    s = with_state(m, lock__waiters=(0, 1))
    b = m.binding_by_label()["acquire(p=0)"]
    with pytest.raises(ModelError, match=r"^action acquire\(p=0\): FIFO lock\.waiters over capacity 2"):
        apply_binding(b, s)
    with pytest.raises(ModelError, match=r"^action acquire\(p=0\): FIFO lock\.waiters over capacity 2"):
        compile_model(m).successors(s)


def test_reference_to_a_missing_instance() -> None:
    def acquire(s: Any, p: int) -> None:
        s.proc[5].pc = "waiting"

    msg = trace_error(acquire, p="proc")
    assert msg == "action acquire(p=0): proc[5]: reference to a missing instance (there are 2)"


def test_reference_to_a_missing_instance_in_a_read() -> None:
    def acquire(s: Any, p: int) -> None:
        require(s.proc[2].pc == "idle")

    msg = trace_error(acquire, p="proc")
    assert msg.startswith("action acquire(p=0): proc[2]: reference to a missing instance")


def test_constant_null_reference_is_refused_at_trace_time() -> None:
    def acquire(s: Any, p: int) -> None:
        s.proc[X.lift(None, Ref("proc"))].pc = "waiting"

    msg = trace_error(acquire, p="proc")
    assert "proc[None]: reference to a missing instance" in msg


def test_index_of_the_wrong_kind() -> None:
    spec = base_spec()
    spec.entity("other", 2, {"r": Ref("other")})

    @spec.action(p="proc")
    def acquire(s: Any, p: int) -> None:
        s.proc[s.other[0].r].pc = "waiting"

    with pytest.raises(ModelError, match=r"^action acquire\(p=0\): proc\[other\[0\]\.r\]: the index is not a proc"):
        spec.trace()


def test_read_through_a_null_reference_at_run_time_names_the_action() -> None:
    def acquire(s: Any, p: int) -> None:
        s.proc[p].pc = s.proc[s.lock.holder].pc  # the holder may be None

    m = one_action_spec(acquire, p="proc").trace()
    b = m.binding_by_label()["acquire(p=0)"]
    with pytest.raises(ModelError) as interp:
        apply_binding(b, m.init)
    assert str(interp.value) == "action acquire(p=0): read of proc[lock.holder].pc through a null reference"
    cm = compile_model(m)
    with pytest.raises(ModelError) as comp:
        cm.successors(m.init)
    assert str(comp.value) == str(interp.value)
    # With a holder, both succeed.
    s = with_state(m, lock__holder=1, proc__1__pc=2)
    assert apply_binding(b, s) == cm.binding_step[b.index](s)


def test_write_through_a_null_reference_at_run_time() -> None:
    def acquire(s: Any, p: int) -> None:
        s.proc[s.lock.holder].flag = True

    m = one_action_spec(acquire, p="proc").trace()
    b = m.binding_by_label()["acquire(p=1)"]
    with pytest.raises(ModelError, match=r"^action acquire\(p=1\): write through a null reference lock\.holder\.flag"):
        apply_binding(b, m.init)
    with pytest.raises(ModelError, match=r"^action acquire\(p=1\): write through a null reference"):
        compile_model(m).binding_step[b.index](m.init)


def test_head_of_an_empty_fifo_at_run_time() -> None:
    def acquire(s: Any) -> None:
        s.lock.holder = X.fifo_head(s.lock.waiters)

    m = one_action_spec(acquire).trace()
    with pytest.raises(ModelError, match=r"^action acquire\(\): head of an empty FIFO lock\.waiters"):
        apply_binding(m.bindings[0], m.init)
    with pytest.raises(ModelError, match=r"^action acquire\(\): head of an empty FIFO lock\.waiters"):
        compile_model(m).successors(m.init)


def test_python_branching_on_a_state_value_is_refused() -> None:
    def acquire(s: Any, p: int) -> None:
        if s.proc[p].pc == "idle":
            s.proc[p].pc = "waiting"

    msg = trace_error(acquire, p="proc")
    assert msg.startswith("action acquire(p=0): ")
    assert "Python branching" in msg
    assert "proc[0].pc" in msg


def test_python_and_or_on_state_values_are_refused() -> None:
    def acquire(s: Any, p: int) -> None:
        require(s.proc[p].flag and s.proc[p].n == 1)

    msg = trace_error(acquire, p="proc")
    assert msg.startswith("action acquire(p=0): ") and "Python branching" in msg


def test_python_branching_on_a_when_of_plain_values_is_refused() -> None:
    def acquire(s: Any, p: int) -> None:
        if X.when(s.proc[p].flag, "idle", "waiting"):
            pass

    msg = trace_error(acquire, p="proc")
    assert msg.startswith("action acquire(p=0): ") and "Python branching" in msg


def test_iterating_over_a_state_value_is_refused() -> None:
    def acquire(s: Any) -> None:
        for _ in s.lock.waiters:
            pass

    msg = trace_error(acquire)
    assert msg.startswith("action acquire(): ") and "cannot iterate" in msg


def test_unknown_field_and_unknown_entity() -> None:
    def bad_field(s: Any, p: int) -> None:
        s.proc[p].colour = "red"

    assert trace_error(bad_field, p="proc").startswith("action acquire(p=0): proc has no field 'colour'")

    def bad_kind(s: Any, p: int) -> None:
        s.procs[p].pc = "idle"

    assert "the model has no entity or singleton 'procs'" in trace_error(bad_kind, p="proc")


def test_a_python_mistake_in_an_action_is_reported_with_the_action() -> None:
    def acquire(s: Any, p: int) -> None:
        s.proc[p].pc = {"a": "idle"}["b"]

    msg = trace_error(acquire, p="proc")
    assert msg.startswith("action acquire(p=0): KeyError")


def test_errors_in_predicates_name_the_property() -> None:
    spec = base_spec()

    @spec.invariant("Q7", "nonsense")
    def q7(s: Any) -> object:
        return s.proc[0].pc == "asleep"

    with pytest.raises(ModelError, match=r"^invariant Q7: 'asleep' is not a value of enum pc"):
        spec.trace()


def test_predicates_must_not_write_or_require() -> None:
    spec = base_spec()

    @spec.invariant("Q8", "writes")
    def q8(s: Any) -> object:
        s.proc[0].flag = True
        return True

    with pytest.raises(ModelError, match=r"^invariant Q8: a predicate must not assign"):
        spec.trace()


def test_null_read_in_an_invariant_names_the_invariant() -> None:
    spec = base_spec()

    @spec.invariant("Q9", "the holder is critical")
    def q9(s: Any) -> object:
        return s.proc[s.lock.holder].pc == "critical"

    m = spec.trace()
    cm = compile_model(m)
    with pytest.raises(ModelError, match=r"^invariant Q9: read of proc\[lock\.holder\]\.pc through a null reference"):
        cm.first_violation(m.init)


def test_declaration_errors() -> None:
    spec = base_spec()
    with pytest.raises(ModelError, match="declared twice"):
        spec.entity("proc", 1, {"x": Bool()})
    with pytest.raises(ModelError, match="count must be at least 1"):
        spec.entity("zero", 0, {"x": Bool()})
    with pytest.raises(ModelError, match="fairness must be one of"):
        spec.action(fairness="sometimes")
    with pytest.raises(ValueError, match="distinct and non-empty"):
        Enum("e", ["a", "a"])

    @spec.action(p="nothing")
    def act(s: Any, p: int) -> None:
        pass

    with pytest.raises(ModelError, match="unknown entity kind 'nothing'"):
        spec.trace()


def test_require_outside_an_action() -> None:
    with pytest.raises(ModelError, match="outside an action"):
        require(True)
