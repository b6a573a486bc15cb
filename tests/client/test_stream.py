"""The streaming client against a real socket server that writes exactly the bytes we choose."""

from __future__ import annotations

import asyncio
import gc
import json

import pytest

from assay.client import ChatOrCompletionRequest, OpenAIClient, Response
from assay.perf.records import RecordMaker
from assay.store import RequestRecord, read_records, row_encoder
from tests.helpers import serve_bytes


def _event(payload) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _run(pieces, *, url_path="/v1/completions", delay_s=0.0, max_tokens=8, **client_args) -> tuple[Response, list[bytes]]:
    async def main():
        server, port, received = await serve_bytes(pieces, delay_s=delay_s)
        async with server, OpenAIClient(f"http://127.0.0.1:{port}{url_path}", "m", **client_args) as client:
            response = await client.send(ChatOrCompletionRequest(prompt="hi", max_tokens=max_tokens))
        return response, [body for _, body in received]

    return asyncio.run(main())


def test_multi_token_chunks_with_per_chunk_usage_and_events_split_across_reads():
    stream = b"".join([
        _event({"choices": [{"text": "a", "finish_reason": None}], "usage": {"prompt_tokens": 5, "completion_tokens": 1}}),
        _event({"choices": [{"text": "bcd", "finish_reason": None}], "usage": {"prompt_tokens": 5, "completion_tokens": 4}}),
        _event({"choices": [{"text": "ef", "finish_reason": "length"}], "usage": {"prompt_tokens": 5, "completion_tokens": 6}}),
        b"data: [DONE]\n\n",
    ])
    # Cut the byte stream at awkward places: mid-"data:", mid-JSON, mid-UTF-8 is not needed here.
    pieces = [stream[:7], stream[7:50], stream[50:51], stream[51:]]
    record, received = _run(pieces, delay_s=0.02, continuous_usage=True)
    assert record.error is None
    assert record.completion_tokens == 6 and record.prompt_tokens == 5 and record.token_source == "usage"
    assert list(record.chunk_tokens) == [1, 3, 2]
    assert record.finish_reason == "length" and record.output_chars == 6
    assert (record.http_status, record.connection_retries, record.retry_after_s, record.min_tokens) == (200, 0, None, None)
    body = json.loads(received[0])
    assert body["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}
    assert body["prompt"] == "hi" and body["max_tokens"] == 8 and body["model"] == "m"


def test_reasoning_first_then_answer_on_chat():
    pieces = [
        _event({"choices": [{"delta": {"role": "assistant"}}]}),  # carries no text: not the first token
        _event({"choices": [{"delta": {"reasoning_content": "think"}}]}),
        _event({"choices": [{"delta": {"content": "42"}, "finish_reason": "stop"}]}),
        _event({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}),
        b"data: [DONE]\n\n",
    ]
    record, received = _run(pieces, url_path="/v1/chat/completions", delay_s=0.02)
    assert record.error is None
    assert record.first_reasoning_ns == record.first_token_ns < record.first_answer_ns
    assert len(record.chunk_ns) == 2 and record.completion_tokens == 2
    assert record.sent_ns is not None and record.start_ns <= record.sent_ns <= record.headers_ns <= record.first_token_ns
    assert record.first_token_ns == record.chunk_ns[0] and record.chunk_ns[-1] <= record.end_ns
    assert (record.reasoning, record.answer, record.text) == ("think", "42", "think42")
    assert record.ttft_s == (record.first_token_ns - record.sent_ns) / 1e9 > 0.01  # the server paused 20 ms
    assert record.latency_s == (record.end_ns - record.sent_ns) / 1e9 >= record.ttft_s
    assert json.loads(received[0])["messages"] == [{"role": "user", "content": "hi"}]


def test_error_object_and_malformed_json_in_the_stream_fail_the_request_with_a_reason():
    record, _ = _run([_event({"choices": [{"text": "a"}]}), _event({"error": {"message": "out of memory"}})])
    assert record.error == "server error in stream: out of memory" and record.error_kind == "stream"
    record, _ = _run([_event({"choices": [{"text": "a"}]}), b"data: {not json\n\n", b"data: [DONE]\n\n"])
    assert record.error_kind == "protocol" and "malformed" in record.error


def test_usage_missing_falls_back_to_the_tokenizer_and_says_so():
    pieces = [_event({"choices": [{"text": "one two"}]}), _event({"choices": [{"text": " three", "finish_reason": "stop"}]})]
    response, _ = _run(pieces)
    assert response.error is None and response.completion_tokens is None and response.token_source == "none"
    origin = response.start_ns - 1_000
    record = RecordMaker(origin, 10**18, count_tokens=lambda text: len(text.split())).record(
        response, ChatOrCompletionRequest(prompt="hi", max_tokens=8, prompt_tokens=1), index=7, point=2,
        phase="measure", concurrency=4, scheduled_ns=origin + 500)
    assert record.error is None and record.completion_tokens == 3 and record.token_source == "tokenizer"
    # The perf record: sweep bookkeeping, marks since the run's origin, chunk times after the send.
    assert (record.index, record.point, record.phase, record.concurrency) == (7, 2, "measure", 4)
    assert (record.scheduled_ns, record.start_ns) == (500, 1_000)
    assert record.end_ns == response.end_ns - origin and record.end_epoch_s == (10**18 + record.end_ns) / 1e9
    assert list(record.chunk_times_us) == [(t - response.sent_ns) // 1000 for t in response.chunk_ns]
    assert (record.requested_prompt_tokens, record.requested_max_tokens, record.output_chars) == (1, 8, 13)


def test_a_streams_marks_and_text_give_the_collector_nothing_to_walk_and_still_write_as_json(tmp_path):
    """A collection during a load walks every young container's items: 128 streams of 256 marks kept in
    lists made pauses of several ms. The marks are arrays and the text one buffer: nothing inside to walk."""
    tokens = [_event({"choices": [{"text": f" w{i}"}], "usage": {"prompt_tokens": 1, "completion_tokens": i + 1}})
              for i in range(300)]
    response, _ = _run([b"".join(tokens) + b"data: [DONE]\n\n"], max_tokens=300, continuous_usage=True)
    assert response.error is None and len(response.chunk_ns) == 300 and response.answer.endswith(" w299")
    record = RecordMaker(response.start_ns, 0).record(response, ChatOrCompletionRequest(prompt="hi", max_tokens=300),
                                                      index=0, point=0, phase="measure", concurrency=1)
    def walked(container):  # what a collection visits from it, its type aside
        return [item for item in gc.get_referents(container) if not isinstance(item, type)]

    for marks in (response.chunk_ns, response.chunk_tokens, record.chunk_times_us, record.chunk_tokens):
        assert len(marks) == 300 and walked(marks) == []
    assert len(walked(list(record.chunk_times_us))) == 300  # the near miss: a list's ints are all visited
    # Written and read back as JSON arrays of the same numbers.
    path = tmp_path / "requests.jsonl"
    path.write_bytes(row_encoder()(record) + b"\n")
    (back,), skipped = read_records(path)
    assert skipped == 0 and isinstance(back, RequestRecord)
    assert back.chunk_times_us == list(record.chunk_times_us) and back.chunk_tokens == [1] * 300


def test_a_tokenizer_count_below_min_tokens_after_a_length_finish_is_a_failure():
    """Without usage, the length limit is judged on the tokenizer's count (a context limit cut it short)."""
    pieces = [_event({"choices": [{"text": "one two", "finish_reason": "length"}]})]
    response, _ = _run(pieces, min_tokens=5)
    assert response.error is None and response.min_tokens == 5
    record = RecordMaker(0, 0, count_tokens=lambda text: len(text.split())).record(
        response, ChatOrCompletionRequest(prompt="hi"), index=0, point=0, phase="measure", concurrency=1)
    assert record.error_kind == "aborted" and "before min_tokens (5)" in (record.error or "")


@pytest.mark.parametrize("secret_header", ["Authorization"])
def test_headers_and_key_are_sent(secret_header):
    async def main():
        seen = []

        async def handle(reader, writer):
            head = await reader.readuntil(b"\r\n\r\n")
            seen.append(head.decode())
            length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1])
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + _event({"choices": [{"text": "x", "finish_reason": "stop"}]}))
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            async with OpenAIClient(f"http://127.0.0.1:{port}/v1/completions", "m", api_key="sk-test",
                                    headers={"X-Team": "t1"}) as client:
                await client.send(ChatOrCompletionRequest(prompt="p"))
        return seen[0]

    head = asyncio.run(main())
    assert f"{secret_header}: Bearer sk-test" in head and "X-Team: t1" in head


def test_usage_details_give_cached_and_reasoning_tokens_and_reach_the_record():
    usage = {"prompt_tokens": 40, "completion_tokens": 6, "prompt_tokens_details": {"cached_tokens": 32},
             "completion_tokens_details": {"reasoning_tokens": 5}}
    pieces = [
        _event({"choices": [{"delta": {"reasoning_content": "hm"}}]}),
        _event({"choices": [{"delta": {"content": "ok"}, "finish_reason": "stop"}]}),
        _event({"choices": [], "usage": usage}),
        b"data: [DONE]\n\n",
    ]
    response, _ = _run(pieces, url_path="/v1/chat/completions")
    assert (response.cached_tokens, response.reasoning_tokens) == (32, 5)
    record = RecordMaker(0, 0).record(response, ChatOrCompletionRequest(prompt="hi"), index=0, point=0,
                                      phase="measure", concurrency=1)
    assert (record.cached_tokens, record.reasoning_tokens) == (32, 5)
    # A server that sends no details (or null ones) leaves them unknown, never 0.
    plain, _ = _run([_event({"choices": [{"text": "x", "finish_reason": "stop"}],
                             "usage": {"prompt_tokens": 1, "completion_tokens": 1, "prompt_tokens_details": None}}),
                     b"data: [DONE]\n\n"])
    assert plain.error is None and (plain.cached_tokens, plain.reasoning_tokens) == (None, None)
