"""Atoms the lemma search combines: per-instance facts about one session or one carrier.

Each atom is a predicate about instance `i` of a kind, written with the same proxy as the
invariants (specs/safety.py). Facts about another instance are folded in with any_of
over the other kind ("the carrier this session's car names is in loc = step"), so every
atom, and every clause over atoms quantified over all instances, is symmetric under
permutations of sessions and of carriers (docs/symbolic.md "Symmetric representatives").
`checker/symbolic/lemma_search.py` keeps the two-atom clauses true in every explicitly reachable
state and prunes them to an inductive set; specs/lemmas_found.py is what it keeps.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.expr import all_of, any_of
from pgcheck.checker.lang.types import Bool, Enum, Int, Ref, Set

Atom = Callable[[Any, int], object]

SESSION_REFS = ("car", "ecar", "pcar", "byte_car", "lease_owner", "poll_owner", "latch")


def _eq(kind: str, f: str, v: object, s: Any, i: int) -> object:
    return getattr(getattr(s, kind)[i], f) == v


def _get(kind: str, f: str, s: Any, i: int) -> object:
    return getattr(getattr(s, kind)[i], f)


def _set(kind: str, f: str, s: Any, i: int) -> object:
    return X.not_null(getattr(getattr(s, kind)[i], f))


def _empty(kind: str, f: str, s: Any, i: int) -> object:
    return X.is_empty(getattr(getattr(s, kind)[i], f))


def _same_as_car(r: str, s: Any, b: int) -> object:
    return getattr(s.session[b], r) == s.session[b].car


def _in_queue(q: str, s: Any, b: int) -> object:
    return X.fifo_has(getattr(s.sched, q), b)


def _once_in_queue(q: str, s: Any, b: int) -> object:
    return X.fifo_len(X.fifo_filter(getattr(s.sched, q), lambda x: x == b)) <= 1


def _ref_loc(r: str, v: str, s: Any, b: int) -> object:
    return any_of(list(s.carrier.ids()), lambda c: (getattr(s.session[b], r) == c) & (s.carrier[c].loc == v))


def _cur_field(f: str, v: str, s: Any, c: int) -> object:
    return any_of(list(s.session.ids()), lambda b: (s.carrier[c].cur == b) & (getattr(s.session[b], f) == v))


def _field_atoms(fields: dict[str, Any], kind: str) -> dict[str, Atom]:
    out: dict[str, Atom] = {}
    for f, ty in fields.items():
        if isinstance(ty, Enum):
            for v in ty.values:
                out[f"{f}={v}"] = partial(_eq, kind, f, v)
        elif isinstance(ty, Bool):
            out[f] = partial(_get, kind, f)
        elif isinstance(ty, Int) and ty.hi - ty.lo <= 3:
            for k in range(ty.lo, ty.hi + 1):
                out[f"{f}={k}"] = partial(_eq, kind, f, k)
        elif isinstance(ty, Ref):
            out[f"{f} set"] = partial(_set, kind, f)
        elif isinstance(ty, Set):
            out[f"{f} empty"] = partial(_empty, kind, f)
    return out


def session_atoms(fields: dict[str, Any], carrier_fields: dict[str, Any]) -> dict[str, Atom]:
    out = _field_atoms(fields, "session")
    ses = lambda s, b: s.session[b]  # noqa: E731
    C = lambda s: list(s.carrier.ids())  # noqa: E731
    for r in SESSION_REFS[1:]:
        out[f"{r}=car"] = partial(_same_as_car, r)
    out["lease_owner=pcar"] = lambda s, b: ses(s, b).lease_owner == ses(s, b).pcar
    for q in ("parked", "runnable", "newconn"):
        out[f"in {q}"] = partial(_in_queue, q)
        out[f"once in {q}"] = partial(_once_in_queue, q)
    out["once in parked+runnable"] = lambda s, b: X.fifo_len(
        X.fifo_filter(X.fifo_concat(s.sched.parked, s.sched.runnable), lambda x: x == b)) <= 1
    out["in a batch"] = lambda s, b: any_of(C(s), lambda c: X.fifo_has(s.carrier[c].batch, b))
    out["once in batches"] = lambda s, b: X.and_(
        all_of(C(s), lambda c: X.fifo_len(X.fifo_filter(s.carrier[c].batch, lambda x: x == b)) <= 1),
        all_of(C(s), lambda c: all_of([d for d in C(s) if d > c], lambda d: ~(
            X.fifo_has(s.carrier[c].batch, b) & X.fifo_has(s.carrier[d].batch, b)))))
    out["some cur"] = lambda s, b: any_of(C(s), lambda c: s.carrier[c].cur == b)
    out["some proc"] = lambda s, b: any_of(C(s), lambda c: s.carrier[c].proc == b)
    out["car's cur"] = lambda s, b: any_of(C(s), lambda c: (ses(s, b).car == c) & (s.carrier[c].cur == b))
    out["car's proc"] = lambda s, b: any_of(C(s), lambda c: (ses(s, b).car == c) & (s.carrier[c].proc == b))
    out["poll_owner's batch"] = lambda s, b: any_of(
        C(s), lambda c: (ses(s, b).poll_owner == c) & X.fifo_has(s.carrier[c].batch, b))
    loc: Enum = carrier_fields["loc"]
    for r in ("car", "poll_owner", "lease_owner"):
        for v in loc.values:
            out[f"{r}'s loc={v}"] = partial(_ref_loc, r, v)
    out["pm_alive"] = lambda s, b: s.env.pm_alive
    return out


def carrier_atoms(fields: dict[str, Any], session_fields: dict[str, Any]) -> dict[str, Atom]:
    out = _field_atoms(fields, "carrier")
    S = lambda s: list(s.session.ids())  # noqa: E731
    out["proc=cur"] = lambda s, c: s.carrier[c].proc == s.carrier[c].cur
    out["cur's car"] = lambda s, c: any_of(S(s), lambda b: (s.carrier[c].cur == b) & (s.session[b].car == c))
    for f in ("pc", "ps", "q"):
        ty: Enum = session_fields[f]
        for v in ty.values:
            out[f"cur's {f}={v}"] = partial(_cur_field, f, v)
    out["batch all polling, owned"] = lambda s, c: all_of(S(s), lambda b: X.implies(
        X.fifo_has(s.carrier[c].batch, b), (s.session[b].q == "polling") & (s.session[b].poll_owner == c)))
    out["pm_alive"] = lambda s, c: s.env.pm_alive
    return out


def atoms_for(kinds: dict[str, Any]) -> dict[str, dict[str, Atom]]:
    """kind -> atom name -> atom, for the pooled model's kinds."""
    if "session" not in kinds or "carrier" not in kinds:
        return {}
    sf, cf = kinds["session"].fields, kinds["carrier"].fields
    return {"session": session_atoms(sf, cf), "carrier": carrier_atoms(cf, sf)}
