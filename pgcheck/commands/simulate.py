"""`pgcheck simulate`: seeded random walks over the runtime model, for configurations no
exhaustive search finishes (docs/simulate.md)."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import click

from pgcheck.checker.errors import UsageError
from pgcheck.checker.explicit.simulate import (
    Arm,
    Plan,
    SimProgress,
    Simulator,
    make_stepper,
    splitmix64,
    walk_seed,
)
from pgcheck.checker.memory import human_bytes, peak_rss_bytes
from pgcheck.checker.run.check import prepare
from pgcheck.checker.run.simulate import summary_dict, summary_lines, write_walk_trace
from pgcheck.model import load, make_config, parse_options
from pgcheck.model.code.params import CODE_PARAMS
from pgcheck.model.config import DESIGN_ONLY, MODELS, PARAM_BY_NAME, PARAMS, ModelConfig
from pgcheck.model.mutations import get as get_mutation
from pgcheck.model.vocabulary import CMD, MODES

MAX_SIM_SESSIONS = 32  # beyond explore's 12: walks do not store states
ENGINES = ("auto", "native", "python")
POOLED_ONLY = ("affinity_enforced", "poll_steps")
SWARMS = ("halves", "weights")  # --swarm alone: halves
GRAIN = ("poll_steps",)  # how finely the poller is modeled, not a behaviour: a swarm keeps it as asked
DEFAULT_WALKS = 10_000


def every_option(mode: str, sessions: int, model: str = "design") -> dict[str, Any]:
    """Every behaviour option on, every command, every client active, two of each interrupt;
    for the code model, its environment events too (the GUCs and fixes stay as the C code has them)."""
    out: dict[str, Any] = {}
    for p in PARAMS:
        if p.group == "option" and p.kind == "bool" and not (model == "code" and p.name in DESIGN_ONLY):
            out[p.name] = mode == "pooled" or p.name not in POOLED_ONLY
    if model == "code":
        out["carrier_death"] = mode == "pooled"
        out["reconnects"] = 1
    out["commands"] = tuple(CMD.values)
    out["messages"] = 2
    out["active_clients"] = min(sessions, PARAM_BY_NAME["active_clients"].hi)
    for name in ("cancels", "terminates", "reloads", "notifies", "reschedules", "transport_changes"):
        out[name] = 2
    return out


def every_option_config(
    mode: str, carriers: int | None, sessions: int, mutation: str | None, given: dict[str, Any] | None = None,
    model: str = "design",
) -> ModelConfig:
    """`every_option` at this size, with the options `given` on top; when `mutation` changes an
    action that only the other poller grain has (and poll_steps was not given), that grain."""
    opts = {**every_option(mode, sessions, model), **(given or {})}
    cfg = make_config(mode, carriers, sessions, opts, max_sessions=MAX_SIM_SESSIONS, model=model)
    if mutation is None or mode != "pooled" or model != "design" or "poll_steps" in (given or {}):
        return cfg
    try:
        load(cfg, mutation)
    except UsageError:
        opts["poll_steps"] = not opts["poll_steps"]
        cfg = make_config(mode, carriers, sessions, opts, max_sessions=MAX_SIM_SESSIONS, model=model)
    return cfg


def swarm_options(base: dict[str, Any], seed: int, arm: int) -> dict[str, Any]:
    """One arm's option mix: each behaviour option that is on in `base` stays on with
    probability 1/2, each bound is drawn from 0..its base value (active clients from 1),
    and the commands are a random non-empty subset of the base's."""
    x = walk_seed(seed, arm, salt=2)
    out = dict(base)

    def draw() -> int:
        nonlocal x
        x, r = splitmix64(x)
        return r

    for p in PARAMS:
        v = base.get(p.name, p.default)
        if p.group == "option" and p.kind == "bool" and v and p.name not in GRAIN:
            out[p.name] = bool(draw() & 1)
        elif p.group == "bound" and isinstance(v, int) and v > 0:
            lo = 1 if p.name == "active_clients" else 0
            out[p.name] = lo + draw() % (v - lo + 1)
    cmds = list(base.get("commands", PARAM_BY_NAME["commands"].default))
    chosen = [c for c in cmds if draw() & 1] or [cmds[draw() % len(cmds)]]
    out["commands"] = tuple(chosen)
    return out


def describe(cfg: ModelConfig) -> str:
    shape = f"{cfg.carriers}x{cfg.sessions}" if cfg.mode == "pooled" else f"{cfg.sessions} sessions"
    return f"{cfg.model} model, {cfg.mode} {shape}"


def differs(options: dict[str, Any]) -> str:
    """An option mix as the --option flags that differ from the defaults."""
    parts = []
    for p in [*PARAMS, *CODE_PARAMS]:
        if p.name not in options and p in CODE_PARAMS:
            continue
        v = options.get(p.name, p.default)
        if v != p.default and not (isinstance(v, tuple) and list(v) == list(p.default)):
            text = ",".join(v) if isinstance(v, tuple | list) else str(v).lower()
            parts.append(f"{p.name}={text}")
    return " ".join(parts) or "defaults"


class SimProgressPrinter:
    """Progress on stderr: overwritten in place on a terminal, a line every few seconds in logs."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.last_line = -1e9

    def __call__(self, p: SimProgress) -> None:
        if not self.enabled or (not self.tty and p.elapsed - self.last_line < 10):
            return
        self.last_line = p.elapsed
        rate = p.steps / p.elapsed if p.elapsed > 0 else 0.0
        text = (
            f"simulate: {p.walks:,} walks, {p.steps:,} steps, {rate:,.0f} steps/s, "
            f"{human_bytes(p.rss_bytes)} peak, {p.elapsed:.0f}s"
        )
        sys.stderr.write(("\r\x1b[2K" + text) if self.tty else text + "\n")
        sys.stderr.flush()

    def line(self, text: str) -> None:
        if self.enabled:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()


def build_arms(
    cfg: ModelConfig, mutation: str | None, invariants: list[str] | None, engine: str, swarm_arms: int, seed: int,
    say: SimProgressPrinter,
) -> list[Arm]:
    """Arm 0 is the configuration asked for; swarm arms are option mixes drawn below it."""
    arms: list[Arm] = []
    mixes: list[dict[str, Any]] = [dict(cfg.options)]
    tried = 0
    while len(mixes) < swarm_arms and tried < 4 * swarm_arms:
        mixes.append(swarm_options(dict(cfg.options), seed, tried))
        tried += 1
    for i, opts in enumerate(mixes):
        arm_cfg = make_config(
            cfg.mode, cfg.carriers if cfg.mode == "pooled" else None, cfg.sessions, opts, max_sessions=MAX_SIM_SESSIONS,
            model=cfg.model,
        )
        label = "asked" if i == 0 else f"mix{i}"
        t0 = time.monotonic()
        try:
            spec = load(arm_cfg, mutation)
        except UsageError:
            if i == 0:
                raise
            continue  # the mutation changes an action this mix does not have
        # As explore: --invariant names invariants and action properties; without it, all are checked.
        model, compiled, _s = prepare(spec, invariants)
        say.line(f"simulate: {label}: traced and compiled {len(model.bindings):,} action bindings in "
                 f"{time.monotonic() - t0:.1f} s, peak {human_bytes(peak_rss_bytes())}")
        if engine != "python":
            say.line(f"simulate: {label}: building the walker (a C compile, cached by content, unless the Python stepper runs it)")
        stepper = make_stepper(compiled, engine)
        arms.append(Arm(label, stepper, {k: list(v) if isinstance(v, tuple) else v for k, v in opts.items()}))
        if len(mixes) > 1:
            say.line(f"simulate: arm {label} ({stepper.engine}): {differs(opts)}")
    return arms


@click.command("simulate")
@click.option("--model", "model_name", type=click.Choice(MODELS), default=None,
              help="code: the C scheduler at c2c6ec31 (docs/code-map.md); design: scheduler-digest.md "
              "[default: code; design with --mutation]")
@click.option("--mode", type=click.Choice(MODES), default="pooled", show_default=True, help="runtime shape (§2.1)")
@click.option("--carriers", type=int, default=None, help="carrier threads in the pool (pooled mode only) [default: 2]")
@click.option("--sessions", type=int, default=3, show_default=True, help=f"client sessions (up to {MAX_SIM_SESSIONS})")
@click.option("--option", "options", multiple=True, metavar="NAME=VALUE", help="model option or bound (see 'pgcheck list')")
@click.option("--every-option", is_flag=True, help="every behaviour option and command on, every client active, "
              "two of each interrupt (--option overrides; poll_steps off where --mutation needs it)")
@click.option("--invariant", "invariants", multiple=True, metavar="ID", help="check only these invariants (repeatable)")
@click.option("--mutation", default=None, metavar="NAME", help="walk a seeded bug of the catalogue (see 'pgcheck mutants')")
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), default=None, help="seed of the walks [default: random, printed]")
@click.option("--depth", type=click.IntRange(min=1), default=1000, show_default=True, help="steps per walk at most")
@click.option("--walks", type=click.IntRange(min=1), default=None,
              help=f"walks to run [default: {DEFAULT_WALKS:,}; unbounded with --time-limit]")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None, help="stop after this many seconds")
@click.option("--workers", type=click.IntRange(min=1, max=64), default=1, show_default=True, help="processes walking in parallel")
@click.option("--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
              help="native: the model generated as C; python: the compiled Python model (any size); "
              "auto: native where the model fits (at most 15 instances of a kind)")
@click.option("--swarm", type=click.Choice(SWARMS), is_flag=False, flag_value="halves", default=None,
              help="vary per walk: the option mix (one of --swarm-arms), the depth bound and the actions preferred "
              "(--swarm: a random half of them; --swarm=weights: a random weight for each, from 0, 1, 8, 64)")
@click.option("--swarm-arms", type=click.IntRange(min=1, max=64), default=6, show_default=True,
              help="option mixes a swarm draws from (the first is the configuration asked for)")
@click.option("--trace-out", type=click.Path(dir_okay=False), default=None, help="where to write a counterexample (ITF JSON)")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
@click.option("--quiet", "-q", is_flag=True, help="no progress on stderr")
def command(
    model_name: str | None,
    mode: str,
    carriers: int | None,
    sessions: int,
    options: tuple[str, ...],
    every_option: bool,
    invariants: tuple[str, ...],
    mutation: str | None,
    seed: int | None,
    depth: int,
    walks: int | None,
    time_limit: float | None,
    workers: int,
    engine: str,
    swarm: str | None,
    swarm_arms: int,
    trace_out: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Run seeded random walks over the runtime model, checking every invariant on every
    state visited; write the first failing walk as an ITF counterexample.

    Exit code 0: no violation in the walks asked for (or within --time-limit when no
    --walks is given); 1: a violation; 2: bad input; 3: stopped before the walks asked for.
    """
    chosen = parse_options(list(options))
    if mutation is not None:
        get_mutation(mutation)
    if model_name is None:  # as explore: the mutations are seeded into the design model
        model_name = "design" if mutation is not None else "code"
    if every_option:
        cfg = every_option_config(mode, carriers, sessions, mutation, chosen, model_name)
    else:
        cfg = make_config(mode, carriers, sessions, chosen, max_sessions=MAX_SIM_SESSIONS, model=model_name, given=True)
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "little")
    if walks is None and time_limit is None:
        walks = DEFAULT_WALKS
    say = SimProgressPrinter(enabled=not quiet)
    bound = f"{walks:,} walks" if walks is not None else "unbounded walks"
    limit = f", time limit {time_limit:g}s" if time_limit is not None else ""
    say.line(
        f"simulate: {describe(cfg)}, {differs(cfg.options)}{', mutation ' + mutation if mutation else ''}; "
        f"seed {seed}, depth {depth}, {bound}{limit}, {workers} worker{'s' if workers != 1 else ''}"
        f"{'' if swarm is None else ', swarm' if swarm == 'halves' else ', weighted swarm'}"
    )
    try:
        arms = build_arms(cfg, mutation, list(invariants) or None, engine, swarm_arms if swarm is not None else 1, seed, say)
    except KeyboardInterrupt:  # Ctrl-C while tracing or compiling (minutes at 8 x 32): no walk ran yet
        say.done()
        click.echo("result: INCOMPLETE: interrupted while building the model; no walk ran")
        sys.exit(3)
    say.line(f"simulate: engine {arms[0].stepper.engine}, {len(arms[0].cm.model.bindings):,} action bindings")
    plan = Plan(seed, depth, swarm is not None, weights=swarm == "weights")
    result = Simulator(arms, plan, walks=walks, time_limit=time_limit, workers=workers, on_progress=say).run()
    say.done()
    doc = path = None
    if result.failure is not None:
        arm = arms[result.failure.arm]
        path, doc = write_walk_trace(
            arm, result.failure, plan, trace_out=trace_out, default_dir=".", mutation=mutation, engine=arm.stepper.engine
        )
    if as_json:
        click.echo(json.dumps(summary_dict(result, arms, plan, doc, path), indent=2))
    else:
        for line in summary_lines(result, arms, plan, doc, path):
            click.echo(line)
    sys.exit({"ok": 0, "violation": 1, "incomplete": 3}[result.verdict])
