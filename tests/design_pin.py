"""CLI tests written for the design model's figures pin it: `explore` and `list` default to the
code model (docs/code-map.md), so these helpers add `--model=design` unless a test names a model
or seeds a mutation (mutations are design-model only and select it themselves)."""

from __future__ import annotations

PINNED = ("explore", "list")


def pin_design(args: list[str] | tuple[str, ...]) -> list[str]:
    out = list(args)
    if not out or out[0] not in PINNED:
        return out
    if any(a == "--model" or a.startswith("--model=") or a == "--resume" for a in out):
        return out
    if any(a == "--mutation" or a.startswith("--mutation=") for a in out):
        return out
    return [out[0], "--model=design", *out[1:]]
