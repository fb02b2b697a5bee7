"""Exporters for independent checkers, state for state the same space as pgcheck's: the
model as Promela (`promela`, `promela_expr`) and running Spin on it (`spin`); the model as
Murphi (`murphi`, `murphi_expr`) and running Rumur on it (`rumur`).

Entry points: `promela.spec_to_promela`, `spin.verify`, `murphi.spec_to_murphi`, `rumur.verify`.
May import: `lang`, `errors`.
"""
