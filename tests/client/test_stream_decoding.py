"""The SSE decoder fed read by read: however the bytes are cut into reads, it finds the same events.

The transport hands each network read's body bytes to ``StreamState.feed`` as they arrive. A read
that is exactly one ``data:`` event takes a fast path; everything else (several events in one read,
an event cut across reads, CRLF line ends, comments, ``[DONE]``) goes through the line splitter.
Both must agree, and each text chunk must carry the time of the read that completed it.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.client.sse import StreamState


def _event(text: str | None = None, *, reasoning: str | None = None, finish: str | None = None,
           usage: dict[str, int] | None = None, chat: bool = True) -> bytes:
    if chat:
        delta: dict[str, str] = {}
        if text is not None:
            delta["content"] = text
        if reasoning is not None:
            delta["reasoning_content"] = reasoning
        choice: dict[str, object] = {"index": 0, "delta": delta, "finish_reason": finish}
    else:
        choice = {"index": 0, "text": text or "", "finish_reason": finish}
    body: dict[str, object] = {"id": "r-1", "choices": [choice]}
    if usage is not None:
        body["usage"] = usage
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def _stream(n: int, *, chat: bool = True, crlf: bool = False) -> list[bytes]:
    events = [_event(reasoning=f"think{i}", chat=chat) for i in range(2)] if chat else []
    events += [_event(f" w{i}", chat=chat, usage={"prompt_tokens": 5, "completion_tokens": i + 1}) for i in range(n)]
    events.append(_event(None if chat else "", finish="stop", chat=chat))
    events.append(b": keep-alive comment\n\n")
    events.append(b"data: [DONE]\n\n")
    if crlf:
        events = [e.replace(b"\n", b"\r\n") for e in events]
    return events


def _summary(state: StreamState) -> tuple[object, ...]:
    return (state.answer_text(), state.reasoning_text(), len(state.chunk_ns), state.finish_reason,
            state.prompt_tokens, state.completion_tokens, state.output_chars, state.done, state.malformed,
            state.response_id, state.per_chunk_usage, list(state.chunk_tokens), state.problem())


def _feed(reads: list[bytes]) -> StreamState:
    state = StreamState()
    for t, data in enumerate(reads, start=1):
        state.feed(data, t)
    state.finish(len(reads) + 1)
    return state


def test_one_event_per_read_gives_every_field_and_time():
    events = _stream(5)
    state = _feed(events)
    assert state.answer_text() == " w0 w1 w2 w3 w4"
    assert state.reasoning_text() == "think0think1"
    # Reads 1-2 carried reasoning, 3-7 answer text: each chunk has its own read's time.
    assert list(state.chunk_ns) == [1, 2, 3, 4, 5, 6, 7]
    assert (state.first_reasoning_ns, state.first_answer_ns, state.first_token_ns) == (1, 3, 1)
    assert state.finish_reason == "stop" and state.done and state.malformed == 0
    assert state.completion_tokens == 5 and state.prompt_tokens == 5
    assert state.output_chars == len(" w0 w1 w2 w3 w4") + len("think0think1")
    assert not state.per_chunk_usage  # the reasoning chunks came without usage
    assert state.problem() == (None, None)


def test_per_chunk_usage_gives_tokens_per_chunk():
    events = [_event(f" w{i}", usage={"prompt_tokens": 3, "completion_tokens": 2 * (i + 1)}, chat=False)
              for i in range(4)] + [b"data: [DONE]\n\n"]
    state = _feed(events)
    assert state.per_chunk_usage and list(state.chunk_tokens) == [2, 2, 2, 2]


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 12), chat=st.booleans(), crlf=st.booleans(), data=st.data())
def test_any_cut_into_reads_decodes_the_same(n, chat, crlf, data):
    events = _stream(n, chat=chat, crlf=crlf)
    whole = b"".join(events)
    cuts = sorted(set(data.draw(st.lists(st.integers(1, max(1, len(whole) - 1)), max_size=30))))
    reads = [whole[a:b] for a, b in zip([0, *cuts], [*cuts, len(whole)])]
    assert _summary(_feed(reads)) == _summary(_feed(events))


def test_a_chunk_gets_the_time_of_the_read_that_completed_it():
    first, second = _event(" a", chat=False), _event(" b", chat=False)
    state = StreamState()
    state.feed(first[:20], 10)
    state.feed(first[20:] + second, 20)  # the end of the first event and all of the second
    state.finish(30)
    assert list(state.chunk_ns) == [20, 20]


def test_malformed_event_is_counted_and_fails_the_response():
    state = _feed([_event(" ok", chat=False), b"data: {not json\n\n", b"data: [DONE]\n\n"])
    assert state.malformed == 1
    error, kind = state.problem()
    assert kind == "protocol" and "malformed" in (error or "")


def test_events_after_done_are_ignored():
    state = _feed([_event(" a", chat=False), b"data: [DONE]\n\n", _event(" late", chat=False)])
    assert state.answer_text() == " a"


def test_last_line_without_newline_still_counts():
    state = StreamState()
    state.feed(_event(" a", chat=False).rstrip(b"\n"), 5)
    state.finish(9)
    assert state.answer_text() == " a" and list(state.chunk_ns) == [9]


def test_server_error_event_fails_the_response():
    state = _feed([_event(" a", chat=False), b'data: {"error": {"message": "engine died", "code": 500}}\n\n'])
    error, kind = state.problem()
    assert kind == "stream" and "engine died" in (error or "")
