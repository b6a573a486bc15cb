"""Where assay's client CPU per chunk goes, live: the same closed-loop run with parts of the per-event
work switched off, interleaved, in one process, against `assay sim`.

Usage:
    .venv/bin/python bench/client_parts.py [--concurrency 128] [--output-tokens 256] [--runs 3]

Each run is `run_perf` at the given concurrency, 4 × concurrency requests, 1 token per chunk, TTFT 50 ms,
TPOT 10 ms, no HTML; its CPU is this process's user + sys time around the call, over the chunks sent.
The variants (taken in turn, `--runs` times each, so that the machine's drift hits them alike):

- `full`: assay as shipped;
- `no events`: each read is still decoded by msgspec, but the event is not looked at (only its time
  is kept): what `StreamState.on_event`'s bookkeeping costs;
- `no decoding`: a read's body is not decoded at all (only its time is kept): what the SSE/JSON
  path costs in all (split, msgspec, bookkeeping). What is left is the transport (kernel, uvloop,
  httptools, one Python callback per read) and the per-request work.

`no decoding` records its requests as failed (they carry no events): its cost is comparable, its
results are not. This is a diagnosis, not a way to run assay.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import resource
import statistics
import sys
import tempfile
from collections.abc import Callable
from typing import Any

from assay import PerfConfig, run_perf
from assay.client import sse
from assay.engines.sim import SimServer, SimSettings
from assay.errors import ServerError

State = sse.StreamState


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _event_time_only(self: Any, event: Any, now: int) -> None:
    if self.first_event is None:
        self.first_event = event
    self.chunk_ns.append(now)


def _read_time_only(self: Any, _data: bytes, now: int) -> None:
    self.chunk_ns.append(now)


VARIANTS: dict[str, dict[str, Callable[..., None]]] = {
    "full": {},
    "no events": {"on_event": _event_time_only},
    "no decoding": {"feed": _read_time_only},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--output-tokens", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    number = 4 * args.concurrency
    chunks = number * args.output_tokens
    original = {name: getattr(State, name) for name in ("feed", "on_event")}
    out = tempfile.mkdtemp(prefix="assay-client-parts-")
    results: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with SimServer(SimSettings(ttft_ms=50, tpot_ms=10, output_tokens=args.output_tokens)) as sim:
        def run(parallel: int, requests: int, tokens: int) -> None:
            config = PerfConfig(url=f"{sim.base_url}/completions", model="sim", tokenizer_path="o200k_base",
                                parallel=[parallel], number=[requests], min_prompt_length=32, max_prompt_length=32,
                                max_tokens=tokens, min_tokens=tokens, outputs_dir=out, quiet=True, html=False,
                                test_connection=False)
            with contextlib.redirect_stdout(io.StringIO()):
                try:
                    run_perf(config)
                except ServerError:
                    if State.feed is original["feed"]:  # only "no decoding" may end with "every request failed"
                        raise

        run(1, 1, 2)  # imports, tokenizer, caches
        for i in range(args.runs):
            for name, patch in VARIANTS.items():
                for attribute, function in original.items():
                    setattr(State, attribute, patch.get(attribute, function))
                try:
                    before = _cpu_s()
                    run(args.concurrency, number, args.output_tokens)
                    results[name].append((_cpu_s() - before) / chunks * 1e6)
                finally:
                    for attribute, function in original.items():
                        setattr(State, attribute, function)
                print(f"run {i + 1}, {name}: {results[name][-1]:.1f} µs/chunk", file=sys.stderr, flush=True)
    full = statistics.mean(results["full"])
    print(f"\nconcurrency {args.concurrency}, {number} requests × {args.output_tokens} tokens, 1 token per chunk; "
          f"CPU µs per chunk (gross: the whole run_perf call), {args.runs} interleaved runs\n")
    print("| variant | runs | mean | vs full |")
    print("|---|---|--:|--:|")
    for name, values in results.items():
        mean = statistics.mean(values)
        print(f"| {name} | {' / '.join(f'{v:.1f}' for v in values)} | {mean:.1f} | {mean - full:+.1f} |")


if __name__ == "__main__":
    main()
