"""Start-up time of the command line: `assay --help` and `assay perf --help`, beside EvalScope's.

Usage:
    .venv/bin/python bench/cli_startup.py [--evalscope PATH/TO/evalscope] [--runs 10]

EvalScope is installed in a venv of its own, outside the repository
(`python -m venv /tmp/peers-evalscope && /tmp/peers-evalscope/bin/pip install 'evalscope[perf]'`).
Prints a Markdown table of best-of-N wall times and the ratio to EvalScope.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path


def best_wall_time(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--evalscope", default=shutil.which("evalscope") or "/tmp/peers-evalscope/bin/evalscope")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    assay = str(Path(sys.executable).with_name("assay"))
    rows = [
        ("assay --help", [assay, "--help"]),
        ("assay perf --help", [assay, "perf", "--help"]),
    ]
    peer = None
    if Path(args.evalscope).exists():
        peer = best_wall_time([args.evalscope, "perf", "--help"], args.runs)
    print(f"| command | best of {args.runs} (s) | vs `evalscope perf --help` |")
    print("|---|---|---|")
    for name, command in rows:
        seconds = best_wall_time(command, args.runs)
        ratio = f"{peer / seconds:.0f}× faster" if peer else "evalscope not installed"
        print(f"| `{name}` | {seconds:.3f} | {ratio} |")
    if peer:
        print(f"| `evalscope perf --help` | {peer:.3f} | 1× |")


if __name__ == "__main__":
    main()
