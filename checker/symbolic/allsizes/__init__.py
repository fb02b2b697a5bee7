"""The all-sizes proof: the model traced over symbolic instances (`trace`), encoded with
instances as uninterpreted sorts (`encode`), proven by Houdini for every pool size
(`proof`); `runtime` holds the runtime model's traced sizes and candidates.

Entry point: `proof.prove_all_sizes`. May import: `lang`, `symbolic`, `errors`.
"""
