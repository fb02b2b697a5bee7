"""Hypothesis profiles for the whole suite.

The default profile is derandomized: the test command gives the same examples on every
machine, so a red run is a reproducible bug, not luck. `--hypothesis-profile=random` draws
fresh examples (and `HYPOTHESIS_SEED`-free runs) for hunting on demand.
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("default-derandomized", derandomize=True)
settings.register_profile("random", derandomize=False)
settings.load_profile("default-derandomized")
