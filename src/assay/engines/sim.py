"""``assay sim``: a simulated OpenAI-compatible engine with exact, recorded timings.

For what a real engine cannot show: known TTFT/TPOT (so a client's numbers can be checked
against ground truth) and, later, injected faults. It streams ``/v1/completions`` and
``/v1/chat/completions`` with:

- TTFT and TPOT that grow with the number of requests in flight (a batching model), and a
  maximum batch beyond which requests queue (their wait is part of their TTFT);
- several tokens per chunk, reasoning tokens streamed as ``reasoning_content`` before the
  answer (or, with ``harmony``, gpt-oss harmony text in the content: an analysis channel, then
  the final one), ``usage`` at the end (and on every chunk if ``continuous_usage_stats`` is asked);
- a context limit (``context_tokens``) that ends a request with finish_reason ``length``;
- emission on absolute deadlines (``first + i × TPOT``), so the schedule never drifts.

It runs on non-blocking sockets in an asyncio loop, with httptools parsing (cheap per chunk: one
JSON dump and one ``send``). Per request it records, on the monotonic clock shared by every
process of the machine (``time.perf_counter_ns``), when the request's bytes reached its socket
(the kernel's receive timestamp, ``SO_TIMESTAMPNS``, where the OS gives one: a request that
waits in the socket while the simulator is busy writing other streams' chunks keeps its true
arrival, and the wait counts in its TTFT as any client sees it) and when each chunk was handed to
the socket (just before the write):
``GET /sim/records`` serves them, ``POST /sim/reset`` clears them, ``GET /metrics`` is
Prometheus text.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

WORDS = ("alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "lambda")
ANALYSIS_WORDS = ("we", "need", "to", "check", "each", "step")
"""Harmony mode's analysis channel: words apart from the answer's, so that scoring the analysis shows."""


@dataclass
class SimSettings:
    ttft_ms: float = 50.0
    """Time to first token for a request alone."""
    tpot_ms: float = 10.0
    """Time per output token for a request alone."""
    tokens_per_chunk: int = 1
    output_tokens: int = 256
    """Tokens generated when the request names no max_tokens."""
    reasoning_tokens: int = 0
    """Tokens streamed as reasoning_content before the answer (count toward max_tokens)."""
    ttft_ms_per_request: float = 0.0
    """Extra TTFT per other request in flight (batching cost)."""
    tpot_ms_per_request: float = 0.0
    """Extra TPOT per other request in flight."""
    max_batch: int = 0
    """Requests generating at once (0: no limit); the rest wait in a queue."""
    model: str = "sim"
    faults: dict[str, float] = field(default_factory=dict)
    """Fault kind -> probability per completion request (see FAULTS); drawn with ``fault_seed``."""
    fault_seed: int = 0
    stall_s: float = 30.0
    """How long a ``stall`` fault stops sending mid-stream."""
    harmony: bool = False
    """Stream gpt-oss harmony text in ``content``, as a server that does not parse harmony does:
    ``<|channel|>analysis<|message|>`` + ``reasoning_tokens`` words ``<|end|><|start|>assistant<|channel|>final
    <|message|>`` + the answer ``<|return|>``, each marker one token, all counted in max_tokens."""
    context_tokens: int = 0
    """Prompt plus output tokens a request may use (0: no limit); a request that reaches it stops
    with finish_reason ``length`` before max_tokens, as a real engine's context limit does."""


FAULTS = {
    "http500": "answer HTTP 500 with a JSON error",
    "http502": "answer HTTP 502 with an HTML body",
    "http503": "answer HTTP 503 with a JSON error",
    "http429": "answer HTTP 429 with Retry-After: 1",
    "reset": "send a few chunks, then reset the connection (RST)",
    "stall": "send a few chunks, then nothing for stall_s seconds",
    "split": "send every SSE line in two writes (a correct stream, awkwardly cut)",
    "bad_json": "one event is not valid JSON",
    "no_done": "omit the final [DONE] line",
    "empty_choices": "one event has an empty choices list",
    "bad_utf8": "one event carries bytes that are not UTF-8",
    "error_event": "an error object inside the stream, after a few chunks",
    "oversized": "one event of 8 MiB",
    "abort": "after a few chunks, end the stream (HTTP 200) with finish_reason 'abort', as vLLM does on shutdown",
    "runaway": "ignore max_tokens: stream five times as many tokens, then end normally",
    "endless": "after a few chunks, send empty events forever (the read timeout never fires)",
    "echo_headers": "answer HTTP 500 with a JSON error echoing the request line and headers (credentials too)",
}


@dataclass
class SimRecord:
    id: str
    arrival_ns: int
    fault: str | None = None
    start_ns: int = 0
    """Left the queue and began 'prefill'."""
    chunk_ns: list[int] = field(default_factory=list)
    chunk_tokens: list[int] = field(default_factory=list)
    end_ns: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    first_answer_chunk: int | None = None
    """Index in ``chunk_ns`` of the chunk that carried the answer's first token (after reasoning)."""
    finish_reason: str | None = None


class Simulator:
    """The state of one simulated engine: settings, in-flight count, records."""

    def __init__(self, settings: SimSettings) -> None:
        import random

        self.settings = settings
        self.rng = random.Random(settings.fault_seed)
        self.records: list[SimRecord] = []
        self.in_flight = 0
        self.waiting = 0
        self.served = 0
        self.tokens_total = 0
        self.reads_kernel_stamped = 0
        self.reads_self_stamped = 0
        """Reads whose time is the kernel's receive time / the simulator's own (no usable timestamp)."""
        self._next_id = 0
        self._gate: asyncio.Semaphore | None = None

    def gate(self) -> asyncio.Semaphore | None:
        if self.settings.max_batch and self._gate is None:
            self._gate = asyncio.Semaphore(self.settings.max_batch)
        return self._gate

    def ttft_s(self) -> float:
        s = self.settings
        return (s.ttft_ms + s.ttft_ms_per_request * max(0, self.in_flight - 1)) / 1000

    def tpot_s(self) -> float:
        s = self.settings
        return (s.tpot_ms + s.tpot_ms_per_request * max(0, self.in_flight - 1)) / 1000

    def draw_fault(self) -> str | None:
        """The fault this request gets, if any (one draw per kind, in a fixed order)."""
        for kind, probability in sorted(self.settings.faults.items()):
            if self.rng.random() < probability:
                return kind
        return None

    def new_id(self) -> str:
        self._next_id += 1
        return f"sim-{self._next_id}"

    def metrics_text(self) -> str:
        return (
            "# TYPE sim_requests_total counter\n"
            f"sim_requests_total {self.served}\n"
            "# TYPE sim_generation_tokens_total counter\n"
            f"sim_generation_tokens_total {self.tokens_total}\n"
            "# TYPE sim_requests_running gauge\n"
            f"sim_requests_running {self.in_flight}\n"
            "# TYPE sim_requests_waiting gauge\n"
            f"sim_requests_waiting {self.waiting}\n"
        )


async def _sleep_until(deadline_ns: int) -> None:
    delay = (deadline_ns - time.perf_counter_ns()) / 1e9
    if delay > 0:
        await asyncio.sleep(delay)


class _Reply:
    """Writes one HTTP/1.1 response on a connection: whole, or streamed with chunked encoding."""

    __slots__ = ("keep_alive", "transport")

    def __init__(self, transport: _SimConnection, keep_alive: bool) -> None:
        self.transport = transport
        self.keep_alive = keep_alive

    @property
    def closed(self) -> bool:
        return self.transport.is_closing()

    def whole(self, status: int, body: bytes, content_type: str = "application/json", extra: str = "") -> None:
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 429: "Too Many Requests",
                  500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}.get(status, "Error")
        head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                f"{extra}Connection: {'keep-alive' if self.keep_alive else 'close'}\r\n\r\n").encode()
        self.transport.write(head + body)
        if not self.keep_alive:
            self.transport.close()

    def json(self, status: int, data: Any) -> None:
        self.whole(status, json.dumps(data).encode())

    def start_stream(self) -> None:
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: " + (b"keep-alive" if self.keep_alive else b"close") + b"\r\n\r\n"
        )

    def chunk(self, data: bytes) -> None:
        self.transport.write(b"%x\r\n%b\r\n" % (len(data), data))

    def reset(self) -> None:
        """Abort the connection with a TCP RST (SO_LINGER 0), as a crashed server would."""
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

    def end_stream(self) -> None:
        self.transport.write(b"0\r\n\r\n")
        if not self.keep_alive:
            self.transport.close()


SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform.startswith("linux") else None)


def _kernel_stamp(ancillary: list[tuple[int, int, bytes]], now: int) -> int | None:
    """The kernel's receive time of a read (SCM_TIMESTAMPNS, realtime) on the perf_counter clock.

    ``now`` is the read's own perf_counter time. None without a timestamp, or with one that cannot be
    right (after ``now``, or more than a minute before it: the wall clock was stepped in between).
    """
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanoseconds = struct.unpack_from("qq", data)
            if not seconds:
                return None
            # perf_counter is CLOCK_MONOTONIC: the two clocks differ by an offset read now (± ~0.1 µs).
            stamp = seconds * 1_000_000_000 + nanoseconds - (time.time_ns() - time.perf_counter_ns())
            return stamp if now - 60_000_000_000 < stamp <= now else None
    return None


class _SimConnection:
    """One client connection on a raw non-blocking socket: requests' arrival is the kernel's receive time.

    The simulator reads with ``recvmsg`` and ``SO_TIMESTAMPNS`` (Linux) rather than through an asyncio
    transport, so a request's arrival is when its bytes reached the socket, not when the event loop
    got round to it: while the simulator writes a burst of chunks for a hundred other streams (or is
    off-CPU on a busy machine), a request waiting in the socket is stamped with its true arrival, and
    that wait counts as the server's TTFT, as a client would see it. Where the kernel gives no
    timestamp, the read's own time is used. Writes go out at once; what the socket does not take is
    buffered and flushed when it is writable. Bytes are parsed (httptools) in a callback after every
    ready socket has been read. It offers the few transport methods ``_Reply`` uses.
    """

    def __init__(self, sim: Simulator, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        import httptools

        self.sim = sim
        self.sock = sock
        self.loop = loop
        self.parser = httptools.HttpRequestParser(self)
        self._read_ns = 0
        self._arrival = 0
        self._url = b""
        self._body: list[bytes] = []
        self._headers: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._unparsed: list[tuple[int, bytes]] = []
        self._out = bytearray()
        self._closing = False
        self._lost = False
        loop.add_reader(sock.fileno(), self._readable)

    # the part of asyncio.Transport that _Reply uses
    def write(self, data: bytes) -> None:
        if self._lost:
            return
        if self._out:
            self._out += data
            return
        try:
            sent = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._close_now()
            return
        if sent < len(data):
            self._out += data[sent:]
            self.loop.add_writer(self.sock.fileno(), self._writable)

    def is_closing(self) -> bool:
        return self._closing or self._lost

    def close(self) -> None:
        """Close once what is buffered has been sent."""
        self._closing = True
        if not self._out:
            self._close_now()

    def abort(self) -> None:
        self._closing = True
        self._close_now()

    def get_extra_info(self, name: str) -> Any:
        return self.sock if name == "socket" else None

    def _writable(self) -> None:
        try:
            sent = self.sock.send(self._out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close_now()
            return
        del self._out[:sent]
        if not self._out:
            self.loop.remove_writer(self.sock.fileno())
            if self._closing:
                self._close_now()

    def _readable(self) -> None:
        try:
            data, ancillary, _, _ = self.sock.recvmsg(262144, 64)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._close_now()
            return
        if not data:  # the client is done sending: finish writing what is buffered, then close
            self.loop.remove_reader(self.sock.fileno())
            self.close()
            return
        now = time.perf_counter_ns()
        stamp = _kernel_stamp(ancillary, now)
        if stamp is None:
            self.sim.reads_self_stamped += 1
        else:
            self.sim.reads_kernel_stamped += 1
            now = stamp
        if self._unparsed:
            self._unparsed.append((now, data))
        else:
            self._unparsed = [(now, data)]
            self.loop.call_soon(self._parse)

    def _close_now(self) -> None:
        if self._lost:
            return
        self._lost = self._closing = True
        fd = self.sock.fileno()
        if fd >= 0:
            self.loop.remove_reader(fd)
            self.loop.remove_writer(fd)
        self.sock.close()
        self._out.clear()
        for task in self._tasks:
            task.cancel()

    def _parse(self) -> None:
        unparsed, self._unparsed = self._unparsed, []
        for read_ns, data in unparsed:
            if self._lost:
                return
            self._read_ns = read_ns
            try:
                self.parser.feed_data(data)
            except Exception:  # malformed HTTP: answer 400 and hang up
                _Reply(self, False).json(400, {"error": {"message": "malformed HTTP request"}})
                return

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._arrival = self._read_ns
        self._url = b""
        self._body = []
        self._headers = {}

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1")] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        reply = _Reply(self, self.parser.should_keep_alive())
        method = self.parser.get_method().decode()
        target = self._url.decode("latin-1")
        request = _Request(method, target, target.split("?", 1)[0], self._headers, b"".join(self._body))
        task = self.loop.create_task(_route(self.sim, request, self._arrival, reply))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


@dataclass
class _Request:
    method: str
    target: str
    """The request line's target: path and query."""
    path: str
    headers: dict[str, str]
    body: bytes


async def _route(sim: Simulator, request: _Request, arrival: int, reply: _Reply) -> None:
    settings = sim.settings
    method, path = request.method, request.path
    if path in ("/v1/completions", "/v1/chat/completions"):
        if method != "POST":
            reply.json(405, {"error": {"message": "use POST"}})
            return
        await _complete(sim, path.endswith("/chat/completions"), request, arrival, reply)
    elif path == "/health":
        reply.json(200, {"status": "ok"})
    elif path == "/v1/models":
        reply.json(200, {"object": "list", "data": [{"id": settings.model, "object": "model"}]})
    elif path == "/metrics":
        reply.whole(200, sim.metrics_text().encode(), "text/plain; version=0.0.4")
    elif path == "/sim/records":
        reply.json(200, {"settings": asdict(settings), "records": [asdict(r) for r in sim.records],
                         "reads_kernel_stamped": sim.reads_kernel_stamped, "reads_self_stamped": sim.reads_self_stamped})
    elif path == "/sim/reset" and method == "POST":
        sim.records.clear()
        reply.json(200, {"ok": True})
    else:
        reply.json(404, {"error": {"message": f"no route {method} {path}"}})


async def _complete(sim: Simulator, chat: bool, request: _Request, arrival: int, reply: _Reply) -> None:
    settings = sim.settings
    dumps = json.dumps
    try:
        body = json.loads(request.body)
        if not isinstance(body, dict):
            raise ValueError
    except ValueError:
        reply.json(400, {"error": {"message": "body is not a JSON object"}})
        return
    if chat and not isinstance(body.get("messages"), list):
        reply.json(400, {"error": {"message": "messages must be a list"}})
        return
    if not chat and not isinstance(body.get("prompt"), (str, list)):
        reply.json(400, {"error": {"message": "prompt must be a string"}})
        return
    text = " ".join(str(m.get("content", "")) for m in body["messages"]) if chat else str(body["prompt"])
    max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or settings.output_tokens)
    options = body.get("stream_options") or {}
    continuous = bool(options.get("continuous_usage_stats"))
    record = SimRecord(id=sim.new_id(), arrival_ns=arrival, prompt_tokens=max(1, len(text.split())))
    record.fault = fault = sim.draw_fault()
    sim.records.append(record)
    if fault in ("http500", "http503"):
        reply.json(int(fault[4:]), {"error": {"message": f"simulated {fault}", "code": int(fault[4:])}})
        return
    if fault == "http502":
        reply.whole(502, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        return
    if fault == "http429":
        reply.whole(429, b'{"error": {"message": "rate limited"}}', extra="Retry-After: 1\r\n")
        return
    if fault == "echo_headers":  # as a misconfigured proxy or a verbose engine error does
        echoed = "; ".join(f"{name}: {value}" for name, value in request.headers.items())
        reply.json(500, {"error": {"message": f"cannot serve {request.method} {request.target}; headers: {echoed}",
                                   "request": {"url": request.target, "headers": request.headers}}})
        return
    if settings.context_tokens:
        if record.prompt_tokens >= settings.context_tokens:
            reply.json(400, {"error": {"message": f"the prompt ({record.prompt_tokens} tokens) does not fit the "
                                                  f"context ({settings.context_tokens} tokens)", "code": 400}})
            return
        max_tokens = min(max_tokens, settings.context_tokens - record.prompt_tokens)
    limit = max_tokens * 5 if fault == "runaway" else max_tokens
    gate = sim.gate()
    sim.waiting += 1
    if gate is not None:
        await gate.acquire()
    sim.waiting -= 1
    sim.in_flight += 1
    record.start_ns = time.perf_counter_ns()
    try:
        script = _Script(settings, chat, max_tokens)
        kind = "chat.completion.chunk" if chat else "text_completion"
        if not body.get("stream"):
            deadline = record.start_ns + int((sim.ttft_s() + sim.tpot_s() * (max_tokens - 1)) * 1e9)
            await _sleep_until(deadline)
            record.end_ns = time.perf_counter_ns()
            record.chunk_ns.append(record.end_ns)
            record.chunk_tokens.append(max_tokens)
            record.completion_tokens = max_tokens
            record.first_answer_chunk = 0 if max_tokens > script.answer_from else None
            record.finish_reason = script.finish_reason(max_tokens)
            answer, reasoning = script.whole(max_tokens)
            message: dict[str, Any] = {"role": "assistant", "content": answer}
            if reasoning:
                message["reasoning_content"] = reasoning
            choice: dict[str, Any] = {"index": 0, "finish_reason": record.finish_reason}
            choice.update({"message": message} if chat else {"text": answer})
            usage = {"prompt_tokens": record.prompt_tokens, "completion_tokens": max_tokens,
                     "total_tokens": record.prompt_tokens + max_tokens}
            sim.served += 1
            sim.tokens_total += max_tokens
            reply.json(200, {"id": record.id, "object": "chat.completion" if chat else "text_completion",
                             "model": settings.model, "choices": [choice], "usage": usage})
            return
        reply.start_stream()
        deadline = record.start_ns + int(sim.ttft_s() * 1e9)
        sent = 0
        chunks = 0
        per_chunk = max(1, settings.tokens_per_chunk)
        finish_reason = script.finish_reason(limit)
        while sent < limit:
            await _sleep_until(deadline)
            if reply.closed:  # the client went away: stop generating, like a real engine
                return
            chunks += 1
            if fault is not None and chunks == 3 and _inject(fault, reply, record, settings):
                if fault == "stall":
                    await asyncio.sleep(settings.stall_s)
                if fault == "endless":
                    await _keep_alive_forever(sim, reply, record, chat, kind)
                    return
                if fault == "abort":
                    finish_reason = "abort"
                    break
                if fault in ("reset", "stall", "error_event"):
                    if fault == "error_event":
                        reply.end_stream()
                    elif not reply.closed:
                        reply.reset()
                    return
            k = min(per_chunk, limit - sent)
            answer, reasoning = script.text(sent, sent + k)
            if record.first_answer_chunk is None and script.answer_in(sent, sent + k):
                record.first_answer_chunk = len(record.chunk_ns)
            sent += k
            choice = {"index": 0, "finish_reason": finish_reason if sent >= limit else None}
            if chat:
                delta: dict[str, str] = {}
                if reasoning:
                    delta["reasoning_content"] = reasoning
                if answer or not reasoning:
                    delta["content"] = answer
                choice["delta"] = delta
            else:
                choice["text"] = answer + reasoning
            event: dict[str, Any] = {"id": record.id, "object": kind, "model": settings.model, "choices": [choice]}
            if continuous:
                event["usage"] = {"prompt_tokens": record.prompt_tokens, "completion_tokens": sent,
                                  "total_tokens": record.prompt_tokens + sent}
            payload = b"data: " + dumps(event).encode() + b"\n\n"
            record.chunk_ns.append(time.perf_counter_ns())  # the moment the chunk is handed over
            if fault == "split":
                middle = len(payload) // 2
                reply.chunk(payload[:middle])
                reply.chunk(payload[middle:])
            else:
                reply.chunk(payload)
            record.chunk_tokens.append(k)
            deadline += int(sim.tpot_s() * 1e9 * k)
        if finish_reason == "abort":  # the engine gave up: an empty last chunk says so
            choice = {"index": 0, "finish_reason": "abort"}
            choice.update({"delta": {"content": ""}} if chat else {"text": ""})
            reply.chunk(b"data: " + dumps({"id": record.id, "object": kind, "model": settings.model,
                                          "choices": [choice]}).encode() + b"\n\n")
        if options.get("include_usage"):
            usage_event = {"id": record.id, "object": kind, "model": settings.model, "choices": [],
                           "usage": {"prompt_tokens": record.prompt_tokens, "completion_tokens": sent,
                                     "total_tokens": record.prompt_tokens + sent}}
            reply.chunk(b"data: " + dumps(usage_event).encode() + b"\n\n")
        if fault != "no_done":
            reply.chunk(b"data: [DONE]\n\n")
        record.end_ns = time.perf_counter_ns()
        record.completion_tokens = sent
        record.finish_reason = finish_reason
        sim.served += 1
        sim.tokens_total += sent
        reply.end_stream()
    finally:
        sim.in_flight -= 1
        if gate is not None:
            gate.release()


class _Script:
    """The tokens a request generates: reasoning (as ``reasoning_content``, or harmony's analysis
    channel in the content) and then the answer, as text for any range of token positions."""

    HARMONY_HEAD = ("<|channel|>", "analysis", "<|message|>")
    HARMONY_TURN = ("<|end|>", "<|start|>", "assistant", "<|channel|>", "final", "<|message|>")

    def __init__(self, settings: SimSettings, chat: bool, max_tokens: int) -> None:
        self.harmony = settings.harmony
        self.max_tokens = max_tokens
        if self.harmony:
            self.reasoning = 0
            self.analysis = settings.reasoning_tokens
            self.answer_from = len(self.HARMONY_HEAD) + self.analysis + len(self.HARMONY_TURN)
        else:
            self.reasoning = min(settings.reasoning_tokens, max_tokens) if chat else 0
            self.analysis = 0
            self.answer_from = self.reasoning

    def token(self, i: int) -> str:
        if not self.harmony:
            return f" {WORDS[i % len(WORDS)]}"
        head, turn = self.HARMONY_HEAD, self.HARMONY_TURN
        if i < len(head):
            return head[i]
        i -= len(head)
        if i < self.analysis:
            return f"{' ' if i else ''}{ANALYSIS_WORDS[i % len(ANALYSIS_WORDS)]}"
        i -= self.analysis
        if i < len(turn):
            return turn[i]
        i -= len(turn)
        if i == self.max_tokens - self.answer_from - 1:
            return "<|return|>"
        return f"{' ' if i else ''}{WORDS[i % len(WORDS)]}"

    def text(self, first: int, end: int) -> tuple[str, str]:
        """(answer text, reasoning_content text) of the tokens at positions ``first`` to ``end - 1``."""
        if self.harmony:
            return "".join(self.token(i) for i in range(first, end)), ""
        text = "".join(f" {WORDS[i % len(WORDS)]}" for i in range(first, end))  # the hot path: kept inline
        if first >= self.reasoning:
            return text, ""
        return "", text  # a chunk that starts in the reasoning is reasoning (as before harmony mode)

    def answer_in(self, first: int, end: int) -> bool:
        """Whether the tokens at ``first`` to ``end - 1`` hold answer text."""
        if self.harmony:
            return end > self.answer_from and self.answer_from != self.max_tokens - 1
        return first >= self.reasoning

    def whole(self, tokens: int) -> tuple[str, str]:
        """(answer, reasoning) of a response that is not streamed."""
        if self.harmony:
            return self.text(0, tokens)
        answer = " ".join(WORDS[i % len(WORDS)] for i in range(tokens - self.reasoning))
        return answer, " ".join(WORDS[i % len(WORDS)] for i in range(self.reasoning))

    def finish_reason(self, tokens: int) -> str:
        """``stop`` when harmony's answer ended with ``<|return|>`` within ``tokens``, else ``length``."""
        return "stop" if self.harmony and self.answer_from < tokens == self.max_tokens else "length"


async def _keep_alive_forever(sim: Simulator, reply: _Reply, record: SimRecord, chat: bool, kind: str) -> None:
    """An engine stuck after a few tokens that keeps its connection busy: an empty event every few ms."""
    choice: dict[str, Any] = {"index": 0, "finish_reason": None}
    choice.update({"delta": {"content": ""}} if chat else {"text": ""})
    payload = b"data: " + json.dumps({"id": record.id, "object": kind, "model": sim.settings.model,
                                      "choices": [choice]}).encode() + b"\n\n"
    gap_s = max(0.005, sim.tpot_s())
    while not reply.closed:
        reply.chunk(payload)
        await asyncio.sleep(gap_s)


def parse_faults(specs: list[str]) -> dict[str, float]:
    """``["reset=0.5", "http503"]`` -> ``{"reset": 0.5, "http503": 1.0}``."""
    from assay.errors import ConfigError

    faults = {}
    for spec in specs:
        kind, _, probability = spec.partition("=")
        if kind not in FAULTS:
            raise ConfigError(f"--fault: unknown kind {kind!r}; known: {', '.join(FAULTS)}")
        try:
            value = float(probability) if probability else 1.0
        except ValueError:
            raise ConfigError(f"--fault: {spec!r}: the probability must be a number") from None
        if not 0 <= value <= 1:
            raise ConfigError(f"--fault: {spec!r}: the probability must be in [0, 1]")
        faults[kind] = value
    return faults


def _inject(fault: str, reply: _Reply, record: SimRecord, settings: SimSettings) -> bool:
    """Write the fault's bytes at the third chunk; True if the stream must then end as the fault says."""
    if fault == "bad_json":
        reply.chunk(b'data: {"id": "' + record.id.encode() + b'", "choices": [{"text": "x"\n\n')
    elif fault == "empty_choices":
        reply.chunk(b'data: {"id": "' + record.id.encode() + b'", "choices": []}\n\n')
    elif fault == "bad_utf8":
        reply.chunk(b'data: {"id": "' + record.id.encode() + b'", "choices": [{"text": "\xff\xfe"}]}\n\n')
    elif fault == "oversized":
        reply.chunk(b'data: {"choices": [{"text": "' + b"x" * (8 * 1024 * 1024) + b'"}]}\n\n')
    elif fault == "error_event":
        reply.chunk(b'data: {"error": {"message": "simulated engine failure", "code": 500}}\n\n')
        return True
    elif fault in ("reset", "stall", "abort", "endless"):
        return True
    return False


def start_server(settings: SimSettings, host: str = "127.0.0.1", port: int = 8000) -> socket.socket:
    """The simulator listening on ``host:port`` in the running event loop; close the socket to stop."""
    sim = Simulator(settings)
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=4096)
    listener.setblocking(False)
    if SO_TIMESTAMPNS is not None:
        # On the listener, so that the kernel stamps bytes that arrive before a connection is
        # accepted too; accepted sockets inherit it.
        try:
            listener.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            pass

    def resume() -> None:
        if listener.fileno() >= 0:
            loop.add_reader(listener.fileno(), accept)

    def accept() -> None:
        for _ in range(256):  # then let reads in; the rest are accepted on the next turn
            try:
                sock, _address = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:  # gone before it was accepted
                continue
            except OSError:  # out of descriptors or memory: stop accepting for a moment (no busy loop)
                loop.remove_reader(listener.fileno())
                loop.call_later(0.5, resume)
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _SimConnection(sim, sock, loop)

    loop.add_reader(listener.fileno(), accept)
    return listener


def serve(settings: SimSettings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the simulator until interrupted (uvloop when installed)."""

    async def main() -> None:
        listener = start_server(settings, host, port)
        print(f"assay sim: serving {settings.model!r} at http://{host}:{port}/v1", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            asyncio.get_running_loop().remove_reader(listener.fileno())
            listener.close()

    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:  # pragma: no cover
        runner = asyncio.Runner()
    with runner:
        try:
            runner.run(main())
        except KeyboardInterrupt:
            pass


class SimServer:
    """``assay sim`` in its own process on a free loopback port; a context manager like LlamaServer."""

    def __init__(self, settings: SimSettings | None = None, *, port: int | None = None,
                 startup_timeout_s: float = 30.0) -> None:
        from assay.engines.llama_server import free_port

        self.settings = settings or SimSettings()
        self.port = port or free_port()
        self.startup_timeout_s = startup_timeout_s
        self._process: Any = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def pid(self) -> int:
        assert self._process is not None, "the simulator is not running"
        return int(self._process.pid)

    def command(self) -> list[str]:
        import sys

        s = self.settings
        return [
            sys.executable, "-m", "assay", "sim", "--port", str(self.port), "--model", s.model,
            "--ttft-ms", str(s.ttft_ms), "--tpot-ms", str(s.tpot_ms), "--tokens-per-chunk", str(s.tokens_per_chunk),
            "--output-tokens", str(s.output_tokens), "--reasoning-tokens", str(s.reasoning_tokens),
            "--ttft-ms-per-request", str(s.ttft_ms_per_request), "--tpot-ms-per-request", str(s.tpot_ms_per_request),
            "--max-batch", str(s.max_batch), "--fault-seed", str(s.fault_seed), "--stall-s", str(s.stall_s),
            *[arg for kind, p in s.faults.items() for arg in ("--fault", f"{kind}={p}")],
            *(["--harmony"] if s.harmony else []), "--context-tokens", str(s.context_tokens),
        ]

    def __enter__(self) -> SimServer:
        import subprocess
        import urllib.request

        from assay.errors import EngineError

        self._process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode(errors="replace").strip().splitlines()[-1:]
                raise EngineError(f"assay sim exited at start: {' '.join(error)}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise EngineError(f"assay sim not ready after {self.startup_timeout_s:.0f} s")

    def __exit__(self, *exc: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except Exception:
                self._process.kill()
                self._process.wait()
        self._process = None

    def records(self) -> list[dict[str, Any]]:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/sim/records", timeout=30) as response:
            return list(json.loads(response.read())["records"])

    def reset(self) -> None:
        import urllib.request

        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/sim/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=10):
            pass
