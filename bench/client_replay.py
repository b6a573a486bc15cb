"""The client's own work per streamed chunk, without sockets: responses replayed through the real code.

Usage:
    .venv/bin/python bench/client_replay.py [--responses 2000] [--tokens 256] [--repeats 5]
    .venv/bin/python bench/client_replay.py --instructions     # under valgrind's callgrind

Each response is the byte-exact HTTP/1.1 stream a vLLM server sends (status line and headers, then one
chunked-transfer frame per SSE event, then ``[DONE]`` and the terminating frame), shaped like vLLM's
``/v1/completions`` and ``/v1/chat/completions`` events. :class:`OpenAIClient.send` runs for real: the
request is built and encoded, the pool hands it to a connection whose transport, instead of a socket,
feeds the recorded reads to ``data_received`` (one read per frame, as a token stream arrives), the
response is made, and perf's record is made from it (:class:`assay.perf.records.RecordMaker`). What is left out is exactly what the kernel and the event loop's polling cost.

This is a diagnostic for assay's hot path, not a comparison: the side-by-side numbers with EvalScope
are in ``bench/perf_client.py``. CPU time on a shared virtual machine is noisy, so each figure is the
best of ``--repeats``; under callgrind, ``--instructions`` prints instructions per chunk (the difference
between two run lengths, so start-up cancels), which repeat exactly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from assay.client import transport
from assay.client.openai import ChatOrCompletionRequest, OpenAIClient
from assay.perf.records import RecordMaker

HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
        b"transfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n")


def vllm_frames(kind: str, tokens: int) -> list[bytes]:
    """The network reads of one streamed response, one chunked frame (one SSE event) per read."""
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    base: dict[str, Any] = {"id": "cmpl-6f1e2d3c4b5a", "created": 1764460800, "model": "openai/gpt-oss-20b"}
    events = []
    for i in range(tokens):
        text = " " + words[i % len(words)]
        if kind == "chat":
            choice: dict[str, Any] = {"index": 0, "delta": {"content": text}, "logprobs": None, "finish_reason": None}
            event = {**base, "object": "chat.completion.chunk", "choices": [choice]}
        else:
            choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": None, "stop_reason": None}
            event = {**base, "object": "text_completion", "choices": [choice], "usage": None}
        events.append(event)
    events[-1]["choices"][0]["finish_reason"] = "length"
    usage = {"prompt_tokens": 32, "total_tokens": 32 + tokens, "completion_tokens": tokens}
    events.append({**base, "object": "text_completion", "choices": [], "usage": usage})
    payloads = [b"data: " + json.dumps(e, separators=(", ", ": ")).encode() + b"\n\n" for e in events]
    frames = [HEAD] + [b"%x\r\n%s\r\n" % (len(p), p) for p in payloads]
    frames.append(b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n")
    return frames


class _ReplayTransport:
    """Stands in for the socket: a write makes the next loop turn deliver the whole recorded response."""

    def __init__(self, connection: Any, frames: list[bytes]) -> None:
        self.connection, self.frames = connection, frames

    def write(self, data: bytes) -> None:
        asyncio.get_running_loop().call_soon(self._replay)

    def _replay(self) -> None:
        for frame in self.frames:
            self.connection.data_received(frame)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


async def replay(kind: str, tokens: int, responses: int) -> float:
    """Process CPU seconds for ``responses`` replayed responses (after one to warm up)."""
    url = "http://127.0.0.1:9/v1/" + ("chat/completions" if kind == "chat" else "completions")
    frames = vllm_frames(kind, tokens)
    async with OpenAIClient(url, "openai/gpt-oss-20b") as client:
        pool = client._pool
        key = pool._target(url).key
        connection = transport._Connection(pool, key)
        connection.connection_made(_ReplayTransport(connection, frames))  # type: ignore[arg-type]
        pool._all.add(connection)
        pool._idle[key] = [connection]
        request = ChatOrCompletionRequest(prompt="hello " * 32, max_tokens=tokens)
        records = RecordMaker(time.perf_counter_ns(), time.time_ns())
        record = records.record(await client.send(request), request, index=0, point=0, phase="measure", concurrency=1)
        if record.error is not None or record.completion_tokens != tokens or len(record.chunk_times_us) != tokens:
            raise SystemExit(f"replay is broken: {record.error or record}")
        started = time.process_time()
        for index in range(responses):
            records.record(await client.send(request), request, index=index, point=0, phase="measure", concurrency=1)
        return time.process_time() - started


def run(kind: str, tokens: int, responses: int) -> float:
    try:
        import uvloop

        return uvloop.run(replay(kind, tokens, responses))
    except ImportError:  # pragma: no cover
        return asyncio.run(replay(kind, tokens, responses))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kind", choices=["completions", "chat", "both"], default="both")
    parser.add_argument("--responses", type=int, default=2000)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--instructions", action="store_true",
                        help="run under callgrind: instructions per chunk (two run lengths, start-up cancels)")
    args = parser.parse_args()
    kinds = ["completions", "chat"] if args.kind == "both" else [args.kind]
    for kind in kinds:
        if args.instructions:
            import subprocess

            counts = []
            for responses in (10, 60):
                done = subprocess.run(
                    ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__,
                     "--kind", kind, "--tokens", str(args.tokens), "--responses", str(responses), "--repeats", "1"],
                    capture_output=True, text=True, check=True)
                counts.append(int(done.stderr.split("Collected :")[1].split()[0]))
            print(f"{kind:12} {(counts[1] - counts[0]) / (50 * args.tokens):8.0f} instructions per chunk")
            continue
        best = min(run(kind, args.tokens, args.responses) for _ in range(args.repeats))
        per_chunk = best / (args.responses * args.tokens) * 1e6
        print(f"{kind:12} {per_chunk:6.2f} µs per chunk (best of {args.repeats}, {args.responses} responses "
              f"of {args.tokens} chunks)")


if __name__ == "__main__":
    main()
