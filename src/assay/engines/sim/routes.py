"""The simulator's routes: the OpenAI completion endpoints (streamed or whole, with injected faults), embeddings,
rerank/score and the Responses API (:mod:`.endpoints`),
``/health``, ``/v1/models``, Prometheus ``/metrics``, and ``/sim/records`` / ``/sim/reset`` for tests.

Chunks go out on absolute deadlines (``first + i × TPOT``), so the schedule never drifts; each
chunk's hand-over time is recorded just before its write.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from assay.engines.sim import spec_decode
from assay.engines.sim.endpoints import POOLING_PATHS, RESPONSES_PATHS, next_chunk, pooling, responses
from assay.engines.sim.images import seen_images
from assay.engines.sim.model import Script, SimRecord, Simulator, sleep_until
from assay.engines.sim.settings import SimSettings

if TYPE_CHECKING:
    from assay.engines.sim.server import Reply, Request


async def route(sim: Simulator, request: Request, arrival: int, reply: Reply) -> None:
    settings = sim.settings
    method, path = request.method, request.path
    if path in ("/v1/completions", "/v1/chat/completions"):
        if method != "POST":
            reply.json(405, {"error": {"message": "use POST"}})
            return
        await _complete(sim, path.endswith("/chat/completions"), request, arrival, reply)
    elif path in POOLING_PATHS or path in RESPONSES_PATHS:
        if method != "POST":
            reply.json(405, {"error": {"message": "use POST"}})
        elif path in RESPONSES_PATHS:
            await responses(sim, request, arrival, reply)
        else:
            await pooling(sim, POOLING_PATHS[path], request, arrival, reply)
    elif path == "/health":
        reply.json(200, {"status": "ok"})
    elif path == "/v1/models":
        reply.json(200, {"object": "list", "data": [{"id": settings.model, "object": "model"}]})
    elif path == "/metrics":
        reply.whole(200, (sim.metrics_text() + spec_decode.metrics_text(sim)).encode(), "text/plain; version=0.0.4")
    elif path == "/sim/records":
        reply.json(200, {"settings": asdict(settings), "records": [asdict(r) for r in sim.records],
                         "reads_kernel_stamped": sim.reads_kernel_stamped, "reads_self_stamped": sim.reads_self_stamped})
    elif path == "/sim/reset" and method == "POST":
        sim.records.clear()
        reply.json(200, {"ok": True})
    else:
        reply.json(404, {"error": {"message": f"no route {method} {path}"}})


async def _complete(sim: Simulator, chat: bool, request: Request, arrival: int, reply: Reply) -> None:
    settings = sim.settings
    dumps = json.dumps
    try:
        body = json.loads(request.body)
        if not isinstance(body, dict):
            raise ValueError
    except ValueError:
        reply.json(400, {"error": {"message": "body is not a JSON object"}})
        return
    if chat and not isinstance(body.get("messages"), list):
        reply.json(400, {"error": {"message": "messages must be a list"}})
        return
    if not chat and not isinstance(body.get("prompt"), (str, list)):
        reply.json(400, {"error": {"message": "prompt must be a string"}})
        return
    text = " ".join(str(m.get("content", "")) for m in body["messages"]) if chat else str(body["prompt"])
    max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or settings.output_tokens)
    options = body.get("stream_options") or {}
    continuous = bool(options.get("continuous_usage_stats"))
    record = SimRecord(id=sim.new_id(), arrival_ns=arrival, prompt_tokens=max(1, len(text.split())),
                       params={k: v for k, v in body.items() if k not in ("prompt", "messages")})
    record.messages = body["messages"] if chat else None
    record.images = seen_images(body) if chat else []
    record.fault = fault = sim.draw_fault()
    sim.records.append(record)
    if fault in ("http500", "http503"):
        reply.json(int(fault[4:]), {"error": {"message": f"simulated {fault}", "code": int(fault[4:])}})
        return
    if fault == "http502":
        reply.whole(502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        return
    if fault == "http429":
        reply.whole(429, b'{"error": {"message": "rate limited"}}', extra="Retry-After: 1\r\n")
        return
    if fault == "echo_headers":  # as a misconfigured proxy or a verbose engine error does
        echoed = "; ".join(f"{name}: {value}" for name, value in request.headers.items())
        reply.json(500, {"error": {"message": f"cannot serve {request.method} {request.target}; headers: {echoed}",
                                   "request": {"url": request.target, "headers": request.headers}}})
        return
    if settings.context_tokens:
        if record.prompt_tokens >= settings.context_tokens:
            reply.json(400, {"error": {"message": f"the prompt ({record.prompt_tokens} tokens) does not fit the "
                                                  f"context ({settings.context_tokens} tokens)", "code": 400}})
            return
        max_tokens = min(max_tokens, settings.context_tokens - record.prompt_tokens)
    limit = max_tokens * 5 if fault == "runaway" else max_tokens
    gate = await sim.admit(record)
    try:
        script = Script(settings, chat, max_tokens)
        kind = "chat.completion.chunk" if chat else "text_completion"
        if not body.get("stream"):
            deadline = record.start_ns + int((sim.ttft_s() + sim.tpot_s() * (max_tokens - 1)) * 1e9)
            await sleep_until(deadline)
            record.end_ns = time.perf_counter_ns()
            record.chunk_ns.append(record.end_ns)
            record.chunk_tokens.append(max_tokens)
            record.completion_tokens = max_tokens
            record.first_answer_chunk = 0 if max_tokens > script.answer_from else None
            record.finish_reason = script.finish_reason(max_tokens)
            answer, reasoning = script.whole(max_tokens)
            message: dict[str, Any] = {"role": "assistant", "content": answer}
            if reasoning:
                message["reasoning_content"] = reasoning
            choice: dict[str, Any] = {"index": 0, "finish_reason": record.finish_reason}
            choice.update({"message": message} if chat else {"text": answer})
            usage = _usage(record.prompt_tokens, max_tokens, script)
            sim.served += 1
            sim.tokens_total += max_tokens
            reply.json(200, {"id": record.id, "object": "chat.completion" if chat else "text_completion",
                             "model": settings.model, "choices": [choice], "usage": usage})
            return
        reply.start_stream()
        deadline = record.start_ns + int(sim.ttft_s() * 1e9)
        sent = 0
        chunks = 0
        per_chunk = max(1, settings.tokens_per_chunk)
        finish_reason = script.finish_reason(limit)
        while sent < limit:
            await sleep_until(deadline)
            if reply.closed:  # the client went away: stop generating, like a real engine
                return
            chunks += 1
            if fault is not None and chunks == 3 and _inject(fault, reply, record, settings):
                if fault == "stall":
                    await asyncio.sleep(settings.stall_s)
                if fault == "endless":
                    await _keep_alive_forever(sim, reply, record, chat, kind)
                    return
                if fault == "abort":
                    finish_reason = "abort"
                    break
                if fault in ("reset", "stall", "error_event"):
                    if fault == "error_event":
                        reply.end_stream()
                    elif not reply.closed:
                        reply.reset()
                    return
            k = min(per_chunk, limit - sent)
            answer, reasoning = next_chunk(script, record, sent, k)
            sent += k
            choice = {"index": 0, "finish_reason": finish_reason if sent >= limit else None}
            if chat:
                delta: dict[str, str] = {}
                if reasoning:
                    delta["reasoning_content"] = reasoning
                if answer or not reasoning:
                    delta["content"] = answer
                choice["delta"] = delta
            else:
                choice["text"] = answer + reasoning
            event: dict[str, Any] = {"id": record.id, "object": kind, "model": settings.model, "choices": [choice]}
            if continuous:
                event["usage"] = _usage(record.prompt_tokens, sent, script)
            payload = b"data: " + dumps(event).encode() + b"\n\n"
            record.chunk_ns.append(time.perf_counter_ns())  # the moment the chunk is handed over
            if fault == "split":
                middle = len(payload) // 2
                reply.chunk(payload[:middle])
                reply.chunk(payload[middle:])
            else:
                reply.chunk(payload)
            record.chunk_tokens.append(k)
            deadline += int(sim.tpot_s() * 1e9 * k)
        if finish_reason == "abort":  # the engine gave up: an empty last chunk says so
            choice = {"index": 0, "finish_reason": "abort"}
            choice.update({"delta": {"content": ""}} if chat else {"text": ""})
            reply.chunk(b"data: " + dumps({"id": record.id, "object": kind, "model": settings.model,
                                          "choices": [choice]}).encode() + b"\n\n")
        if options.get("include_usage"):
            usage_event = {"id": record.id, "object": kind, "model": settings.model, "choices": [],
                           "usage": _usage(record.prompt_tokens, sent, script)}
            reply.chunk(b"data: " + dumps(usage_event).encode() + b"\n\n")
        if fault != "no_done":
            reply.chunk(b"data: [DONE]\n\n")
        record.end_ns = time.perf_counter_ns()
        record.completion_tokens = sent
        record.finish_reason = finish_reason
        sim.served += 1
        sim.tokens_total += sent
        reply.end_stream()
    finally:
        sim.leave(gate)


def _usage(prompt_tokens: int, completion_tokens: int, script: Script) -> dict[str, Any]:
    """OpenAI's usage object; with reasoning streamed as ``reasoning_content``, its
    ``completion_tokens_details.reasoning_tokens`` as vLLM's reasoning parser counts them (the tokens before the
    answer). Harmony text in the content is what a server without a harmony parser sends: it counts none."""
    usage: dict[str, Any] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                             "total_tokens": prompt_tokens + completion_tokens}
    if script.reasoning > 0:
        usage["completion_tokens_details"] = {"reasoning_tokens": min(script.reasoning, completion_tokens)}
    return usage


async def _keep_alive_forever(sim: Simulator, reply: Reply, record: SimRecord, chat: bool, kind: str) -> None:
    """An engine stuck after a few tokens that keeps its connection busy: an empty event every few ms."""
    choice: dict[str, Any] = {"index": 0, "finish_reason": None}
    choice.update({"delta": {"content": ""}} if chat else {"text": ""})
    payload = b"data: " + json.dumps({"id": record.id, "object": kind, "model": sim.settings.model,
                                      "choices": [choice]}).encode() + b"\n\n"
    gap_s = max(0.005, sim.tpot_s())
    while not reply.closed:
        reply.chunk(payload)
        await asyncio.sleep(gap_s)


def _inject(fault: str, reply: Reply, record: SimRecord, settings: SimSettings) -> bool:
    """Write the fault's bytes at the third chunk; True if the stream must then end as the fault says."""
    if fault == "bad_json":
        reply.chunk(b'data: {"id": "' + record.id.encode() + b'", "choices": [{"text": "x"\n\n')
    elif fault == "empty_choices":
        reply.chunk(b'data: {"id": "' + record.id.encode() + b'", "choices": []}\n\n')
    elif fault == "bad_utf8":
        reply.chunk(b'data: {"id": "' + record.id.encode() + b'", "choices": [{"text": "\xff\xfe"}]}\n\n')
    elif fault == "oversized":
        reply.chunk(b'data: {"choices": [{"text": "' + b"x" * (8 * 1024 * 1024) + b'"}]}\n\n')
    elif fault == "error_event":
        reply.chunk(b'data: {"error": {"message": "simulated engine failure", "code": 500}}\n\n')
        return True
    elif fault in ("reset", "stall", "abort", "endless"):
        return True
    return False

