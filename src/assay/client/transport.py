"""A minimal HTTP/1.1 client for streamed POSTs, timed at the network read.

Built on asyncio protocols with ``httptools`` (llhttp) parsing status, headers, chunked
transfer coding, Content-Length and close-delimited bodies. Per network read the work is:
``data_received`` → one ``perf_counter_ns()`` → ``parser.feed_data(data)`` → ``on_body``
hands ``(bytes, t)`` to the caller's ``on_body`` sink (a 200 response, when one was given)
or appends ``(t, bytes)`` to a list. No coroutine runs per read: the caller's :meth:`post`
is woken once, when the response is complete, fails or times out. Every body piece carries
the time its network read was taken up by the event loop, not the time a coroutine got to it.

The read timeout (no bytes for ``read_timeout_s``) is one timer per request that, when it
fires, compares the clock with the last read and re-arms itself for the remainder: nothing
is scheduled or cancelled per read.

Keep-alive connections are pooled per (scheme, host, port), with no limit beyond the callers'
concurrency. A request on a reused connection that the server closed before any response
byte (it had closed the idle connection; it never saw the request) is sent once more on a
new connection, and :attr:`RawResponse.retries` says so.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from httptools import HttpParserCallbackError, HttpParserError, HttpParserUpgrade, HttpResponseParser

from assay.redact import redact_url

__all__ = ["RawResponse", "StopResponse", "StreamingPool"]

_perf_ns = time.perf_counter_ns


@dataclass(slots=True)
class RawResponse:
    """What one POST did. Times are ``time.perf_counter_ns()`` values."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    """Response headers, names in lower case (repeated headers joined with ", ")."""
    sent_ns: int | None = None
    """The moment the request bytes were handed to the transport (taken just before the write)."""
    headers_ns: int | None = None
    """The network read that completed the status line and headers."""
    chunks: list[tuple[int, bytes]] = field(default_factory=list)
    """Decoded body bytes, each with the time of the network read that delivered them (empty when
    an ``on_body`` sink took a 200 response's body)."""
    end_ns: int = 0
    """The read that completed the response, or when the failure was noticed."""
    error: str | None = None
    error_kind: str | None = None
    """``"connect"``, ``"timeout"``, ``"stream"`` or ``"protocol"``; None on success (any status)."""
    retries: int = 0
    retry_after_s: float | None = None
    """From ``Retry-After`` on a 429 or 503."""

    @property
    def body(self) -> bytes:
        return b"".join(piece for _, piece in self.chunks)


class _TooLarge(Exception):
    pass


class StopResponse(Exception):
    """Raised by an ``on_body`` sink to end a response at once (e.g. a stream past max_tokens):
    the connection is dropped and the response fails with ``reason`` and ``kind``."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


class _Unexpected(Exception):
    pass


@dataclass(frozen=True, slots=True)
class _Target:
    key: tuple[str, str, int]
    host: str
    port: int
    tls: bool
    path: bytes
    host_header: str


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def _os_words(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)
    return " ".join(str(exc).split())[:300] or type(exc).__name__


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; the parser's callbacks are its methods."""

    def __init__(self, pool: StreamingPool, key: tuple[str, str, int]) -> None:
        self._pool = pool
        self.key = key
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reused = False
        self.keep_alive = False
        self._loop = asyncio.get_running_loop()
        self._feed: Callable[[bytes], None] = self._idle_data
        self._parser: HttpResponseParser | None = None
        self._response: RawResponse | None = None
        self._chunks: list[tuple[int, bytes]] = []
        self._on_body: Callable[[bytes, int], None] | None = None
        self._sink: Callable[[bytes, int], None] | None = None
        self._now = 0
        self._size = 0
        self._max_body = pool.max_body_bytes
        self._begun = False
        self._headers_done = False
        self._eof_body = False
        self._server_close = False
        self._before_response = False
        self._waiter: asyncio.Future[None] | None = None
        self._read_timer: asyncio.TimerHandle | None = None
        self._total_timer: asyncio.TimerHandle | None = None

    # --- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._now = _perf_ns()
        try:
            self._feed(data)
        except HttpParserError as exc:
            self._parse_failed(exc)
        except HttpParserUpgrade:
            self._fail("malformed HTTP response: unexpected protocol upgrade", "protocol")

    def eof_received(self) -> bool | None:
        return None  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._pool._forget(self)
        if self._response is None:
            return
        if self._headers_done and self._eof_body:  # the body ran until the server closed
            self._complete(_perf_ns())
            return
        reason = f" ({_os_words(exc)})" if exc is not None else ""
        if not self._begun:
            self._before_response = True
            self._fail(f"server closed the connection before responding{reason}", "stream", _perf_ns())
        else:
            self._fail(f"server closed the connection mid-response{reason}", "stream", _perf_ns())

    # --- httptools callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._response is None:
            raise _Unexpected("data after the response")  # the parse fails and the connection is closed
        self._begun = True

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self._response is not None
        headers = self._response.headers
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text

    def on_headers_complete(self) -> None:
        response = self._response
        assert response is not None and self._parser is not None
        status = self._parser.get_status_code()
        response.status = status
        response.headers_ns = self._now
        headers = response.headers
        if 100 <= status < 200:
            return
        self._headers_done = True
        self._server_close = "close" in headers.get("connection", "").lower()
        self._eof_body = (
            status not in (204, 304)
            and "content-length" not in headers
            and "chunked" not in headers.get("transfer-encoding", "").lower()
        )
        if status in (429, 503):
            response.retry_after_s = _retry_after(headers.get("retry-after"))
        self._sink = self._on_body if status == 200 else None

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self._max_body:
            raise _TooLarge
        sink = self._sink
        if sink is None:
            self._chunks.append((self._now, body))
        else:
            sink(body, self._now)

    def on_message_complete(self) -> None:
        response = self._response
        assert response is not None and self._parser is not None
        if not self._headers_done:  # an interim 1xx response: the real one follows
            response.status = response.headers_ns = None
            response.headers.clear()
            return
        self.keep_alive = self._parser.should_keep_alive() and not self._server_close
        self._complete(self._now)

    # --- one exchange -----------------------------------------------------------------------

    async def exchange(self, data: bytes, response: RawResponse, deadline_ns: int | None,
                       on_body: Callable[[bytes, int], None] | None = None) -> bool:
        """Send ``data`` and fill ``response``; True when it failed before any response byte."""
        pool = self._pool
        loop = self._loop
        transport = self.transport
        assert transport is not None
        self._response = response
        self._chunks = response.chunks
        self._on_body = on_body
        self._sink = None
        self._size = 0
        self._begun = self._headers_done = self._eof_body = self._server_close = False
        self._before_response = False
        self.keep_alive = False
        parser = self._parser = HttpResponseParser(self)
        self._feed = parser.feed_data
        waiter = self._waiter = loop.create_future()
        # Stamped just before the write: uvloop sends at once, and the server may read the bytes
        # before write() returns, so a later mark could fall after the request's arrival.
        response.sent_ns = self._now = _perf_ns()
        transport.write(data)
        self._read_timer = loop.call_later(pool.read_timeout_s, self._check_read)
        if deadline_ns is not None:
            self._total_timer = loop.call_later(max(0.0, (deadline_ns - self._now) / 1e9), self._total_expired)
        try:
            await waiter
        except asyncio.CancelledError:
            self._stop_timers()
            self._response = None
            self._feed = self._idle_data
            self.keep_alive = False
            self._drop()
            raise
        return self._before_response

    def _check_read(self) -> None:
        self._read_timer = None
        if self._response is None:
            return
        remaining = self._pool.read_timeout_s - (_perf_ns() - self._now) / 1e9
        if remaining <= 0:
            self._fail(
                f"timed out: no data for {self._pool.read_timeout_s:g} s, the read timeout", "timeout", _perf_ns()
            )
        else:
            self._read_timer = self._loop.call_later(max(remaining, 0.001), self._check_read)

    def _total_expired(self) -> None:
        self._total_timer = None
        if self._response is not None:
            total = self._pool.total_timeout_s
            self._fail(f"timed out: no complete answer within {total:g} s, the total timeout", "timeout", _perf_ns())

    def _stop_timers(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None
        if self._total_timer is not None:
            self._total_timer.cancel()
            self._total_timer = None

    def _complete(self, end_ns: int) -> None:
        response = self._response
        assert response is not None
        response.end_ns = end_ns
        self._release_waiter()

    def _fail(self, error: str, kind: str, end_ns: int | None = None) -> None:
        response = self._response
        if response is None:
            if self.transport is not None:
                self.transport.close()
            return
        response.error, response.error_kind = error, kind
        response.end_ns = end_ns if end_ns is not None else self._now
        self.keep_alive = False
        self._release_waiter()
        self._drop()

    def _drop(self) -> None:
        """Abort the connection now: it leaves the pool at once, not when connection_lost comes."""
        self.closed = True
        self._pool._forget(self)
        if self.transport is not None:
            self.transport.abort()

    def _release_waiter(self) -> None:
        self._stop_timers()
        self._response = None
        self._feed = self._idle_data
        waiter = self._waiter
        self._waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _parse_failed(self, exc: HttpParserError) -> None:
        cause = exc.__context__ if isinstance(exc, HttpParserCallbackError) else None
        if isinstance(cause, StopResponse):
            self._fail(cause.reason, cause.kind)
        elif isinstance(cause, _TooLarge):
            self._fail(f"response too large: more than {self._max_body} bytes of body", "protocol")
        elif cause is not None:
            self._fail(f"malformed HTTP response: {_os_words(cause)}", "protocol")
        else:
            self._fail(f"malformed HTTP response: {_os_words(exc)}", "protocol")

    def _idle_data(self, data: bytes) -> None:
        """Bytes while no request is in flight: the connection cannot be trusted any more."""
        self.keep_alive = False
        if self.transport is not None:
            self.transport.close()


class StreamingPool:
    """Keep-alive HTTP/1.1 connections for streamed POSTs; see the module's description.

    :meth:`post` never raises for network or server faults (only ``CancelledError``
    propagates): the failure is in the returned :class:`RawResponse`. A connect timeout is
    reported as ``error_kind == "connect"``; read and total timeouts as ``"timeout"``.
    """

    def __init__(
        self,
        *,
        connect_timeout_s: float,
        read_timeout_s: float,
        total_timeout_s: float | None = None,
        max_body_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.total_timeout_s = total_timeout_s
        self.max_body_bytes = max_body_bytes
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._all: set[_Connection] = set()
        self._targets: dict[str, _Target] = {}
        self._ssl: ssl.SSLContext | None = None
        self._closed = False

    async def __aenter__(self) -> StreamingPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def connections(self) -> int:
        """Open connections, idle or busy."""
        return len(self._all)

    async def post(self, url: str, body: bytes, headers: dict[str, str],
                   on_body: Callable[[bytes, int], None] | None = None) -> RawResponse:
        """POST ``body`` to ``url`` and read the whole response; failures are returned, not raised.

        With ``on_body``, the body of a 200 response goes to ``on_body(piece, read_time_ns)`` as it
        arrives (called from the protocol: it must be quick, and may raise only :class:`StopResponse`) instead of
        :attr:`RawResponse.chunks`; other statuses' bodies stay in ``chunks`` for the error message.
        """
        start = _perf_ns()
        deadline = None if self.total_timeout_s is None else start + int(self.total_timeout_s * 1e9)
        response = RawResponse()
        try:
            target = self._target(url)
        except ValueError as exc:
            response.error, response.error_kind = f"bad URL {redact_url(url)!r}: {exc}", "connect"
            response.end_ns = _perf_ns()
            return response
        data = self._request_bytes(target, body, headers)
        fresh_only = False
        while True:
            conn = None if fresh_only else self._take_idle(target.key)
            if conn is None:
                conn = await self._connect(target, response, deadline)
                if conn is None:
                    break
            before_response = await conn.exchange(data, response, deadline, on_body)
            if before_response and conn.reused and not fresh_only:
                retries = response.retries + 1
                response = RawResponse(retries=retries)
                fresh_only = True
                continue
            conn.reused = True
            if response.error is None and conn.keep_alive and not conn.closed and not self._closed:
                self._idle.setdefault(target.key, []).append(conn)
            elif not conn.closed and conn.transport is not None:
                conn.transport.close()
            break
        if not response.end_ns:
            response.end_ns = _perf_ns()
        return response

    async def warm(self, url: str, count: int) -> int:
        """Open connections to ``url``, all at once, until ``count`` are idle; returns how many are.

        A sweep point starts with as many connections as it has concurrent requests, so its first
        requests are not held up by opening them (one after the other in the event loop) and their
        latency holds no TCP or TLS handshake. A connection that fails to open is left to the requests
        (they report it); one the server closes before it is used is replaced, as any kept-alive one.
        """
        try:
            target = self._target(url)
        except ValueError:
            return 0
        idle = self._idle.setdefault(target.key, [])

        def usable(conn: _Connection) -> bool:
            return not conn.closed and conn.transport is not None and not conn.transport.is_closing()

        idle[:] = filter(usable, idle)
        missing = count - len(idle)
        if missing > 0 and not self._closed:
            opened = await asyncio.gather(*(self._connect(target, RawResponse(), None) for _ in range(missing)))
            for conn in opened:
                if conn is not None:
                    conn.reused = True  # so that a server's hang-up before its first request means: retry
                    idle.append(conn)
            idle[:] = filter(usable, idle)  # some may have been closed while the others opened
        return len(idle)

    async def close(self) -> None:
        """Close every connection, idle or busy (a busy request then fails as cut off)."""
        self._closed = True
        self._idle.clear()
        for conn in list(self._all):
            if conn.transport is not None:
                conn.transport.close()
        if self._all:
            await asyncio.sleep(0)

    # --- internals --------------------------------------------------------------------------

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is not None:
            return target
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"scheme must be http or https, not {parts.scheme!r}")
        host = parts.hostname
        if not host:
            raise ValueError("no host")
        tls = scheme == "https"
        port = parts.port or (443 if tls else 80)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        shown = f"[{host}]" if ":" in host else host if host.isascii() else host.encode("idna").decode("ascii")
        host_header = shown if port == (443 if tls else 80) else f"{shown}:{port}"
        target = _Target((scheme, host, port), host, port, tls, path.encode("ascii"), host_header)
        self._targets[url] = target
        return target

    @staticmethod
    def _request_bytes(target: _Target, body: bytes, headers: dict[str, str]) -> bytes:
        lines = [b"POST " + target.path + b" HTTP/1.1"]
        names = {name.lower() for name in headers}
        if "host" not in names:
            lines.append(b"Host: " + target.host_header.encode("ascii"))
        for name, value in headers.items():
            lower = name.lower()
            if lower in ("content-length", "connection", "transfer-encoding"):
                continue
            if "\r" in name or "\n" in name or "\r" in value or "\n" in value or ":" in name:
                raise ValueError(f"invalid header {name!r}")
            lines.append(f"{name}: {value}".encode("latin-1"))
        lines.append(b"Content-Length: " + str(len(body)).encode())
        lines.append(b"Connection: keep-alive")
        lines.append(b"")
        lines.append(b"")
        return b"\r\n".join(lines) + body

    def _take_idle(self, key: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            transport = conn.transport
            if not conn.closed and transport is not None and not transport.is_closing():
                return conn
        return None

    def _forget(self, conn: _Connection) -> None:
        self._all.discard(conn)
        idle = self._idle.get(conn.key)
        if idle and conn in idle:
            idle.remove(conn)

    async def _connect(self, target: _Target, response: RawResponse, deadline: int | None) -> _Connection | None:
        timeout = self.connect_timeout_s
        total_bound = False
        if deadline is not None:
            left = (deadline - _perf_ns()) / 1e9
            if left <= timeout:
                timeout, total_bound = left, True
        where = f"{target.host}:{target.port}"
        loop = asyncio.get_running_loop()
        context: Any = None
        if target.tls:
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            context = self._ssl
        try:
            if timeout <= 0:
                raise TimeoutError
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Connection(self, target.key),
                    target.host,
                    target.port,
                    ssl=context,
                    server_hostname=target.host if target.tls else None,
                ),
                timeout,
            )
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            if total_bound:
                response.error = f"timed out: no complete answer within {self.total_timeout_s:g} s, the total timeout"
                response.error_kind = "timeout"
            else:
                response.error = f"cannot connect to {where}: no answer within {self.connect_timeout_s:g} s"
                response.error_kind = "connect"
            return None
        except ssl.SSLError as exc:
            response.error = f"cannot connect to {where}: TLS: {' '.join(str(exc).split())[:300]}"
            response.error_kind = "connect"
            return None
        except OSError as exc:
            response.error, response.error_kind = f"cannot connect to {where}: {_os_words(exc)}", "connect"
            return None
        if self._closed:
            if conn.transport is not None:
                conn.transport.close()
            response.error, response.error_kind = "the connection pool is closed", "connect"
            return None
        self._all.add(conn)
        return conn
