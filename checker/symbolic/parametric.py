"""`prove --parametric`: inductiveness across pool sizes, reported per invariant.

Two questions per invariant. The sweep proves every size (carriers ≤ sessions ≤
--max-size) one by one and reports the largest N such that it is proven inductive at
every size with at most N sessions, or why not (CTI, unknown, time limit). The all-sizes
proof (checker/symbolic/allsizes/proof.py) encodes instances as uninterpreted sorts and reports
"proven for all sizes" only where Z3 settles the quantified question; an invariant that
counts instances or speaks of FIFO order or lengths is reported not provable that way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pgcheck.checker.symbolic.allsizes.proof import AllSizesResult
from pgcheck.checker.symbolic.prove import run_prove
from pgcheck.model import load, make_config

ALL_SIZES_TEXT = {
    "proven": "proven for all sizes",
    "cti": "not proven for all sizes (CTI)",
    "initial": "not proven for all sizes (initial)",
    "unknown": "not proven for all sizes (unknown)",
    "timeout": "not proven for all sizes (timeout)",
    "unsupported": "not provable for all sizes",
}


@dataclass
class Row:
    id: str
    lemma: bool
    statement: str
    up_to: int = 0  # proven at every size with at most this many sessions
    failed: str = ""  # first size and reason where it was not proven
    all_sizes: str = ""  # status of the all-sizes proof (ALL_SIZES_TEXT), "" if not run
    all_reason: str = ""

    def all_sizes_text(self) -> str:
        if not self.all_sizes:
            return "all sizes not checked"
        why = f": {self.all_reason}" if self.all_reason and self.all_sizes != "proven" else ""
        return ALL_SIZES_TEXT[self.all_sizes] + why


@dataclass
class Table:
    mode: str
    sizes: list[tuple[int, int, float]] = field(default_factory=list)  # carriers, sessions, seconds
    rows: dict[str, Row] = field(default_factory=dict)
    stopped: str = ""
    lemmas_used: list[str] = field(default_factory=list)
    all_sizes_seconds: float | None = None

    def lines(self) -> list[str]:
        out = [f"pgcheck prove --parametric: {self.mode}; sizes (carriers, sessions) checked: "
               + ", ".join(f"({c},{s}) {t:.1f}s" for c, s, t in self.sizes)]
        if self.stopped:
            out.append(f"stopped early: {self.stopped}")
        if self.all_sizes_seconds is not None:
            proven = [r.id for r in self.rows.values() if r.all_sizes == "proven"]
            out.append(f"for all sizes (uninterpreted sorts, {self.all_sizes_seconds:.1f}s): "
                       + (", ".join(proven) if proven else "nothing") + " proven")
        for r in self.rows.values():
            status = f"proven up to {r.up_to} sessions" if r.up_to else "not proven at any size"
            tail = f"; then {r.failed}" if r.failed else ""
            out.append(f"  {r.id:<4} {status:<28} {'lemma ' if r.lemma else ''}{r.statement}{tail}; {r.all_sizes_text()}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "sizes": [{"carriers": c, "sessions": s, "seconds": round(t, 2)} for c, s, t in self.sizes],
            "stopped": self.stopped,
            "all_sizes": {"proven": [r.id for r in self.rows.values() if r.all_sizes == "proven"],
                          "seconds": None if self.all_sizes_seconds is None else round(self.all_sizes_seconds, 2)},
            "invariants": [{"id": r.id, "lemma": r.lemma, "proven_up_to_sessions": r.up_to, "first_failure": r.failed,
                            "all_sizes": r.all_sizes, "all_sizes_reason": r.all_reason}
                           for r in self.rows.values()],
        }

    def exit_code(self) -> int:
        rows = [r for r in self.rows.values() if not r.lemma]
        if any("CTI" in r.failed or "initial" in r.failed for r in rows):
            return 1
        return 3 if self.stopped or any(r.failed for r in rows) else 0


def sizes_for(mode: str, max_size: int) -> list[tuple[int | None, int]]:
    if mode != "pooled":
        return [(None, n) for n in range(1, max_size + 1)]
    return [(c, n) for n in range(1, max_size + 1) for c in range(1, n + 1)]


def sweep(
    mode: str,
    options: dict[str, Any],
    invariants: list[str] | None,
    with_lemmas: bool,
    max_size: int,
    time_limit: float | None,
    on_progress: Callable[[Any], None] | None = None,
    symmetric: bool = True,
    query_limit: float | None = None,
    fifo_choice: str = "auto",
) -> Table:
    t0 = time.monotonic()
    table = Table(mode)
    for carriers, sessions in sizes_for(mode, max_size):
        left = None if time_limit is None else time_limit - (time.monotonic() - t0)
        if left is not None and left <= 0:
            table.stopped = f"time limit before size ({carriers or sessions},{sessions})"
            break
        cfg = make_config(mode, carriers, sessions, options, max_carriers=max_size, max_sessions=max_size)
        run = run_prove(load(cfg), mode, invariants=invariants, with_lemmas=with_lemmas, time_limit=left,
                        on_progress=on_progress, symmetric=symmetric, query_limit=query_limit,
                        fifo_choice=fifo_choice, steps_too=False)
        table.sizes.append((cfg.carriers, sessions, run.result.elapsed))
        for v in run.result.verdicts:
            row = table.rows.setdefault(v.id, Row(v.id, v.lemma, run.props[v.id].statement))
            if row.failed:
                continue
            if v.status == "proven":
                row.up_to = sessions
            else:
                row.up_to = min(row.up_to, sessions - 1)
                kind = {"cti": "CTI", "initial": "false initially"}.get(v.status, v.status)
                row.failed = f"{kind} at ({cfg.carriers},{sessions}): {v.reason}"
        if any(v.status in ("unknown", "timeout") for v in run.result.verdicts):
            table.stopped = f"Z3 gave up at size ({cfg.carriers},{sessions})"
            break
    table.lemmas_used = [r.id for r in table.rows.values() if r.lemma]
    return table


def apply_all_sizes(table: Table, res: AllSizesResult) -> None:
    """The all-sizes verdict of every row (checker/symbolic/allsizes/proof.py)."""
    table.all_sizes_seconds = res.elapsed
    for v in res.verdicts:
        row = table.rows.get(v.id)
        if row is not None:
            row.all_sizes, row.all_reason = v.status, v.reason


def markdown_table(table: Table) -> str:
    """docs/proofs.md: regenerated by `pgcheck prove --parametric --markdown docs/proofs.md`."""
    out = [
        "# What is proven (generated)",
        "",
        "Generated by `pgcheck prove --parametric --max-size N --markdown docs/proofs.md`; do not edit by hand.",
        "See docs/symbolic.md for the method. Sizes are (carriers, sessions).",
        "",
        f"Mode: {table.mode}. Sizes checked: " + ", ".join(f"({c},{s}) in {t:.1f} s" for c, s, t in table.sizes) + ".",
        "",
    ]
    if table.all_sizes_seconds is not None:
        out += [f"For all sizes: instances as uninterpreted sorts, invariants quantified over them, FIFOs abstracted to "
                f"membership (docs/symbolic.md \"All sizes\"); {table.all_sizes_seconds:.1f} s.", ""]
    if table.stopped:
        out += [f"The sweep stopped early: {table.stopped}.", ""]
    out += ["| id | lemma | proven inductive at every size up to (sessions) | first failure | all sizes |",
            "|---|---|---|---|---|"]
    for r in table.rows.values():
        failed = r.failed.replace("|", "\\|") or "—"
        every = r.all_sizes_text().replace("|", "\\|")
        out.append(f"| {r.id} | {'yes' if r.lemma else ''} | {r.up_to or 'none'} | {failed} | {every} |")
    out.append("")
    return "\n".join(out)
