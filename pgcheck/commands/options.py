"""Option types shared by the verbs."""

from __future__ import annotations

import math
from typing import Any

import click


class FiniteFloatRange(click.FloatRange):
    """A FloatRange that refuses NaN and infinities: NaN passes every comparison of a plain
    range (`--time-limit nan` would mean no limit, `--checkpoint-every nan` never)."""

    name = "finite float range"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number; give a number such as 30", param, ctx)
        return number
