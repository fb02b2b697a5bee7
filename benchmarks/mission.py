"""The mission's scale in one run: the main job, liveness at 3×5, Spin, Rumur, simulate.

    python benchmarks/run.py --mission [--budget SECONDS] [--write]

Called by benchmarks/run.py. Each measurement is its own process, one after the other on
the same machine, so the ratios compare runs taken side by side:
1. the main job `pgcheck explore --carriers=3 --sessions=5` on its defaults, with
   partial-order reduction on and off; also the same defaults with the fix of finding C2a
   (so the search is exhaustive) and the design model's defaults;
2. liveness at 3×5 (`--liveness`) on the same three;
3. pgcheck beside Spin (partial-order reduction off and on) and Rumur (symmetry reduction
   off and on) on the same exported design model;
4. `pgcheck simulate`: the time to each seeded bug of the catalogue (simulate_catalogue.py).
Benchmarks are not tests: nothing here asserts a time.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import time
from typing import Any

MAIN = ["--carriers=3", "--sessions=5"]
FIX = ["--option", "fix_poller_ownership=true"]

# (label, extra arguments) for the main job's rows.
MAIN_ROWS: list[tuple[str, list[str]]] = [
    ("main job (code model, defaults)", []),
    ("defaults + fix_poller_ownership (exhaustive)", FIX),
    ("design model, defaults", ["--model=design"]),
]

# Small design-model shapes every tool finishes: (name, mode, carriers, sessions).
SIDE_SHAPES: list[tuple[str, str, int, int]] = [("pooled 2×3", "pooled", 2, 3), ("pooled 2×4", "pooled", 2, 4)]


def pgcheck(args: list[str], budget: float) -> dict[str, Any]:
    """One `pgcheck explore --json` run as its own process (so peak memory is its own)."""
    cmd = [sys.executable, "-m", "pgcheck", "explore", *args, "--json", "-q", f"--time-limit={budget}"]
    t0 = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.monotonic() - t0
    text = out.stdout.strip()
    if not text.startswith("{"):
        return {"verdict": "error: " + out.stderr.strip()[-160:], "wall": wall}
    doc: dict[str, Any] = json.loads(text)
    doc["wall"] = wall
    return doc


def warm(args: list[str]) -> None:
    """Compile the native engine for this configuration once, outside the timings."""
    subprocess.run([sys.executable, "-m", "pgcheck", "explore", *args, "--max-states=1", "-q"],
                   capture_output=True, check=False)


def _mib(d: dict[str, Any]) -> str:
    rss = d.get("peak_rss_bytes")
    return f"{rss / 2**20:,.0f}" if rss else "—"


def _verdict(d: dict[str, Any]) -> str:
    v = str(d.get("verdict"))
    if d.get("stop_reason"):
        return f"incomplete ({d['stop_reason']})"
    if v == "violation":
        broken = [p["id"] for p in d.get("invariants", []) if p.get("verdict") == "VIOLATED"]
        broken += [p["id"] for p in d.get("action_properties", []) if p.get("verdict") == "VIOLATED"]
        return "violation" + (f" ({', '.join(broken)})" if broken else "")
    return v


def _por(d: dict[str, Any]) -> str:
    por = d.get("por") or {}
    if not por.get("on"):
        return "off"
    dropped = f", off after {por['dropped_at']:,}" if por.get("dropped_at") else ""
    return f"on ({por.get('reduced', 0):,} / {por.get('expanded', 0):,} reduced{dropped})"


def main_job(budget: float, workers: int) -> list[str]:
    rows = ["| configuration | reduction | verdict | distinct | depth | seconds | peak MiB |", "|---|---|---|---|---|---|---|"]
    notes: list[str] = []
    for label, extra in MAIN_ROWS:
        args = [*MAIN, *extra, f"--workers={workers}"]
        warm(args)
        by: dict[bool, dict[str, Any]] = {}
        for por in (True, False):
            d = pgcheck([*args, *([] if por else ["--no-por"])], budget)
            by[por] = d
            rows.append(f"| {label} | {_por(d)} | {_verdict(d)} | {d.get('distinct_states', 0):,} | {d.get('depth')} "
                        f"| {d.get('seconds', 0):.1f} | {_mib(d)} |")
            print(rows[-1], flush=True)
        on, off = by[True], by[False]
        if on.get("distinct_states") and off.get("distinct_states") and not on.get("stop_reason") and not off.get("stop_reason"):
            notes.append(f"- {label}: reduction stores {off['distinct_states'] / on['distinct_states']:.2f}× fewer states "
                         f"and takes {off.get('seconds', 0) / max(on.get('seconds', 0), 1e-3):.2f}× less time")
    return [*rows, "", *notes]


def liveness(budget: float) -> list[str]:
    rows = ["| configuration | engine | verdict | states | seconds | peak MiB | violated |", "|---|---|---|---|---|---|---|"]
    for label, extra in MAIN_ROWS:
        d = pgcheck([*MAIN, *extra, "--liveness"], budget)
        live = d.get("liveness") or {}
        bad = [o.get("id") for o in live.get("properties", live.get("outcomes", [])) if o.get("verdict") == "VIOLATED"]
        rows.append(f"| {label} | {live.get('engine', d.get('engine'))} | {_verdict(d)} | "
                    f"{live.get('graph_states', d.get('distinct_states', 0)):,} | {d.get('wall', 0):.1f} | {_mib(d)} | "
                    f"{', '.join(str(b) for b in bad) or '—'} |")
        print(rows[-1], flush=True)
    return rows


def side_by_side(budget: float) -> list[str]:
    """pgcheck's native engine, Spin POR off/on and Rumur symmetry off/on on the same design-model shapes."""
    spin_side = importlib.import_module("spin_side")
    rumur_side = importlib.import_module("rumur_side")
    rows = ["| configuration | tool | verdict | states | seconds | peak MiB | build s |", "|---|---|---|---|---|---|---|"]
    ratios: list[str] = []
    for name, mode, carriers, sessions in SIDE_SHAPES:
        base = ["--model=design", f"--mode={mode}", f"--carriers={carriers}", f"--sessions={sessions}", "--workers=1"]
        warm(base)
        ours: dict[str, dict[str, Any]] = {}
        for label, extra in (("pgcheck, symmetry off, POR off", ["--no-symmetry", "--no-por"]),
                             ("pgcheck, symmetry off, POR on", ["--no-symmetry"]),
                             ("pgcheck, symmetry on", [])):
            d = pgcheck([*base, *extra], budget)
            ours[label] = d
            rows.append(f"| {name} | {label} | {_verdict(d)} | {d.get('distinct_states', 0):,} | {d.get('seconds', 0):.2f} "
                        f"| {_mib(d)} | {d.get('compile_seconds', 0) or 0:.1f} |")
            print(rows[-1], flush=True)
        theirs: dict[str, dict[str, Any]] = {}
        for reduce in (False, True):
            r = spin_side.spin_run(mode, carriers, sessions, reduce=reduce, budget=budget)
            theirs[r["engine"]] = r
            rows.append(f"| {name} | {r['engine']} | {r['verdict']} | {r.get('states') or 0:,} | {r.get('seconds')} "
                        f"| {r.get('peak_rss_mib')} | {r.get('build_seconds')} |")
            print(rows[-1], flush=True)
        for symmetry in rumur_side.SYMMETRIES if hasattr(rumur_side, "SYMMETRIES") else ("off", "heuristic"):
            r = rumur_side.rumur_run(mode, carriers, sessions, symmetry=symmetry, budget=budget)
            theirs[r["engine"]] = r
            rows.append(f"| {name} | {r['engine']} | {r['verdict']} | {r.get('states') or 0:,} | {r.get('seconds')} "
                        f"| {r.get('peak_rss_mib')} | {r.get('build_seconds')} |")
            print(rows[-1], flush=True)
        ratios += _ratios(name, ours, theirs)
    return [*rows, "", "Ratios (time of the other tool over pgcheck's, states stored by the other tool over pgcheck's):", "", *ratios]


def _ratios(name: str, ours: dict[str, dict[str, Any]], theirs: dict[str, dict[str, Any]]) -> list[str]:
    out = []
    pairs = [("pgcheck, symmetry off, POR off", lambda e: e.startswith("spin") and "POR off" in e),
             ("pgcheck, symmetry off, POR on", lambda e: e.startswith("spin") and "POR on" in e),
             ("pgcheck, symmetry off, POR off", lambda e: e.startswith("rumur") and "symmetry off" in e),
             ("pgcheck, symmetry on", lambda e: e.startswith("rumur") and "symmetry off" not in e)]
    for mine, pick in pairs:
        d = ours.get(mine) or {}
        for engine, r in theirs.items():
            if not pick(engine) or not r.get("states") or not d.get("distinct_states"):
                continue
            out.append(f"- {name}: {engine} against {mine}: {r['states'] / d['distinct_states']:.2f}× the states, "
                       f"{float(r.get('seconds') or 0) / max(float(d.get('seconds') or 0), 1e-3):.1f}× the time")
    return out


def simulate_rows(budget: float) -> list[str]:
    catalogue = importlib.import_module("simulate_catalogue")
    rows: list[str] = catalogue.rows(budget)
    return rows


def section(budget: float, workers: int) -> list[str]:
    parts: list[tuple[str, list[str]]] = [
        ("The main job, `pgcheck explore --carriers=3 --sessions=5`, partial-order reduction on and off "
         f"(native engine, {workers} workers, symmetry on)", main_job(budget, workers)),
        ("Liveness at 3×5 (`--liveness`, symmetry off)", liveness(budget)),
        ("pgcheck, Spin and Rumur on the same exported model (design model)", side_by_side(budget)),
        ("`pgcheck simulate`: time to each seeded bug at 3×5 with every option", simulate_rows(budget)),
    ]
    out: list[str] = []
    for title, body in parts:
        out += [f"**{title}**", "", *body, ""]
    return out
