"""Symmetry reduction: a canonical representative of every state's orbit.

A symmetry group is a list of entity kinds whose instances are permuted together
(sessions; carriers; or, in the per-session runtime shapes, a session together with its
own carrier). The canonical form of a state is the least state, in tuple order, among
the permutations that sort every group's instances by a permutation-invariant
signature. Because the signature does not depend on instance names, two states of one
orbit have the same candidate set, so the form is exact (not a heuristic): it merges
exactly the states of one orbit. Ties in the signature are broken by trying every
permutation within the tie, which keeps it exact and is cheap because ties are small
except in near-initial states.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pgcheck.checker.lang.spec import TracedModel
from pgcheck.checker.lang.types import NULL_REF, Fifo, Ref, Set

State = tuple[Any, ...]


class Canonicalizer:
    def __init__(self, model: TracedModel, groups: list[list[str]] | None = None) -> None:
        self.model = model
        self.groups = model.symmetry if groups is None else groups
        self.group_of_kind = {k: gi for gi, kinds in enumerate(self.groups) for k in kinds}
        slots = model.slots
        # Where each slot moves: (group index or -1, kind, instance, field).
        self.owner: list[int] = []
        for info in slots:
            gi = self.group_of_kind.get(info.kind, -1) if info.instance is not None else -1
            self.owner.append(gi)
        # How each slot's value is renamed: (group index, type code) or None.
        self.value_map: list[tuple[int, str] | None] = []
        for info in slots:
            ty = info.ty
            target = ty.kind if isinstance(ty, (Ref, Fifo)) else (ty.of if isinstance(ty, Set) and isinstance(ty.of, str) else None)
            if target is not None and target in self.group_of_kind:
                code = "ref" if isinstance(ty, Ref) else "fifo" if isinstance(ty, Fifo) else "set"
                self.value_map.append((self.group_of_kind[target], code))
            else:
                self.value_map.append(None)
        self.slot_of = model.slot_of
        self.counts = [model.kinds[kinds[0]].count or 0 for kinds in self.groups]
        self._signature_plan = self._plan_signatures()

    @property
    def active(self) -> bool:
        return bool(self.groups) and any(n > 1 for n in self.counts)

    # ---- applying a permutation
    def permute(self, s: State, perms: list[tuple[int, ...]]) -> State:
        """Rename instance i of group g to perms[g][i] everywhere in `s`."""
        n: list[Any] = [None] * len(s)
        slots = self.model.slots
        for j, value in enumerate(s):
            vm = self.value_map[j]
            if vm is not None:
                p = perms[vm[0]]
                if vm[1] == "ref":
                    value = p[value] if value != NULL_REF else NULL_REF
                elif vm[1] == "fifo":
                    value = tuple(p[x] for x in value)
                else:
                    m = 0
                    i = 0
                    while value >> i:
                        if (value >> i) & 1:
                            m |= 1 << p[i]
                        i += 1
                    value = m
            g = self.owner[j]
            if g < 0:
                n[j] = value
            else:
                info = slots[j]
                n[self.slot_of[(info.kind, perms[g][info.instance], info.field)]] = value  # type: ignore[index]
        return tuple(n)

    # ---- signatures
    def _plan_signatures(self) -> list[list[Callable[[State, int], Any]]]:
        """Per group, functions (state, instance) -> permutation-invariant features."""
        plans: list[list[Callable[[State, int], Any]]] = []
        for gi, kinds in enumerate(self.groups):
            feats: list[Any] = []
            for kind in kinds:
                for fname, _ty in self.model.kinds[kind].fields.items():
                    idxs = [self.slot_of[(kind, i, fname)] for i in range(self.counts[gi])]
                    vm = self.value_map[idxs[0]]
                    if vm is None:
                        feats.append(lambda s, i, idxs=idxs: s[idxs[i]])
                    elif vm[1] == "ref":
                        # Whether it points into its own group at itself is invariant too.
                        same = vm[0] == gi
                        feats.append(
                            lambda s, i, idxs=idxs, same=same: (
                                -1 if s[idxs[i]] == NULL_REF else (2 if same and s[idxs[i]] == i else 1)
                            )
                        )
                    elif vm[1] == "fifo":
                        feats.append(lambda s, i, idxs=idxs: len(s[idxs[i]]))
                    else:
                        feats.append(lambda s, i, idxs=idxs: bin(s[idxs[i]]).count("1"))
            # Incoming references from slots not moved by this group: FIFO positions and
            # referrer counts. Both are invariant under renaming this group.
            for j in range(len(self.model.slots)):
                vm = self.value_map[j]
                if vm is None or vm[0] != gi:
                    continue
                if self.owner[j] == -1 and vm[1] == "fifo":
                    feats.append(lambda s, i, j=j: s[j].index(i) if i in s[j] else -1)
                elif self.owner[j] == -1 and vm[1] == "ref":
                    feats.append(lambda s, i, j=j: s[j] == i)
                elif self.owner[j] == -1 and vm[1] == "set":
                    feats.append(lambda s, i, j=j: (s[j] >> i) & 1)
            ref_groups: dict[tuple[str, str], list[int]] = {}
            for j, info in enumerate(self.model.slots):
                vm = self.value_map[j]
                if vm is not None and vm[0] == gi and vm[1] == "ref" and self.owner[j] >= 0 and self.owner[j] != gi:
                    ref_groups.setdefault((info.kind, info.field), []).append(j)
            for js in ref_groups.values():
                feats.append(lambda s, i, js=js: sum(1 for j in js if s[j] == i))
            plans.append(feats)
        return plans

    def signature(self, s: State, gi: int, i: int) -> tuple[Any, ...]:
        return tuple(f(s, i) for f in self._signature_plan[gi])

    # ---- canonical form
    def candidate_perms(self, s: State) -> list[list[tuple[int, ...]]]:
        per_group: list[list[tuple[int, ...]]] = []
        for gi, n in enumerate(self.counts):
            sigs = [self.signature(s, gi, i) for i in range(n)]
            order = sorted(range(n), key=lambda i: sigs[i])
            # Split the sorted order into runs of equal signature; permute within runs.
            runs: list[list[int]] = []
            for i in order:
                if runs and sigs[runs[-1][0]] == sigs[i]:
                    runs[-1].append(i)
                else:
                    runs.append([i])
            options: list[tuple[int, ...]] = []
            for choice in itertools.product(*(itertools.permutations(r) for r in runs)):
                seq = [i for run in choice for i in run]  # seq[new] = old
                p = [0] * n
                for new, old in enumerate(seq):
                    p[old] = new
                options.append(tuple(p))
            per_group.append(options)
        return [list(c) for c in itertools.product(*per_group)]

    def canonical(self, s: State) -> State:
        best: State | None = None
        for perms in self.candidate_perms(s):
            t = self.permute(s, perms)
            if best is None or t < best:
                best = t
        assert best is not None
        return best

    # ---- the same, generated as straight-line Python (what the explorer calls)
    def compiled(self) -> Callable[[State], State]:
        """canonical() as generated code: same result, without per-slot interpretation."""
        src, ns = _generate(self)
        exec(compile(src, "<pgcheck symmetry>", "exec"), ns)
        fast: Callable[[State], State] = ns["canonical"]
        return fast


def _generate(cz: Canonicalizer) -> tuple[str, dict[str, Any]]:
    """Source of `canonical(s)`: signatures, tie handling and permutation as plain code."""
    model = cz.model
    slots = model.slots
    lines: list[str] = []
    # Signatures: one tuple per instance, per group.
    for gi in range(len(cz.groups)):
        n = cz.counts[gi]
        lines.append(f"def sigs_{gi}(s):")
        rows = []
        for i in range(n):
            feats = [PY_FEATURE[f.kind].format(j=f.slot, i=i, mark=f.self_mark, plus=f.plus) for f in signature_plan(cz, gi, i)]
            rows.append("(" + ", ".join(feats) + ",)")
        lines.append("    return [" + ", ".join(rows) + "]")
    # Raw own fields and "is referenced from anywhere" per instance: a tie run whose members
    # are identical and unreferenced permutes onto the same state, so it needs one candidate.
    for gi, kinds in enumerate(cz.groups):
        n = cz.counts[gi]
        own = []
        refd = []
        for i in range(n):
            own.append("(" + ", ".join(f"s[{cz.slot_of[(k, i, f)]}]" for k in kinds for f in model.kinds[k].fields) + ",)")
            terms = []
            for j in range(len(slots)):
                vm = cz.value_map[j]
                if vm is None or vm[0] != gi:
                    continue
                if vm[1] == "ref":
                    terms.append(f"s[{j}] == {i}")
                elif vm[1] == "fifo":
                    terms.append(f"{i} in s[{j}]")
                else:
                    terms.append(f"(s[{j}] >> {i}) & 1")
            refd.append("(" + (" or ".join(terms) if terms else "False") + ")")
        lines.append(f"def own_{gi}(s): return [" + ", ".join(own) + "]")
        lines.append(f"def refd_{gi}(s): return [" + ", ".join(f"bool{r}" for r in refd) + "]")
    # Permutation: P[g][old] = new (renames values), I[g][new] = old (moves positions).
    lines.append("def permute(s, P, I):")
    for gi in range(len(cz.groups)):
        lines.append(f"    P{gi} = P[{gi}]; I{gi} = I[{gi}]")
    exprs: list[str] = []
    for j, info in enumerate(slots):
        g = cz.owner[j]
        if g < 0:
            src = f"s[{j}]"
        else:
            decl = model.kinds[info.kind]
            base = cz.slot_of[(info.kind, 0, info.field)]
            stride = len(decl.fields)
            src = f"s[{base} + {stride}*I{g}[{info.instance}]]"
        vm = cz.value_map[j]
        if vm is None:
            exprs.append(src)
        elif vm[1] == "ref":
            exprs.append(f"_ref(P{vm[0]}, {src})")
        elif vm[1] == "fifo":
            exprs.append(f"tuple([P{vm[0]}[x] for x in {src}])")
        else:
            exprs.append(f"_bits(P{vm[0]}, {src})")
    lines.append("    return (" + ", ".join(exprs) + ",)")
    # Canonical form: sort by signature, enumerate permutations within ties, keep the least.
    ng = len(cz.groups)
    lines.append("def canonical(s):")
    lines.append("    options = []")
    for gi in range(ng):
        lines.append(f"    sig = sigs_{gi}(s)")
        lines.append("    order = sorted(range(len(sig)), key=sig.__getitem__)")
        lines.append("    if all(sig[order[k]] != sig[order[k + 1]] for k in range(len(order) - 1)):")
        lines.append("        options.append([_inv(order)])")
        lines.append("    else:")
        lines.append(f"        options.append(_tie_perms(sig, order, own_{gi}(s), refd_{gi}(s)))")
    lines.append("    best = None")
    lines.append("    for combo in _product(*options):")
    lines.append("        P = [c[0] for c in combo]; I = [c[1] for c in combo]")
    lines.append("        t = permute(s, P, I)")
    lines.append("        if best is None or t < best: best = t")
    lines.append("    return best")
    ns: dict[str, Any] = {"_ref": _ref, "_bits": _bits, "_inv": _inv, "_tie_perms": _tie_perms, "_product": itertools.product}
    return "\n".join(lines) + "\n", ns


@dataclass(frozen=True)
class Feature:
    """One permutation-invariant feature of instance i of a symmetry group, read from slot
    `slot` (or, for "count", from the slots in `plus`). Both engines render the same plan."""

    kind: str  # raw | ref | fifo_len | popcount | fifo_pos | is_ref | bit | count
    slot: int = -1
    self_mark: str = "1"  # ref: the value when it points into its own group at itself
    plus: str = ""  # count: the slots summed, as "j1,j2,..."


def signature_plan(cz: Canonicalizer, gi: int, i: int) -> list[Feature]:
    """Own fields (references abstracted), incoming references from unmoved slots (FIFO
    position, equality, set bit), and per (kind, field) counts of references from other
    groups: all invariant under renaming this group's instances."""
    model = cz.model
    out: list[Feature] = []
    for kind in cz.groups[gi]:
        for fname in model.kinds[kind].fields:
            j = cz.slot_of[(kind, i, fname)]
            vm = cz.value_map[j]
            if vm is None:
                out.append(Feature("raw", j))
            elif vm[1] == "ref":
                out.append(Feature("ref", j, "2" if vm[0] == gi else "1"))
            else:
                out.append(Feature("fifo_len" if vm[1] == "fifo" else "popcount", j))
    for j in range(len(model.slots)):
        vm = cz.value_map[j]
        if vm is not None and vm[0] == gi and cz.owner[j] == -1:
            out.append(Feature({"fifo": "fifo_pos", "ref": "is_ref", "set": "bit"}[vm[1]], j))
    ref_groups: dict[tuple[str, str], list[int]] = {}
    for j, info in enumerate(model.slots):
        vm = cz.value_map[j]
        if vm is not None and vm[0] == gi and vm[1] == "ref" and cz.owner[j] >= 0 and cz.owner[j] != gi:
            ref_groups.setdefault((info.kind, info.field), []).append(j)
    out += [Feature("count", plus=",".join(map(str, js))) for js in ref_groups.values()]
    return out


# How each feature reads in Python; {j} slot, {i} instance, {mark} self mark, {plus} slots.
PY_FEATURE = {
    "raw": "s[{j}]",
    "ref": "(-1 if s[{j}] == -1 else ({mark} if s[{j}] == {i} else 1))",
    "fifo_len": "len(s[{j}])",
    "popcount": "bin(s[{j}]).count('1')",
    "fifo_pos": "(s[{j}].index({i}) if {i} in s[{j}] else -1)",
    "is_ref": "(s[{j}] == {i})",
    "bit": "((s[{j}] >> {i}) & 1)",
    "count": "sum(s[k] == {i} for k in ({plus},))",
}


def _ref(p: tuple[int, ...], v: int) -> int:
    return p[v] if v >= 0 else v


def _bits(p: tuple[int, ...], v: int) -> int:
    m, i = 0, 0
    while v >> i:
        if (v >> i) & 1:
            m |= 1 << p[i]
        i += 1
    return m


def _inv(order: list[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """order[new] = old  ->  (P: old -> new, I: new -> old)."""
    p = [0] * len(order)
    for new, old in enumerate(order):
        p[old] = new
    return tuple(p), tuple(order)


def _tie_perms(
    sig: list[Any], order: list[int], own: list[Any], refd: list[bool]
) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    runs: list[list[int]] = []
    for i in order:
        if runs and sig[runs[-1][0]] == sig[i]:
            runs[-1].append(i)
        else:
            runs.append([i])
    choices: list[list[tuple[int, ...]]] = []
    for run in runs:
        if len(run) > 1 and not any(refd[i] for i in run) and all(own[i] == own[run[0]] for i in run):
            choices.append([tuple(run)])  # identical and unreferenced: every order gives one state
        else:
            choices.append(list(itertools.permutations(run)))
    return [_inv([i for run in choice for i in run]) for choice in itertools.product(*choices)]
