"""Action coverage: per action (parameters collapsed), how often it was enabled and how
often it produced a new state; the actions that never fired.

In an exhaustive breadth-first search every binding enabled in an explored state is
fired there once, so "enabled" (states where its guard held) and "fired" are the same
count; "new" counts the firings that reached a state not seen before. With several
workers two firings can reach the same new state in one level, and which counts as first
depends on thread timing, so "new" is given only for one worker (None otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

from pgcheck.checker.explicit.explore import Result
from pgcheck.checker.lang.spec import TracedModel


@dataclass
class ActionCoverage:
    action: str
    bindings: int  # parameter bindings whose guard is not statically false
    enabled: int  # explored states where some binding was enabled (= fired)
    new_states: int | None  # None: several workers (not repeatable)

    @property
    def dead(self) -> bool:
        return self.enabled == 0


def coverage(model: TracedModel, result: Result) -> list[ActionCoverage]:
    repeatable = result.workers <= 1
    rows = {a.name: ActionCoverage(a.name, 0, 0, 0 if repeatable else None) for a in model.actions}
    for b in model.bindings:
        row = rows[b.action]
        row.bindings += 1
        if b.index < len(result.fired):
            row.enabled += result.fired[b.index]
            if row.new_states is not None:
                row.new_states += result.new_states[b.index]
    return list(rows.values())


def coverage_lines(rows: list[ActionCoverage]) -> list[str]:
    out = ["action coverage (enabled = fired in an exhaustive search; new = reached an unseen state):"]
    for r in rows:
        note = "" if r.bindings else "  (no binding in this configuration)"
        new = "        -" if r.new_states is None else f"{r.new_states:>9,}"
        out.append(f"  {r.action:<20} enabled {r.enabled:>9,}  new {new}{note}")
    if any(r.new_states is None for r in rows):
        out.append("  (new: with one worker only; with several, which of two firings reaching one state counts first varies)")
    return out


def dead_line(rows: list[ActionCoverage]) -> str:
    dead = [r.action for r in rows if r.dead]
    return "actions that never fired: " + (", ".join(dead) if dead else "none")
