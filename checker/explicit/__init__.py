"""Explicit-state engines (ARCHITECTURE Decision 2): breadth-first exploration over
canonical states, symmetry reduction, action coverage; `native/` generates the model as C
and explores it without Python per state (one process, several workers, or Ray).

Entry points: `explore.Explorer` (the reference semantics), `native.explorer.NativeExplorer`.
May import: `lang`, `errors`, `memory`.
"""
