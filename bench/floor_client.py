"""The floor: what any load-test client that reads every streamed chunk as it arrives pays.

A bare uvloop protocol on kept-alive connections that stamps its first body read and spots the end of
each response, nothing else: no HTTP parsing, no SSE or JSON decoding, no records. What it costs per
chunk is the kernel (one `read` and one ACK per chunk), the wake-ups and uvloop. `bench/perf_client.py`
runs it as a tool beside assay and EvalScope (`--tools assay evalscope floor`), and
`bench/transport_cpu.py` in-process beside assay's transport.

Usage (as perf_client.py runs it):
    .venv/bin/python bench/floor_client.py --url URL --concurrency C --number N --max-tokens T --out FILE

It writes one JSON line per request to FILE: the response id, and start / sent / first-read marks
(absolute perf_counter ns).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class Result:
    """One request as a client saw it."""

    start_ns: int | None = None
    sent_ns: int | None = None
    first_ns: int | None = None
    response_id: str | None = None
    events: int = 0
    error: str | None = None


class _FloorProtocol(asyncio.Protocol):
    """A kept-alive connection that only stamps its first body read and spots the end of the response."""

    def __init__(self) -> None:
        self.transport: Any = None
        self.waiter: asyncio.Future[None] | None = None
        self.result = Result()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter_ns()
        result = self.result
        if result.first_ns is None:
            at = data.find(b'"id": "')  # the first read with an event: its id, once per response
            if at >= 0:
                result.first_ns = now
                result.response_id = data[at + 7:data.index(b'"', at + 7)].decode()
        if data.endswith(b"0\r\n\r\n") and self.waiter is not None:
            self.waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.result.error = "connection lost"
            self.waiter.set_result(None)


def make_floor_client(
    url: str, payload: bytes, headers: dict[str, str], _yield_every: int = 0
) -> tuple[Any, Callable[[], Awaitable[Result]]]:
    """A pool (with ``close()``) and ``one()``, which sends the request once and waits for its end."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = (f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n{head}Content-Length: {len(payload)}\r\n\r\n"
               .encode() + payload)
    idle: list[_FloorProtocol] = []

    class Pool:
        async def close(self) -> None:
            for connection in idle:
                connection.transport.close()

    async def one() -> Result:
        loop = asyncio.get_running_loop()
        start = time.perf_counter_ns()
        if idle:
            connection = idle.pop()
        else:
            _, connection = await loop.create_connection(_FloorProtocol, parts.hostname or "127.0.0.1", parts.port or 80)
        connection.result = result = Result(start_ns=start)
        connection.waiter = loop.create_future()
        result.sent_ns = time.perf_counter_ns()
        connection.transport.write(request)
        await connection.waiter
        idle.append(connection)
        return result

    return Pool(), one


async def _main(args: argparse.Namespace) -> list[Result]:
    payload = json.dumps({"model": "sim", "prompt": "hi", "max_tokens": args.max_tokens, "min_tokens": args.max_tokens,
                          "stream": True, "stream_options": {"include_usage": True}}).encode()
    pool, one = make_floor_client(args.url, payload, {"Content-Type": "application/json"})
    left = args.number
    results: list[Result] = []

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            results.append(await one())

    await asyncio.gather(*(worker() for _ in range(min(args.concurrency, args.number))))
    await pool.close()
    return results


def main() -> None:
    import uvloop

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--number", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    results = uvloop.run(_main(args))
    with open(args.out, "w") as out:
        for r in results:
            out.write(json.dumps({"id": r.response_id, "start_ns": r.start_ns, "sent_ns": r.sent_ns,
                                  "first_ns": r.first_ns, "error": r.error}) + "\n")
    failed = sum(1 for r in results if r.error or r.first_ns is None)
    if failed:
        raise SystemExit(f"floor client: {failed} of {len(results)} requests failed")


if __name__ == "__main__":
    main()
