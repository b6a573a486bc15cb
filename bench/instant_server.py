"""An OpenAI-compatible server that answers at once, to measure a client's own overhead.

Usage:
    .venv/bin/python bench/instant_server.py [PORT]   # 0 or nothing: a free port

Prints `PORT <n>` once it listens on 127.0.0.1. Every chat completion gets the same
GSM8K-like answer ("The answer is \\boxed{18}."), with `"stream": true` as SSE chunks.
`GET /stats` gives the number of requests served so far; the count is printed at exit.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time

from aiohttp import web

CONTENT = "The answer is \\boxed{18}."
USAGE = {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}


def _chunk(model: str, created: int, delta: dict, finish: str | None, usage: dict | None = None) -> bytes:
    body: dict = {
        "id": "chatcmpl-instant",
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if delta is not None else [],
    }
    if usage is not None:
        body["usage"] = usage
    return b"data: " + json.dumps(body).encode() + b"\n\n"


class InstantServer:
    def __init__(self) -> None:
        self.counts = {"chat_completions": 0, "models": 0}

    async def chat(self, request: web.Request) -> web.StreamResponse:
        self.counts["chat_completions"] += 1
        try:
            payload = await request.json()
        except ValueError:
            payload = {}
        model = payload.get("model") or "m"
        created = int(time.time())
        if not payload.get("stream"):
            return web.json_response(
                {
                    "id": "chatcmpl-instant",
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": CONTENT},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": USAGE,
                }
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        half = len(CONTENT) // 2
        await response.write(_chunk(model, created, {"role": "assistant", "content": CONTENT[:half]}, None))
        await response.write(_chunk(model, created, {"content": CONTENT[half:]}, "stop"))
        await response.write(_chunk(model, created, None, None, USAGE))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def models(self, request: web.Request) -> web.Response:
        self.counts["models"] += 1
        return web.json_response({"object": "list", "data": [{"id": "m", "object": "model", "owned_by": "instant"}]})

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.counts)

    async def reset(self, request: web.Request) -> web.Response:
        for key in self.counts:
            self.counts[key] = 0
        return web.json_response(self.counts)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/stats", self.stats)
        app.router.add_post("/stats/reset", self.reset)
        return app


async def serve(port: int) -> None:
    server = InstantServer()
    runner = web.AppRunner(server.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"PORT {bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    print(f"served {json.dumps(server.counts)}", flush=True)


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    asyncio.run(serve(port))


if __name__ == "__main__":
    main()
