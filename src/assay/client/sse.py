"""The stream state machine: what the server-sent events of one response say, as they arrive.

:class:`StreamState` is fed each network read's body bytes by the transport (inside its read
callback, so no coroutine wakes per event): a read that holds exactly one whole ``data:`` event, the
usual case, costs one msgspec decode and a few comparisons; anything else goes through a general line
splitter. It keeps the text, the timing marks of the text, usage and the finish reason, and says at the
end whether the response counts as failed (:meth:`StreamState.problem`, :func:`gave_up`).
"""

from __future__ import annotations

from array import array
from io import StringIO
from typing import Any

import msgspec

from assay.client.channels import ANSWER, PLAIN, REASONING, AnswerStart
from assay.client.transport import StopResponse

GAVE_UP_REASONS = frozenset({"abort", "error", "cancelled", "canceled"})
"""finish_reason values that mean the server gave up on the request (vLLM ends in-flight streams with
``abort`` when it shuts down): the request failed, whatever text came before."""


# Typed views of the stream events: msgspec skips every field not named here.
class _Function(msgspec.Struct, gc=False):
    name: str | None = None
    arguments: Any = None
    """A JSON text, in pieces over the deltas (OpenAI); a few servers send the object itself."""


class _ToolCallDelta(msgspec.Struct, gc=False):
    index: int | None = None
    id: str | None = None
    function: _Function | None = None


class _Delta(msgspec.Struct, gc=False):
    content: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    tool_calls: list[_ToolCallDelta] | None = None


class _Choice(msgspec.Struct, gc=False):
    delta: _Delta | None = None
    message: _Delta | None = None
    text: str | None = None
    finish_reason: str | None = None


class _PromptDetails(msgspec.Struct, gc=False):
    cached_tokens: int | None = None


class _CompletionDetails(msgspec.Struct, gc=False):
    reasoning_tokens: int | None = None


class _Usage(msgspec.Struct, gc=False):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_tokens_details: _PromptDetails | None = None
    completion_tokens_details: _CompletionDetails | None = None


class _Error(msgspec.Struct, gc=False):
    message: str | None = None
    code: int | str | None = None


class _Event(msgspec.Struct, gc=False):
    id: str | None = None
    choices: list[_Choice] | None = None
    usage: _Usage | None = None
    error: _Error | str | None = None


_decode_event = msgspec.json.Decoder(_Event).decode


def gave_up(finish_reason: str | None, completion_tokens: int | None, min_tokens: Any) -> tuple[str | None, str | None]:
    """A failure when the finish reason says the server gave up: ``abort``, ``error``, ``cancelled``,
    or ``length`` before ``min_tokens`` was reached (a context limit cut the answer short)."""
    if finish_reason is None:
        return None, None
    reason = finish_reason.lower()
    if reason in GAVE_UP_REASONS:
        return f"the server gave up: finish_reason {finish_reason!r}", "aborted"
    if (reason == "length" and isinstance(min_tokens, int) and completion_tokens is not None
            and completion_tokens < min_tokens):
        return f"the server stopped at its length limit before min_tokens ({min_tokens})", "aborted"
    return None, None


class StreamState:
    """What the events of one response said, accumulated as they arrive.

    The per-event path is kept to a few dozen bytecodes (a token stream runs it thousands of
    times a second); totals such as ``output_chars`` are worked out once, in :meth:`finish`.
    Where the answer begins is decided on the first piece of content when it is plain text; only
    content that opens with ``<`` (``<think>``, harmony's ``<|channel|>``) is watched further,
    and only until the answer begins.

    A stream that carries more tokens than ``max_tokens`` is a protocol error. The server's usage
    says so exactly, and a stream whose usage passes the limit is stopped at once (a runaway server
    would otherwise hold the request for as long as it kept sending). Without usage, text chunks
    stand for tokens (a chunk carries at least one, all but a rare flush of held-back text): a
    stream is stopped past twice ``max_tokens`` of them, and fails at its end past ``max_tokens``.
    """

    __slots__ = (
        "_answer",
        "_answer_start",
        "_content_ns",
        "_reasoning",
        "_tail",
        "_usage_seen_tokens",
        "cached_tokens",
        "chunk_ns",
        "chunk_tokens",
        "completion_tokens",
        "done",
        "finish_reason",
        "first_answer_ns",
        "first_event",
        "first_reasoning_ns",
        "malformed",
        "max_chunks",
        "max_tokens",
        "output_chars",
        "per_chunk_usage",
        "prompt_tokens",
        "reasoning_tokens",
        "server_error",
        "tool_call_parts",
    )

    def __init__(self) -> None:
        # Arrays, not lists: a collection finds nothing inside an array to walk, where the marks of every
        # stream in flight as int objects (128 streams x 256 each) made young-generation pauses of several
        # ms, spent mostly on cache misses, in the middle of the load.
        self.chunk_ns = array("q")
        self.chunk_tokens = array("q")
        # The text, likewise: a StringIO holds what was written in one buffer, not one str object per piece.
        self._answer = StringIO()
        self._reasoning = StringIO()
        self.first_event: _Event | None = None
        self.first_reasoning_ns: int | None = None
        self.first_answer_ns: int | None = None
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
        self.cached_tokens: int | None = None
        """Prompt tokens the server took from its prefix cache (``usage.prompt_tokens_details``)."""
        self.reasoning_tokens: int | None = None
        """Completion tokens the server counted as reasoning (``usage.completion_tokens_details``)."""
        self.finish_reason: str | None = None
        self.server_error: str | None = None
        self.malformed = 0
        self.done = False
        self.output_chars = 0
        self.per_chunk_usage = True
        self._usage_seen_tokens = 0
        self._tail = b""
        self.max_tokens = self.max_chunks = 1 << 62
        self._answer_start: AnswerStart | None = None
        self._content_ns: int | None = None
        self.tool_call_parts: dict[int, tuple[list[str | None], list[str]]] | None = None
        """The tool calls so far, by index: ([id, name], argument pieces); None until the first one."""

    @property
    def response_id(self) -> str | None:
        return None if self.first_event is None else self.first_event.id

    @property
    def first_token_ns(self) -> int | None:
        """The read that brought the first text (reasoning or answer)."""
        return self.chunk_ns[0] if self.chunk_ns else None

    def feed(self, data: bytes, now: int) -> None:
        """Body bytes of one network read (``now``: its time mark).

        Raises only :class:`StopResponse`, for a stream that must not go on (the transport ends it).
        """
        if self._tail or data[:5] != b"data:" or data[-2:] != b"\n\n" or self.done:
            self._feed_lines(data, now)
            return
        try:  # one whole event, the usual read of a token stream
            event = _decode_event(data[5:])
        except msgspec.DecodeError:  # several events, [DONE], or a malformed one: take the read apart
            self._feed_lines(data, now)
            return
        self.on_event(event, now)

    def _feed_lines(self, data: bytes, now: int) -> None:
        if self.done:
            return
        lines = (self._tail + data).split(b"\n")
        self._tail = lines.pop()  # an incomplete last line waits for the next read
        for line in lines:
            if line[:5] == b"data:":
                self.on_data(line[5:], now)
            elif line[:1] == b"{":  # a bare JSON error body sent with status 200
                self.on_data(line, now)
            if self.done:
                return

    def finish(self, end_ns: int) -> None:
        """The body ended: a last line without its newline still counts; totals are summed."""
        tail, self._tail = self._tail, b""
        if not self.done and tail[:5] == b"data:":
            self.on_data(tail[5:], end_ns)
        self.output_chars = self._answer.tell() + self._reasoning.tell()
        if len(self.chunk_tokens) != len(self.chunk_ns):
            self.per_chunk_usage = False

    def on_data(self, payload: bytes, now: int) -> None:
        """One event's JSON (surrounding whitespace allowed), ``[DONE]`` or a keep-alive blank."""
        try:
            event = _decode_event(payload)
        except msgspec.DecodeError:
            payload = payload.strip()
            if payload == b"[DONE]":
                self.done = True
            elif payload:
                self.malformed += 1
            return
        self.on_event(event, now)

    def on_event(self, event: _Event, now: int) -> None:
        if self.first_event is None:
            self.first_event = event
        if event.error is not None:
            err = event.error
            self.server_error = err if isinstance(err, str) else (err.message or str(err.code))
            return
        choices = event.choices
        usage = event.usage
        if choices:
            choice = choices[0]
            answer = choice.text
            delta = choice.delta or choice.message
            reasoning = None
            called = None
            if delta is not None:
                if answer is None:
                    answer = delta.content
                reasoning = delta.reasoning_content or delta.reasoning
                if reasoning:
                    if self.first_reasoning_ns is None:
                        self.first_reasoning_ns = now
                    self._reasoning.write(reasoning)
                called = delta.tool_calls
                if called:  # a piece of a function call: generated tokens, the answer's start
                    self._on_tool_calls(called, now)
            if answer:
                if self.first_answer_ns is None:
                    self._mark_answer(answer, now)
                self._answer.write(answer)
            if answer or reasoning or called:  # a chunk of output, with its token count where usage came with it
                chunk_ns = self.chunk_ns
                chunk_ns.append(now)
                if usage is not None and usage.completion_tokens is not None:
                    self.chunk_tokens.append(usage.completion_tokens - self._usage_seen_tokens)
                if len(chunk_ns) > self.max_chunks:
                    self._runaway(f"{len(chunk_ns)} text chunks")
            if choice.finish_reason is not None:
                self.finish_reason = choice.finish_reason
        if usage is not None:
            if usage.prompt_tokens is not None:
                self.prompt_tokens = usage.prompt_tokens
            if usage.completion_tokens is not None:
                self.completion_tokens = self._usage_seen_tokens = usage.completion_tokens
                if usage.completion_tokens > self.max_tokens:
                    self._runaway(f"usage: {usage.completion_tokens} completion tokens")
            if usage.prompt_tokens_details is not None:
                self.cached_tokens = usage.prompt_tokens_details.cached_tokens
            if usage.completion_tokens_details is not None:
                self.reasoning_tokens = usage.completion_tokens_details.reasoning_tokens

    def _on_tool_calls(self, calls: list[_ToolCallDelta], now: int) -> None:
        """Join the pieces of each call by its ``index`` (a message's calls have none: their position)."""
        parts = self.tool_call_parts
        if parts is None:
            parts = self.tool_call_parts = {}
            if self.first_answer_ns is None:
                self.first_answer_ns = now
        for call in calls:
            function = call.function
            index = call.index
            if index is None:  # no index: a new id or a second name starts a call, else it continues the last
                last = parts[max(parts)][0] if parts else None
                new = last is None or (call.id is not None and call.id != last[0]) or (
                    call.id is None and function is not None and bool(function.name) and last[1] is not None)
                index = (max(parts) + 1 if parts else 0) if new else max(parts)
            head, pieces = parts.setdefault(index, ([None, None], []))
            if call.id:
                head[0] = call.id
            if function is None:
                continue
            if function.name and head[1] != function.name:  # sent once; a name sent in pieces is joined
                head[1] = (head[1] or "") + function.name
            arguments = function.arguments
            if isinstance(arguments, str):
                pieces.append(arguments)
            elif arguments is not None:  # an object, not its JSON text
                pieces.append(msgspec.json.encode(arguments).decode())

    def tool_calls(self) -> list[Any]:
        """The calls the response carried, as :class:`~assay.client.response.ToolCall` in index order."""
        from assay.client.response import ToolCall

        return [ToolCall(index, head[0], head[1] or "", "".join(pieces))
                for index, (head, pieces) in sorted((self.tool_call_parts or {}).items())]

    def _runaway(self, seen: str) -> None:
        raise StopResponse(f"protocol error: the server sent more tokens than max_tokens ({self.max_tokens}; {seen})",
                           "protocol")

    def _mark_answer(self, text: str, now: int) -> None:
        """Decide whether the answer has begun (content may open with reasoning: <think>, harmony)."""
        watch = self._answer_start
        if watch is None:
            head = text.lstrip()
            if head and head[0] != "<":  # plain text, the usual case
                self.first_answer_ns = now
                return
            watch = self._answer_start = AnswerStart()
        if self._content_ns is None:
            self._content_ns = now
        verdict = watch.feed(text)
        if verdict == PLAIN:
            self.first_answer_ns = self._content_ns
            return
        if verdict == ANSWER:
            self.first_answer_ns = now
        if verdict in (REASONING, ANSWER) and self.first_reasoning_ns is None:
            self.first_reasoning_ns = self._content_ns

    def answer_text(self) -> str:
        return self._answer.getvalue()

    def reasoning_text(self) -> str:
        return self._reasoning.getvalue()

    def text(self) -> str:
        return self._reasoning.getvalue() + self._answer.getvalue()

    def on_whole_body(self, body: bytes, now: int) -> None:
        self.on_data(body.strip(), now)
        self.done = True
        self.finish(now)

    def problem(self) -> tuple[str | None, str | None]:
        """The reason this response counts as failed, if any."""
        if self.server_error is not None:
            return f"server error in stream: {' '.join(self.server_error.split())[:300]}", "stream"
        if self.malformed:
            return f"{self.malformed} malformed stream event(s) (invalid JSON)", "protocol"
        if self.first_event is None:
            return "response carried no completion events", "protocol"
        if not self.chunk_ns and self.finish_reason is None:
            return "response ended without any generated text or finish reason", "protocol"
        if not self.chunk_ns:
            self.per_chunk_usage = False
        if self.completion_tokens is None and len(self.chunk_ns) > self.max_tokens:
            return (f"protocol error: the server sent more tokens than max_tokens ({self.max_tokens}; "
                    f"{len(self.chunk_ns)} text chunks)"), "protocol"
        return None, None


__all__ = ["GAVE_UP_REASONS", "StreamState", "gave_up"]
