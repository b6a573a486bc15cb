"""The client on embeddings, rerank/score and the Responses API, against a real socket server that answers with
exactly the bytes each test chooses (the layouts of vLLM, llama-server, Jina and OpenAI)."""

from __future__ import annotations

import asyncio
import json

import pytest

from assay.client import ChatOrCompletionRequest, OpenAIClient, Response, endpoint_kind
from assay.client.endpoints import resolve_url
from tests.helpers import serve_bytes


def _send(path: str, request: ChatOrCompletionRequest, pieces: list[bytes], *, status: int = 200,
          content_type: str = "application/json", delay_s: float = 0.0, **client_args) -> tuple[Response, str, dict]:
    async def main():
        server, port, received = await serve_bytes(pieces, status=status, content_type=content_type,
                                                   delay_s=delay_s)
        async with server, OpenAIClient(f"http://127.0.0.1:{port}{path}", "m", **client_args) as client:
            response = await client.send(request)
        return response, received

    response, received = asyncio.run(main())
    (target, body), = received
    return response, target.decode(), json.loads(body)


def _json(value) -> list[bytes]:
    return [json.dumps(value).encode()]


# ------------------------------------------------------------------------------------------ URLs
@pytest.mark.parametrize(("api", "url", "expected", "noted"), [
    ("openai_embedding", "http://h:8000/v1", "http://h:8000/v1/embeddings", True),
    ("embedding", "http://h:8000/v1/", "http://h:8000/v1/embeddings", True),
    ("embedding", "http://h:8000/v1/embeddings", "http://h:8000/v1/embeddings", False),
    ("openai_rerank", "http://h:8000/v1", "http://h:8000/v1/rerank", True),
    ("rerank", "http://h:8000/v1/score", "http://h:8000/v1/score", False),
    ("rerank", "http://h:8000/reranking", "http://h:8000/reranking", False),
    ("openai_responses", "http://h:8000/v1/chat/completions", "http://h:8000/v1/responses", True),
    ("responses", "http://h:8000/v1?key=x", "http://h:8000/v1/responses?key=x", True),
    ("openai", "http://h:8000/v1/chat/completions", "http://h:8000/v1/chat/completions", False),
])
def test_each_api_sends_to_its_endpoint_as_evalscope_resolves_the_url(api, url, expected, noted):
    resolved, note = resolve_url(api, url)
    assert resolved == expected
    assert (note is not None) == noted


@pytest.mark.parametrize(("api", "url"), [
    ("embedding", "http://h/v1/chat/completions"), ("rerank", "http://h/v1/embeddings"),
    ("responses", "http://h/v1/completions"),
])
def test_a_url_of_another_api_is_refused_rather_than_sent_a_body_it_cannot_read(api, url):
    with pytest.raises(ValueError, match="another endpoint"):
        resolve_url(api, url)


def test_endpoint_kinds_from_the_url_path():
    kinds = {path: endpoint_kind(f"http://h/v1/{path}") for path in
             ("chat/completions", "completions", "embeddings", "rerank", "reranking", "score", "responses", "models")}
    assert kinds == {"chat/completions": "chat", "completions": "completions", "embeddings": "embeddings",
                     "rerank": "rerank", "reranking": "rerank", "score": "score", "responses": "responses",
                     "models": "unknown"}


# ------------------------------------------------------------------------------- embeddings, rerank
def test_an_embeddings_batch_is_one_request_timed_to_its_answer_with_its_input_count_and_tokens():
    answer = {"id": "e1", "object": "list", "data": [{"index": i, "embedding": [0.1, 0.2]} for i in range(3)],
              "usage": {"prompt_tokens": 17, "total_tokens": 17}}
    body = json.dumps(answer).encode()
    # The answer arrives in two reads 30 ms apart: latency runs to the last byte, and there is no first token.
    response, target, sent = _send("/v1/embeddings", ChatOrCompletionRequest(inputs=["a", "b c", "d"]),
                                   [body[:40], body[40:]], delay_s=0.03,
                                   extra_body={"batch_size": 3, "dimensions": 2}, temperature=0.0)
    assert response.error is None, response.error
    assert target == "/v1/embeddings"
    # EvalScope's batch_size is a dataset knob, not sent; the generation options are not for embeddings.
    assert sent == {"model": "m", "input": ["a", "b c", "d"], "dimensions": 2}
    assert response.inputs == 3 and response.prompt_tokens == 17 and response.completion_tokens == 0
    assert response.token_source == "usage" and response.response_id == "e1"
    assert response.first_token_ns is None and not response.chunk_ns and response.ttft_s is None
    assert response.latency_s >= 0.03


def test_one_text_is_sent_as_a_string_as_evalscope_sends_it():
    answer = {"data": [{"index": 0, "embedding": [1.0]}], "usage": {"prompt_tokens": 2, "total_tokens": 2}}
    response, _, sent = _send("/v1/embeddings", ChatOrCompletionRequest(prompt="hello"), _json(answer))
    assert response.error is None and sent["input"] == "hello" and response.inputs == 1


def test_a_server_that_embeds_fewer_texts_than_it_was_sent_failed_the_request():
    answer = {"data": [{"index": 0, "embedding": [1.0]}], "usage": {"prompt_tokens": 4, "total_tokens": 4}}
    response, _, _ = _send("/v1/embeddings", ChatOrCompletionRequest(inputs=["a", "b"]), _json(answer))
    assert response.error_kind == "protocol"
    assert response.error == "protocol error: 1 data item(s) for 2 inputs sent"


@pytest.mark.parametrize(("pieces", "kind", "message"), [
    ([b"<html>oops</html>"], "protocol", "protocol error: the embeddings answer is not the expected JSON"),
    (_json({"error": {"message": "model  does not\nsupport embeddings"}}), "stream",
     "server error: model does not support embeddings"),
])
def test_an_answer_that_is_no_embeddings_is_a_failure_said_in_one_line(pieces, kind, message):
    response, _, _ = _send("/v1/embeddings", ChatOrCompletionRequest(inputs=["a"]), pieces)
    assert response.error_kind == kind and response.error.startswith(message)


def test_an_http_error_keeps_the_servers_message_with_the_key_scrubbed():
    body = json.dumps({"error": {"message": "bad key sk-secret-123 for /v1/embeddings"}}).encode()
    response, _, _ = _send("/v1/embeddings", ChatOrCompletionRequest(inputs=["a"]), [body], status=401,
                           api_key="sk-secret-123")
    assert response.error_kind == "http" and response.http_status == 401
    assert "sk-secret-123" not in response.error and response.error.startswith("HTTP 401: bad key")


def test_rerank_sends_the_query_and_documents_and_counts_the_results_against_top_n():
    answer = {"id": "r1", "results": [{"index": 2, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.1}],
              "usage": {"total_tokens": 30}}  # vLLM and Jina count total_tokens only
    request = ChatOrCompletionRequest(prompt="which?", inputs=["d0", "d1", "d2"])
    response, target, sent = _send("/v1/rerank", request, _json(answer), extra_body={"top_n": 2})
    assert response.error is None, response.error
    assert target == "/v1/rerank"
    assert sent == {"model": "m", "query": "which?", "documents": ["d0", "d1", "d2"], "top_n": 2}
    assert response.inputs == 3 and response.prompt_tokens == 30
    # Without top_n every document must come back ranked.
    response, _, _ = _send("/v1/rerank", request, _json(answer))
    assert response.error == "protocol error: 2 results item(s) for 3 documents sent"


def test_vllms_score_endpoint_takes_text_1_and_text_2():
    answer = {"data": [{"index": 0, "score": 0.3}, {"index": 1, "score": 0.7}],
              "usage": {"prompt_tokens": 12, "total_tokens": 12}}
    response, target, sent = _send("/score", ChatOrCompletionRequest(prompt="q", inputs=["a", "b"]), _json(answer))
    assert response.error is None and target == "/score"
    assert sent == {"model": "m", "text_1": "q", "text_2": ["a", "b"]}
    assert response.inputs == 2 and response.prompt_tokens == 12


# ------------------------------------------------------------------------------------ Responses API
def _sse(kind: str, **data) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()


def _completed(status="completed", **extra) -> dict:
    return {"id": "resp_1", "status": status,
            "usage": {"input_tokens": 9, "input_tokens_details": {"cached_tokens": 4}, "output_tokens": 5,
                      "output_tokens_details": {"reasoning_tokens": 2}, "total_tokens": 14}, **extra}


def test_a_responses_stream_gives_ttft_reasoning_then_answer_and_usage_from_response_completed():
    stream = b"".join([
        _sse("response.created", response={"id": "resp_1", "status": "in_progress"}),
        _sse("response.reasoning_text.delta", delta="think "),
        _sse("response.reasoning_summary_text.delta", delta="more"),
        _sse("response.output_text.delta", delta="Hel"),
        _sse("response.output_text.delta", delta="lo"),
        _sse("response.output_text.done", text="Hello"),
        _sse("response.completed", response=_completed()),
    ])
    answer_at = stream.index(b"event: response.output_text.delta")
    # Events cut across reads; the answer comes 20 ms after the reasoning.
    pieces = [stream[:30], stream[30:answer_at], stream[answer_at:answer_at + 1], stream[answer_at + 1:]]
    response, target, sent = _send("/v1/responses", ChatOrCompletionRequest(prompt="hi", max_tokens=8), pieces,
                                   content_type="text/event-stream", delay_s=0.02, temperature=0.0, min_tokens=8)
    assert response.error is None, response.error
    assert target == "/v1/responses"
    # max_output_tokens, not max_tokens; no stream_options or min_tokens (the Responses API has neither).
    assert sent == {"model": "m", "stream": True, "temperature": 0.0, "input": "hi", "max_output_tokens": 8}
    assert response.reasoning == "think more" and response.answer == "Hello"
    assert response.prompt_tokens == 9 and response.completion_tokens == 5 and response.reasoning_tokens == 2
    assert response.cached_tokens == 4 and response.finish_reason == "stop" and response.response_id == "resp_1"
    assert response.first_token_ns == response.first_reasoning_ns < response.first_answer_ns
    assert len(response.chunk_ns) == 4 and response.ttft_s is not None and response.ttft_s < response.latency_s


def test_messages_go_as_input_items():
    stream = _sse("response.output_text.delta", delta="x") + _sse("response.completed", response=_completed())
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    _, _, sent = _send("/v1/responses", ChatOrCompletionRequest(messages=messages, max_tokens=4), [stream],
                       content_type="text/event-stream")
    assert sent["input"] == messages


def test_max_output_tokens_reached_is_finish_reason_length():
    stream = (_sse("response.output_text.delta", delta="x")
              + _sse("response.incomplete", response=_completed("incomplete",
                                                                 incomplete_details={"reason": "max_output_tokens"})))
    response, _, _ = _send("/v1/responses", ChatOrCompletionRequest(prompt="hi", max_tokens=5), [stream],
                           content_type="text/event-stream")
    assert response.error is None and response.finish_reason == "length"


@pytest.mark.parametrize(("events", "kind", "message"), [
    ([_sse("response.output_text.delta", delta="x")], "protocol",
     "the stream ended without response.completed (or incomplete/failed)"),
    ([_sse("response.output_text.delta", delta="x"),
      _sse("response.failed", response={"id": "r", "status": "failed", "error": {"message": "engine died"}})],
     "stream", "server error in stream: engine died"),
    ([_sse("error", code="server_error", message="overloaded")], "stream", "server error in stream: overloaded"),
    ([b"event: response.output_text.delta\ndata: {not json\n\n"], "protocol", "1 malformed stream event(s)"),
])
def test_a_responses_stream_that_fails_says_why_in_one_line(events, kind, message):
    response, _, _ = _send("/v1/responses", ChatOrCompletionRequest(prompt="hi", max_tokens=5), events,
                           content_type="text/event-stream")
    assert response.error_kind == kind and response.error.startswith(message), response.error


def test_more_output_tokens_than_max_output_tokens_is_a_protocol_error():
    stream = _sse("response.output_text.delta", delta="x") + _sse("response.completed", response=_completed())
    response, _, _ = _send("/v1/responses", ChatOrCompletionRequest(prompt="hi", max_tokens=3), [stream],
                           content_type="text/event-stream")
    assert response.error_kind == "protocol" and "max_tokens (3" in response.error


def test_a_whole_response_object_without_streaming():
    body = _completed(output=[
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "pondered"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Paris"}]},
    ])
    response, _, sent = _send("/v1/responses", ChatOrCompletionRequest(prompt="capital?", max_tokens=8), _json(body),
                              stream=False)
    assert sent["stream"] is False
    assert response.error is None, response.error
    assert response.answer == "Paris" and response.reasoning == "pondered"
    assert response.completion_tokens == 5 and response.reasoning_tokens == 2 and response.finish_reason == "stop"
