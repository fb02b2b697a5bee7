"""Liveness: the explored state graph in compact form, fair-cycle search under weak and
strong fairness, lassos, and the sentence that says why a lasso is a violation. Two
implementations of one search: in Python over networkx (`check`, `graph`, `fair_cycles`),
and in C (`native`: `cgen_live` generates the predicates, `live.c` stores the graph in a few
bytes per state and edge and runs Tarjan; with symmetry on the quotient, whose paths `lift`
turns into concrete lassos).

Entry points: `check.check_liveness` (every temporal property of a model over one graph),
`native.NativeLiveness` (the same from the native engine's search).
May import: `lang`, `explicit`, `errors`, `memory`.
"""
