"""The modeling language (ARCHITECTURE Decision 1): finite field types, the expression IR,
`Spec` (entity kinds, actions, properties), the compiler to flat-tuple Python functions,
the tree-walking interpreter that checks the compiler, and the model as a step oracle.

Entry points: `spec.Spec`, `expr` (as `X`), `compile.compile_model`, `oracle.ModelOracle`.
May import: `checker.errors` only.
"""
