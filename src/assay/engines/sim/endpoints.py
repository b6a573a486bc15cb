"""The simulator's other endpoints: embeddings, rerank/score (vLLM, llama-server and Jina layouts) and the
Responses API (streamed as typed events, or whole).

Embeddings, rerank and score answer once, exactly ``pooling_ms + N × pooling_ms_per_input`` after the
request leaves the queue (N: texts embedded, documents ranked); the record keeps N, so a test can check the
batch sizes the server saw. The Responses API streams the token script of chat (reasoning first, as
``response.reasoning_text.delta``, then ``response.output_text.delta``) on the same absolute deadlines,
then ``response.completed`` (``incomplete`` when ``max_output_tokens`` ended it) with usage.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from assay.engines.sim.model import Script, SimRecord, Simulator, sleep_until

if TYPE_CHECKING:
    from assay.engines.sim.server import Reply, Request

POOLING_PATHS = {
    "/v1/embeddings": "embeddings", "/embeddings": "embeddings",
    "/v1/rerank": "rerank", "/rerank": "rerank", "/v2/rerank": "rerank", "/v1/reranking": "rerank",
    "/reranking": "rerank", "/v1/score": "score", "/score": "score",
}
RESPONSES_PATHS = ("/v1/responses", "/responses")
_TEXT_FIELDS = ("input", "query", "documents", "text_1", "text_2", "prompt", "messages")


def _body(request: Request, reply: Reply) -> dict[str, Any] | None:
    try:
        body = json.loads(request.body)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        reply.json(400, {"error": {"message": "body is not a JSON object"}})
        return None
    return body


def _words(value: Any) -> int:
    return max(1, len(str(value).split()))


async def pooling(sim: Simulator, kind: str, request: Request, arrival: int, reply: Reply) -> None:
    """One embeddings, rerank or score request: answered whole, after its exact time."""
    settings = sim.settings
    body = _body(request, reply)
    if body is None:
        return
    if kind == "embeddings":
        texts = body.get("input")
        items = [texts] if isinstance(texts, str) else texts
        query = None
    else:
        items = body.get("documents") if kind == "rerank" else body.get("text_2")
        items = [items] if isinstance(items, str) else items
        query = body.get("query") if kind == "rerank" else body.get("text_1")
        if not isinstance(query, str):
            reply.json(400, {"error": {"message": f"{'query' if kind == 'rerank' else 'text_1'} must be a string"}})
            return
    if not isinstance(items, list) or not items or not all(isinstance(item, str) for item in items):
        what = "input" if kind == "embeddings" else "documents" if kind == "rerank" else "text_2"
        reply.json(400, {"error": {"message": f"{what} must be a string or a non-empty list of strings"}})
        return
    tokens = sum(_words(item) for item in items) + (_words(query) * len(items) if query is not None else 0)
    record = SimRecord(id=sim.new_id(), arrival_ns=arrival, prompt_tokens=tokens, endpoint=kind, inputs=len(items),
                       params={k: v for k, v in body.items() if k not in _TEXT_FIELDS})
    sim.records.append(record)
    gate = await sim.admit(record)
    try:
        await _until(record.start_ns + int((settings.pooling_ms + settings.pooling_ms_per_input * len(items)) * 1e6))
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        answer: dict[str, Any] = {"id": record.id, "model": settings.model, "usage": usage}
        if kind == "embeddings":
            answer |= {"object": "list", "data": [{"object": "embedding", "index": i, "embedding": [0.0625 * (i % 8), 0.5]}
                                                  for i in range(len(items))]}
        elif kind == "rerank":
            top_n = body.get("top_n")
            count = top_n if isinstance(top_n, int) and 0 < top_n < len(items) else len(items)
            answer["results"] = [{"index": i, "relevance_score": 1.0 / (i + 1)} for i in range(count)]
        else:
            answer |= {"object": "list", "data": [{"index": i, "object": "score", "score": 1.0 / (i + 1)}
                                                  for i in range(len(items))]}
        record.end_ns = time.perf_counter_ns()
        sim.served += 1
        reply.json(200, answer)
    finally:
        sim.leave(gate)


def next_chunk(script: Script, record: SimRecord, sent: int, k: int) -> tuple[str, str]:
    """(answer, reasoning) text of the ``k`` tokens after the ``sent`` first; the record notes the chunk that
    brings the answer's first token."""
    answer, reasoning = script.text(sent, sent + k)
    if record.first_answer_chunk is None and script.answer_in(sent, sent + k):
        record.first_answer_chunk = len(record.chunk_ns)
    return answer, reasoning


async def _until(deadline_ns: int) -> None:
    """Not a moment before ``deadline_ns``: uvloop's timers count whole milliseconds and may fire up to one
    early, so what is left is spent yielding to the loop (other requests are served meanwhile)."""
    await sleep_until(deadline_ns)
    while time.perf_counter_ns() < deadline_ns:
        await asyncio.sleep(0)


def _event(kind: str, data: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + json.dumps({"type": kind, **data}).encode() + b"\n\n"


async def responses(sim: Simulator, request: Request, arrival: int, reply: Reply) -> None:
    """One Responses API request: the chat token script as typed events (or one response object)."""
    settings = sim.settings
    body = _body(request, reply)
    if body is None:
        return
    given = body.get("input")
    if isinstance(given, str):
        text = given
    elif isinstance(given, list):
        text = " ".join(str(item.get("content", "")) if isinstance(item, dict) else str(item) for item in given)
    else:
        reply.json(400, {"error": {"message": "input must be a string or a list of input items"}})
        return
    max_tokens = int(body.get("max_output_tokens") or settings.output_tokens)
    record = SimRecord(id=sim.new_id(), arrival_ns=arrival, prompt_tokens=_words(text), endpoint="responses",
                       params={k: v for k, v in body.items() if k != "input"})
    sim.records.append(record)
    gate = await sim.admit(record)
    script = Script(settings, True, max_tokens)
    response_id = f"resp_{record.id}"
    try:
        if not body.get("stream"):
            await sleep_until(record.start_ns + int((sim.ttft_s() + sim.tpot_s() * (max_tokens - 1)) * 1e9))
            record.end_ns = time.perf_counter_ns()
            record.chunk_ns.append(record.end_ns)
            record.chunk_tokens.append(max_tokens)
            answer, reasoning = script.whole(max_tokens)
            output: list[dict[str, Any]] = []
            if reasoning:
                output.append({"type": "reasoning", "content": [{"type": "reasoning_text", "text": reasoning}]})
            output.append({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": answer}]})
            _finish(sim, record, max_tokens)
            reply.json(200, _response_object(sim, record, response_id, max_tokens) | {"output": output})
            return
        reply.start_stream()
        reply.chunk(_event("response.created", {"response": {"id": response_id, "status": "in_progress"}}))
        deadline = record.start_ns + int(sim.ttft_s() * 1e9)
        per_chunk = max(1, settings.tokens_per_chunk)
        sent = 0
        while sent < max_tokens:
            await sleep_until(deadline)
            if reply.closed:
                return
            k = min(per_chunk, max_tokens - sent)
            answer, reasoning = next_chunk(script, record, sent, k)
            sent += k
            kind = "response.reasoning_text.delta" if reasoning else "response.output_text.delta"
            record.chunk_ns.append(time.perf_counter_ns())
            reply.chunk(_event(kind, {"item_id": response_id, "output_index": 0, "content_index": 0,
                                      "delta": reasoning or answer}))
            record.chunk_tokens.append(k)
            deadline += int(sim.tpot_s() * 1e9 * k)
        _finish(sim, record, sent)
        final = _response_object(sim, record, response_id, sent)
        reply.chunk(_event("response.incomplete" if final["status"] == "incomplete" else "response.completed",
                           {"response": final}))
        reply.end_stream()
    finally:
        sim.leave(gate)


def _finish(sim: Simulator, record: SimRecord, tokens: int) -> None:
    record.end_ns = record.end_ns or time.perf_counter_ns()
    record.completion_tokens = tokens
    record.finish_reason = "length"  # the token script runs to max_output_tokens, as chat's does
    sim.served += 1
    sim.tokens_total += tokens


def _response_object(sim: Simulator, record: SimRecord, response_id: str, tokens: int) -> dict[str, Any]:
    reasoning = min(sim.settings.reasoning_tokens, tokens)
    return {
        "id": response_id, "object": "response", "model": sim.settings.model, "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
        "usage": {"input_tokens": record.prompt_tokens, "input_tokens_details": {"cached_tokens": 0},
                  "output_tokens": tokens, "output_tokens_details": {"reasoning_tokens": reasoning},
                  "total_tokens": record.prompt_tokens + tokens},
    }
