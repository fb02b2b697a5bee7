"""Liveness: the explored state graph in compact form, fair-cycle search under weak and
strong fairness, lassos, and the sentence that says why a lasso is a violation.

Entry point: `check.check_liveness` (every temporal property of a model over one graph).
May import: `lang`, `explicit`, `errors`, `memory`.
"""
