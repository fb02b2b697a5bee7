"""How long `pgcheck simulate` takes to find each seeded safety mutation of the catalogue at
3 carriers x 5 sessions (5 sessions in the per-session modes) with every option on.

    .venv/bin/python benchmarks/simulate_catalogue.py [--engine native|python] [--seed N] [NAME ...]

For each mutation it tries, in order, until one finds a violation: plain walks, a swarm over
the configuration asked for (depth and preferred actions vary), and swarms over 3 and 6
option mixes; each try gets at most --walks walks. Printed as a Markdown table for
benchmarks/RESULTS.md; the tries that found each one are what tests/test_simulate_catalogue.py
replays with fixed seeds. Liveness mutations are listed as not applicable: a walk checks
safety only.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from pgcheck.checker.explicit.simulate import Plan, Simulator, broken_property
from pgcheck.model.config import ModelConfig
from pgcheck.model.mutations import CATALOGUE, get

from pgcheck.commands.simulate import SimProgressPrinter, build_arms, every_option_config

TRIES = ((False, 1), (True, 1), (True, 3), (True, 6))  # (swarm, option mixes)


def catalogue_config(name: str) -> ModelConfig:
    """Every option on at 3x5 in the mutation's mode (`pgcheck simulate --every-option`)."""
    mode = get(name).smallest.mode
    return every_option_config(mode, 3 if mode == "pooled" else None, 5, name)


def hunt(name: str, engine: str, seed: int, walks: int, depth: int) -> dict[str, Any]:
    cfg = catalogue_config(name)
    quiet = SimProgressPrinter(False)
    built = walking = 0.0  # over every try so far: the time to find includes the tries that did not
    for swarm, mixes in TRIES:
        t0 = time.monotonic()
        arms = build_arms(cfg, name, None, engine, mixes, seed, quiet)
        built += time.monotonic() - t0
        result = Simulator(arms, Plan(seed, depth, swarm), walks=walks).run()
        walking += result.elapsed
        if result.failure is not None:
            f = result.failure
            prop = broken_property(arms[f.arm].cm, f)
            return {
                "name": name, "swarm": swarm, "mixes": mixes, "found": prop, "walk": f.index, "steps": f.steps,
                "seconds": walking, "build": built, "arm": arms[f.arm].label, "engine": arms[0].stepper.engine,
                "poll_steps": cfg.options.get("poll_steps"),
            }
    return {"name": name, "found": None, "walks": walks}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*")
    ap.add_argument("--engine", default="native")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--walks", type=int, default=5000)
    ap.add_argument("--depth", type=int, default=300)
    args = ap.parse_args()
    names = args.names or [m.name for m in CATALOGUE]
    print("| mutation | expected | found | how | walk | walking s (all tries) | build s (all tries) |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        m = get(name)
        if m.liveness:
            print(f"| {name} | {m.expected} | n/a (liveness) | | | | |", flush=True)
            continue
        r = hunt(name, args.engine, args.seed, args.walks, args.depth)
        if r["found"] is None:
            print(f"| {name} | {m.expected} | not found in {args.walks} walks per try | | | | |", flush=True)
            continue
        how = ("swarm" if r["swarm"] else "plain") + (f", {r['mixes']} mixes (arm {r['arm']})" if r["mixes"] > 1 else "")
        print(
            f"| {name} | {m.expected} | {r['found']} | {how} | {r['walk']} | {r['seconds']:.2f} | {r['build']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
