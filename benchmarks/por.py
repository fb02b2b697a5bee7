"""Partial-order reduction on and off, side by side in one run (docs/reduction.md).

    python benchmarks/por.py [--budget SECONDS] [--no-write]

For each configuration: `pgcheck explore` with the native engine (1 worker), with --no-por,
with reduction on as by default (its trial may switch it off), and with --keep-por (on for
the whole run: what the stubborn sets themselves give), each as its own process; distinct
states, time, peak memory, and how many expanded states the stubborn sets reduced. The
factor is distinct states without reduction over distinct states with it, for complete
runs only. Writes the table between
its markers in benchmarks/RESULTS.md. Benchmarks are not tests: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from explore_process import explore

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
BEGIN, END = "<!-- benchmarks/por.py: begin -->", "<!-- benchmarks/por.py: end -->"

FIX = ["--option", "fix_poller_ownership=true"]  # the code model's main job otherwise stops at C2a
MIX = ["--option", "cancels=1", "--option", "terminates=1", "--option", "notifies=1", "--option", "reloads=1"]
FULL = [*MIX, "--option", "active_clients=2", "--option", "client_close=true",
        "--option", "idle_session_timeout=true", "--option", "idle_in_xact_timeout=true"]
CONFIGS: list[tuple[str, list[str]]] = [
    ("code 3×5, defaults", ["--carriers=3", "--sessions=5", *FIX]),
    ("code 3×5, 1 cancel", ["--carriers=3", "--sessions=5", *FIX, "--option", "cancels=1"]),
    ("code 3×5, every interrupt kind, 2 clients, close, idle timeouts", ["--carriers=3", "--sessions=5", *FIX, *FULL]),
    ("design 3×5, defaults", ["--model=design", "--carriers=3", "--sessions=5"]),
    ("design 3×5, 1 cancel", ["--model=design", "--carriers=3", "--sessions=5", "--option", "cancels=1"]),
    ("design 3×5, every interrupt kind, 2 clients, close, idle timeouts", ["--model=design", "--carriers=3", "--sessions=5", *FULL]),
    # One carrier: no carrier interleaving, so interrupts and client steps commute more.
    ("code 1×2, every interrupt kind, close, idle timeouts", ["--carriers=1", "--sessions=2", *FIX, *FULL[:8], *FULL[10:]]),
    ("design 1×2, every interrupt kind, close, idle timeouts", ["--model=design", "--carriers=1", "--sessions=2", *FULL[:8], *FULL[10:]]),
]


def cell(d: dict[str, Any]) -> tuple[str, str, str, str]:
    if "error" in d:
        return ("error: " + d["error"][:60], "—", "—", "—")
    done = d["verdict"] != "incomplete"
    states = f"{d['distinct_states']:,}" + ("" if done else " (incomplete)")
    por = d.get("por") or {}
    share = "—"
    if por.get("on"):
        share = f"{por['reduced']:,} / {por['expanded']:,}"
        if por.get("dropped_at"):
            share += f" (off after {por['dropped_at']:,})"
    return states, f"{d['seconds']:.1f} s", f"{d['peak_rss_bytes'] / 2**20:.0f} MiB", share


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=120.0, help="seconds per run before it counts as not finished")
    ap.add_argument("--no-write", action="store_true", help="print, do not update RESULTS.md")
    opts = ap.parse_args()
    rows = [
        "| configuration | reduction | distinct | verdict | time | peak memory | reduced / expanded states | factor |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, args in CONFIGS:
        explore([*args, "--engine=native", "--max-depth=1"], 60)  # compile once, outside the measurement
        off = explore([*args, "--engine=native", "--no-por"], opts.budget)
        runs = [("off", off), ("on", explore([*args, "--engine=native"], opts.budget)),
                ("kept on", explore([*args, "--engine=native", "--keep-por"], opts.budget))]
        for label, d in runs:
            factor = ""
            complete = all("error" not in x and x["verdict"] != "incomplete" for x in (off, d))
            if label != "off" and complete and d["distinct_states"]:
                factor = f"{off['distinct_states'] / d['distinct_states']:.2f}×"
            states, secs, mem, share = cell(d)
            verdict = d.get("verdict", "—")
            rows.append(f"| {name} | {label} | {states} | {verdict} | {secs} | {mem} | {share} | {factor} |")
            print(rows[-1], flush=True)
    table = "\n".join(rows)
    if not opts.no_write:
        text = RESULTS.read_text()
        section = f"{BEGIN}\n{table}\n{END}"
        if BEGIN in text:
            text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END):]
        else:
            text += "\n## Partial-order reduction (benchmarks/por.py)\n\n" + section + "\n"
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
