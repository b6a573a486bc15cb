"""How a response's end decides success: finish reasons that mean the server gave up, and token limits."""

from __future__ import annotations

import json

import pytest

from assay.client.openai import token_limit
from assay.client.sse import StreamState, gave_up
from assay.client.transport import StopResponse


@pytest.mark.parametrize("finish_reason, tokens, min_tokens, kind", [
    ("abort", 3, None, "aborted"),
    ("ERROR", 3, None, "aborted"),
    ("cancelled", 3, None, "aborted"),
    ("canceled", 3, None, "aborted"),
    ("length", 12, 64, "aborted"),  # cut by a context limit before min_tokens
    ("length", 64, 64, None),
    ("length", None, 64, None),  # no count: nothing to say
    ("stop", 3, 64, None),  # the model ended (a server ignoring min_tokens is the advice's business)
    ("tool_calls", 3, None, None),
    (None, 0, None, None),
])
def test_finish_reasons_that_mean_the_servergave_up(finish_reason, tokens, min_tokens, kind):
    error, error_kind = gave_up(finish_reason, tokens, min_tokens)
    assert error_kind == kind and (error is None) == (kind is None)
    if error is not None:
        assert "finish_reason" in error or "min_tokens" in error


def test_the_token_limit_of_a_request():
    assert token_limit({"max_tokens": 16}) == 16
    assert token_limit({"max_completion_tokens": 8}) == 8
    assert token_limit({"max_tokens": 16, "n": 3}) == 48  # n choices share one usage count
    assert token_limit({}) > 10**15 and token_limit({"max_tokens": True}) > 10**15


def _event(text: str, usage: int | None = None) -> bytes:
    event: dict = {"choices": [{"index": 0, "text": text, "finish_reason": None}]}
    if usage is not None:
        event["usage"] = {"prompt_tokens": 1, "completion_tokens": usage}
    return b"data: " + json.dumps(event).encode() + b"\n\n"


def test_without_usage_text_chunks_count_as_tokens():
    """Past max_tokens the response fails at its end; past twice that it is stopped at once."""
    state = StreamState()
    state.max_tokens, state.max_chunks = 3, 6
    for i in range(4):
        state.feed(_event(" a"), i)
    state.finish(4)
    error, kind = state.problem()
    assert kind == "protocol" and "max_tokens (3; 4 text chunks)" in (error or "")
    for i in range(2):
        state.feed(_event(" a"), 5 + i)
    with pytest.raises(StopResponse) as stopped:
        state.feed(_event(" a"), 7)
    assert stopped.value.kind == "protocol" and "max_tokens (3; 7 text chunks)" in stopped.value.reason


def test_with_usage_a_text_chunk_without_a_token_is_no_error():
    """One extra chunk (text held back and flushed, or the 8 MiB event of the sim's oversized fault):
    the server's usage, within max_tokens, settles it."""
    state = StreamState()
    state.max_tokens, state.max_chunks = 3, 6
    for i in range(4):
        state.feed(_event(" a"), i)
    state.feed(_event("", usage=3), 4)
    state.finish(5)
    assert state.problem() == (None, None)


def test_a_stream_is_stopped_when_its_usage_passes_max_tokens():
    state = StreamState()
    state.max_tokens = 8
    state.feed(_event(" a b c d", usage=4), 0)
    with pytest.raises(StopResponse) as stopped:
        state.feed(_event(" e f g h i", usage=9), 1)
    assert "usage: 9 completion tokens" in stopped.value.reason
