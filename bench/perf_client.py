"""Load-test client cost and TTFT accuracy: `assay perf` beside `evalscope perf`, both against `assay sim`.

Usage:
    .venv/bin/python bench/perf_client.py [--evalscope /tmp/peers-evalscope/bin/evalscope]
        [--concurrency 1 32 128] [--ttft-ms 50] [--tpot-ms 10] [--tpot-override 128=20]
        [--output-tokens 256] [--tools assay evalscope] [--runs 1] [--tiny-runs 3] [--keep DIR]

For each concurrency C a fresh simulator is started (`assay sim`, 1 token per chunk), and each tool runs
4×C requests (at least 8) of exactly `--output-tokens` tokens, streamed, with no connection test. The
simulator records the ground truth of every request on the machine's monotonic clock (perf_counter):
arrival (the kernel's receive time of the request's bytes), each chunk handed to the socket, end.

- **CPU per chunk**: user + sys of the tool's whole process tree (every descendant it waited for, read with
  getrusage(RUSAGE_CHILDREN) around the run), over the chunks the simulator sent in the run. Each tool also
  runs with 1 request of 1 token (once to warm up, then `--tiny-runs` times; the least CPU counts):
  `net` = (CPU_run - CPU_tiny) / (chunks_run - chunks_tiny) takes the tool's fixed start-up and report cost
  out, `gross` = CPU_run / chunks_run does not. The fixed cost is printed under the table. At concurrency 1
  (8 requests, ~2,000 chunks) the net figure is dominated by the noise of the fixed cost (±0.5 s).
- **TTFT error** per request = the TTFT the tool reports - the true TTFT (first chunk sent - request
  arrived, both at the simulator). assay reports TTFT = first token - sent (`requests.jsonl`, ns after
  run.json's `origin_perf_ns`); EvalScope reports `first_chunk_latency` from its `start_time`
  (`benchmark_data.db`, perf_counter seconds). Requests are matched to the simulator's records by the
  response id the simulator put in every chunk (assay: `response_id`; EvalScope: the first chunk pickled
  in `response_messages`, found as bytes without unpickling).
- **Client overhead** (assay only): sent - start, the time a request spent in the client before its body
  reached the socket; assay reports it apart from TTFT. `start→arrival` is, for both tools, the time
  from the moment the tool took the request up until its bytes reached the simulator's socket (in-client
  wait + loopback).
- **floor** (`--tools ... floor`): `bench/floor_client.py`, a bare uvloop protocol that only spots the
  end of each response: what any client that reads every chunk as it arrives pays (kernel, wake-ups,
  event loop). EvalScope ÷ floor bounds the CPU ratio any such client could reach.
- **Sim CPU**: the simulator's own CPU over the run's wall time (it shares the machine's cores with the
  client; near 100 % of a core it, not the client, paces the chunks). `sim lag p99` is how late chunks
  left the simulator against its own schedule (start + TTFT + i × TPOT). `other CPU` is what the rest of
  the machine used meanwhile, in cores (from /proc/stat); on a shared machine, `--runs N` repeats each point
  and keeps, per tool, the run during which it was lowest.

EvalScope is installed in a venv of its own (`python -m venv /tmp/peers-evalscope &&
/tmp/peers-evalscope/bin/pip install 'evalscope[perf]'`) and runs offline; its `--dataset random` uses the
tokenizer of assay's tiny model (`make_tiny_model`), assay uses `o200k_base`. Prompts are 32 tokens long
as each tokenizer counts them. guidellm (`--tools ... guidellm`; `python -m venv /tmp/peers-guidellm &&
/tmp/peers-guidellm/bin/pip install guidellm`, 0.8.1) runs its `concurrent` profile with `max_requests`,
synthetic text through the same tiny tokenizer, streamed from `/v1/completions` like the others
(`request_format`); its request marks are wall-clock seconds, moved onto perf_counter by the bench.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.engines.sim import SimServer, SimSettings

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "MODELSCOPE_OFFLINE": "1",
    "NO_PROXY": "127.0.0.1,localhost",
}
TICK = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation, like numpy's default."""
    s = sorted(values)
    if not s:
        return float("nan")
    pos = (len(s) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(s) - 1)
    return s[low] + (s[high] - s[low]) * (pos - low)


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def machine_busy_s() -> float:
    """CPU seconds all cores spent not idle (nor waiting for I/O) since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICK


@dataclass
class Run:
    tool: str
    concurrency: int
    number: int
    cpu_s: float
    wall_s: float
    sim_cpu_s: float
    other_cpu_s: float
    chunks: int
    ttft_error_ms: list[float] = field(default_factory=list)
    overhead_ms: list[float] = field(default_factory=list)
    start_to_arrival_ms: list[float] = field(default_factory=list)
    sim_lag_ms: list[float] = field(default_factory=list)
    matched: int = 0


def run_command(command: list[str], env: dict[str, str], log: Path, sim: SimServer) -> tuple[float, float, float, float]:
    """Run a tool to its end; its tree's CPU, wall time, the simulator's CPU and the rest of the machine's."""
    sim_pid = sim._process.pid
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    sim_before = process_cpu_s(sim_pid)
    busy_before = machine_busy_s()
    start = time.perf_counter()
    with log.open("wb") as out:
        code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env).returncode
    wall = time.perf_counter() - start
    busy = machine_busy_s() - busy_before
    sim_cpu = process_cpu_s(sim_pid) - sim_before
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-15:]
        raise SystemExit(f"{command[0]} exited with {code}:\n" + "\n".join(tail))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, sim_cpu, max(0.0, busy - cpu - sim_cpu)


def assay_command(url: str, concurrency: int, number: int, tokens: int, out: Path) -> list[str]:
    assay = str(Path(sys.executable).with_name("assay"))
    return [assay, "perf", "--url", url, "--model", "sim", "--parallel", str(concurrency), "--number", str(number),
            "--max-tokens", str(tokens), "--min-tokens", str(tokens), "--tokenizer-path", "o200k_base",
            "--min-prompt-length", "32", "--max-prompt-length", "32", "--outputs-dir", str(out), "--quiet",
            # Like for like: EvalScope draws no plots, so assay's HTML report is left out of its CPU.
            "--no-test-connection", "--no-html"]


def evalscope_command(evalscope: str, tokenizer: Path, url: str, concurrency: int, number: int, tokens: int,
                      out: Path) -> list[str]:
    return [evalscope, "perf", "--url", url, "--api", "openai", "--model", "sim", "--parallel", str(concurrency),
            "-n", str(number), "--max-tokens", str(tokens), "--min-tokens", str(tokens), "--stream",
            "--dataset", "random", "--tokenizer-path", str(tokenizer), "--min-prompt-length", "32",
            "--max-prompt-length", "32", "--outputs-dir", str(out), "--no-test-connection"]


def guidellm_command(guidellm: str, tokenizer: Path, url: str, concurrency: int, number: int, tokens: int,
                     out: Path) -> list[str]:
    target = url.split("/v1/", 1)[0]  # guidellm adds /v1/chat/completions itself
    return [guidellm, "run", "--backend", f"kind=openai_http,target={target},model=sim,request_format=/v1/completions",
            "--profile", f"kind=concurrent,streams={concurrency}", "--constraint", f"kind=max_requests,count={number}",
            "--data", f"kind=synthetic_text,prompt_tokens=32,output_tokens={tokens}",
            "--tokenizer", f"kind=huggingface_auto,model={tokenizer}",
            "--output", f"kind=json,path={out / 'guidellm.json'}", "--disable-console-interactive"]


def guidellm_requests(out: Path) -> list[dict[str, Any]]:
    """guidellm's successful requests; its marks are wall-clock seconds, moved onto perf_counter here."""
    offset = time.time_ns() - time.perf_counter_ns()  # one machine, so one offset (± µs)
    data = json.loads((out / "guidellm.json").read_text())
    rows = []
    for benchmark in data["benchmarks"]:
        for r in benchmark["requests"]["successful"]:
            if r.get("time_to_first_token_ms") is None:
                continue
            rows.append({"id": r.get("response_id"), "start_ns": round(r["request_start_time"] * 1e9) - offset,
                         "sent_ns": None, "ttft_ns": round(r["time_to_first_token_ms"] * 1e6)})
    return rows


def floor_command(url: str, concurrency: int, number: int, tokens: int, out: Path) -> list[str]:
    script = str(Path(__file__).with_name("floor_client.py"))
    return [sys.executable, script, "--url", url, "--concurrency", str(concurrency), "--number", str(number),
            "--max-tokens", str(tokens), "--out", str(out / "requests.jsonl")]


def floor_requests(out: Path) -> list[dict[str, Any]]:
    rows = []
    for line in (out / "requests.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r["error"] is None and r["first_ns"] is not None:
            rows.append({"id": r["id"], "start_ns": r["start_ns"], "sent_ns": r["sent_ns"],
                         "ttft_ns": r["first_ns"] - r["sent_ns"]})
    return rows


def only(paths: list[Path], what: str) -> Path:
    if len(paths) != 1:
        raise SystemExit(f"expected one {what}, found {len(paths)}: {paths}")
    return paths[0]


def assay_requests(out: Path) -> list[dict[str, Any]]:
    """Measured successful requests, marks turned into absolute perf_counter ns."""
    path = only(list(out.glob("*/*/requests.jsonl")), "assay requests.jsonl")
    origin = json.loads((path.parent / "run.json").read_text())["origin_perf_ns"]
    rows = []
    for line in path.read_text().splitlines():
        r = json.loads(line)
        if r.get("phase") != "measure" or r.get("error") or r.get("first_token_ns") is None:
            continue
        rows.append({"id": r["response_id"], "start_ns": origin + r["start_ns"], "sent_ns": origin + r["sent_ns"],
                     "ttft_ns": r["first_token_ns"] - r["sent_ns"]})
    return rows


def evalscope_requests(out: Path) -> list[dict[str, Any]]:
    path = only(list(out.glob("*/*/parallel_*_number_*/benchmark_data.db")), "EvalScope benchmark_data.db")
    with sqlite3.connect(path) as db:
        cursor = db.execute("SELECT start_time, first_chunk_latency, response_messages FROM result "
                            "WHERE success = 1 ORDER BY start_time")
        rows = []
        for start_time, first_chunk, messages in cursor:
            raw = messages if isinstance(messages, bytes) else messages.encode()
            try:
                raw = base64.b64decode(raw, validate=True)
            except ValueError:
                pass
            found = re.search(rb"sim-\d+", raw)
            rows.append({"id": found.group().decode() if found else None, "start_ns": round(start_time * 1e9),
                         "sent_ns": None, "ttft_ns": round(first_chunk * 1e9)})
    return rows


def sim_lag_ms(record: dict[str, Any], settings: SimSettings) -> list[float]:
    due = record["start_ns"] + settings.ttft_ms * 1e6
    lags = []
    for sent, tokens in zip(record["chunk_ns"], record["chunk_tokens"]):
        lags.append((sent - due) / 1e6)
        due += settings.tpot_ms * 1e6 * tokens
    return lags


def measure(tool: str, command: list[str], env: dict[str, str], sim: SimServer, out: Path, concurrency: int,
            number: int) -> Run:
    sim.reset()
    out.mkdir(parents=True, exist_ok=True)
    cpu, wall, sim_cpu, other = run_command(command, env, out / "log.txt", sim)
    records = sim.records()
    run = Run(tool, concurrency, number, cpu, wall, sim_cpu, other, sum(len(r["chunk_ns"]) for r in records))
    truth = {r["id"]: r for r in records}
    readers = {"assay": assay_requests, "floor": floor_requests, "evalscope": evalscope_requests,
               "guidellm": guidellm_requests}
    client = readers[tool](out)
    if any(r["id"] is None for r in client):  # no id: match by order (client start vs simulator arrival)
        ordered = sorted(records, key=lambda r: r["arrival_ns"])[-len(client):]
        for r, t in zip(sorted(client, key=lambda r: r["start_ns"]), ordered):
            r["id"] = t["id"]
    for r in client:
        t = truth.get(r["id"])
        if t is None or not t["chunk_ns"]:
            continue
        run.matched += 1
        run.ttft_error_ms.append((r["ttft_ns"] - (t["chunk_ns"][0] - t["arrival_ns"])) / 1e6)
        run.start_to_arrival_ms.append((t["arrival_ns"] - r["start_ns"]) / 1e6)
        if r["sent_ns"] is not None:
            run.overhead_ms.append((r["sent_ns"] - r["start_ns"]) / 1e6)
        run.sim_lag_ms.extend(sim_lag_ms(t, sim.settings))
    if run.matched < number:
        print(f"warning: {tool} c={concurrency}: {run.matched} of {number} requests matched to the simulator",
              file=sys.stderr)
    return run


def ratio(peer: float, ours: float) -> str:
    """|peer| / |ours|; an error under 0.1 ms counts as 0.1 ms, so that the ratio stays finite."""
    floor = abs(ours) < 0.1
    return f"{'≥' if floor else ''}{abs(peer) / max(abs(ours), 0.1):.0f}×"


def fmt(values: list[float]) -> str:
    return f"{mean(values):+.2f} / {percentile(values, 99):+.2f}" if values else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evalscope", default=shutil.which("evalscope") or "/tmp/peers-evalscope/bin/evalscope")
    parser.add_argument("--guidellm", default=shutil.which("guidellm") or "/tmp/peers-guidellm/bin/guidellm")
    parser.add_argument("--tools", nargs="+", default=["assay", "evalscope"],
                        choices=["assay", "evalscope", "guidellm", "floor"],
                        help="floor: bench/floor_client.py, what any client that reads every chunk pays")
    parser.add_argument("--concurrency", nargs="+", type=int, default=[1, 32, 128])
    parser.add_argument("--ttft-ms", type=float, default=50.0)
    parser.add_argument("--tpot-ms", type=float, default=10.0)
    parser.add_argument("--tpot-override", nargs="*", default=[], metavar="C=MS",
                        help="another TPOT at concurrency C, for every tool (e.g. 128=20 if the simulator saturates)")
    parser.add_argument("--output-tokens", type=int, default=256)
    parser.add_argument("--runs", type=int, default=1,
                        help="runs of each tool at each concurrency; the one during which the rest of the machine "
                        "used the least CPU is reported")
    parser.add_argument("--tiny-runs", type=int, default=3, help="runs of 1 request of 1 token; the least CPU counts")
    parser.add_argument("--keep", type=Path, help="keep the tools' outputs here (default: a temporary folder)")
    args = parser.parse_args()
    overrides = {int(c): float(ms) for c, ms in (item.split("=") for item in args.tpot_override)}

    root = args.keep or Path(tempfile.mkdtemp(prefix="assay-perf-client-"))
    root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **OFFLINE_ENV}
    tokenizer = root / "tokenizer"
    if {"evalscope", "guidellm"} & set(args.tools) and not (tokenizer / "tokenizer.json").exists():
        from assay.engines import make_tiny_model

        make_tiny_model(str(tokenizer))

    def command(tool: str, url: str, c: int, n: int, tokens: int, out: Path) -> list[str]:
        if tool == "assay":
            return assay_command(url, c, n, tokens, out)
        if tool == "floor":
            return floor_command(url, c, n, tokens, out)
        if tool == "guidellm":
            return guidellm_command(args.guidellm, tokenizer, url, c, n, tokens, out)
        return evalscope_command(args.evalscope, tokenizer, url, c, n, tokens, out)

    load_before = os.getloadavg()
    tiny: dict[str, Run] = {}
    runs: list[Run] = []
    settings = SimSettings(ttft_ms=args.ttft_ms, tpot_ms=args.tpot_ms, tokens_per_chunk=1,
                           output_tokens=args.output_tokens)
    with SimServer(settings) as sim:
        url = sim.base_url + "/completions"
        for tool in args.tools:
            print(f"{tool}: 1 request of 1 token, 1 + {args.tiny_runs} times", file=sys.stderr, flush=True)
            tries = []
            for i in range(1 + args.tiny_runs):  # the first warms the page cache and is not counted
                out = root / f"{tool}-tiny{i}"
                tries.append(measure(tool, command(tool, url, 1, 1, 1, out), env, sim, out, 1, 1))
            tiny[tool] = min(tries[1:], key=lambda r: r.cpu_s)
    for c in args.concurrency:
        n = max(8, 4 * c)
        settings = SimSettings(ttft_ms=args.ttft_ms, tpot_ms=overrides.get(c, args.tpot_ms), tokens_per_chunk=1,
                               output_tokens=args.output_tokens)
        with SimServer(settings) as sim:
            url = sim.base_url + "/completions"
            best: dict[str, Run] = {}
            for i in range(args.runs):  # the tools take turns; each keeps its run on the quietest machine
                for tool in args.tools:
                    print(f"{tool}: concurrency {c}, {n} requests, TPOT {settings.tpot_ms:g} ms, run {i + 1}",
                          file=sys.stderr, flush=True)
                    out = root / f"{tool}-c{c}-{i}"
                    run = measure(tool, command(tool, url, c, n, args.output_tokens, out), env, sim, out, c, n)
                    if tool not in best or run.other_cpu_s / run.wall_s < best[tool].other_cpu_s / best[tool].wall_s:
                        best[tool] = run
            runs.extend(best[tool] for tool in args.tools)
    load_after = os.getloadavg()

    print(f"\n{args.output_tokens} output tokens, 1 token per chunk, TTFT {args.ttft_ms:g} ms, "
          f"TPOT {args.tpot_ms:g} ms" + "".join(f" ({ms:g} ms at c={c})" for c, ms in overrides.items())
          + f"; {os.cpu_count()} CPUs; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after.\n")
    print("| tool | conc. | requests | CPU µs/chunk net | gross | TTFT error mean / p99 (ms) "
          "| client overhead mean / p99 (ms) | start→arrival mean / p99 (ms) | sim CPU (cores) | sim lag p99 (ms) "
          "| other CPU (cores) |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    net: dict[tuple[str, int], float] = {}
    ttft: dict[tuple[str, int], tuple[float, float]] = {}
    for r in runs:
        base = tiny[r.tool]
        net_us = (r.cpu_s - base.cpu_s) / max(1, r.chunks - base.chunks) * 1e6
        net[r.tool, r.concurrency] = net_us
        ttft[r.tool, r.concurrency] = (mean(r.ttft_error_ms), percentile(r.ttft_error_ms, 99))
        print(f"| {r.tool} | {r.concurrency} | {r.matched}/{r.number} | {net_us:.1f} | {r.cpu_s / r.chunks * 1e6:.1f} "
              f"| {fmt(r.ttft_error_ms)} | {fmt(r.overhead_ms)} | {fmt(r.start_to_arrival_ms)} "
              f"| {r.sim_cpu_s / r.wall_s:.2f} | {percentile(r.sim_lag_ms, 99):.2f} | {r.other_cpu_s / r.wall_s:.2f} |")
    print("\nFixed CPU (1 request of 1 token, least of the runs): " + ", ".join(
        f"{t} {r.cpu_s:.2f} s ({r.wall_s:.1f} s wall)" for t, r in tiny.items()))
    for peer, name in (("evalscope", "EvalScope"), ("guidellm", "guidellm")):
        if {"assay", peer} <= set(args.tools):
            print(f"\n| conc. | {name} / assay CPU per chunk | {name} / assay TTFT error mean | p99 |")
            print("|--:|--:|--:|--:|")
            for c in args.concurrency:
                (am, ap), (pm, pp) = ttft["assay", c], ttft[peer, c]
                print(f"| {c} | {net[peer, c] / net['assay', c]:.1f}× | {ratio(pm, am)} | {ratio(pp, ap)} |")
    if {"floor", "evalscope"} <= set(args.tools):
        print("\n| conc. | EvalScope / floor CPU per chunk | assay / floor |")
        print("|--:|--:|--:|")
        for c in args.concurrency:
            mine = f"{net['assay', c] / net['floor', c]:.2f}×" if "assay" in args.tools else "n/a"
            print(f"| {c} | {net['evalscope', c] / net['floor', c]:.2f}× | {mine} |")
    print(f"\nOutputs: {root}" if args.keep else "")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
