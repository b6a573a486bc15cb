"""Stream one request to an OpenAI-compatible endpoint and time it.

The bytes travel through :class:`assay.client.transport.StreamingPool`, an asyncio protocol
with httptools parsing that stamps every network read in ``data_received`` and wakes the
waiting coroutine only once per response. Timing marks therefore sit right on the I/O:
  - ``start``: the client took the request up;
  - ``sent``: the request bytes were handed to the socket, so time spent in the client's own
    event loop is not billed to the server: it is ``sent - start``, reported on its own;
  - one mark per network read; every SSE event in that read shares it (they arrived
    together, and pretending otherwise would invent inter-token gaps).
Events are decoded as they arrive, inside the transport's read callback (no coroutine wakes per
event): a read that holds exactly one whole ``data:`` event, the usual case, costs one
msgspec decode and a few comparisons; anything else goes through a general line splitter. The
work is spread evenly over the stream, not piled up where many responses end together.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from assay.client.channels import ANSWER, PLAIN, REASONING, AnswerStart
from assay.client.records import RequestRecord
from assay.client.transport import StopResponse
from assay.redact import Scrubber, basic_token, redact_url, remember, url_secrets

GAVE_UP_REASONS = frozenset({"abort", "error", "cancelled", "canceled"})
"""finish_reason values that mean the server gave up on the request (vLLM ends in-flight streams with
``abort`` when it shuts down): the request failed, whatever text came before."""


def endpoint_kind(url: str) -> str:
    """``"chat"`` for ``.../chat/completions``, ``"completions"`` for ``.../completions``."""
    path = url.split("?", 1)[0].rstrip("/")
    if path.endswith("/chat/completions"):
        return "chat"
    if path.endswith("/completions"):
        return "completions"
    return "unknown"


@dataclass(frozen=True)
class ChatOrCompletionRequest:
    """What to send: a prompt (completions) or messages (chat), and how long to generate."""

    prompt: str | None = None
    messages: list[dict[str, Any]] | None = None
    max_tokens: int | None = None
    prompt_tokens: int | None = None
    """Prompt length assay asked for, under its tokenizer (random dataset)."""
    extra: dict[str, Any] = field(default_factory=dict)


# Typed views of the stream events: msgspec skips every field not named here.
class _Delta(msgspec.Struct, gc=False):
    content: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None


class _Choice(msgspec.Struct, gc=False):
    delta: _Delta | None = None
    message: _Delta | None = None
    text: str | None = None
    finish_reason: str | None = None


class _Usage(msgspec.Struct, gc=False):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class _Error(msgspec.Struct, gc=False):
    message: str | None = None
    code: int | str | None = None


class _Event(msgspec.Struct, gc=False):
    id: str | None = None
    choices: list[_Choice] | None = None
    usage: _Usage | None = None
    error: _Error | str | None = None


_decode_event = msgspec.json.Decoder(_Event).decode
_encode = msgspec.json.Encoder().encode


class _Marks:
    """The transport's marks for one request."""

    __slots__ = ("sent_ns",)

    def __init__(self) -> None:
        self.sent_ns: int | None = None


@dataclass
class Completion:
    """The text of one response, for scoring (eval), with what went wrong if anything did."""

    answer: str
    reasoning: str | None
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_s: float
    ttft_s: float | None
    http_status: int | None
    error: str | None
    error_kind: str | None
    retry_after_s: float | None = None

    @property
    def retryable(self) -> bool:
        """429, 5xx, connection problems and timeouts may pass on a later try; 4xx will not."""
        if self.error is None:
            return False
        if self.error_kind == "http":
            return self.http_status == 429 or (self.http_status or 0) >= 500
        return self.error_kind in ("connect", "timeout", "stream", "aborted")


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
    """A streaming client for ``/v1/completions`` and ``/v1/chat/completions``.

    Use as an async context manager; :meth:`send` never raises for a failed request:
    the failure is recorded in the returned :class:`RequestRecord` with its reason.
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
        origin_perf_ns: int | None = None,
        origin_epoch_ns: int | None = None,
        count_tokens: Callable[[str], int] | None = None,
    ) -> None:
        self.url = url
        self.model = model
        self.kind = endpoint_kind(url)
        self.stream = stream
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
        if stream:
            options: dict[str, Any] = {"include_usage": True}
            if continuous_usage:
                options["continuous_usage_stats"] = True
            self._base_body["stream_options"] = options
        if temperature is not None:
            self._base_body["temperature"] = temperature
        if top_p is not None:
            self._base_body["top_p"] = top_p
        if min_tokens is not None:
            self._base_body["min_tokens"] = min_tokens
        self._base_body.update(extra_body or {})
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.total_timeout_s = total_timeout_s
        self.max_connections = max_connections
        now_perf = time.perf_counter_ns()
        self.origin_perf_ns = origin_perf_ns if origin_perf_ns is not None else now_perf
        self.origin_epoch_ns = origin_epoch_ns if origin_epoch_ns is not None else time.time_ns()
        self._count_tokens = count_tokens
        self._pool: Any = None

    def body(self, request: ChatOrCompletionRequest) -> dict[str, Any]:
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

    async def _exchange(self, request: ChatOrCompletionRequest) -> _Exchange:
        """Send one request and collect everything it did; never raises for server or network faults."""
        ex = _Exchange()
        ex.start_ns = time.perf_counter_ns()
        state = ex.state
        body = self.body(request)
        state.max_tokens = limit = _limit(body)
        state.max_chunks = 2 * limit
        ex.min_tokens = body.get("min_tokens")
        payload = _encode(body)
        raw = await self._pool.post(self.url, payload, self._headers, state.feed if self.stream else None)
        ex.marks.sent_ns = raw.sent_ns
        ex.headers_ns = raw.headers_ns
        ex.status = raw.status
        ex.retries = raw.retries
        ex.retry_after_s = raw.retry_after_s
        stopped: StopResponse | None = None
        if self.stream:
            try:
                state.finish(raw.end_ns)
            except StopResponse as exc:
                stopped = exc
        if raw.error is not None:
            ex.error, ex.error_kind = self._scrubber.scrub(raw.error), raw.error_kind
        elif raw.status != 200:
            ex.error, ex.error_kind = _error_message(raw.status or 0, raw.body, self._scrubber), "http"
        elif stopped is not None:
            ex.error, ex.error_kind = stopped.reason, stopped.kind
        elif not self.stream:
            try:
                state.on_whole_body(raw.body, raw.end_ns)
            except StopResponse as exc:
                ex.error, ex.error_kind = exc.reason, exc.kind
        ex.end_ns = raw.end_ns
        if ex.error is None:
            if state.server_error is not None:
                state.server_error = self._scrubber.scrub(state.server_error)
            ex.error, ex.error_kind = state.problem()
        if ex.error is None:
            ex.error, ex.error_kind = _gave_up(state.finish_reason, state.completion_tokens, ex.min_tokens)
        return ex

    def _timeout_words(self) -> str:
        if self.total_timeout_s is not None:
            return f"no complete answer within {self.total_timeout_s:g} s"
        return f"no data for {self.read_timeout_s:g} s, the read timeout"

    async def send(
        self,
        request: ChatOrCompletionRequest,
        *,
        index: int = 0,
        point: int = 0,
        phase: str = "measure",
        concurrency: int = 1,
        scheduled_ns: int | None = None,
    ) -> RequestRecord:
        """Send one request and return its timing record (perf); failures are recorded, not raised.

        ``scheduled_ns`` (absolute ``perf_counter_ns``) is when an open-loop schedule wanted it sent.
        """
        ex = await self._exchange(request)
        state, origin = ex.state, self.origin_perf_ns
        completion_tokens = state.completion_tokens
        token_source = "usage" if completion_tokens is not None else "none"
        if completion_tokens is None and ex.error is None and self._count_tokens is not None:
            completion_tokens = self._count_tokens(state.text())
            token_source = "tokenizer"
            ex.error, ex.error_kind = _gave_up(state.finish_reason, completion_tokens, ex.min_tokens)
        sent = ex.marks.sent_ns
        return RequestRecord(
            index=index,
            point=point,
            phase=phase,
            concurrency=concurrency,
            scheduled_ns=None if scheduled_ns is None else scheduled_ns - origin,
            start_ns=ex.start_ns - origin,
            sent_ns=None if sent is None else sent - origin,
            headers_ns=None if ex.headers_ns is None else ex.headers_ns - origin,
            first_token_ns=None if state.first_token_ns is None else state.first_token_ns - origin,
            first_reasoning_ns=None if state.first_reasoning_ns is None else state.first_reasoning_ns - origin,
            first_answer_ns=None if state.first_answer_ns is None else state.first_answer_ns - origin,
            end_ns=ex.end_ns - origin,
            sent_epoch_s=None if sent is None else (self.origin_epoch_ns + sent - origin) / 1e9,
            end_epoch_s=(self.origin_epoch_ns + ex.end_ns - origin) / 1e9,
            chunk_times_us=[(t - sent) // 1000 for t in state.chunk_ns] if sent is not None else [],
            chunk_tokens=state.chunk_tokens if state.per_chunk_usage else [],
            prompt_tokens=state.prompt_tokens,
            completion_tokens=completion_tokens,
            token_source=token_source,
            requested_prompt_tokens=request.prompt_tokens,
            requested_max_tokens=request.max_tokens,
            finish_reason=state.finish_reason,
            http_status=ex.status,
            error=ex.error,
            error_kind=ex.error_kind,
            output_chars=state.output_chars,
            connection_retries=ex.retries,
            response_id=state.response_id,
        )

    async def complete(self, request: ChatOrCompletionRequest) -> Completion:
        """Send one request and return its text (eval); failures are returned, not raised."""
        ex = await self._exchange(request)
        state = ex.state
        sent = ex.marks.sent_ns if ex.marks.sent_ns is not None else ex.start_ns
        return Completion(
            answer="".join(state.answer_pieces),
            reasoning="".join(state.reasoning_pieces) or None,
            finish_reason=state.finish_reason,
            prompt_tokens=state.prompt_tokens,
            completion_tokens=state.completion_tokens,
            latency_s=(ex.end_ns - sent) / 1e9,
            ttft_s=None if state.first_token_ns is None else (state.first_token_ns - sent) / 1e9,
            http_status=ex.status,
            error=ex.error,
            error_kind=ex.error_kind,
            retry_after_s=ex.retry_after_s,
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


def _limit(body: dict[str, Any]) -> int:
    """The most completion tokens a response to ``body`` may carry (a huge number when it sets no limit).

    ``n`` choices share one usage count, so the limit is ``n`` times the per-choice one.
    """
    def positive(value: Any) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

    limit = positive(body.get("max_tokens")) or positive(body.get("max_completion_tokens"))
    if limit is None:
        return 1 << 62
    return limit * (positive(body.get("n")) or 1)


def _gave_up(finish_reason: str | None, completion_tokens: int | None, min_tokens: Any) -> tuple[str | None, str | None]:
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


class _Exchange:
    """Everything one request did, before it is shaped into a record or a completion."""

    __slots__ = ("end_ns", "error", "error_kind", "headers_ns", "marks", "min_tokens", "retries", "retry_after_s",
                 "start_ns", "state", "status")

    def __init__(self) -> None:
        self.marks = _Marks()
        self.state = _StreamState()
        self.start_ns = 0
        self.end_ns = 0
        self.headers_ns: int | None = None
        self.status: int | None = None
        self.error: str | None = None
        self.error_kind: str | None = None
        self.retry_after_s: float | None = None
        self.retries = 0
        self.min_tokens: Any = None


class _StreamState:
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
        "_answer_start",
        "_content_ns",
        "_tail",
        "_usage_seen_tokens",
        "answer_pieces",
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
        "reasoning_pieces",
        "server_error",
    )

    def __init__(self) -> None:
        self.chunk_ns: list[int] = []
        self.chunk_tokens: list[int] = []
        self.answer_pieces: list[str] = []
        self.reasoning_pieces: list[str] = []
        self.first_event: _Event | None = None
        self.first_reasoning_ns: int | None = None
        self.first_answer_ns: int | None = None
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None
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
        self.output_chars = sum(map(len, self.answer_pieces)) + sum(map(len, self.reasoning_pieces))
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
            if delta is not None:
                if answer is None:
                    answer = delta.content
                reasoning = delta.reasoning_content or delta.reasoning
                if reasoning:
                    if self.first_reasoning_ns is None:
                        self.first_reasoning_ns = now
                    self.reasoning_pieces.append(reasoning)
            if answer:
                if self.first_answer_ns is None:
                    self._mark_answer(answer, now)
                self.answer_pieces.append(answer)
            if answer or reasoning:  # a chunk of text, with its token count where usage came with it
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

    def text(self) -> str:
        return "".join(self.reasoning_pieces) + "".join(self.answer_pieces)

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


def _flatten(messages: list[dict[str, Any]] | None) -> str:
    return "\n".join(str(m.get("content", "")) for m in messages or [])
