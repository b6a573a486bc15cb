"""What one request to an OpenAI-compatible server did: the client's one answer, for perf and eval alike.

The client knows nothing of sweeps or samples: perf wraps a :class:`Response` into its
``RequestRecord`` (sweep bookkeeping, times since the run's origin) and eval into its sample.
Every ``*_ns`` mark is an absolute ``time.perf_counter_ns()`` reading (monotonic, machine-wide).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from assay.client.sse import gave_up


class ToolCall(msgspec.Struct, gc=False):
    """One function call the server parsed out of the model's output (``tool_calls`` of the message or
    of the stream's deltas, joined by ``index``): the arguments exactly as sent, a JSON text."""

    index: int
    id: str | None = None
    name: str = ""
    arguments: str = ""


class Response(msgspec.Struct, gc=False):
    """One request's timing marks, text, usage and how it ended; failures are described, never raised.

    Made once per request at its end: a msgspec struct that the client fills positionally (seven times
    cheaper than by keyword with this many fields, and the client makes one per request); the text
    is kept whole (:attr:`answer_text`, :attr:`reasoning_text`).
    """

    start_ns: int
    """The client took the request up (before building and writing it)."""
    end_ns: int
    """Last byte of the response read, or the failure noticed."""
    sent_ns: int | None = None
    """The request body was handed to the socket (None if it never was)."""
    headers_ns: int | None = None
    """Response headers arrived."""
    first_token_ns: int | None = None
    """The network read that brought the first text (reasoning or answer)."""
    first_reasoning_ns: int | None = None
    first_answer_ns: int | None = None
    chunk_ns: Sequence[int] = ()
    """Arrival of every content/reasoning chunk (events of one network read share its mark); an
    ``array('q')`` from the stream (the collector never walks it), a list or tuple is as good."""
    chunk_tokens: Sequence[int] = ()
    """Tokens per chunk, only when the server reported usage on every chunk; else empty."""
    answer_text: str = ""
    """The answer as the stream brought it (or the message's content)."""
    reasoning_text: str = ""
    """The reasoning the server sent apart from the answer (``reasoning_content``); empty without any."""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    token_source: str = "none"
    """``"usage"`` (the server's count), ``"tokenizer"`` (counted by the caller: :meth:`use_counted_tokens`)
    or ``"none"``."""
    min_tokens: int | None = None
    """The ``min_tokens`` the request asked for, if any (a ``length`` finish below it is a failure)."""
    finish_reason: str | None = None
    http_status: int | None = None
    error: str | None = None
    """One-line reason when the request failed; None on success. Secrets are scrubbed from it."""
    error_kind: str | None = None
    """``connect``, ``timeout``, ``http``, ``stream``, ``protocol``, ``aborted`` or ``client``."""
    retry_after_s: float | None = None
    """The server's ``Retry-After`` (429/503), in seconds."""
    response_id: str | None = None
    """The ``id`` the server gave the response (to find it in the server's logs)."""
    connection_retries: int = 0
    """1 when the request was re-sent on a new connection because the kept-alive one it first got had
    been closed by the server before any response byte (the server never saw it)."""
    output_chars: int = 0
    """Characters of answer and reasoning text together."""
    cached_tokens: int | None = None
    """Prompt tokens the server served from its prefix cache (``usage.prompt_tokens_details.cached_tokens``)."""
    reasoning_tokens: int | None = None
    """Completion tokens the server counted as reasoning (``usage.completion_tokens_details.reasoning_tokens``)."""
    inputs: int | None = None
    """Embeddings, rerank, score: the texts embedded (the batch size) or documents ranked; None for generation."""
    endpoint: str | None = None
    """Which of several endpoints served it (:class:`~assay.client.fleet.ClientFleet`; credentials masked);
    None for a client of one URL."""
    tool_calls: list[ToolCall] = []
    """The function calls the server parsed (``finish_reason`` ``tool_calls``), in ``index`` order; empty when
    it sent none (a server without a tool parser leaves them in the text: eval reads them from there)."""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def answer(self) -> str:
        return self.answer_text

    @property
    def reasoning(self) -> str | None:
        """The reasoning text the server sent apart from the answer; None when it sent none."""
        return self.reasoning_text or None

    @property
    def text(self) -> str:
        """Reasoning then answer: everything the model generated, as a tokenizer should count it."""
        return self.reasoning_text + self.answer_text

    @property
    def latency_s(self) -> float:
        """From the request leaving the client (or being taken up, if it never left) to its end."""
        sent = self.sent_ns if self.sent_ns is not None else self.start_ns
        return (self.end_ns - sent) / 1e9

    @property
    def ttft_s(self) -> float | None:
        """From the request leaving the client to the first text; None without text."""
        if self.first_token_ns is None:
            return None
        sent = self.sent_ns if self.sent_ns is not None else self.start_ns
        return (self.first_token_ns - sent) / 1e9

    @property
    def retryable(self) -> bool:
        """429, 5xx, connection problems and timeouts may pass on a later try; 4xx will not."""
        if self.error is None:
            return False
        if self.error_kind == "http":
            return self.http_status == 429 or (self.http_status or 0) >= 500
        return self.error_kind in ("connect", "timeout", "stream", "aborted")

    def use_counted_tokens(self, completion_tokens: int) -> None:
        """The server sent no usage and the caller counted the text with its tokenizer: keep that count,
        and judge the finish reason with it (``length`` below ``min_tokens`` is a failure)."""
        self.completion_tokens = completion_tokens
        self.token_source = "tokenizer"
        if self.error is None:
            self.error, self.error_kind = gave_up(self.finish_reason, completion_tokens, self.min_tokens)


__all__ = ["Response", "ToolCall"]
