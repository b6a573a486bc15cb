"""Tool calls in the stream state machine: pieces joined by index, a message's list, timing of a call-only answer."""

from __future__ import annotations

import json

from assay.client.response import ToolCall
from assay.client.sse import StreamState


def _feed(state: StreamState, events: list[dict], *, one_read: bool = False) -> None:
    data = [f"data: {json.dumps(event)}\n\n".encode() for event in events] + [b"data: [DONE]\n\n"]
    if one_read:
        state.feed(b"".join(data), 1)
    else:
        for now, chunk in enumerate(data, start=1):
            state.feed(chunk, now)
    state.finish(100)


def _delta(**delta) -> dict:
    return {"choices": [{"delta": delta}]}


def test_streamed_calls_are_joined_by_index_in_any_interleaving():
    state = StreamState()
    _feed(state, [
        _delta(role="assistant", tool_calls=[{"index": 0, "id": "a", "type": "function",
                                              "function": {"name": "get_weather", "arguments": ""}}]),
        _delta(tool_calls=[{"index": 1, "id": "b", "function": {"name": "get_time", "arguments": '{"tz"'}}]),
        _delta(tool_calls=[{"index": 0, "function": {"arguments": '{"city": '}}]),
        _delta(tool_calls=[{"index": 1, "function": {"arguments": ': "UTC"}'}}]),
        _delta(tool_calls=[{"index": 0, "function": {"arguments": '"Paris"}'}}]),
        {"choices": [{"delta": {}, "finish_reason": "tool_calls"}]},
    ])
    assert state.tool_calls() == [ToolCall(0, "a", "get_weather", '{"city": "Paris"}'),
                                  ToolCall(1, "b", "get_time", '{"tz": "UTC"}')]
    assert state.problem() == (None, None)  # no text, yet a whole answer
    assert state.finish_reason == "tool_calls"
    # Every piece of a call is generated output: it marks the first token and the answer's start.
    assert list(state.chunk_ns) == [1, 2, 3, 4, 5] and state.first_token_ns == 1 and state.first_answer_ns == 1
    assert state.answer_text() == "" and state.output_chars == 0


def test_a_message_with_calls_and_objects_as_arguments():
    state = StreamState()
    body = {"choices": [{"message": {"content": None, "tool_calls": [
        {"id": "x", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}},
        {"id": "y", "type": "function", "function": {"name": "g", "arguments": "{}"}}]},
        "finish_reason": "tool_calls"}]}
    state.on_whole_body(json.dumps(body).encode(), 7)
    assert state.tool_calls() == [ToolCall(0, "x", "f", '{"a":1}'), ToolCall(1, "y", "g", "{}")]
    assert state.problem() == (None, None)


def test_pieces_without_an_index_continue_the_call_their_id_started():
    state = StreamState()
    _feed(state, [
        _delta(tool_calls=[{"id": "a", "function": {"name": "f", "arguments": '{"x": '}}]),
        _delta(tool_calls=[{"function": {"arguments": "1}"}}]),
        _delta(tool_calls=[{"id": "b", "function": {"name": "g", "arguments": "{}"}}]),
    ], one_read=True)
    assert state.tool_calls() == [ToolCall(0, "a", "f", '{"x": 1}'), ToolCall(1, "b", "g", "{}")]


def test_text_before_a_call_keeps_its_own_marks():
    state = StreamState()
    _feed(state, [
        _delta(content="Let me check."),
        _delta(tool_calls=[{"index": 0, "id": "a", "function": {"name": "f", "arguments": "{}"}}]),
    ])
    assert state.first_answer_ns == 1 and list(state.chunk_ns) == [1, 2]
    assert state.answer_text() == "Let me check." and state.tool_calls()[0].name == "f"


def test_no_calls_costs_nothing_and_says_nothing():
    state = StreamState()
    _feed(state, [_delta(content="Hello"), {"choices": [{"delta": {}, "finish_reason": "stop"}]}])
    assert state.tool_call_parts is None and state.tool_calls() == []
