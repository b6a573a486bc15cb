"""Eval pipeline overhead per sample: assay versus EvalScope on GSM8K against a server that answers at once.

Usage:
    .venv/bin/python bench/eval_overhead.py [--evalscope /tmp/peers-evalscope/bin/evalscope]
        [--dataset /work/shared/datasets/gsm8k/test.jsonl] [--small 10] [--runs 1] [--batch-size 8]
        [--keep DIR]

Starts bench/instant_server.py (every chat completion answered at once with "The answer is \\boxed{18}."),
then runs each tool's whole GSM8K eval (all rows of the test file, zero-shot) and a small one (`--limit`
`--small`), so that the fixed cost and the cost per sample separate:

    per_sample = (T_all - T_small) / (N - small)        fixed = T_small - small * per_sample

Each run is checked: the samples the tool scored (assay: `samples.jsonl`; EvalScope: `reviews/.../*.jsonl`)
and the chat completions the server counted must both equal the samples asked for (assay sends one more,
its "Hi" service check). Peak memory is the sum of PSS (RSS with pages shared
after fork counted once) over the tool's process tree, sampled from /proc every `--mem-interval` seconds
(processes that live shorter than that may be missed); CPU is user + sys of the tool and every child it
waited for. With `--runs N` each configuration runs N times and the fastest counts.

EvalScope is installed in a venv of its own, outside the repository
(`python -m venv /tmp/peers-evalscope && /tmp/peers-evalscope/bin/pip install evalscope`). It runs offline
with HF_HUB_OFFLINE=1, HF_DATASETS_OFFLINE=1 and `--dataset-args '{"gsm8k": {"dataset_id": DIR}}'`, where
DIR is a copy of the test file in the layout it reads (`README.md` declaring config `main`,
`main/test.jsonl`, `main/train.jsonl`), made in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from perf_client import OFFLINE_ENV

HERE = Path(__file__).resolve().parent
PAGE = os.sysconf("SC_PAGE_SIZE")
README = """---
configs:
- config_name: main
  data_files:
  - split: train
    path: main/train.jsonl
  - split: test
    path: main/test.jsonl
---
# gsm8k, local copy for bench/eval_overhead.py
"""


@dataclass
class Run:
    tool: str
    limit: int
    wall_s: float
    cpu_s: float
    peak_mem_mb: float
    scored: int
    requests: int
    expected_requests: int


def evalscope_layout(test_file: Path, root: Path) -> Path:
    """Copy the GSM8K test file into the folder layout EvalScope loads as a local dataset."""
    folder = root / "gsm8k"
    (folder / "main").mkdir(parents=True)
    shutil.copyfile(test_file, folder / "main" / "test.jsonl")
    with test_file.open() as src, (folder / "main" / "train.jsonl").open("w") as dst:
        for _, line in zip(range(8), src):
            dst.write(line)
    (folder / "README.md").write_text(README)
    return folder


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def tree_memory(root: int) -> int:
    tree = _children()
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(tree.get(pid, []))
        total += _pss(pid)
    return total


def _pss(pid: int) -> int:
    """Proportional set size in bytes (pages shared after fork count once over the tree); RSS if unreadable."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE
    except OSError:
        return 0


def run_measured(command: list[str], env: dict[str, str], log: Path, interval: float) -> tuple[float, float, float]:
    """Run `command`; return wall seconds, CPU seconds of it and its children, peak memory of its tree in MB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = 0
    with log.open("w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while interval > 0 and not done.wait(interval):
                peak = max(peak, tree_memory(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        rc = proc.wait()
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if rc != 0:
        sys.exit(f"failed (exit {rc}): {shlex.join(command)}\n--- {log} ---\n{log.read_text()[-4000:]}")
    return wall, cpu, peak / 2**20


class Server:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "instant_server.py"), "0"], stdout=subprocess.PIPE, text=True
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("PORT "):
            self.proc.kill()
            sys.exit(f"instant server did not start: {line!r}")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def _call(self, path: str, method: str = "GET") -> dict[str, int]:
        request = urllib.request.Request(self.url + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def reset(self) -> None:
        self._call("/stats/reset", "POST")

    def chat_count(self) -> int:
        return self._call("/stats")["chat_completions"]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def count_lines(path: Path) -> int:
    with path.open() as fh:
        return sum(1 for line in fh if line.strip())


def only(paths: list[Path], what: str) -> Path:
    if len(paths) != 1:
        sys.exit(f"expected one {what}, found {[str(p) for p in paths]}")
    return paths[0]


def assay_command(assay: str, url: str, dataset_dir: Path, batch: int, work: Path, limit: int | None) -> list[str]:
    command = [assay, "eval", "--model", "m", "--api-url", f"{url}/v1", "--datasets", "gsm8k",
               "--dataset-hub", "local", "--dataset-dir", str(dataset_dir), "--eval-batch-size", str(batch),
               "--work-dir", str(work), "--quiet"]  # fmt: skip
    return command + (["--limit", str(limit)] if limit is not None else [])


def evalscope_command(evalscope: str, url: str, folder: Path, batch: int, work: Path, limit: int | None) -> list[str]:
    dataset_args = json.dumps({"gsm8k": {"dataset_id": str(folder), "few_shot_num": 0}})
    command = [evalscope, "eval", "--model", "m", "--api-url", f"{url}/v1", "--eval-type", "openai_api",
               "--datasets", "gsm8k", "--dataset-args", dataset_args, "--eval-batch-size", str(batch),
               "--work-dir", str(work)]  # fmt: skip
    return command + (["--limit", str(limit)] if limit is not None else [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--evalscope", default=shutil.which("evalscope") or "/tmp/peers-evalscope/bin/evalscope")
    parser.add_argument("--dataset", type=Path, default=Path("/work/shared/datasets/gsm8k/test.jsonl"))
    parser.add_argument("--small", type=int, default=10, help="samples of the small run")
    parser.add_argument("--runs", type=int, default=1, help="runs of each configuration; the fastest counts")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--mem-interval", type=float, default=0.05, help="seconds between memory samples; 0: no sampling"
    )
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one, removed)")
    args = parser.parse_args()

    total = count_lines(args.dataset)
    assay = str(Path(sys.executable).with_name("assay"))
    work = Path(tempfile.mkdtemp(prefix="eval-overhead-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **OFFLINE_ENV}
    assay_data = work / "assay-data"  # assay's --dataset-dir: one sub-folder per benchmark
    (assay_data / "gsm8k").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.dataset, assay_data / "gsm8k" / "test.jsonl")
    es_folder = evalscope_layout(args.dataset, work / "evalscope-data")

    server = Server()
    results: dict[tuple[str, int], Run] = {}
    commands: dict[str, str] = {}
    try:
        for index in range(args.runs + 1):  # run 0 is a warm-up (page cache, .pyc), not counted
            for tool in ("assay", "evalscope"):
                for limit in (2,) if index == 0 else (args.small, total):
                    out = work / f"{tool}-{limit}-{index}"
                    lim = None if limit == total else limit
                    if tool == "assay":
                        command = assay_command(assay, server.url, assay_data, args.batch_size, out, lim)
                    else:
                        command = evalscope_command(args.evalscope, server.url, es_folder, args.batch_size, out, lim)
                    server.reset()
                    wall, cpu, mem = run_measured(command, env, work / f"{tool}-{limit}-{index}.log", args.mem_interval)
                    requests = server.chat_count()
                    if tool == "assay":
                        scored = count_lines(only(list(out.glob("*/samples.jsonl")), "assay samples.jsonl"))
                        expected = limit + 1  # the "Hi" service check
                    else:
                        scored = count_lines(only(list(out.glob("*/reviews/*/gsm8k_main.jsonl")), "EvalScope review"))
                        expected = limit
                    run = Run(tool, limit, wall, cpu, mem, scored, requests, expected)
                    print(f"  {tool:9} limit={limit:5} run={index} wall={wall:7.2f}s cpu={cpu:7.2f}s "
                          f"pss={mem:6.0f}MB scored={scored} requests={requests}", file=sys.stderr, flush=True)  # fmt: skip
                    if scored != limit or requests != expected:
                        sys.exit(f"{tool} scored {scored} of {limit} samples, server counted {requests} requests "
                                 f"(expected {expected}); log: {work / f'{tool}-{limit}-{index}.log'}")  # fmt: skip
                    if index == 0:
                        continue
                    commands[f"{tool} {limit}"] = shlex.join(command)
                    best = results.get((tool, limit))
                    if best is None or wall < best.wall_s:
                        results[(tool, limit)] = run
    finally:
        server.stop()
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    small, n = args.small, total
    rows = {}
    for tool in ("assay", "evalscope"):
        t_small, t_all = results[(tool, small)].wall_s, results[(tool, n)].wall_s
        per_sample = (t_all - t_small) / (n - small)
        rows[tool] = (t_small - small * per_sample, per_sample, t_all)

    print(f"\nEval overhead, GSM8K test ({n} samples, zero-shot), instant server, --eval-batch-size {args.batch_size}, "
          f"{os.cpu_count()} CPUs; fastest of {args.runs} run(s) after a warm-up\n")  # fmt: skip
    print(f"| tool | fixed cost (s) | per-sample overhead (ms) | total for {n} (s) | total for {small} (s) "
          f"| CPU for {n} (s) | peak PSS for {n} (MB) | scored / requests |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for tool, (fixed, per_sample, t_all) in rows.items():
        big, little = results[(tool, n)], results[(tool, small)]
        mem = f"{big.peak_mem_mb:.0f}" if big.peak_mem_mb else "—"
        print(f"| {tool} | {fixed:.2f} | {per_sample * 1000:.2f} | {t_all:.2f} | {little.wall_s:.2f} "
              f"| {big.cpu_s:.2f} | {mem} | {big.scored} / {big.requests} |")  # fmt: skip
    a, e = rows["assay"], rows["evalscope"]
    ratio = [e[i] / a[i] if a[i] > 0 else float("nan") for i in range(3)]
    cpu_ratio = results[("evalscope", n)].cpu_s / results[("assay", n)].cpu_s
    mem_a, mem_e = results[("assay", n)].peak_mem_mb, results[("evalscope", n)].peak_mem_mb
    mem_ratio = f"{mem_e / mem_a:.1f}×" if mem_a > 0 else "—"
    small_ratio = results[("evalscope", small)].wall_s / results[("assay", small)].wall_s
    print(f"| ratio evalscope/assay | {ratio[0]:.1f}× | {ratio[1]:.1f}× | {ratio[2]:.1f}× | {small_ratio:.1f}× "
          f"| {cpu_ratio:.1f}× | {mem_ratio} | |")  # fmt: skip
    print("\nReproduce:\n")
    print(f"    {shlex.join([sys.executable, *sys.argv])}")
    print("\nCommands of the whole runs (server port and work folders vary):\n")
    for tool in ("assay", "evalscope"):
        print(f"    {commands[f'{tool} {n}']}")


if __name__ == "__main__":
    main()
