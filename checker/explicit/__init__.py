"""Explicit-state engines (ARCHITECTURE Decision 2): breadth-first exploration over
canonical states, symmetry reduction, action coverage; `native/` generates the model as C
and explores it without Python per state (one process, several workers, or Ray);
`simulate` runs seeded random walks over the same successor functions.

Entry points: `explore.Explorer` (the reference semantics), `native.explorer.NativeExplorer`,
`simulate.Simulator`.
May import: `lang`, `errors`, `memory`.
"""
