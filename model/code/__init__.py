"""The code model: the C scheduler of samwillis/multithreaded-postgres at c2c6ec31, at the
code's grain (ARCHITECTURE Decision 7; docs/code-map.md). `build_code(cfg)` builds it."""

from pgcheck.model.code.build import CODE_COMMIT, CODE_MODEL_NAME, build_code

__all__ = ["CODE_COMMIT", "CODE_MODEL_NAME", "build_code"]
