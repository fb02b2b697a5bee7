"""Exporters for independent checkers, state for state the same space as pgcheck's: the
model as Promela (`promela`, `promela_expr`) and running Spin on it (`spin`); the model as
Murphi, sessions and carriers as scalarsets (`murphi`, `murphi_expr`) and running Rumur on it
(`rumur`); `ir_walk`, the walk over the IR both translators share.

Entry points: `promela.spec_to_promela`, `spin.verify`, `murphi.spec_to_murphi`, `rumur.verify`.
May import: `lang`, `errors`.
"""
