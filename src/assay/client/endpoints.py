"""The endpoints beside chat and completions: embeddings, rerank/score and the Responses API.

EvalScope's ``--api`` names pick the endpoint (:data:`API_ENDPOINTS`); the URL then says which
layout to speak (:func:`other_endpoint_kind`): ``/v1/embeddings``; ``/v1/rerank`` (vLLM, llama-server,
Jina, Cohere: ``query`` + ``documents`` → ``results``) or vLLM's ``/v1/score`` (``text_1`` + ``text_2`` →
``data``); ``/v1/responses`` (streamed as typed events). Embeddings, rerank and score generate nothing:
one JSON answer per request, timed from the send to its last byte, with how many inputs it carried
(:func:`read_pooling_answer`). The Responses API streams text: :class:`ResponsesStreamState` reads its
events into the same marks a chat stream gives.
"""

from __future__ import annotations

from typing import Any

import msgspec

from assay.client.sse import StreamState, _CompletionDetails, _Error, _PromptDetails

API_ENDPOINTS: dict[str, str] = {
    "openai": "chat/completions",
    "openai_embedding": "embeddings",
    "embedding": "embeddings",
    "openai_rerank": "rerank",
    "rerank": "rerank",
    "openai_responses": "responses",
    "openai_response": "responses",
    "responses": "responses",
}
"""EvalScope's ``--api`` values and the endpoint each speaks (appended to a URL that names none)."""

POOLING_KINDS = frozenset({"embeddings", "rerank", "score"})
"""Endpoint kinds that answer once, with no generated text (no TTFT, TPOT or ITL)."""

_KINDS_OF_ENDPOINT = {"chat/completions": ("chat", "completions"), "embeddings": ("embeddings",),
                      "rerank": ("rerank", "score"), "responses": ("responses",)}
_PATHS = (("/chat/completions", "chat"), ("/completions", "completions"), ("/embeddings", "embeddings"),
          ("/reranking", "rerank"), ("/reranks", "rerank"), ("/rerank", "rerank"), ("/score", "score"),
          ("/responses", "responses"))
_DATASET_KNOBS = ("batch_size", "num_documents", "document_length_ratio")
"""EvalScope reads these from ``--extra-args`` to shape its embedding/rerank datasets; they are no request
parameters, so assay keeps them out of the body."""


def other_endpoint_kind(path: str) -> str:
    """The endpoint kind a URL path ends with (``chat``, ``completions``, ``embeddings``, ``rerank``,
    ``score``, ``responses``), or ``unknown``."""
    path = path.split("?", 1)[0].rstrip("/")
    for suffix, kind in _PATHS:
        if path.endswith(suffix):
            return kind
    return "unknown"


def resolve_url(api: str, url: str) -> tuple[str, str | None]:
    """The endpoint URL ``--api`` sends to, and a one-line note when it differs from ``url``.

    As EvalScope: a URL that names no known endpoint gets the API's path appended (``…/v1`` →
    ``…/v1/embeddings``), and ``--api openai_responses`` turns ``…/chat/completions`` into ``…/responses``.
    Unlike EvalScope, a URL that names another API's endpoint is refused (``ValueError``: it could only fail),
    and a rerank URL without a path gets ``/rerank``, which vLLM, llama-server and Jina serve (EvalScope
    appends ``/reranks``, which none of them does). ``--api openai`` keeps ``url`` as given.
    """
    endpoint = API_ENDPOINTS[api]
    if endpoint == "chat/completions":
        return url, None
    base, _, query = url.partition("?")
    stripped = base.rstrip("/")
    kind = other_endpoint_kind(stripped)
    tail = f"?{query}" if query else ""
    if kind in _KINDS_OF_ENDPOINT[endpoint]:
        return url, None
    if endpoint == "responses" and kind == "chat":
        adjusted = stripped[: -len("chat/completions")] + "responses" + tail
        return adjusted, f"--api {api}: the URL's /chat/completions became /responses (as EvalScope does)"
    if kind != "unknown":
        raise ValueError(f"--api {api} speaks /{endpoint}{' or /score' if endpoint == 'rerank' else ''}, "
                         f"but the URL ends with another endpoint ({kind})")
    return stripped + "/" + endpoint + tail, f"--api {api}: the URL names no endpoint; /{endpoint} was appended"


def pooling_base_body(model: str, extra_body: dict[str, Any] | None) -> dict[str, Any]:
    """What every embeddings/rerank/score body carries: the model and ``--extra-args`` (less EvalScope's
    dataset knobs and the generation fields that these endpoints do not take)."""
    body: dict[str, Any] = {"model": model}
    skip = {*_DATASET_KNOBS, "stream", "stream_options", "max_tokens", "min_tokens", "temperature", "top_p"}
    body.update({k: v for k, v in (extra_body or {}).items() if k not in skip})
    return body


def pooling_body(kind: str, base: dict[str, Any], query: str | None, inputs: list[str]) -> dict[str, Any]:
    """One embeddings (``input``), rerank (``query`` + ``documents``) or score (``text_1`` + ``text_2``) body."""
    body = dict(base)
    if kind == "embeddings":
        body["input"] = inputs[0] if len(inputs) == 1 else inputs  # one text as a string, as EvalScope sends it
    elif kind == "rerank":
        body["query"] = query or ""
        body["documents"] = inputs
    else:  # vLLM's /score: text_1 against each of text_2 (every vLLM version takes these names)
        body["text_1"] = query or ""
        body["text_2"] = inputs
    return body


def responses_body(base: dict[str, Any], prompt: str | None, messages: list[dict[str, Any]] | None,
                   max_tokens: int | None) -> dict[str, Any]:
    """A Responses API body: ``input`` (the prompt, or the messages as input items) and ``max_output_tokens``."""
    body = dict(base)
    body["input"] = messages if messages else prompt or ""
    if max_tokens is not None:
        body["max_output_tokens"] = max_tokens
    return body


# ------------------------------------------------------------------------------ embeddings, rerank, score
class _PoolingUsage(msgspec.Struct, gc=False):
    prompt_tokens: int | None = None
    total_tokens: int | None = None


class _PoolingAnswer(msgspec.Struct, gc=False):
    id: str | None = None
    data: list[msgspec.Raw] | None = None
    results: list[msgspec.Raw] | None = None
    usage: _PoolingUsage | None = None
    error: _Error | str | None = None


_decode_pooling = msgspec.json.Decoder(_PoolingAnswer).decode


class PoolingAnswer(msgspec.Struct, gc=False):
    """What an embeddings/rerank/score answer said: items returned, input tokens, id, or why it failed."""

    items: int = 0
    prompt_tokens: int | None = None
    response_id: str | None = None
    error: str | None = None
    error_kind: str | None = None


def read_pooling_answer(kind: str, body: bytes, inputs: int, top_n: Any = None) -> PoolingAnswer:
    """Check a 200 answer: one embedding (or score) per input, one result per document (at most ``top_n``).

    A server that answers for fewer inputs than it was sent did not do the work being timed: a protocol error.
    """
    try:
        answer = _decode_pooling(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return PoolingAnswer(error=f"protocol error: the {kind} answer is not the expected JSON ({exc})",
                             error_kind="protocol")
    if answer.error is not None:
        message = answer.error if isinstance(answer.error, str) else answer.error.message or "error"
        return PoolingAnswer(error=f"server error: {' '.join(str(message).split())[:300]}", error_kind="stream")
    items = answer.results if kind == "rerank" else answer.data
    field = "results" if kind == "rerank" else "data"
    count = len(items or [])
    expected = inputs
    if kind == "rerank" and isinstance(top_n, int) and 0 < top_n < inputs:
        expected = top_n
    usage = answer.usage
    tokens = None if usage is None else usage.prompt_tokens if usage.prompt_tokens is not None else usage.total_tokens
    if count != expected:
        what = "documents" if kind != "embeddings" else "inputs"
        return PoolingAnswer(items=count, prompt_tokens=tokens, response_id=answer.id,
                             error=f"protocol error: {count} {field} item(s) for {inputs} {what} sent",
                             error_kind="protocol")
    return PoolingAnswer(items=count, prompt_tokens=tokens, response_id=answer.id)


# ------------------------------------------------------------------------------------- Responses API
class _ResponsesUsage(msgspec.Struct, gc=False):
    input_tokens: int | None = None
    output_tokens: int | None = None
    input_tokens_details: _PromptDetails | None = None
    output_tokens_details: _CompletionDetails | None = None


class _Incomplete(msgspec.Struct, gc=False):
    reason: str | None = None


class _Part(msgspec.Struct, gc=False):
    type: str | None = None
    text: str | None = None


class _OutputItem(msgspec.Struct, gc=False):
    type: str | None = None
    content: list[_Part] | None = None
    summary: list[_Part] | None = None


class _ResponseObject(msgspec.Struct, gc=False):
    id: str | None = None
    status: str | None = None
    usage: _ResponsesUsage | None = None
    incomplete_details: _Incomplete | None = None
    error: _Error | None = None
    output: list[_OutputItem] | None = None


class _ResponsesEvent(msgspec.Struct, gc=False):
    type: str | None = None
    delta: str | None = None
    response: _ResponseObject | None = None
    message: str | None = None
    error: _Error | str | None = None


_decode_responses_event = msgspec.json.Decoder(_ResponsesEvent).decode
_decode_response_object = msgspec.json.Decoder(_ResponseObject).decode

ANSWER_DELTAS = frozenset({"response.output_text.delta", "response.refusal.delta"})
REASONING_DELTAS = frozenset({"response.reasoning_text.delta", "response.reasoning_summary_text.delta",
                              "response.reasoning.delta"})
"""vLLM streams ``reasoning_text``; OpenAI streams reasoning summaries: both are reasoning, not answer."""
_ENDINGS = frozenset({"response.completed", "response.incomplete", "response.failed"})


class ResponsesStreamState(StreamState):
    """The Responses API's stream (``event: …`` / ``data: {"type": …}``) read into a chat stream's marks.

    Text deltas are chunks (``output_text`` answer, ``reasoning_text`` / reasoning summary reasoning);
    ``response.completed`` (or ``incomplete`` / ``failed``) carries usage (input, output and reasoning
    tokens) and how it ended: ``incomplete`` for ``max_output_tokens`` is finish reason ``length``.
    A stream that ends without one of them failed.
    """

    __slots__ = ("_ended", "_id")

    def __init__(self) -> None:
        super().__init__()
        self._ended = False
        self._id: str | None = None

    @property
    def response_id(self) -> str | None:
        return self._id

    def feed(self, data: bytes, now: int) -> None:
        self._feed_lines(data, now)  # events come as 'event:' and 'data:' lines: always taken apart

    def on_data(self, payload: bytes, now: int) -> None:
        try:
            event = _decode_responses_event(payload)
        except (msgspec.DecodeError, msgspec.ValidationError):
            payload = payload.strip()
            if payload == b"[DONE]":
                self.done = True
            elif payload:
                self.malformed += 1
            return
        self.on_responses_event(event, now)

    def on_responses_event(self, event: _ResponsesEvent, now: int) -> None:
        if self.first_event is None:
            self.first_event = event  # type: ignore[assignment]  # only tested against None
        kind = event.type
        delta = event.delta
        if delta and kind in ANSWER_DELTAS:
            if self.first_answer_ns is None:
                self.first_answer_ns = now
            self._answer.write(delta)
            self._text_chunk(now)
        elif delta and kind in REASONING_DELTAS:
            if self.first_reasoning_ns is None:
                self.first_reasoning_ns = now
            self._reasoning.write(delta)
            self._text_chunk(now)
        elif kind in _ENDINGS and event.response is not None:
            self._ended = True
            self.done = True
            self._take_response(event.response, kind)
        elif event.response is not None and event.response.id is not None and self._id is None:
            self._id = event.response.id  # response.created / in_progress
        if kind == "error" or event.error is not None:
            err = event.error
            self.server_error = (err if isinstance(err, str) else (err.message or str(err.code)) if err is not None
                                 else event.message or "error event")

    def _text_chunk(self, now: int) -> None:
        self.chunk_ns.append(now)
        if len(self.chunk_ns) > self.max_chunks:
            self._runaway(f"{len(self.chunk_ns)} text deltas")

    def _take_response(self, response: _ResponseObject, kind: str | None) -> None:
        if response.id is not None:
            self._id = response.id
        usage = response.usage
        if usage is not None:
            self.prompt_tokens = usage.input_tokens
            self.completion_tokens = usage.output_tokens
            if usage.input_tokens_details is not None:
                self.cached_tokens = usage.input_tokens_details.cached_tokens
            if usage.output_tokens_details is not None:
                self.reasoning_tokens = usage.output_tokens_details.reasoning_tokens
            if usage.output_tokens is not None and usage.output_tokens > self.max_tokens:
                self._runaway(f"usage: {usage.output_tokens} output tokens")
        status = response.status or ("failed" if kind == "response.failed" else None)
        if status == "failed" or kind == "response.failed":
            error = response.error
            self.server_error = (error.message or str(error.code)) if error is not None else "the response failed"
        elif status == "incomplete":
            reason = response.incomplete_details.reason if response.incomplete_details is not None else None
            self.finish_reason = "length" if reason in (None, "max_output_tokens") else reason
        else:
            self.finish_reason = "stop" if status in (None, "completed") else status

    def on_whole_body(self, body: bytes, now: int) -> None:
        """A response that was not streamed: the response object itself, its text in ``output`` items."""
        try:
            response = _decode_response_object(body.strip())
        except (msgspec.DecodeError, msgspec.ValidationError):
            self.malformed += 1
            self.finish(now)
            return
        self.first_event = response  # type: ignore[assignment]  # only tested against None
        for item in response.output or []:
            parts = (item.content or []) + (item.summary or [])
            for part in parts:
                if not part.text:
                    continue
                if item.type == "reasoning":
                    self._reasoning.write(part.text)
                    self.first_reasoning_ns = now
                else:
                    self._answer.write(part.text)
                    self.first_answer_ns = now
        if self._answer.tell() or self._reasoning.tell():
            self.chunk_ns.append(now)
        self._ended = True
        self._take_response(response, None)
        self.done = True
        self.finish(now)

    def problem(self) -> tuple[str | None, str | None]:
        if self.server_error is None and not self.malformed and self.first_event is not None and not self._ended:
            return "the stream ended without response.completed (or incomplete/failed)", "protocol"
        return super().problem()


__all__ = ["API_ENDPOINTS", "POOLING_KINDS", "PoolingAnswer", "ResponsesStreamState", "other_endpoint_kind",
           "pooling_base_body", "pooling_body", "read_pooling_answer", "resolve_url", "responses_body"]
