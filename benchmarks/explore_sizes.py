"""State-space sizes and times of `pgcheck explore` for the named configurations.

    python benchmarks/explore_sizes.py [--time-limit SECONDS] [CONFIG ...]

Prints one Markdown table row per configuration (distinct states, depth, time, states/s,
peak memory of a fresh process), with symmetry on and off where the latter finishes.
Each run is a separate process so peak memory is per run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CONFIGS = {
    "pooled-3x5": ["--carriers=3", "--sessions=5"],
    "tps-5": ["--mode=thread-per-session", "--sessions=5"],
    "process-5": ["--mode=process", "--sessions=5"],
    "pooled-2x3": ["--carriers=2", "--sessions=3"],
}


def run(args: list[str], time_limit: float, symmetry: bool) -> dict[str, object]:
    cmd = [sys.executable, "-m", "pgcheck", "explore", *args, "--json", "-q", f"--time-limit={time_limit}"]
    if not symmetry:
        cmd.append("--no-symmetry")
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    doc: dict[str, object] = json.loads(out.stdout) if out.stdout.strip().startswith("{") else {"verdict": out.stderr.strip()}
    return doc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, default=600)
    ap.add_argument("configs", nargs="*", default=list(CONFIGS))
    ns = ap.parse_args()
    print("| config | symmetry | verdict | distinct | generated | depth | seconds | states/s | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in ns.configs:
        for sym in (True, False):
            d = run(CONFIGS[name], ns.time_limit, sym)
            rss = int(d.get("peak_rss_bytes", 0) or 0) / 2**20  # type: ignore[call-overload]
            print(
                f"| {name} | {'on' if sym else 'off'} | {d.get('verdict')} | {d.get('distinct_states')} | "
                f"{d.get('generated_states')} | {d.get('depth')} | {d.get('seconds')} | {d.get('states_per_second')} | {rss:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
