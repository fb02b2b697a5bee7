"""Loading Z3, the symbolic engines' solver (ARCHITECTURE Decision 6).

Every symbolic module imports z3 through `z3mod()`, so a missing solver is one clear
line (exit 2) instead of a traceback at import time.
"""

from __future__ import annotations

from types import ModuleType

from pgcheck.checker.errors import UsageError


def z3mod() -> ModuleType:
    try:
        import z3
    except ModuleNotFoundError:
        raise UsageError(
            "the symbolic engines need the Z3 solver: install it with 'pip install z3-solver' "
            "(it comes with 'pip install -e .')"
        ) from None
    return z3
