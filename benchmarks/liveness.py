"""Liveness: the native checker (C graph and fair cycles) beside the Python one (networkx).

    python benchmarks/liveness.py [--budget SECONDS] [--no-write] [--native-only]

Each run is `pgcheck explore ... --liveness --json -q` as its own process, so peak memory
is the run's own. Side by side (native, then python) at sizes where the Python checker
finishes; the native checker alone at 3 carriers × 5 sessions (design model; code model with
and without the C2a fix), with symmetry (the native default) and without. Reports graph states and edges, bytes per state of the native
graph, time of the whole run and of the liveness part, peak RSS and the verdicts. Writes
the table between its markers in benchmarks/RESULTS.md. Benchmarks are not tests: nothing
here asserts a time.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from explore_process import explore, peak_bytes

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
BEGIN, END = "<!-- benchmarks/liveness.py: begin -->", "<!-- benchmarks/liveness.py: end -->"

B8 = ["--option", "think_time=false", "--option", "active_clients=3", "--option", "commands=query"]
SIDE_BY_SIDE: list[tuple[str, list[str]]] = [
    ("design 2×3, defaults", ["--model", "design", "--carriers=2", "--sessions=3"]),
    ("design 2×3, B8 (think_time=false, 3 active clients): L1, L3, L10 lassos", ["--model", "design", "--carriers=2", "--sessions=3", *B8]),
    ("code 2×3, fix_poller_ownership", ["--carriers=2", "--sessions=3", "--option", "fix_poller_ownership=true"]),
    ("design 3×3, defaults", ["--model", "design", "--carriers=3", "--sessions=3"]),
    ("code 3×3, fix_poller_ownership", ["--carriers=3", "--sessions=3", "--option", "fix_poller_ownership=true"]),
]
# (name, args, exploration budget in seconds or None for --budget)
NATIVE_ONLY: list[tuple[str, list[str], float | None]] = [
    ("design 3×4, defaults", ["--model", "design", "--carriers=3", "--sessions=4"], None),
    ("design 3×5, defaults", ["--model", "design", "--carriers=3", "--sessions=5"], None),
    ("code 3×5, fix_poller_ownership", ["--carriers=3", "--sessions=5", "--option", "fix_poller_ownership=true"], None),
    ("code 3×5, defaults (a safety violation; liveness beside it once the graph is whole)", ["--carriers=3", "--sessions=5"], None),
]
NATIVE, NATIVE_PLAIN = "native", "native, --no-symmetry"
PLAIN_BUDGET = 120.0  # without symmetry the code model's 3×5 graph does not fit in a few GiB: how far it gets


def verdicts(d: dict[str, Any]) -> str:
    live = d.get("liveness") or {}
    props = live.get("properties") or []
    broken = [p["id"] for p in props if p["verdict"] == "violated"]
    text = ("violated: " + ", ".join(broken)) if broken else f"{len(props)} hold" if props else "not checked"
    v = d.get("violation")
    if v is not None and v.get("kind") != "liveness":
        text = f"{v['property']} (safety) + " + text
    return text


def row(name: str, engine: str, d: dict[str, Any]) -> str:
    if "error" in d:
        return f"| {name} | {engine} | — | — | — | {d['wall']:.0f} s | — | — | {d['error'][:80]} |"
    if d["verdict"] == "incomplete":
        return (
            f"| {name} | {engine} | > {d['distinct_states']:,} (depth {d['depth']}) | — | "
            f"{d.get('bytes_per_state') or 0:.0f} | {d['wall']:.1f} s | — | {peak_bytes(d) / 2**20:,.0f} MiB | "
            f"incomplete: {d.get('stop_reason')} |"
        )
    live = d.get("liveness") or {}
    states = live.get("graph_states", d["distinct_states"])
    edges = live.get("graph_edges")
    per = d.get("bytes_per_state") if engine != "python" else None
    return (
        f"| {name} | {engine} | {states:,} | {edges:,} | {'—' if per is None else f'{per:.0f}'} | "
        f"{d['wall']:.1f} s | {live.get('seconds', 0):.1f} s | {peak_bytes(d) / 2**20:,.0f} MiB | {verdicts(d)} |"
        if edges is not None
        else f"| {name} | {engine} | {states:,} | — | — | {d['wall']:.1f} s | — | {peak_bytes(d) / 2**20:,.0f} MiB | {verdicts(d)} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=600.0, help="seconds of exploration per run (--time-limit)")
    ap.add_argument("--no-write", action="store_true", help="print, do not update RESULTS.md")
    ap.add_argument("--native-only", action="store_true", help="only the 3×5 native runs")
    opts = ap.parse_args()
    rows = [
        "| configuration | checker | graph states | edges | native bytes/state | whole run (wall) | liveness part | peak RSS | verdicts |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    # (name, arguments, checker label, budget): the native checker with symmetry (its default),
    # and without it, which is the graph the Python checker builds (like for like)
    plan: list[tuple[str, list[str], str, float]] = []
    if not opts.native_only:
        for n, a in SIDE_BY_SIDE:
            plan += [(n, [*a, "--engine=native"], NATIVE, opts.budget),
                     (n, [*a, "--engine=native", "--no-symmetry"], NATIVE_PLAIN, opts.budget),
                     (n, [*a, "--engine=python"], "python", opts.budget)]
    plan += [(n, [*a, "--engine=native"], NATIVE, b or opts.budget) for n, a, b in NATIVE_ONLY]
    plan += [(n, [*a, "--engine=native", "--no-symmetry"], NATIVE_PLAIN, min(b or opts.budget, PLAIN_BUDGET))
             for n, a, b in NATIVE_ONLY]
    for name, args, engine, budget in plan:
        if engine != "python":
            explore([*args, "--liveness", "--max-depth=1"], 120, hard_limit=360)  # compile once, outside the measurement
        d = explore([*args, "--liveness"], budget, hard_limit=budget * 3)
        rows.append(row(name, engine, d))
        print(rows[-1], flush=True)
    table = "\n".join(rows)
    if not opts.no_write:
        text = RESULTS.read_text()
        section = f"{BEGIN}\n{table}\n{END}"
        if BEGIN in text:
            text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END):]
        else:
            text += "\n## Native liveness beside the Python checker (benchmarks/liveness.py)\n\n" + section + "\n"
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
