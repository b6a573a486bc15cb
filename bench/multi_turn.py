"""Multi-turn TTFT by turn on llama-server, with and without its prompt cache: `assay perf --multi-turn` beside
`evalscope perf --multi-turn`, both on the same server.

Usage:
    .venv/bin/python bench/multi_turn.py [--evalscope /work/peers/evalscope/bin/evalscope] [--sessions 4]
        [--parallel 1] [--turns 4] [--turn-tokens 512] [--output-tokens 32] [--gguf M.gguf --tokenizer DIR]
        [--keep DIR]

One llama-server (`-np` = `--parallel` slots) serves every run. Each tool runs `--sessions` conversations of
`--turns` turns, `--parallel` at a time (closed loop), each turn a new random user message of `--turn-tokens`
tokens (the same tokenizer for both: the model's own) and an answer of exactly `--output-tokens` tokens
(`ignore_eos`), with `"cache_prompt": true` (llama-server's default: a slot keeps the conversation's KV and
reuses the prefix a new prompt shares with it) and then `false` (every turn's whole prompt is computed again).
Turn k's prompt holds turns 0..k-1 and the answers, so without the cache its prefill grows with k.

- assay: `--dataset random_multi_turn --turns T`; TTFT by turn and `cached_tokens` (the server's
  `usage.prompt_tokens_details.cached_tokens`) from summary.json's `sessions.by_turn`.
- EvalScope 1.14.1: `--multi-turn --dataset random_multi_turn --min-turns T --max-turns T`; its
  benchmark_data.db keeps each request body, so a request's turn is the number of assistant messages it
  carries, and its TTFT is `first_chunk_latency`.

The default model is assay's tiny random Llama (made on the spot: its prefill is cheap, so the turn sizes are
large enough for prefill to dominate TTFT). Runs are interleaved (assay, EvalScope, with the cache then
without) after one warm-up run of each tool.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from assay.engines import LlamaServer, make_tiny_model

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "MODELSCOPE_OFFLINE": "1", "NO_PROXY": "127.0.0.1,localhost"}


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation, like numpy's default."""
    s = sorted(values)
    k = (len(s) - 1) * q / 100
    f = int(k)
    return s[f] + (s[min(f + 1, len(s) - 1)] - s[f]) * (k - f)


def run(command: list[str], log: Path) -> None:
    import os

    with log.open("w") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=os.environ | OFFLINE_ENV,
                              timeout=1800, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} {command[1]} failed (exit {done.returncode}); see {log}")


def assay_command(url: str, tokenizer: Path, args: argparse.Namespace, cache: bool, out: Path,
                  sessions: int) -> list[str]:
    return [sys.executable, "-m", "assay", "perf", "--url", url, "--model", "m", "--tokenizer-path", str(tokenizer),
            "--dataset", "random_multi_turn", "--turns", str(args.turns), "--parallel", str(args.parallel),
            "--number", str(sessions), "--min-prompt-length", str(args.turn_tokens), "--max-prompt-length",
            str(args.turn_tokens), "--max-tokens", str(args.output_tokens), "--seed", str(int(cache)),
            "--extra-args", json.dumps({"ignore_eos": True, "cache_prompt": cache}), "--outputs-dir", str(out),
            "--quiet", "--no-html", "--no-test-connection"]


def evalscope_command(evalscope: str, url: str, tokenizer: Path, args: argparse.Namespace, cache: bool, out: Path,
                      sessions: int) -> list[str]:
    return [evalscope, "perf", "--url", url, "--api", "openai", "--model", "m", "--tokenizer-path", str(tokenizer),
            "--multi-turn", "--dataset", "random_multi_turn", "--min-turns", str(args.turns), "--max-turns",
            str(args.turns), "--parallel", str(args.parallel), "-n", str(sessions), "--min-prompt-length",
            str(args.turn_tokens), "--max-prompt-length", str(args.turn_tokens), "--max-tokens",
            str(args.output_tokens), "--stream", "--extra-args", json.dumps({"ignore_eos": True, "cache_prompt": cache}),
            "--outputs-dir", str(out), "--no-test-connection"]


def assay_turns(out: Path) -> dict[int, dict[str, Any]]:
    (summary,) = out.glob("*/*/summary.json")
    by_turn = json.loads(summary.read_text())["points"][0]["sessions"]["by_turn"]
    return {t["turn"]: {"n": t["succeeded"], "mean": t["ttft_s"]["mean"], "p50": t["ttft_s"]["p50"],
                        "prompt": t["prompt_tokens_mean"], "cached": t["cached_tokens_mean"]} for t in by_turn}


def evalscope_turns(out: Path) -> dict[int, dict[str, Any]]:
    (db,) = out.glob("**/benchmark_data.db")
    ttfts: dict[int, list[float]] = {}
    prompts: dict[int, list[int]] = {}
    with sqlite3.connect(db) as connection:
        for request, first_chunk, prompt_tokens in connection.execute(
                "SELECT request, first_chunk_latency, prompt_tokens FROM result WHERE success = 1"):
            body = json.loads(request)
            turn = sum(m.get("role") == "assistant" for m in body["messages"])
            ttfts.setdefault(turn, []).append(first_chunk)
            prompts.setdefault(turn, []).append(prompt_tokens or 0)
    return {k: {"n": len(v), "mean": statistics.mean(v), "p50": percentile(v, 50),
                "prompt": statistics.mean(prompts[k]), "cached": None} for k, v in sorted(ttfts.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--evalscope", default=shutil.which("evalscope") or "/work/peers/evalscope/bin/evalscope")
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--turn-tokens", type=int, default=512)
    parser.add_argument("--output-tokens", type=int, default=32)
    parser.add_argument("--gguf", type=Path, help="a GGUF model (default: assay's tiny random Llama)")
    parser.add_argument("--tokenizer", type=Path, help="its tokenizer folder (tokenizer.json), with --gguf")
    parser.add_argument("--keep", type=Path, help="keep the runs' files here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-multi-turn-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.gguf is None:
        make_tiny_model(work / "model")
        args.gguf, args.tokenizer = work / "model" / "tiny.gguf", work / "model"
    context = args.parallel * (args.turns * (args.turn_tokens + args.output_tokens) + 512)
    results: dict[tuple[str, bool], dict[int, dict[str, Any]]] = {}
    with LlamaServer(args.gguf, alias="m", parallel=args.parallel, context_size=context, threads=2,
                     log_path=work / "llama-server.log") as server:
        url = f"{server.base_url}/chat/completions"
        tools = {"assay": (assay_command, assay_turns), "EvalScope": (None, evalscope_turns)}
        for tool in tools:  # warm-up: one session each, not measured
            out = work / f"warmup-{tool}"
            run(assay_command(url, args.tokenizer, args, True, out, 1) if tool == "assay"
                else evalscope_command(args.evalscope, url, args.tokenizer, args, True, out, 1), work / f"{tool}-warmup.log")
        for cache in (True, False):
            for tool in tools:
                out = work / f"{tool}-cache-{cache}"
                command = (assay_command(url, args.tokenizer, args, cache, out, args.sessions) if tool == "assay"
                           else evalscope_command(args.evalscope, url, args.tokenizer, args, cache, out, args.sessions))
                print(f"{tool}, cache_prompt {str(cache).lower()} …", flush=True)
                run(command, work / f"{tool}-cache-{cache}.log")
                results[tool, cache] = tools[tool][1](out)
    print(f"\n{args.sessions} sessions × {args.turns} turns, {args.parallel} at a time; each turn +{args.turn_tokens} "
          f"prompt tokens, {args.output_tokens} output tokens. TTFT mean / p50 in ms by turn.\n")
    header = ["turn", "prompt tokens"]
    for cache in (True, False):
        for tool in ("assay", "EvalScope"):
            header.append(f"{tool}, cache {'on' if cache else 'off'}")
    header.append("cached tokens (assay, on / off)")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for turn in range(args.turns):
        cells = [str(turn), f"{results['assay', True][turn]['prompt']:.0f}"]
        for cache in (True, False):
            for tool in ("assay", "EvalScope"):
                row = results[tool, cache].get(turn)
                cells.append("-" if row is None else f"{row['mean'] * 1000:.0f} / {row['p50'] * 1000:.0f}")
        on, off = results["assay", True][turn]["cached"], results["assay", False][turn]["cached"]
        cells.append(f"{on:.0f} / {off:.0f}" if on is not None and off is not None else "-")
        print("| " + " | ".join(cells) + " |")
    print(f"\nFiles: {work}")


if __name__ == "__main__":
    main()
