"""Exporters for independent checkers: the model as Promela (`promela`, `promela_expr`)
and running Spin on it (`spin`), state for state the same space as pgcheck's.

Entry points: `promela.spec_to_promela`, `spin.verify`. May import: `lang`, `errors`.
"""
