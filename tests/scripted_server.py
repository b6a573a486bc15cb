"""A real HTTP server (aiohttp) answering chat completions from a script: failures, then answers.

Shared by the eval, app and reliability tests (a helper module, not a test module).
"""

from __future__ import annotations

import asyncio
import threading
import time

from aiohttp import web


class ScriptedServer:
    """Answers chat completions; per question, a script of failures before the real answer."""

    def __init__(self, behaviour):
        self.behaviour = behaviour  # (question, attempt) -> aiohttp response or None for the answer
        self.attempts: dict[str, int] = {}
        self.times: dict[str, list[float]] = {}
        self.bodies: dict[str, dict] = {}  # question -> the last request body that asked it (tools, tool_choice)
        self.loop = asyncio.new_event_loop()
        self.port = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        content = body["messages"][-1]["content"]
        if content == "Hi":  # the service check
            return web.json_response({"choices": [{"message": {"content": "hello"}, "finish_reason": "length"}]})
        attempt = self.attempts.get(content, 0) + 1
        self.attempts[content] = attempt
        self.bodies[content] = body
        self.times.setdefault(content, []).append(time.monotonic())
        response = self.behaviour(content, attempt)
        if response is not None:
            return response
        gold = content.split("GOLD=")[1].split()[0] if "GOLD=" in content else "70"
        return web.json_response({
            "choices": [{"message": {"content": f"So \\boxed{{{gold}}}."}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5},
        })

    def __enter__(self):
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.handle)
        runner = web.AppRunner(app)
        ready = threading.Event()

        def serve():
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            self.loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()
        ready.wait(10)
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def tool_call_reply(calls: list[tuple[str, str]], *, stream: bool, content: str | None = None) -> web.Response:
    """A reply carrying function calls ``(name, arguments JSON text)`` the way OpenAI-compatible servers send
    them: one ``message.tool_calls`` list, or streamed ``delta.tool_calls`` (the name first, then the
    arguments in two pieces, each joined by its ``index``) with ``finish_reason`` ``tool_calls``."""
    import json

    finish = "tool_calls" if calls else "stop"
    if not stream:
        message = {"role": "assistant", "content": content, "tool_calls": [
            {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": arguments}}
            for i, (name, arguments) in enumerate(calls)]}
        return web.json_response({"choices": [{"message": message, "finish_reason": finish}],
                                  "usage": {"prompt_tokens": 10, "completion_tokens": 5}})
    events: list[dict] = []
    if content:
        events.append({"choices": [{"delta": {"role": "assistant", "content": content}}]})
    for i, (name, arguments) in enumerate(calls):
        half = len(arguments) // 2
        events.append({"choices": [{"delta": {"tool_calls": [
            {"index": i, "id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": ""}}]}}]})
        for piece in (arguments[:half], arguments[half:]):
            events.append({"choices": [{"delta": {"tool_calls": [{"index": i, "function": {"arguments": piece}}]}}]})
    events.append({"choices": [{"delta": {}, "finish_reason": finish}]})
    events.append({"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5}})
    body = "".join(f"data: {json.dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n"
    return web.Response(body=body.encode(), content_type="text/event-stream")
