"""How long `pgcheck simulate` takes to find each seeded safety mutation of the catalogue at
3 carriers x 5 sessions (5 sessions in the per-session modes) with every option on.

    .venv/bin/python benchmarks/simulate_catalogue.py [--engine native|python] [--seed N] [--walks N] [--write] [NAME ...]

For each mutation it tries, in order, until one finds a violation: plain walks, a swarm over
the configuration asked for (depth and preferred actions vary), swarms over 3 and 6 option
mixes, and last a weighted swarm over the configuration asked for (`--swarm=weights`: a
weight per action); each try gets at most --walks walks. Printed as a Markdown table; --write also
replaces the section between this script's markers in benchmarks/RESULTS.md. The tries that
found each one are what tests/test_simulate_catalogue.py replays with fixed seeds. Liveness
mutations are listed as not applicable: a walk checks safety properties only.

benchmarks/run.py calls `rows` and `section` (and `write_section`) with its own budget.
Benchmarks are not tests: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pgcheck.checker.explicit.simulate import Plan, Simulator, broken_property
from pgcheck.model.config import ModelConfig
from pgcheck.model.mutations import CATALOGUE, get

from pgcheck.commands.simulate import SimProgressPrinter, build_arms, every_option_config

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
BEGIN, END = "<!-- benchmarks/simulate_catalogue.py: begin -->", "<!-- benchmarks/simulate_catalogue.py: end -->"
TITLE = "`pgcheck simulate`: time to each seeded bug (`benchmarks/simulate_catalogue.py`)"
# (how walks are drawn, option mixes); appended only, so that a recorded find keeps its walk number
TRIES = (("plain", 1), ("swarm", 1), ("swarm", 3), ("swarm", 6), ("weights", 1))
HEADER = [
    "| mutation | expected | found | how | walk | steps | to find s | walking s | build s |",
    "|---|---|---|---|---|---|---|---|---|",
]


def catalogue_config(name: str) -> ModelConfig:
    """Every option on at 3x5 in the mutation's mode (`pgcheck simulate --every-option`)."""
    mode = get(name).smallest.mode
    return every_option_config(mode, 3 if mode == "pooled" else None, 5, name)


def hunt(name: str, engine: str, seed: int, walks: int, depth: int) -> dict[str, Any]:
    """The tries of TRIES in order until one finds a violation; times summed over every try so
    far (the time to find includes the tries that did not)."""
    cfg = catalogue_config(name)
    quiet = SimProgressPrinter(False)
    built = walking = 0.0
    for how, mixes in TRIES:
        t0 = time.monotonic()
        arms = build_arms(cfg, name, None, engine, mixes, seed, quiet)
        built += time.monotonic() - t0
        result = Simulator(arms, Plan.named(how, seed, depth), walks=walks).run()
        walking += result.elapsed
        if result.failure is not None:
            f = result.failure
            return {
                "name": name, "how": how, "mixes": mixes, "found": broken_property(arms[f.arm].cm, f),
                "walk": f.index, "steps": f.steps, "seconds": walking, "build": built, "arm": arms[f.arm].label,
                "engine": arms[0].stepper.engine, "poll_steps": cfg.options.get("poll_steps"),
            }
    return {"name": name, "found": None, "walks": walks, "seconds": walking, "build": built}


def row(name: str, engine: str, seed: int, walks: int, depth: int) -> str:
    m = get(name)
    if m.liveness:
        return f"| {name} | {m.expected} | n/a (liveness) | | | | | | |"
    r = hunt(name, engine, seed, walks, depth)
    grain = " (poll_steps off)" if m.smallest.mode == "pooled" and r.get("poll_steps") is False else ""
    if r["found"] is None:
        return (f"| {name}{grain} | {m.expected} | not found in {walks:,} walks per try | | | | "
                f"{r['seconds'] + r['build']:.1f} | {r['seconds']:.1f} | {r['build']:.1f} |")
    how = {"plain": "plain", "swarm": "swarm", "weights": "weighted swarm"}[r["how"]] + (f", {r['mixes']} mixes (arm {r['arm']})" if r["mixes"] > 1 else "")
    return (f"| {name}{grain} | {m.expected} | {r['found']} | {how} | {r['walk']} | {r['steps']} | "
            f"{r['seconds'] + r['build']:.1f} | {r['seconds']:.2f} | {r['build']:.1f} |")


def rows(
    walks: int = 5000, *, engine: str = "native", seed: int = 1, depth: int = 300, names: list[str] | None = None,
    on_row: Callable[[str], None] | None = None,
) -> list[str]:
    """One table row per mutation (every one of the catalogue by default), liveness ones as n/a."""
    out = []
    for name in names or [m.name for m in CATALOGUE]:
        out.append(row(name, engine, seed, walks, depth))
        if on_row is not None:
            on_row(out[-1])
    return out


def section(table: list[str], *, walks: int, engine: str, seed: int, depth: int, command: str) -> str:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    return "\n".join([
        BEGIN,
        f"Measured by `{command}` on {time.strftime('%Y-%m-%d')} ({machine}): every mutation of the",
        "catalogue at 3 carriers × 5 sessions (5 sessions in the per-session modes) with every option on",
        f"(`pgcheck simulate --every-option`, design model), seed {seed}, depth {depth}, {engine} stepper, at most",
        f"{walks:,} walks per try; the tries, in order: plain walks, a swarm of the configuration asked for, swarms",
        "over 3 and over 6 option mixes, a weighted swarm (`--swarm=weights`). \"walk\" is the 0-based number of",
        "the walk that found it and \"steps\" its length; \"to find\" is building plus walking over every try up to the one that found it (\"build\": tracing,",
        "compiling and, for the native stepper, the C compile, which is cached by content and so paid once per",
        "machine); every action property and invariant is checked on every step. tests/test_simulate_catalogue.py",
        "replays each find.",
        "",
        *HEADER,
        *table,
        END,
    ])


def write_section(text: str) -> None:
    """Replace this script's section of RESULTS.md between its markers (appended the first time)."""
    doc = RESULTS.read_text()
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        doc = head + text + rest.split(END, 1)[1]
    else:
        doc = doc.rstrip() + f"\n\n## {TITLE}\n\n" + text + "\n"
    RESULTS.write_text(doc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*")
    ap.add_argument("--engine", default="native", choices=("native", "python"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--walks", type=int, default=5000, help="walks per try at most")
    ap.add_argument("--depth", type=int, default=300)
    ap.add_argument("--write", action="store_true", help=f"also replace this section of {RESULTS.name}")
    args = ap.parse_args()
    print("\n".join(HEADER), flush=True)
    table = rows(args.walks, engine=args.engine, seed=args.seed, depth=args.depth, names=args.names or None,
                 on_row=lambda line: print(line, flush=True))
    if args.write:
        command = "python benchmarks/simulate_catalogue.py " + " ".join(sys.argv[1:])
        write_section(section(table, walks=args.walks, engine=args.engine, seed=args.seed, depth=args.depth,
                              command=command.strip()))


if __name__ == "__main__":
    main()
