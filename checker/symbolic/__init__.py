"""Symbolic engines on Z3: the IR as terms (`encode`, `fifo_order`, `terms`), inductive
invariants with Houdini (`induction`, `orbits`, `representatives`), lemma mining, one
`prove` run (`prove`), the sweep across sizes (`parametric`), the proof for every size
(`allsizes/`), and bounded model checking (`bmc`).

Entry points: `prove.run_prove`, `parametric.sweep`, `bmc.run_bmc`, `allsizes.proof.prove_all_sizes`.
May import: `lang`, `explicit` (reachable states for lemma mining), `errors`, `memory`.
"""
