"""Action coverage: per action (parameters collapsed), how often it was enabled and how
often it produced a new state; the actions that never fired.

In an exhaustive breadth-first search every binding enabled in an explored state is
fired there once, so "enabled" (states where its guard held) and "fired" are the same
count; "new" counts the firings that reached a state not seen before.
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
    new_states: int

    @property
    def dead(self) -> bool:
        return self.enabled == 0


def coverage(model: TracedModel, result: Result) -> list[ActionCoverage]:
    rows = {a.name: ActionCoverage(a.name, 0, 0, 0) for a in model.actions}
    for b in model.bindings:
        row = rows[b.action]
        row.bindings += 1
        if b.index < len(result.fired):
            row.enabled += result.fired[b.index]
            row.new_states += result.new_states[b.index]
    return list(rows.values())


def coverage_lines(rows: list[ActionCoverage]) -> list[str]:
    out = ["action coverage (enabled = fired in an exhaustive search; new = reached an unseen state):"]
    for r in rows:
        note = "" if r.bindings else "  (no binding in this configuration)"
        out.append(f"  {r.action:<20} enabled {r.enabled:>9,}  new {r.new_states:>9,}{note}")
    return out


def dead_line(rows: list[ActionCoverage]) -> str:
    dead = [r.action for r in rows if r.dead]
    return "actions that never fired: " + (", ".join(dead) if dead else "none")
