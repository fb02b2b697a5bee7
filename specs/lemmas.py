"""Strengthening lemmas: facts of reachable states that make safety invariants inductive.

An invariant of §4 is often not inductive alone: some unreachable state satisfies it and
steps to one that does not (a counterexample to induction, docs/symbolic.md). A lemma
rules such states out. Each lemma is itself proven by `pgcheck prove` together with the
invariants (Houdini: a lemma that is not inductive is dropped and reported, never
assumed), so a lemma can only help a proof, never make a false one.

Each has an id (`LM<n>`), a statement, the runtime shapes it speaks of, and `why`: the
counterexample to induction it removes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pgcheck.checker.lang import expr as X
from pgcheck.checker.lang.expr import all_of, implies


@dataclass(frozen=True)
class Lemma:
    id: str
    statement: str
    why: str
    modes: tuple[str, ...]
    fn: Callable[[Any], object]


def _untouched_start(s: Any) -> object:
    """LM1: a logical start waiting in pooled_protocol_queue was never attached (§2.1 DETACHED)."""
    S, C = list(s.session.ids()), list(s.carrier.ids())
    newconn = s.sched.newconn

    def fresh(b: int) -> X.Expr:
        ses = s.session[b]
        return X.and_(
            ses.pc == "new",
            X.is_null(ses.car),
            X.is_null(ses.ecar),
            ses.q == "none",
            ses.ps == "none",
            all_of(C, lambda c: (s.carrier[c].cur != b) & (s.carrier[c].proc != b) & ~X.fifo_has(s.carrier[c].batch, b)),
        )

    return X.and_(
        all_of(S, lambda b: implies(X.fifo_has(newconn, b), fresh(b))),
        all_of(S, lambda b: X.fifo_len(X.fifo_filter(newconn, lambda x: x == b)) <= 1),
        all_of(S, lambda b: implies(s.session[b].pc == "new", X.fifo_has(newconn, b))),
    )


def _batch_is_polling(s: Any) -> object:
    """LM2: a backend in a poller's batch is POLLING, owned by that poller, and in one batch only (T5)."""
    S, C = list(s.session.ids()), list(s.carrier.ids())
    return X.and_(
        all_of(C, lambda c: all_of(S, lambda b: implies(
            X.fifo_has(s.carrier[c].batch, b), (s.session[b].q == "polling") & (s.session[b].poll_owner == c)))),
        all_of(C, lambda c: all_of(S, lambda b: X.fifo_len(X.fifo_filter(s.carrier[c].batch, lambda x: x == b)) <= 1)),
        all_of(S, lambda b: implies(
            s.session[b].q == "polling",
            X.not_null(s.session[b].poll_owner) & X.fifo_has(s.carrier[s.session[b].poll_owner].batch, b))),
    )


def _leased_is_owned(s: Any) -> object:
    """LM3: a LEASED backend has a lease owner, and only a leased backend has one (T6)."""
    S = list(s.session.ids())
    return all_of(S, lambda b: (s.session[b].q == "leased") == X.not_null(s.session[b].lease_owner))


LEMMAS: list[Lemma] = [
    Lemma("LM1", "a session in pooled_protocol_queue is there once, never attached, in no other queue or batch; pc = new only there",
          "CTI of S1/S2/S3: TakeNewConnection attaches a queued start that some carrier already runs", ("pooled",), _untouched_start),
    Lemma("LM2", "a backend in a poller's batch is POLLING, owned by that poller, once; a POLLING backend is in its owner's batch",
          "CTI of S6/S8/S17: PollPass re-queues a batch member that is also queued elsewhere", ("pooled",), _batch_is_polling),
    Lemma("LM3", "q = LEASED exactly when the backend has a lease owner",
          "CTI of S18: AttachLeased by a carrier whose lease was never recorded", ("pooled",), _leased_is_owned),
]


def _found_fn(kind: str, ante: str, cons: tuple[str, ...]) -> Callable[[Any], object]:
    from pgcheck.checker.symbolic.lemma_search import parse_lit
    from pgcheck.specs.lemma_atoms import atoms_for

    def lit(s: Any, i: int, text: str) -> object:
        name, pol = parse_lit(text)
        atoms = atoms_for(s._rec.layout.kinds)[kind]
        if name not in atoms:
            raise KeyError(f"no atom {name!r} in specs/lemma_atoms.py")
        v = X.lift_bool(atoms[name](s, i))
        return v if pol else ~v

    def fn(s: Any) -> object:
        return all_of(list(getattr(s, kind).ids()), lambda i: implies(
            X.lift_bool(True) if ante == "true" else lit(s, i, ante), X.and_(*(lit(s, i, c) for c in cons))))

    return fn


def found_lemmas() -> list[Lemma]:
    """specs/lemmas_found.py as lemmas (pooled mode: the atoms speak of carriers' batches)."""
    from pgcheck.specs.lemmas_found import FOUND

    return [
        Lemma(lid, f"every {kind}: " + (f"{ante} => " if ante != "true" else "") + ", ".join(cons),
              "found by the lemma search (docs/symbolic.md): true in every reachable state of a small size, inductive there",
              ("pooled",), _found_fn(kind, ante, cons))
        for lid, kind, ante, cons in FOUND
    ]


def lemmas_for(mode: str, found: bool = True) -> list[Lemma]:
    out = [lm for lm in LEMMAS if mode in lm.modes]
    if found:
        out += [lm for lm in found_lemmas() if mode in lm.modes]
    return out
