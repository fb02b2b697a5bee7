"""The modeling language and the engines that explore, prove and report (ARCHITECTURE Decision 9).

One package per subsystem; imports point one way, down this list
(tests/test_layering.py keeps it so):

- `errors`, `memory`: shared by every subsystem; import nothing of pgcheck.
- `input`, `output`, `printable` (above `errors`): the one reader and the one writer of files the user names, and the
  escaping of control characters for every printer (hostile input, docs/cli.md).
- `lang/`: the modeling language (types, expressions, specs, compile, interpret, oracle).
- `examples/`: small specs in the language, for the docs and the engine tests.
- `explicit/`: breadth-first explicit-state engines (Python and `explicit/native/`).
- `liveness/`, `symbolic/`, `export/`: fair cycles; Z3 proofs and BMC; Promela and Spin, Murphi and Rumur.
- `traces/`: ITF traces, `show`, the HTML viewer, counterexamples to induction.
- `run/`: one check run from a configuration to its summary (`explore`, `mutants`).
- `review/`: the design-review bundle (`report`).
"""
