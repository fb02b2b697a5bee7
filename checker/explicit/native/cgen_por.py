"""Generate the partial-order reduction tables and goal functions of the native engine.

From checker/explicit/por.py's read/write analysis of the IR: per binding its dependents,
per guard conjunct its necessary enabling set, which bindings can fail at run time, and
one function that adds, for every checked property, a set of bindings that every path
making the property fail must contain (the goal condition of docs/reduction.md). The
algorithm that uses them is in engine.c (por_expand).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pgcheck.checker.explicit.por import Reduction, analyse, conjuncts, pin_of, reads
from pgcheck.checker.lang.expr import Expr
from pgcheck.checker.lang.spec import Property, TracedModel


class _Lists:
    """Binding lists stored once in one array, referred to by (start, length)."""

    def __init__(self) -> None:
        self.flat: list[int] = []
        self.at: dict[tuple[int, ...], tuple[int, int]] = {}

    def span(self, items: list[int]) -> tuple[int, int]:
        key = tuple(items)
        got = self.at.get(key)
        if got is None:
            got = self.at[key] = (len(self.flat), len(key))
            self.flat.extend(key)
        return got


class _Goals:
    """C statements adding a necessary set for `e` to reach `target` (e is now not target).

    and/or/not are followed: an `and` that is false stays false while one false conjunct
    does (the first, which evaluation also stopped at); a true `and` becomes false only if
    some conjunct does (all of theirs); dually for `or`. Any other node is a leaf: only
    writers of a slot it reads can change it. Only subexpressions that evaluating `e`
    itself evaluated are evaluated, so no new run-time error can arise here.
    """

    def __init__(self, red: Reduction, lists: _Lists, c: Callable[[Expr], str]) -> None:
        self.red = red
        self.lists = lists
        self.c = c

    def leaf(self, e: Expr, target: bool, indent: str) -> list[str]:
        # Only a changer of a slot the leaf reads, from its value now, can change the leaf
        # first; when the leaf is `slot == c` and must become true, one that can write c.
        pin = pin_of(e)
        if pin is not None and pin[2] == target:
            return [f"{indent}por_add_changers(p, {pin[0]}, s[{pin[0]}], 1, INT64_C({pin[1]}));"]
        return [
            f"{indent}por_add_changers(p, {v}, s[{v}], 0, 0);" for v in sorted(reads(e)) if v in self.red.changers
        ]

    def need(self, e: Expr, target: bool, indent: str) -> list[str]:
        op = e.op
        if op == "const":
            return []
        if op == "not":
            return self.need(e.args[0], not target, indent)
        if op in ("and", "or"):
            union = (op == "and") != target  # a true and / a false or: every operand
            if union:
                out: list[str] = []
                for x in e.args:
                    out += self.need(x, target, indent)
                return out
            # The first operand that holds the value: false for and, true for or.
            out = []
            for k, x in enumerate(e.args):
                test = f"!({self.c(x)})" if op == "and" else f"({self.c(x)})"
                body = self.need(x, target, indent + "    ")
                out.append(f"{indent}{'if' if k == 0 else 'else if'} ({test}) {{")
                out += body
                out.append(f"{indent}}}")
            return out
        return self.leaf(e, target, indent)


def generate(model: TracedModel, chosen: list[tuple[Property, Expr]], g: Any) -> list[str]:
    """The C of the reduction: tables, guard_states(), por_goals()."""
    red = analyse(model)
    lists = _Lists()
    nb = len(model.bindings)
    dep = [lists.span(d) for d in red.dependents]
    conj_base: list[int] = []
    enab: list[tuple[int, int]] = []
    pre: list[tuple[int, int]] = []
    for i in range(nb):
        conj_base.append(len(enab))
        enab += [lists.span(x) for x in red.enablers[i]]
        pre += [lists.span(x) for x in red.prefix_writers[i]]
    fail = [lists.span(x) if red.access[i].fallible else (0, -1) for i, x in enumerate(red.fail_writers)]
    fallible_before = [
        int(any(red.access[i].conj_fallible[:k])) for i in range(nb) for k in range(len(red.enablers[i]))
    ]
    # Changers per slot (por.Changer), and per guard conjunct the slots it reads and, for
    # `slot == c`, the value that makes it true.
    nslots = len(model.slots)
    ch_start: list[int] = [0]
    ch_b: list[int] = []
    ch_pin: list[int] = []
    ch_flags: list[int] = []
    ch_ex: list[int] = []
    ch_vals: list[int] = []
    pool: list[int] = []
    for v in range(nslots):
        for ch in red.changers.get(v, ()):
            ch_b.append(ch.binding)
            ch_pin.append(ch.pin if ch.pin is not None else 0)
            ch_flags.append((1 if ch.pin is not None else 0) | (2 if ch.values is not None else 0))
            ch_ex.append(len(pool))
            pool += list(ch.excluded)
            ch_ex.append(len(ch.excluded))
            vals = sorted(ch.values) if ch.values is not None else []
            ch_vals += [len(pool), len(vals)]
            pool += vals
        ch_start.append(len(ch_b))
    cr_start: list[int] = [0]
    cr: list[int] = []
    ctgt: list[int] = []
    for b in model.bindings:
        for part in conjuncts(b.guard):
            cr += [v for v in sorted(reads(part)) if v in red.changers]
            cr_start.append(len(cr))
            pin = pin_of(part)
            ctgt += [1, pin[1]] if pin is not None and pin[2] else [0, 0]
    c = g.c
    goals = _Goals(red, lists, c)
    out = ["/* Partial-order reduction (checker/explicit/por.py, docs/reduction.md). */"]
    # Guard states: -1 enabled, else the first false conjunct.
    gs = ["static void guard_states(const int64_t *s, int16_t *ff, int16_t *nes)", "{"]
    for b in model.bindings:
        parts = conjuncts(b.guard)
        g.where = f"action {b.label}"
        if len(parts) == 1 and parts[0].op == "const":
            gs.append(f"    ff[{b.index}] = {'-1' if parts[0].args[0] else '0'};")
            continue
        chain = " : ".join(f"!{c(x)} ? {k}" for k, x in enumerate(parts))
        gs.append(f"    ff[{b.index}] = nes[{b.index}] = {chain} : -1;")
        # The false conjunct with the fewest enablers; a conjunct after the first false one
        # is evaluated only if it cannot fail.
        sizes = [len(x) for x in red.enablers[b.index]]
        safe = sorted((sizes[k], k) for k in range(1, len(parts)) if not red.access[b.index].conj_fallible[k])
        i = b.index
        for n, k in safe:
            gs.append(
                f"    if (ff[{i}] >= 0 && ff[{i}] < {k} && POR_ENAB[2 * (POR_CONJ_BASE[{i}] + nes[{i}]) + 1] > {n}"
                f" && !{c(parts[k])}) nes[{i}] = {k};"
            )
    gs.append("}")
    g.where = ""
    body = ["static void por_goals(const int64_t *s, struct por *p, uint64_t unreached)", "{", "    (void)unreached;"]
    for pr, e in chosen:
        g.where = f"invariant {pr.id}"
        body += goals.need(e, False, "    ")
    for i, (pr, e) in enumerate(model.witnesses):
        g.where = f"witness {pr.id}"
        inner = goals.need(e, True, "        ")
        if inner:
            body += [f"    if (((unreached >> {i}) & 1) && !{c(e)}) {{", *inner, "    }"]
    g.where = ""
    body.append("}")

    def arr(name: str, ty: str, items: list[int]) -> str:
        return f"static const {ty} {name}[] = {{{', '.join(str(x) for x in items) or '0'}}};"

    out += [
        f"#define POR_NCONJ {len(enab)}",
        arr("POR_LIST", "int32_t", lists.flat),
        arr("POR_DEP", "int32_t", [x for sp in dep for x in sp]),
        arr("POR_CONJ_BASE", "int32_t", conj_base),
        arr("POR_ENAB", "int32_t", [x for sp in enab for x in sp]),
        arr("POR_PRE", "int32_t", [x for sp in pre for x in sp]),
        arr("POR_FAIL", "int32_t", [x for sp in fail for x in sp]),
        arr("POR_FALLIBLE_BEFORE", "uint8_t", fallible_before),
        arr("POR_CH_START", "int32_t", ch_start),
        arr("POR_CH_B", "int32_t", ch_b),
        arr("POR_CH_PIN", "int64_t", ch_pin),
        arr("POR_CH_FLAGS", "uint8_t", ch_flags),
        arr("POR_CH_EX", "int32_t", ch_ex),
        arr("POR_CH_VALS", "int32_t", ch_vals),
        arr("POR_CH_POOL", "int64_t", pool),
        arr("POR_CR_START", "int32_t", cr_start),
        arr("POR_CR", "int32_t", cr),
        arr("POR_CTGT", "int64_t", ctgt),
        "static int (*const POR_BODY[])(const int64_t *, struct worker *) = {"
        + ", ".join(f"body_{b.index}" for b in model.bindings) + "};" if nb else
        "static int (*const POR_BODY[1])(const int64_t *, struct worker *) = {0};",
        "struct por;",
        "static void por_add_span(struct por *p, int32_t start, int32_t n);",
        "static void por_add_changers(struct por *p, int32_t v, int64_t x, int to_known, int64_t to);",
        *gs,
        *body,
    ]
    return out
