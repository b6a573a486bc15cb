"""Client CPU per streamed chunk and TTFT error: `StreamingPool` (httptools on asyncio protocols) beside
aiohttp's `iter_any` loop (as in `assay.client.openai`), both against `assay sim`.

Usage:
    .venv/bin/python bench/transport_cpu.py [--concurrency 1 32 128] [--output-tokens 256]
        [--ttft-ms 50] [--tpot-ms 10] [--runs 1]

For each concurrency C one simulator is started (1 token per chunk) and each client, in this one process
under uvloop, one after the other, sends 4×C streamed `/v1/completions` requests from C workers over one
keep-alive pool (connections included in the cost). Both clients do the same post-processing: split every
read's bytes on b"\\n" (carrying the partial line over) and `msgspec.json.decode` each `data: ` payload
except `[DONE]`; aiohttp as the bytes come, `StreamingPool` after the response is complete, in slices of
`--yield-every` chunks (default 16) with an `await asyncio.sleep(0)` between them: the 128 responses of a
closed-loop round end together, and decoding all of one response in one go (256 chunks, ~1 ms) would hold the
event loop while other requests' first bytes wait to be read (`--yield-every 0` shows it: TTFT p99 ~50-150 ms).

- **CPU µs/chunk**: this process's CPU time (user + sys, `time.process_time`) over the run / the chunks the
  simulator sent in it (its records). The simulator is a separate process; its CPU is shown apart.
- **TTFT error** per request: (first body read - sent) as the client saw it - (first chunk handed to the
  socket - request arrived) at the simulator; all on the machine-wide `perf_counter_ns` clock. Requests are
  matched to the simulator's records by the `id` of their events. `sent` is taken right after the request
  was handed to the transport (StreamingPool) / by aiohttp's `on_request_chunk_sent` trace. It splits into
  `sent→arrival` (until the request's bytes reached the simulator's socket: the kernel's receive time)
  and `write→read` (the first chunk handed to the socket → the client's mark for its read:
  the client's event-loop latency); their p99s are shown.
- **floor**: a bare asyncio protocol on kept-alive connections that stamps its first body read and
  spots the terminating chunk, nothing else (no HTTP parsing, no decoding): what reading every chunk
  as it comes costs in the kernel (one `read` and one ACK per chunk) and in uvloop.
- `--runs N` repeats each point and keeps, per client, the run with the least CPU per chunk.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from floor_client import Result, make_floor_client
from perf_client import percentile

from assay.client.transport import StreamingPool
from assay.engines.sim import SimServer, SimSettings

TICK = os.sysconf("SC_CLK_TCK")
decode = msgspec.json.decode


@dataclass
class Run:
    client: str
    concurrency: int
    requests: int
    tokens: int
    chunks: int = 0
    cpu_s: float = 0.0
    wall_s: float = 0.0
    sim_cpu_s: float = 0.0
    user_s: float = 0.0
    sys_s: float = 0.0
    errors: int = 0
    ttft_err_ms: list[float] = field(default_factory=list)
    up_ms: list[float] = field(default_factory=list)
    down_ms: list[float] = field(default_factory=list)

    @property
    def us_per_chunk(self) -> float:
        return self.cpu_s / max(1, self.chunks) * 1e6




def process_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def handle_lines(lines: list[bytes], result: Result, now: int) -> None:
    """The post-processing both clients do: decode each `data: ` payload."""
    for line in lines:
        if line.startswith(b"data:"):
            payload = line[5:].strip()
            if payload == b"[DONE]" or not payload:
                continue
            event = decode(payload)
            result.events += 1
            if result.response_id is None:
                result.response_id = event.get("id")
                result.first_ns = now


# --- StreamingPool -------------------------------------------------------------------------------------


def make_transport_client(
    url: str, payload: bytes, headers: dict[str, str], yield_every: int
) -> tuple[Any, Callable[[], Awaitable[Result]]]:
    pool = StreamingPool(connect_timeout_s=60, read_timeout_s=600)
    every = yield_every or 1 << 62

    async def one() -> Result:
        raw = await pool.post(url, payload, headers)
        result = Result(sent_ns=raw.sent_ns, error=raw.error)
        if raw.error is None and raw.status != 200:
            result.error = f"HTTP {raw.status}"
        buffer = b""
        for i, (now, data) in enumerate(raw.chunks, 1):
            if not i % every:
                await asyncio.sleep(0)  # let the loop read other connections between slices
            buffer += data
            if b"\n" not in data:
                continue
            *lines, buffer = buffer.split(b"\n")
            handle_lines(lines, result, now)
        return result

    return pool, one


# --- aiohttp, as assay.client.openai reads a stream ------------------------------------------------------


def make_aiohttp_client(
    url: str, payload: bytes, headers: dict[str, str], _yield_every: int
) -> tuple[Any, Callable[[], Awaitable[Result]]]:
    import aiohttp

    trace = aiohttp.TraceConfig()

    async def on_chunk_sent(_session: Any, context: Any, _params: Any) -> None:
        context.trace_request_ctx.sent_ns = time.perf_counter_ns()

    trace.on_request_chunk_sent.append(on_chunk_sent)
    trace.on_request_headers_sent.append(on_chunk_sent)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=60, sock_read=600)
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, enable_cleanup_closed=True)
    session = aiohttp.ClientSession(connector=connector, trace_configs=[trace], timeout=timeout)
    perf_counter_ns = time.perf_counter_ns

    async def one() -> Result:
        result = Result()
        try:
            async with session.post(url, data=payload, headers=headers, trace_request_ctx=result) as response:
                if response.status != 200:
                    result.error = f"HTTP {response.status}"
                    return result
                buffer = b""
                async for data in response.content.iter_any():
                    now = perf_counter_ns()
                    buffer += data
                    if b"\n" not in data:
                        continue
                    *lines, buffer = buffer.split(b"\n")
                    handle_lines(lines, result, now)
        except aiohttp.ClientError as exc:
            result.error = f"{type(exc).__name__}: {exc}"
        return result

    return session, one


# --- driver ------------------------------------------------------------------------------------------


async def drive(
    make: Callable[..., Any], url: str, concurrency: int, requests: int, run: Run, sim: SimServer, yield_every: int
) -> list[Result]:
    payload = msgspec.json.encode(
        {
            "model": "sim",
            "prompt": "hi",
            "max_tokens": run.tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    )
    headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
    client, one = make(url, payload, headers, yield_every)
    results: list[Result] = []
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            results.append(await one())

    pid = sim._process.pid
    sim_cpu0 = process_cpu_s(pid)
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.cpu_s = time.process_time() - cpu0
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    run.user_s, run.sys_s = usage1.ru_utime - usage0.ru_utime, usage1.ru_stime - usage0.ru_stime
    run.wall_s = time.perf_counter() - wall0
    run.sim_cpu_s = process_cpu_s(pid) - sim_cpu0
    await client.close()
    return results


def measure(client: str, sim: SimServer, concurrency: int, tokens: int, yield_every: int) -> Run:
    import uvloop

    make = {"StreamingPool": make_transport_client, "aiohttp": make_aiohttp_client, "floor": make_floor_client}[client]
    url = sim.base_url + "/completions"
    requests = 4 * concurrency
    run = Run(client, concurrency, requests, tokens)
    warm = Run(client, 1, 2, 4)
    sim.reset()
    loop = uvloop.new_event_loop()
    try:
        loop.run_until_complete(drive(make, url, 1, 2, warm, sim, yield_every))  # imports and code paths warm
        sim.reset()
        results = loop.run_until_complete(drive(make, url, concurrency, requests, run, sim, yield_every))
    finally:
        loop.close()
    truth = {r["id"]: r for r in sim.records()}
    run.chunks = sum(len(r["chunk_ns"]) for r in truth.values())
    for result in results:
        record = truth.get(result.response_id or "")
        if result.error is not None or record is None or result.first_ns is None or result.sent_ns is None:
            run.errors += 1
            continue
        seen = result.first_ns - result.sent_ns
        true = record["chunk_ns"][0] - record["arrival_ns"]
        run.ttft_err_ms.append((seen - true) / 1e6)
        run.up_ms.append((record["arrival_ns"] - result.sent_ns) / 1e6)
        run.down_ms.append((result.first_ns - record["chunk_ns"][0]) / 1e6)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32, 128])
    parser.add_argument("--output-tokens", type=int, default=256)
    parser.add_argument("--ttft-ms", type=float, default=50)
    parser.add_argument("--tpot-ms", type=float, default=10)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--yield-every", type=int, default=16, help="StreamingPool: decode N chunks per slice")
    parser.add_argument("--clients", nargs="+", default=["aiohttp", "StreamingPool", "floor"],
                        choices=["aiohttp", "StreamingPool", "floor"])
    args = parser.parse_args()

    rows: list[Run] = []
    for concurrency in args.concurrency:
        settings = SimSettings(ttft_ms=args.ttft_ms, tpot_ms=args.tpot_ms, output_tokens=args.output_tokens)
        with SimServer(settings) as sim:
            best: dict[str, Run] = {}
            for _ in range(args.runs):
                for client in args.clients:
                    run = measure(client, sim, concurrency, args.output_tokens, args.yield_every)
                    if client not in best or run.us_per_chunk < best[client].us_per_chunk:
                        best[client] = run
            rows.extend(best[c] for c in args.clients)

    print(
        f"\nassay sim: TTFT {args.ttft_ms:g} ms, TPOT {args.tpot_ms:g} ms, {args.output_tokens} tokens/request, "
        f"1 token/chunk; {os.cpu_count()} CPUs; best of {args.runs} run(s); StreamingPool decodes after the response, "
        f"{args.yield_every or 'all'} chunks per slice\n"
    )
    print(
        "| concurrency | client | requests | chunks | **CPU µs/chunk** | user / sys µs | wall s | sim CPU % "
        "| TTFT err mean ms | TTFT err p99 ms | TTFT err max ms | sent→arrival p99 ms | write→read p99 ms | failed |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        e = r.ttft_err_ms
        mean = sum(e) / len(e) if e else float("nan")
        per = 1e6 / max(1, r.chunks)
        print(
            f"| {r.concurrency} | {r.client} | {r.requests} | {r.chunks} | **{r.us_per_chunk:.1f}** "
            f"| {r.user_s * per:.1f} / {r.sys_s * per:.1f} | {r.wall_s:.2f} | {100 * r.sim_cpu_s / r.wall_s:.0f} "
            f"| {mean:.2f} | {percentile(e, 99):.2f} | {max(e) if e else float('nan'):.2f} "
            f"| {percentile(r.up_ms, 99):.2f} | {percentile(r.down_ms, 99):.2f} | {r.errors} |"
        )


if __name__ == "__main__":
    main()
