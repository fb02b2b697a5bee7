"""The PostgreSQL runtime model (scheduler-digest.md), written in pgcheck's modeling language.

`load(config, mutation=None)` builds the spec for one configuration; mutations (seeded
bugs) are small changes to named actions, declared in `model/mutations/`.
"""

from __future__ import annotations

from pgcheck.checker.lang.spec import Spec
from pgcheck.model.config import ModelConfig, make_config, parse_options
from pgcheck.model.runtime import MODEL_NAME, build

__all__ = ["MODEL_NAME", "ModelConfig", "build", "load", "make_config", "parse_options"]


def load(cfg: ModelConfig, mutation: str | None = None) -> Spec:
    """The model at `cfg` (the code model or the design model, `cfg.model`), with the named
    mutation of the catalogue applied if one is given (mutations are seeded into the design model)."""
    if cfg.model == "code":
        if mutation is not None:
            from pgcheck.checker.errors import UsageError

            raise UsageError(f"mutation {mutation} is seeded into the design model; add --model design")
        from pgcheck.model.code import build_code

        return build_code(cfg)
    if mutation is None:
        return build(cfg)
    from pgcheck.model.mutations import get

    return get(mutation).build(cfg)
