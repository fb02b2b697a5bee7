"""Side-by-side benchmark of pgcheck's engines and Spin on the same model.

    python benchmarks/run.py [--budget SECONDS] [--quick] [--write]
    python benchmarks/run.py --mission [--budget SECONDS] [--workers N] [--write]

One run on one machine: for configurations from pooled 2×3 up, each engine as a separate
process (so peak memory is per run): the reference Python explorer, the native engine
with 1 and 2 workers, with symmetry on and off; then Spin with partial-order reduction
off and on on the exported Promela model (benchmarks/spin_side.py), and Rumur with symmetry
reduction off, heuristic and exhaustive on the exported Murphi model (benchmarks/rumur_side.py)
beside pgcheck's native engine on the same (design) model with symmetry off and on. A run
that does not finish within the budget is reported as such. Prints the tables; with --write
also replaces them between the markers in benchmarks/RESULTS.md (a --quick run has markers
of its own; other sections of that file are left alone).
With --mission it measures the mission's scale instead (benchmarks/mission.py: the main job
with partial-order reduction on and off, liveness at 3×5, Spin and Rumur beside pgcheck,
simulate's time to each seeded bug), in a section of its own.
Benchmarks are not tests: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from explore_process import explore, warm

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
BEGIN, END = "<!-- benchmarks/run.py: begin -->", "<!-- benchmarks/run.py: end -->"
QUICK_BEGIN, QUICK_END = "<!-- benchmarks/run.py --quick: begin -->", "<!-- benchmarks/run.py --quick: end -->"
MISSION_BEGIN, MISSION_END = "<!-- benchmarks/run.py --mission: begin -->", "<!-- benchmarks/run.py --mission: end -->"

# (name, mode, carriers, sessions); default options.
SHAPES: list[tuple[str, str, int | None, int]] = [
    ("pooled 2×3", "pooled", 2, 3),
    ("pooled 2×4", "pooled", 2, 4),
    ("pooled 3×4", "pooled", 3, 4),
    ("pooled 3×5", "pooled", 3, 5),
    ("pooled 4×5", "pooled", 4, 5),
    ("pooled 4×6", "pooled", 4, 6),
    ("thread-per-session 5", "thread-per-session", None, 5),
    ("process 5", "process", None, 5),
]


def cli_args(mode: str, carriers: int | None, sessions: int) -> list[str]:
    return [f"--mode={mode}", f"--sessions={sessions}"] + ([f"--carriers={carriers}"] if carriers else [])


# The design model: the one `pgcheck export` writes, so Spin and Rumur run what the engines run.
CONFIGS: list[tuple[str, list[str]]] = [(name, [*cli_args(m, c, s), "--model=design"]) for name, m, c, s in SHAPES]

ENGINES: list[tuple[str, list[str]]] = [
    ("python", ["--engine=python"]),
    ("native ×1", ["--engine=native", "--workers=1"]),
    ("native ×2", ["--engine=native", "--workers=2"]),
]


def fmt_row(name: str, sym: bool, engine: str, d: dict[str, Any]) -> str:
    done = d.get("verdict") == "ok"
    rss = (d.get("peak_rss_bytes") or 0) / 2**20
    bps = d.get("bytes_per_state")
    distinct = d.get("distinct_states")
    rate = d.get("states_per_second")
    return (
        f"| {name} | {'on' if sym else 'off'} | {engine} | {d.get('verdict') if done else 'not finished: ' + str(d.get('stop_reason') or d.get('verdict'))} "
        f"| {distinct:,} | {d.get('depth')} | {d.get('seconds', 0):.2f} | {rate or 0:,.0f} | {rss:,.0f} | {'' if bps is None else f'{bps:.1f}'} |"
        if distinct is not None
        else f"| {name} | {'on' if sym else 'off'} | {engine} | {d.get('verdict')} | | | | | | |"
    )


def spin_rows(names: list[str], budget: float, results: dict[str, dict[bool, dict[str, Any]]] | None = None) -> list[str]:
    """Spin with partial-order reduction off and on, on the exported model (benchmarks/spin_side.py);
    each run's figures also go into `results[name][reduce]` when given."""
    try:
        spin_side = importlib.import_module("spin_side")
    except ImportError as e:  # Spin's side needs the Promela export; say so instead of a table
        return [f"Spin not run: {e}"]
    rows: list[str] = []
    for name, mode, carriers, sessions in SHAPES:
        if name not in names:
            continue
        for reduce in (False, True):
            r: dict[str, Any] = spin_side.spin_run(mode, carriers, sessions, reduce=reduce, budget=budget)
            if results is not None:
                results.setdefault(name, {})[reduce] = r
            states = f"{r['states']:,}" if r.get("states") else "—"
            rows.append(
                f"| {name} | {r['engine']} | {r['verdict']} | {states} | {r.get('seconds')} | "
                f"{r.get('states_per_second', 0):,} | {r.get('peak_rss_mib')} | {r.get('build_seconds')} |"
            )
            print(rows[-1], flush=True)
    return rows


def rumur_rows(names: list[str], budget: float) -> tuple[list[str], list[str]]:
    """Rumur with symmetry reduction off, heuristic and exhaustive on the exported model
    (benchmarks/rumur_side.py), beside pgcheck's native engine (1 worker, partial-order
    reduction off) with symmetry off and on on the same model (the design model, which the
    export writes), all in this run; and the ratios between them."""
    try:
        rumur_side = importlib.import_module("rumur_side")
    except ImportError as e:
        return [f"Rumur not run: {e}"], []
    rows: list[str] = []
    ratios: list[str] = []
    for name, mode, carriers, sessions in SHAPES:
        if name not in names:
            continue
        pg: dict[bool, dict[str, Any]] = {}
        for sym in (False, True):
            args = [*cli_args(mode, carriers, sessions), "--model=design", "--no-por"]
            warm(args)
            pg[sym] = explore([*args, "--engine=native", "--workers=1", *([] if sym else ["--no-symmetry"])], budget)
            d = pg[sym]
            states = f"{d['distinct_states']:,}" if d.get("distinct_states") is not None else "—"
            rows.append(
                f"| {name} | pgcheck native ×1, symmetry {'on' if sym else 'off'} | {d.get('verdict')} | {states} | "
                f"{d.get('seconds', 0):.2f} | {d.get('states_per_second') or 0:,.0f} | {(d.get('peak_rss_bytes') or 0) / 2**20:,.0f} | |"
            )
            print(rows[-1], flush=True)
        by_sym: dict[str, dict[str, Any]] = {}
        for symmetry in ("off", "heuristic", "exhaustive"):
            r: dict[str, Any] = rumur_side.rumur_run(mode, carriers, sessions, symmetry=symmetry, budget=budget)
            by_sym[symmetry] = r
            states = f"{r['states']:,}" if r.get("states") else "—"
            rows.append(
                f"| {name} | {r['engine']} | {r['verdict']} | {states} | {r.get('seconds')} | "
                f"{r.get('states_per_second', 0):,} | {r.get('peak_rss_mib')} | {r.get('build_seconds')} |"
            )
            print(rows[-1], flush=True)
        ratios += rumur_ratio_lines(name, pg, by_sym)
    return rows, ratios


def rumur_ratio_lines(name: str, pg: dict[bool, dict[str, Any]], rumur: dict[str, dict[str, Any]]) -> list[str]:
    """State counts compared (equal where both keep the same states), and the time ratios."""
    out: list[str] = []
    pairs = [("off", False, "symmetry off"), ("exhaustive", True, "exhaustive symmetry against pgcheck's symmetry")]
    for mode, sym, what in pairs:
        r, d = rumur[mode], pg[sym]
        if r.get("verdict") != "ok" or d.get("verdict") != "ok":
            out.append(f"- {name}, {what}: not compared (Rumur {r.get('verdict')}, pgcheck {d.get('verdict')})")
            continue
        same = "equal" if r["states"] == d["distinct_states"] else f"pgcheck {d['distinct_states']:,}"
        out.append(
            f"- {name}, {what}: Rumur {r['states']:,} states ({same}); Rumur takes "
            f"{r['seconds'] / max(d.get('seconds') or 0, 1e-3):.1f}× pgcheck's time"
        )
    heur, exh, off = rumur["heuristic"], rumur["exhaustive"], rumur["off"]
    if all(x.get("verdict") == "ok" for x in (heur, exh, off)):
        out.append(
            f"- {name}, Rumur's symmetry reduction: exhaustive stores {off['states'] / max(exh['states'], 1):.2f}× fewer states "
            f"than off, heuristic {off['states'] / max(heur['states'], 1):.2f}× fewer ({heur['states'] / max(exh['states'], 1):.2f}× "
            f"exhaustive's); time exhaustive {exh['seconds'] / max(off['seconds'], 1e-3):.2f}×, heuristic "
            f"{heur['seconds'] / max(off['seconds'], 1e-3):.2f}× that of off"
        )
    if pg[False].get("verdict") == "ok" and pg[True].get("verdict") == "ok":
        out.append(
            f"- {name}, pgcheck's symmetry reduction: {pg[False]['distinct_states'] / max(pg[True]['distinct_states'], 1):.2f}× "
            f"fewer states, time {pg[True]['seconds'] / max(pg[False]['seconds'], 1e-3):.2f}× that of off"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=300.0, help="seconds per run before it counts as not finished")
    ap.add_argument("--quick", action="store_true", help="only the first three configurations")
    ap.add_argument("--write", action="store_true",
                    help="also replace this section of benchmarks/RESULTS.md (a tracked file; default: print only)")
    ap.add_argument("--spin-configs", type=int, default=4, help="how many pooled configurations Spin runs (building pan is slow)")
    ap.add_argument("--rumur-configs", type=int, default=2, help="how many pooled configurations Rumur runs (building and running its verifier is slow)")
    ap.add_argument("--mission", action="store_true", help="measure the mission's scale (benchmarks/mission.py) instead")
    ap.add_argument("--workers", type=int, default=2, help="workers of the main job's runs (--mission)")
    ap.add_argument("--simulate-walks", type=int, default=0,
                    help="also time `pgcheck simulate` to each seeded bug (benchmarks/simulate_catalogue.py), "
                    "at most this many walks per try (0: skip; --mission: 5,000 unless given)")
    ns = ap.parse_args()
    sys.path.insert(0, str(HERE))
    if ns.mission:
        run_mission(ns.budget, ns.workers, write=ns.write)
        simulate_section(ns.simulate_walks or 5000, ns.write)
        return
    configs = CONFIGS[:3] if ns.quick else CONFIGS
    rows: list[str] = []
    results: dict[tuple[str, bool, str], dict[str, Any]] = {}
    for name, args in configs:
        warm(args)
        for sym in (True, False):
            for engine, eargs in ENGINES:
                d = explore([*args, *eargs, *([] if sym else ["--no-symmetry"])], ns.budget)
                results[(name, sym, engine)] = d
                rows.append(fmt_row(name, sym, engine, d))
                print(rows[-1], flush=True)
    ratios = ratio_lines(configs, results)
    spin = spin_rows([name for name, _ in configs if name.startswith("pooled")][: ns.spin_configs], ns.budget)
    rumur, rumur_ratios = rumur_rows([name for name, _ in configs if name.startswith("pooled")][: ns.rumur_configs], ns.budget)
    machine = machine_line()
    text = [
        BEGIN,
        f"Measured by `python benchmarks/run.py {' '.join(sys.argv[1:])}` on {time.strftime('%Y-%m-%d')} ({machine}).",
        "Each cell is one process; time is the exploration (the native engine's one-off C compile is excluded",
        "and cached); memory is the process's peak RSS; bytes/state counts the visited set and parent map held",
        "in memory (the native engine keeps its parent map in a file).",
        "",
        "| configuration | symmetry | engine | verdict | distinct | depth | seconds | states/s | peak MiB | bytes/state |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        *ratios,
    ]
    if spin:
        text += ["", "Spin on the exported model (`pgcheck export --format=promela`; every step touches global",
                 "variables, which Spin's partial-order reduction never reduces, docs/spin.md; pan's time",
                 "excludes building it):", "",
                 "| configuration | Spin | verdict | states stored | seconds | states/s | peak MiB | build s |",
                 "|---|---|---|---|---|---|---|---|", *spin]
    if rumur:
        text += ["", "Rumur on the exported design model (`pgcheck export --format=murphi`: sessions and carriers as",
                 "scalarsets, one rule per orbit of bindings, docs/rumur.md), symmetry reduction off,",
                 "heuristic and exhaustive, beside pgcheck's native engine on the same model (partial-order",
                 "reduction off); the verifier's time excludes building it:", "",
                 "| configuration | checker | verdict | states | seconds | states/s | peak MiB | build s |",
                 "|---|---|---|---|---|---|---|---|", *rumur, "", *rumur_ratios]
    text.append(END)
    print("\n".join(text[1:-1]))
    if ns.write:
        write_section("\n".join(text), quick=ns.quick)
    else:
        print(f"(printed only; --write puts this section into {RESULTS.relative_to(HERE.parent)})")
    if ns.simulate_walks > 0:
        simulate_section(ns.simulate_walks, ns.write)


def simulate_section(walks: int, write: bool) -> None:
    """benchmarks/simulate_catalogue.py's table, in its own section of RESULTS.md."""
    catalogue = importlib.import_module("simulate_catalogue")
    print("\n".join(catalogue.HEADER), flush=True)
    table = catalogue.rows(walks, on_row=lambda line: print(line, flush=True))
    if write:
        command = f"python benchmarks/run.py {' '.join(sys.argv[1:])}"
        catalogue.write_section(catalogue.section(table, walks=walks, engine="native", seed=1, depth=300, command=command))


def machine_line() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def run_mission(budget: float, workers: int, *, write: bool) -> None:
    mission = importlib.import_module("mission")
    t0 = time.monotonic()
    names = ["pooled 2×3"]  # Spin's and Rumur's builds take minutes each; larger shapes are in the sections above
    spin_results: dict[str, dict[bool, dict[str, Any]]] = {}
    spin = spin_rows(names, budget, spin_results)
    spin_ratios = [line for name, mode, carriers, sessions in SHAPES if name in names
                   for line in mission.spin_ratio_lines(name, mode, carriers or 0, sessions, spin_results.get(name, {}), budget)]
    rumur, rumur_ratios = rumur_rows(names, budget)
    table = "|---|---|---|---|---|---|---|---|"
    side = [
        ("Spin on the exported design model, partial-order reduction off and on, beside pgcheck",
         ["| configuration | Spin | verdict | states stored | seconds | states/s | peak MiB | build s |", table, *spin, "", *spin_ratios]),
        ("Rumur on the exported design model, symmetry reduction off, heuristic and exhaustive, beside pgcheck",
         ["| configuration | tool | verdict | states | seconds | states/s | peak MiB | build s |", table, *rumur, "", *rumur_ratios]),
    ]
    body = mission.section(budget, workers, side)
    took = (time.monotonic() - t0) / 60
    text = [
        MISSION_BEGIN,
        f"Measured by `python benchmarks/run.py {' '.join(sys.argv[1:])}` on {time.strftime('%Y-%m-%d')} ({machine_line()}),",
        f"{took:.0f} minutes in all; each row is its own process, run one after the other; native engines' one-off",
        "C compiles, pan's and Rumur's builds are excluded from their times and shown apart.",
        "",
        *body,
        MISSION_END,
    ]
    print("\n".join(text[1:-1]))
    if write:
        replace_between(MISSION_BEGIN, MISSION_END, "\n".join(text), "The mission's scale, one run (`benchmarks/run.py --mission`)")
    else:
        print(f"(printed only; --write puts this section into {RESULTS.relative_to(HERE.parent)})")


def ratio_lines(configs: list[tuple[str, list[str]]], results: dict[tuple[str, bool, str], dict[str, Any]]) -> list[str]:
    out = ["Ratios measured side by side in this run:", ""]
    for name, _ in configs:
        for sym in (True, False):
            py, one, two = (results.get((name, sym, e)) or {} for e in ("python", "native ×1", "native ×2"))
            parts = []
            if one.get("verdict") == "ok" and py.get("verdict") == "ok":
                parts.append(f"native ×1 is {py['seconds'] / max(one['seconds'], 1e-3):.0f}× the Python explorer")
            if one.get("verdict") == "ok" and two.get("verdict") == "ok":
                parts.append(f"2 workers are {one['seconds'] / max(two['seconds'], 1e-3):.2f}× one worker")
            if parts:
                out.append(f"- {name}, symmetry {'on' if sym else 'off'}: " + "; ".join(parts))
    grow = [(n, results.get((n, False, "native ×1"), {})) for n, _ in configs if n.startswith("pooled")]
    done = [(n, d) for n, d in grow if d.get("verdict") == "ok"]
    if len(done) >= 2:
        out.append("- growth without symmetry (native ×1): " + ", ".join(
            f"{n}: {d['distinct_states']:,} states, {d['seconds']:.1f} s, {(d.get('peak_rss_bytes') or 0) / 2**20:,.0f} MiB"
            for n, d in done))
    return out


def write_section(section: str, *, quick: bool = False) -> None:
    """Replace the section between the markers; a --quick run has its own markers, so it never
    overwrites the full run's tables."""
    begin, end = (QUICK_BEGIN, QUICK_END) if quick else (BEGIN, END)
    section = section.replace(BEGIN, begin).replace(END, end)
    title = "Engines, Spin and Rumur side by side (quick run)" if quick else "Engines side by side"
    replace_between(begin, end, section, title)


def replace_between(begin: str, end: str, section: str, title: str) -> None:
    """Put `section` (markers included) in place of the text between the markers, or append it under `title`."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip() + f"\n\n## {title}\n\n" + section + "\n"
    RESULTS.write_text(text)


if __name__ == "__main__":
    main()
