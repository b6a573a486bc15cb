"""Send one request to an OpenAI-compatible endpoint and time it: :class:`OpenAIClient`.

The bytes travel through :class:`assay.client.transport.StreamingPool`, an asyncio protocol
with httptools parsing that stamps every network read in ``data_received`` and wakes the
waiting coroutine only once per response. Timing marks therefore sit right on the I/O:
  - ``start``: the client took the request up;
  - ``sent``: the request bytes were handed to the socket, so time spent in the client's own
    event loop is not billed to the server: it is ``sent - start``, reported on its own;
  - one mark per network read; every SSE event in that read shares it (they arrived
    together, and pretending otherwise would invent inter-token gaps).
Events are decoded as they arrive, inside the transport's read callback, by the stream state
machine in :mod:`assay.client.sse`. The work is spread evenly over the stream, not piled up where
many responses end together. Every request ends in one :class:`assay.client.response.Response`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import msgspec

from assay.client.endpoints import (
    POOLING_KINDS,
    ResponsesStreamState,
    other_endpoint_kind,
    pooling_base_body,
    pooling_body,
    read_pooling_answer,
    responses_body,
)
from assay.client.response import Response
from assay.client.sse import StreamState, gave_up
from assay.client.transport import StopResponse
from assay.redact import Scrubber, basic_token, redact_url, remember, url_secrets


def endpoint_kind(url: str) -> str:
    """``"chat"`` for ``.../chat/completions``, ``"completions"`` for ``.../completions``; ``"embeddings"``,
    ``"rerank"``, ``"score"``, ``"responses"`` for the other endpoints (:mod:`assay.client.endpoints`)."""
    path = url.split("?", 1)[0].rstrip("/")
    if path.endswith("/chat/completions"):
        return "chat"
    if path.endswith("/completions"):
        return "completions"
    return other_endpoint_kind(path)


@dataclass(frozen=True)
class ChatOrCompletionRequest:
    """What to send: a prompt (completions) or messages (chat), and how long to generate.

    Embeddings embed ``inputs`` (a batch; the prompt alone without them); rerank and score rank
    ``inputs`` (the documents) against the prompt (the query).
    """

    prompt: str | None = None
    messages: list[dict[str, Any]] | None = None
    max_tokens: int | None = None
    prompt_tokens: int | None = None
    """Prompt length assay asked for, under its tokenizer (random dataset)."""
    extra: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] | None = None
    """Texts to embed, or documents to rank against ``prompt`` (embeddings, rerank, score)."""


_encode = msgspec.json.Encoder().encode


def _error_message(status: int, body: bytes, scrubber: Scrubber) -> str:
    """``HTTP 500: <the server's message>``, with every secret the request carried scrubbed first
    (a server or proxy may echo the Authorization header, the key or the URL)."""
    text = body[:2000].decode("utf-8", "replace").strip()
    try:
        parsed = msgspec.json.decode(body[:20000])
        if isinstance(parsed, dict):
            err = parsed.get("error", parsed)
            if isinstance(err, dict):
                text = str(err.get("message") or err.get("msg") or err)
            elif isinstance(err, str):
                text = err
            if "detail" in parsed and not isinstance(err, dict):
                text = str(parsed["detail"])
    except (msgspec.DecodeError, ValueError):
        pass
    text = " ".join(scrubber.scrub(text).split())[:300]
    return f"HTTP {status}: {text}" if text else f"HTTP {status}"


class OpenAIClient:
    """A streaming client for ``/v1/completions`` and ``/v1/chat/completions``, and for the endpoints of
    :mod:`assay.client.endpoints` (embeddings, rerank, score: one JSON answer; the Responses API: streamed).

    Use as an async context manager; :meth:`send` never raises for a failed request:
    the failure is described in the returned :class:`Response`, with its reason.
    """

    def __init__(
        self,
        url: str,
        model: str,
        *,
        api_key: str | None = None,
        headers: dict[str, str] | None = None,
        stream: bool = True,
        temperature: float | None = None,
        top_p: float | None = None,
        min_tokens: int | None = None,
        extra_body: dict[str, Any] | None = None,
        continuous_usage: bool = False,
        connect_timeout_s: float = 60.0,
        read_timeout_s: float = 600.0,
        total_timeout_s: float | None = None,
        max_connections: int = 0,
    ) -> None:
        self.url = url
        self.model = model
        self.kind = endpoint_kind(url)
        self._pooling = self.kind in POOLING_KINDS
        self.stream = stream = stream and not self._pooling
        self._new_state: type[StreamState] = ResponsesStreamState if self.kind == "responses" else StreamState
        self._headers = {"Content-Type": "application/json", "Accept": "text/event-stream" if stream else "application/json"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._headers.update(headers or {})
        secrets = [api_key, *(headers or {}).values(), *url_secrets(url)]
        userinfo = _userinfo(url)
        if userinfo is not None and not any(name.lower() == "authorization" for name in self._headers):
            # Credentials in the URL are sent as HTTP Basic auth, as curl and httpx do.
            self._headers["Authorization"] = f"Basic {basic_token(*userinfo)}"
        self._scrubber = Scrubber(secrets)
        remember(*secrets)
        self._base_body: dict[str, Any] = {"model": model, "stream": stream}
        if stream and self.kind != "responses":  # the Responses API streams its usage without being asked
            options: dict[str, Any] = {"include_usage": True}
            if continuous_usage:
                options["continuous_usage_stats"] = True
            self._base_body["stream_options"] = options
        if temperature is not None:
            self._base_body["temperature"] = temperature
        if top_p is not None:
            self._base_body["top_p"] = top_p
        if min_tokens is not None and self.kind != "responses":
            self._base_body["min_tokens"] = min_tokens
        self._base_body.update(extra_body or {})
        if self._pooling:
            self._base_body = pooling_base_body(model, extra_body)
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.total_timeout_s = total_timeout_s
        self.max_connections = max_connections
        self._pool: Any = None

    def body(self, request: ChatOrCompletionRequest) -> dict[str, Any]:
        if self._pooling:
            inputs = request.inputs if request.inputs is not None else [request.prompt or _flatten(request.messages)]
            return pooling_body(self.kind, self._base_body, request.prompt, inputs) | request.extra
        if self.kind == "responses":
            return responses_body(self._base_body, request.prompt, request.messages, request.max_tokens) | request.extra
        body = dict(self._base_body)
        if self.kind == "chat":
            body["messages"] = request.messages or [{"role": "user", "content": request.prompt or ""}]
        else:
            body["prompt"] = request.prompt if request.prompt is not None else _flatten(request.messages)
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        body.update(request.extra)
        return body

    @property
    def shown_url(self) -> str:
        """The URL as it may be printed or stored: credentials masked."""
        return redact_url(self.url)

    async def __aenter__(self) -> OpenAIClient:
        from assay.client.transport import StreamingPool

        self._pool = StreamingPool(connect_timeout_s=self.connect_timeout_s, read_timeout_s=self.read_timeout_s,
                                   total_timeout_s=self.total_timeout_s)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def warm(self, connections: int) -> int:
        """Open ``connections`` keep-alive connections to the server ahead of the requests."""
        return int(await self._pool.warm(self.url, connections))

    async def send(self, request: ChatOrCompletionRequest) -> Response:
        """Send one request and return what it did; never raises for server or network faults."""
        if self._pooling:
            return await self._send_pooling(request)
        start_ns = time.perf_counter_ns()
        state = self._new_state()
        body = self.body(request)
        state.max_tokens = limit = token_limit(body)
        state.max_chunks = 2 * limit
        min_tokens = body.get("min_tokens")
        payload = _encode(body)
        raw = await self._pool.post(self.url, payload, self._headers, state.feed if self.stream else None)
        stopped: StopResponse | None = None
        if self.stream:
            try:
                state.finish(raw.end_ns)
            except StopResponse as exc:
                stopped = exc
        error: str | None = None
        error_kind: str | None = None
        if raw.error is not None:
            error, error_kind = self._scrubber.scrub(raw.error), raw.error_kind
        elif raw.status != 200:
            error, error_kind = _error_message(raw.status or 0, raw.body, self._scrubber), "http"
        elif stopped is not None:
            error, error_kind = stopped.reason, stopped.kind
        elif not self.stream:
            try:
                state.on_whole_body(raw.body, raw.end_ns)
            except StopResponse as exc:
                error, error_kind = exc.reason, exc.kind
        if error is None:
            if state.server_error is not None:
                state.server_error = self._scrubber.scrub(state.server_error)
            error, error_kind = state.problem()
        if error is None:
            error, error_kind = gave_up(state.finish_reason, state.completion_tokens, min_tokens)
        chunk_ns = state.chunk_ns
        # Positional, in the order of Response's fields: this runs once per request (see Response).
        response = Response(
            start_ns,
            raw.end_ns,
            raw.sent_ns,
            raw.headers_ns,
            chunk_ns[0] if chunk_ns else None,  # first_token_ns
            state.first_reasoning_ns,
            state.first_answer_ns,
            chunk_ns,
            state.chunk_tokens if state.per_chunk_usage else (),
            state.answer_text(),
            state.reasoning_text(),
            state.prompt_tokens,
            state.completion_tokens,
            "none" if state.completion_tokens is None else "usage",  # token_source
            min_tokens if isinstance(min_tokens, int) else None,
            state.finish_reason,
            raw.status,  # http_status
            error,
            error_kind,
            raw.retry_after_s,
            state.response_id,
            raw.retries,  # connection_retries
            state.output_chars,
            state.cached_tokens,
            state.reasoning_tokens,
        )
        if state.tool_call_parts:  # function calls the server parsed: only responses that carry them pay
            response.tool_calls = state.tool_calls()
        return response

    async def _send_pooling(self, request: ChatOrCompletionRequest) -> Response:
        """Embeddings, rerank or score: one JSON answer, timed from the send to its last byte; no text."""
        start_ns = time.perf_counter_ns()
        body = self.body(request)
        inputs = body.get("input", body.get("documents", body.get("text_2")))
        count = len(inputs) if isinstance(inputs, list) else 1
        raw = await self._pool.post(self.url, _encode(body), self._headers, None)
        error: str | None = None
        error_kind: str | None = None
        prompt_tokens = response_id = None
        if raw.error is not None:
            error, error_kind = self._scrubber.scrub(raw.error), raw.error_kind
        elif raw.status != 200:
            error, error_kind = _error_message(raw.status or 0, raw.body, self._scrubber), "http"
        else:
            answer = read_pooling_answer(self.kind, raw.body, count, body.get("top_n"))
            prompt_tokens, response_id = answer.prompt_tokens, answer.response_id
            if answer.error is not None:
                error, error_kind = self._scrubber.scrub(answer.error), answer.error_kind
        return Response(
            start_ns, raw.end_ns, sent_ns=raw.sent_ns, headers_ns=raw.headers_ns, prompt_tokens=prompt_tokens,
            completion_tokens=0, token_source="none" if prompt_tokens is None else "usage", http_status=raw.status,
            error=error, error_kind=error_kind, retry_after_s=raw.retry_after_s, response_id=response_id,
            connection_retries=raw.retries, inputs=count,
        )


def _userinfo(url: str) -> tuple[str, str] | None:
    """(user, password) written in the URL, decoded; None without userinfo."""
    from urllib.parse import unquote, urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if "@" not in parts.netloc:
        return None
    user, _, password = parts.netloc.rpartition("@")[0].partition(":")
    return unquote(user), unquote(password)


def token_limit(body: dict[str, Any]) -> int:
    """The most completion tokens a response to ``body`` may carry (a huge number when it sets no limit).

    ``n`` choices share one usage count, so the limit is ``n`` times the per-choice one.
    """
    def positive(value: Any) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

    limit = (positive(body.get("max_tokens")) or positive(body.get("max_completion_tokens"))
             or positive(body.get("max_output_tokens")))
    if limit is None:
        return 1 << 62
    return limit * (positive(body.get("n")) or 1)


def _flatten(messages: list[dict[str, Any]] | None) -> str:
    return "\n".join(str(m.get("content", "")) for m in messages or [])
