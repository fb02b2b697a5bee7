"""The mission's scale in one run: the main job, liveness at 3×5, Spin, Rumur, simulate.

    python benchmarks/run.py --mission [--budget SECONDS] [--write]

Called by benchmarks/run.py. Each measurement is its own process, one after the other on
the same machine, so the ratios compare runs taken side by side:
1. the main job `pgcheck explore --carriers=3 --sessions=5` on its defaults, with
   partial-order reduction on and off; also the same defaults with the fix of finding C2a
   (so the search is exhaustive) and the design model's defaults;
2. liveness at 3×5 (`--liveness`) on the same three;
3. pgcheck beside Spin (partial-order reduction off and on) and Rumur (symmetry reduction
   off, heuristic and exhaustive) on the same exported design model (run.py's spin_rows and
   rumur_rows, passed in as `side_by_side`);
4. `pgcheck simulate`: the time to each seeded bug of the catalogue (run.py calls
   simulate_catalogue.py, which keeps its own section of RESULTS.md).
Benchmarks are not tests: nothing here asserts a time.
"""

from __future__ import annotations

from typing import Any

from explore_process import explore, peak_bytes, warm

MAIN = ["--carriers=3", "--sessions=5"]
FIX = ["--option", "fix_poller_ownership=true"]

# (label, extra arguments) for the main job's rows.
MAIN_ROWS: list[tuple[str, list[str]]] = [
    ("main job (code model, defaults)", []),
    ("defaults + fix_poller_ownership (exhaustive)", FIX),
    ("design model, defaults", ["--model=design"]),
]

def _mib(d: dict[str, Any]) -> str:
    rss = peak_bytes(d)
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
            d = explore([*args, *([] if por else ["--no-por"])], budget)
            by[por] = d
            rows.append(f"| {label} | {_por(d)} | {_verdict(d)} | {d.get('distinct_states', 0):,} | {d.get('depth')} "
                        f"| {d.get('seconds', 0):.1f} | {_mib(d)} |")
            print(rows[-1], flush=True)
        on, off = by[True], by[False]
        if on.get("distinct_states") and off.get("distinct_states") and not on.get("stop_reason") and not off.get("stop_reason"):
            notes.append(f"- {label}: states off ÷ on {off['distinct_states'] / on['distinct_states']:.2f}, "
                         f"time off ÷ on {off.get('seconds', 0) / max(on.get('seconds', 0), 1e-3):.2f}")
    return [*rows, "", *notes]


NO_SYMMETRY_BUDGET = 150.0  # the code model's 3×5 graph without symmetry does not fit (RESULTS.md, native liveness)


def liveness(budget: float, workers: int) -> list[str]:
    """The three configurations with `workers` threads building the graph, and the first two
    also with one, side by side (the graph and verdicts are the same; only time may differ)."""
    rows = [f"Each run stops at {budget:.0f} s (without symmetry: {NO_SYMMETRY_BUDGET:.0f} s). States: the largest graph "
            "(with symmetry: representatives; per-session properties are checked on the graph of (state, session) pairs, "
            "one per orbit of sessions, docs/liveness.md). Workers: the threads that build the graph "
            "(the fair-cycle search is one thread).", "",
            "| configuration | workers | verdict | states | seconds | peak MiB | violated |", "|---|---|---|---|---|---|---|"]
    plan = [(label, extra, budget, workers) for label, extra in MAIN_ROWS]
    if workers != 1:
        plan += [(label, extra, budget, 1) for label, extra in MAIN_ROWS[:2]]
    plan.append(("defaults + fix_poller_ownership, --no-symmetry", [*FIX, "--no-symmetry"], min(budget, NO_SYMMETRY_BUDGET), workers))
    walls: dict[tuple[str, int], float] = {}
    for label, extra, limit, w in plan:
        warm([*MAIN, *extra, "--liveness"])  # the liveness library is its own build: compiled outside the timing
        d = explore([*MAIN, *extra, "--liveness", f"--workers={w}"], limit)
        live = d.get("liveness") or {}
        outcomes = live.get("properties", [])
        bad = [o.get("id") for o in outcomes if o.get("verdict") == "VIOLATED"]
        verdict = _verdict(d) + ("" if outcomes else f"; liveness not checked: the {limit:.0f} s bound came first")
        walls[(label, w)] = float(d.get("wall", 0))
        rows.append(f"| {label} | {w} | {verdict} | "
                    f"{live.get('graph_states', d.get('distinct_states', 0)):,} | {d.get('wall', 0):.1f} | {_mib(d)} | "
                    f"{', '.join(str(b) for b in bad) or '—'} |")
        print(rows[-1], flush=True)
    notes = [f"- {label}: {walls[(label, 1)] / max(walls[(label, workers)], 1e-3):.2f}× faster with {workers} workers than with 1"
             for label, _ in MAIN_ROWS[:2] if workers != 1 and walls.get((label, workers))]
    return [*rows, *([""] if notes else []), *notes]


def spin_ratio_lines(name: str, mode: str, carriers: int, sessions: int, spin: dict[bool, dict[str, Any]], budget: float) -> list[str]:
    """Spin with its partial-order reduction off and on against pgcheck's native engine (1 worker,
    symmetry off, as Spin has none) with its reduction off and on, on the same design model."""
    base = ["--model=design", f"--mode={mode}", f"--carriers={carriers}", f"--sessions={sessions}", "--workers=1", "--no-symmetry"]
    out = []
    for reduce in (False, True):
        d = explore([*base, *([] if reduce else ["--no-por"])], budget)
        r = spin.get(reduce) or {}
        if not r.get("states") or not d.get("distinct_states"):
            out.append(f"- {name}, reduction {'on' if reduce else 'off'}: not compared (Spin {r.get('verdict')}, pgcheck {_verdict(d)})")
            continue
        same = "equal" if r["states"] == d["distinct_states"] else f"pgcheck {d['distinct_states']:,}"
        out.append(f"- {name}, reduction {'on' if reduce else 'off'} in both: Spin stores {r['states']:,} states ({same}) and takes "
                   f"{float(r.get('seconds') or 0) / max(float(d.get('seconds') or 0), 1e-3):.1f}× pgcheck's time")
    return out


def section(budget: float, workers: int, side_by_side: list[tuple[str, list[str]]]) -> list[str]:
    parts: list[tuple[str, list[str]]] = [
        ("The main job, `pgcheck explore --carriers=3 --sessions=5`, partial-order reduction on and off "
         f"(native engine, {workers} workers, symmetry on)", main_job(budget, workers)),
        ("Liveness at 3×5 (`--liveness`, native engine, symmetry on)", liveness(budget, workers)),
        *side_by_side,
    ]
    out: list[str] = []
    for title, body in parts:
        out += [f"**{title}**", "", *body, ""]
    return out
