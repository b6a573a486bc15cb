"""Load at scale: 10,000 requests at concurrency 512 against `assay sim`, every request recorded, peak memory.

Usage:
    .venv/bin/python bench/load_memory.py [--tools assay evalscope] [--number 10000] [--concurrency 512]
        [--ttft-ms 20] [--tpot-ms 5] [--output-tokens 16] [--interval-ms 50] [--keep DIR]
        [--evalscope /tmp/peers-evalscope/bin/evalscope]

Each tool runs once against a fresh simulator (1 token per chunk, `--output-tokens` tokens per request,
32-token prompts, streamed, no connection test), with the same flags as bench/perf_client.py. While it runs, a
thread samples the tool's whole process tree (the tool and every descendant, found through /proc/*/stat)
every `--interval-ms`:

- **peak PSS**: the sum over the tree of `Pss` in /proc/PID/smaps_rollup (shared pages split between the
  processes that map them, so a tree of forked workers is not counted twice);
- **peak RSS**: VmRSS of the main process alone (/proc/PID/status).

Also reported: wall time; CPU time (user + sys of the tree, every descendant the tool waited for, from
getrusage(RUSAGE_CHILDREN) around the run); requests the tool recorded (assay: lines of requests.jsonl;
EvalScope: rows of the `result` table in benchmark_data.db) over requests the simulator saw; failures
(assay: `error` not null; EvalScope: `success` = 0). The script exits non-zero if assay did not record every
request with no failure. Peaks are sampled, so a spike shorter than the interval can be missed.

The open-file soft limit is raised to at least 4096 (inherited by the tools and the simulator), as 512
connections need 512 sockets. EvalScope runs offline with the tokenizer of assay's tiny model
(`make_tiny_model`); assay uses `o200k_base`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from perf_client import OFFLINE_ENV, assay_command, evalscope_command, only

from assay.engines.sim import SimServer, SimSettings

MIN_FILES = 4096


def raise_open_files() -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(soft, MIN_FILES), hard) if hard != resource.RLIM_INFINITY else max(soft, MIN_FILES)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def process_tree(root: int) -> list[int]:
    """root and all its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def kb_field(path: str, name: str) -> int:
    """A `Name:  N kB` field of a /proc file, in kB (0 when the process is gone)."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    def __init__(self, pid: int, interval_s: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval_s = pid, interval_s
        self.peak_pss_kb = self.peak_rss_kb = self.samples = self.max_procs = 0
        self.done = threading.Event()

    def run(self) -> None:
        due = time.perf_counter()
        while not self.done.is_set():
            tree = process_tree(self.pid)
            pss = sum(kb_field(f"/proc/{p}/smaps_rollup", "Pss") for p in tree)
            rss = kb_field(f"/proc/{self.pid}/status", "VmRSS")
            self.peak_pss_kb, self.peak_rss_kb = max(self.peak_pss_kb, pss), max(self.peak_rss_kb, rss)
            self.max_procs = max(self.max_procs, len(tree))
            self.samples += 1
            due = max(due + self.interval_s, time.perf_counter())  # a late sample does not push the next back
            self.done.wait(due - time.perf_counter())


@dataclass
class Result:
    tool: str
    recorded: int
    sim_saw: int
    failures: int
    wall_s: float
    cpu_s: float
    peak_pss_mb: float
    peak_rss_mb: float
    samples: int
    max_procs: int


def assay_counts(out: Path) -> tuple[int, int]:
    path = only(list(out.glob("*/*/requests.jsonl")), "assay requests.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return len(rows), sum(1 for r in rows if r.get("error") is not None)


def evalscope_counts(out: Path) -> tuple[int, int]:
    path = only(list(out.glob("*/*/parallel_*_number_*/benchmark_data.db")), "EvalScope benchmark_data.db")
    with sqlite3.connect(path) as db:
        total, ok = db.execute("SELECT COUNT(*), COALESCE(SUM(success = 1), 0) FROM result").fetchone()
    return total, total - ok


def measure(tool: str, command: list[str], env: dict[str, str], sim: SimServer, out: Path,
            interval_s: float) -> Result:
    sim.reset()
    out.mkdir(parents=True, exist_ok=True)
    log = out / "log.txt"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
        sampler = Sampler(process.pid, interval_s)
        sampler.start()
        code = process.wait()
    wall = time.perf_counter() - start
    sampler.done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-15:]
        raise SystemExit(f"{tool} exited with {code}:\n" + "\n".join(tail))
    recorded, failures = assay_counts(out) if tool == "assay" else evalscope_counts(out)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Result(tool, recorded, len(sim.records()), failures, wall, cpu, sampler.peak_pss_kb / 1024,
                  sampler.peak_rss_kb / 1024, sampler.samples, sampler.max_procs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evalscope", default=shutil.which("evalscope") or "/tmp/peers-evalscope/bin/evalscope")
    parser.add_argument("--tools", nargs="+", default=["assay", "evalscope"], choices=["assay", "evalscope"])
    parser.add_argument("--number", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=512)
    parser.add_argument("--ttft-ms", type=float, default=20.0)
    parser.add_argument("--tpot-ms", type=float, default=5.0)
    parser.add_argument("--output-tokens", type=int, default=16)
    parser.add_argument("--interval-ms", type=float, default=50.0)
    parser.add_argument("--keep", type=Path, help="keep the tools' outputs here (default: a temporary folder)")
    args = parser.parse_args()

    soft, _ = raise_open_files()
    if soft < args.concurrency + 256:
        print(f"warning: open-file limit {soft} is low for concurrency {args.concurrency}", file=sys.stderr)
    root = args.keep or Path(tempfile.mkdtemp(prefix="assay-load-memory-"))
    root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **OFFLINE_ENV}
    tokenizer = root / "tokenizer"
    if "evalscope" in args.tools and not (tokenizer / "tokenizer.json").exists():
        from assay.engines import make_tiny_model

        make_tiny_model(str(tokenizer))

    settings = SimSettings(ttft_ms=args.ttft_ms, tpot_ms=args.tpot_ms, tokens_per_chunk=1,
                           output_tokens=args.output_tokens)
    c, n, tokens = args.concurrency, args.number, args.output_tokens
    load_before = os.getloadavg()
    results = []
    for tool in args.tools:
        with SimServer(settings) as sim:  # a fresh simulator per tool: its record list starts empty
            url = sim.base_url + "/completions"
            out = root / tool
            command = (assay_command(url, c, n, tokens, out) if tool == "assay"
                       else evalscope_command(args.evalscope, tokenizer, url, c, n, tokens, out))
            print(f"{tool}: {n} requests at concurrency {c}", file=sys.stderr, flush=True)
            results.append(measure(tool, command, env, sim, out, args.interval_ms / 1000))
    load_after = os.getloadavg()

    print(f"\n{n} requests, concurrency {c}, {tokens} output tokens (1 per chunk), TTFT {args.ttft_ms:g} ms, "
          f"TPOT {args.tpot_ms:g} ms; {os.cpu_count()} CPUs; open-file limit {soft}; "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after.\n")
    print("| tool | requests recorded / sim saw | failures | wall s | CPU s | peak PSS MB (tree) "
          "| peak RSS MB (main) |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    for r in results:
        print(f"| {r.tool} | {r.recorded:,} / {r.sim_saw:,} | {r.failures} | {r.wall_s:.1f} | {r.cpu_s:.1f} "
              f"| {r.peak_pss_mb:.0f} | {r.peak_rss_mb:.0f} |")
    print(f"\nSamples every {args.interval_ms:g} ms: " + ", ".join(
        f"{r.tool} {r.samples} (up to {r.max_procs} processes)" for r in results))
    print(f"Reproduce: .venv/bin/python bench/load_memory.py --tools {' '.join(args.tools)} --number {n} "
          f"--concurrency {c} --ttft-ms {args.ttft_ms:g} --tpot-ms {args.tpot_ms:g} --output-tokens {tokens}")
    print(f"Outputs: {root}" if args.keep else "")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    for r in results:
        if r.tool == "assay" and (r.recorded != n or r.failures or r.sim_saw != n):
            raise SystemExit(f"assay recorded {r.recorded} of {n} requests ({r.failures} failed, "
                             f"simulator saw {r.sim_saw})")


if __name__ == "__main__":
    main()
