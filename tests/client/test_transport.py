"""assay.client.transport.StreamingPool against real loopback servers that send exact bytes."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from assay.client.transport import RawResponse, StreamingPool

Script = Callable[[int, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
JSON = {"Content-Type": "application/json"}


class Server:
    """A loopback server; ``script(connection_index, reader, writer)`` plays each connection."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self.requests: list[bytes] = []
        self.eofs = 0
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/completions"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = self.connections
        self.connections += 1
        try:
            await self.script(index, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # a cancelled handler (the test's loop is ending) ends quietly
        finally:
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        request = head + await reader.readexactly(length)
        self.requests.append(request)
        return request


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 30))  # type: ignore[arg-type]


async def post_once(server: Server, body: bytes = b"{}", headers: dict[str, str] | None = None) -> RawResponse:
    """One POST to ``server`` through a fresh pool (the server starts and stops around it)."""
    async with server, StreamingPool(connect_timeout_s=5, read_timeout_s=5) as pool:
        return await pool.post(server.url, body, JSON if headers is None else headers)


def chunked(*pieces: bytes) -> list[bytes]:
    return [b"%x\r\n%s\r\n" % (len(p), p) for p in pieces] + [b"0\r\n\r\n"]


SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"


def ok(response: RawResponse) -> None:
    assert response.error is None, response.error
    assert response.error_kind is None
    assert response.sent_ns is not None and response.headers_ns is not None
    assert response.sent_ns <= response.headers_ns <= response.end_ns
    times = [t for t, _ in response.chunks]
    assert times == sorted(times)
    if times:
        assert response.headers_ns <= times[0] and times[-1] <= response.end_ns


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- streaming and timing -------------------------------------------------------------------------


def test_chunked_sse_with_events_split_across_reads() -> None:
    events = [b'data: {"i": 0}\n\n', b'data: {"i": 1}\n\n', b"data: [DONE]\n\n"]
    body = b"".join(events)
    # One event split over two chunks and two reads; the chunked framing split mid-size-line too.
    frames = chunked(body[:5], body[5:20], body[20:])
    wire = SSE_HEAD + b"".join(frames)
    cuts = [len(SSE_HEAD) + 2, len(SSE_HEAD) + 9, len(wire) - 7]

    async def script(_i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        start = 0
        for cut in [*cuts, len(wire)]:
            writer.write(wire[start:cut])
            await writer.drain()
            await asyncio.sleep(0.02)
            start = cut

    server = Server(script)
    response = run(post_once(server, b'{"stream": true}'))
    ok(response)
    assert response.status == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["transfer-encoding"] == "chunked"
    assert b"".join(c for _, c in response.chunks) == body == response.body
    assert len({t for t, _ in response.chunks}) == 2  # body bytes came in two reads: two marks
    assert response.retries == 0 and response.retry_after_s is None


def test_one_timestamp_per_network_read() -> None:
    first, second = b'data: {"a": 1}\n\ndata: {"a": 2}\n\n', b'data: {"a": 3}\n\ndata: [DONE]\n\n'

    async def script(_i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        # Two chunks (two on_body calls) in the first read: they must share its mark.
        writer.write(SSE_HEAD + b"".join(chunked(first[:10], first[10:])[:2]))
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"".join(chunked(second)))
        await writer.drain()

    server = Server(script)
    response = run(post_once(server))
    ok(response)
    assert b"".join(c for _, c in response.chunks) == first + second
    marks = sorted({t for t, _ in response.chunks})
    assert len(marks) == 2
    assert response.chunks[0][0] == response.chunks[1][0] == marks[0]
    assert marks[1] - marks[0] >= 45_000_000
    assert response.end_ns == marks[1]


def test_content_length_body_and_request_bytes() -> None:
    payload = b'{"id": "x", "choices": []}' * 10

    async def script(_i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(payload))
        writer.write(payload[:100])
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.write(payload[100:])

    server = Server(script)
    response = run(post_once(server, b'{"q": 1}', {**JSON, "Authorization": "Bearer k"}))
    ok(response)
    assert response.status == 200 and response.body == payload
    request = server.requests[0]
    head, _, sent_body = request.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/completions HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}".encode() in lines
    assert b"Content-Length: 8" in lines and b"Connection: keep-alive" in lines
    assert b"Authorization: Bearer k" in lines and b"Content-Type: application/json" in lines
    assert sent_body == b'{"q": 1}'


def test_error_status_with_body_is_not_a_transport_error() -> None:
    body = b'{"error": {"message": "bad prompt"}}'

    async def script(_i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    server = Server(script)
    response = run(post_once(server))
    ok(response)
    assert response.status == 400 and response.body == body and response.retry_after_s is None


def test_body_delimited_by_connection_close() -> None:
    async def script(_i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello ")
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.write(b"world")

    async def main() -> tuple[RawResponse, int]:
        async with server, StreamingPool(connect_timeout_s=5, read_timeout_s=5) as pool:
            response = await pool.post(server.url, b"{}", JSON)
            return response, pool.connections

    server = Server(script)
    response, open_connections = run(main())
    ok(response)
    assert response.body == b"hello world" and open_connections == 0


def test_interim_100_continue_is_skipped() -> None:
    async def script(_i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    server = Server(script)
    response = run(post_once(server))
    ok(response)
    assert response.status == 200 and response.body == b"ok"


# --- connections ------------------------------------------------------------------------------------


def keep_alive_script(server: Server, replies: int = 10) -> Script:
    async def script(_i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for n in range(replies):
            await server.read_request(reader)
            writer.write(SSE_HEAD + b"".join(chunked(b"data: %d\n\n" % n)))
            await writer.drain()

    return script


def test_keep_alive_reuses_one_connection() -> None:
    async def main() -> tuple[list[RawResponse], int]:
        async with server, StreamingPool(connect_timeout_s=5, read_timeout_s=5) as pool:
            responses = [await pool.post(server.url, b"{}", JSON) for _ in range(3)]
            return responses, pool.connections

    server = Server(lambda i, r, w: keep_alive_script(server)(i, r, w))
    responses, open_connections = run(main())
    for n, response in enumerate(responses):
        ok(response)
        assert response.body == b"data: %d\n\n" % n and response.retries == 0
    assert server.connections == 1 and open_connections == 1


def test_concurrent_requests_each_get_a_connection() -> None:
    from aiohttp import web

    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for i in range(20):
            await response.write(b'data: {"i": %d}\n\n' % i)
            await asyncio.sleep(0.002)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def main() -> tuple[list[RawResponse], list[RawResponse], int]:
        app = web.Application()
        app.router.add_post("/v1/completions", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        url = f"http://127.0.0.1:{port}/v1/completions"
        try:
            async with StreamingPool(connect_timeout_s=5, read_timeout_s=5) as pool:
                first = await asyncio.gather(*(pool.post(url, b"{}", JSON) for _ in range(16)))
                second = await asyncio.gather(*(pool.post(url, b"{}", JSON) for _ in range(16)))
                return list(first), list(second), pool.connections
        finally:
            await runner.cleanup()

    first, second, open_connections = run(main())
    expected = b"".join(b'data: {"i": %d}\n\n' % i for i in range(20)) + b"data: [DONE]\n\n"
    for response in first + second:
        ok(response)
        assert response.status == 200 and response.body == expected
    assert open_connections == 16


def test_warm_opens_the_connections_the_requests_then_use() -> None:
    async def script(index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if index == 0:  # the server hangs up one warmed connection before it is used
            return
        await keep_alive_script(server)(index, reader, writer)

    async def main() -> tuple[int, int, list[RawResponse], int, int]:
        async with server, StreamingPool(connect_timeout_s=5, read_timeout_s=5) as pool:
            warmed = await pool.warm(server.url, 4)
            opened_before = server.connections
            await asyncio.sleep(0.1)
            again = await pool.warm(server.url, 3)  # enough are open: none more (the closed one is dropped)
            responses = await asyncio.gather(*(pool.post(server.url, b"{}", JSON) for _ in range(3)))
            return warmed, opened_before, list(responses), again, server.connections

    server = Server(script)
    warmed, opened_before, responses, again, connections = run(main())
    # The hung-up connection may already be gone when warm() returns: 3 or 4 idle, never fewer.
    assert warmed in (3, 4) and opened_before == 4 and again == 3
    for response in responses:
        ok(response)
        assert response.retries == 0 and response.body == b"data: 0\n\n"
    assert connections == 4  # the three requests went out on warmed connections


def test_warm_against_a_closed_port_opens_nothing_and_the_request_reports_it() -> None:
    async def main() -> tuple[int, RawResponse]:
        url = f"http://127.0.0.1:{free_port()}/v1/completions"
        async with StreamingPool(connect_timeout_s=5, read_timeout_s=5) as pool:
            return await pool.warm(url, 3), await pool.post(url, b"{}", JSON)

    warmed, response = run(main())
    assert warmed == 0 and response.error_kind == "connect" and "cannot connect" in (response.error or "")


def test_stale_kept_alive_connection_is_retried_once_on_a_new_one() -> None:
    async def script(index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if index == 0:  # answers once, then drops the next request unanswered (closed while idle)
            await server.read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
            await writer.drain()
            await reader.readuntil(b"\r\n\r\n")
            return
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")
        await writer.drain()

    async def main() -> tuple[RawResponse, RawResponse]:
        async with server, StreamingPool(connect_timeout_s=5, read_timeout_s=5) as pool:
            return await pool.post(server.url, b"{}", JSON), await pool.post(server.url, b"{}", JSON)

    server = Server(script)
    first, second = run(main())
    ok(first)
    ok(second)
    assert first.retries == 0 and second.retries == 1
    assert second.body == b"second" and server.connections == 2


def test_connection_closed_while_idle_is_not_reused() -> None:
    async def script(_i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()  # then the server closes the connection (keep-alive expiry)

    async def main() -> tuple[RawResponse, RawResponse]:
        async with server, StreamingPool(connect_timeout_s=5, read_timeout_s=5) as pool:
            first = await pool.post(server.url, b"{}", JSON)
            await asyncio.sleep(0.1)
            return first, await pool.post(server.url, b"{}", JSON)

    server = Server(script)
    first, second = run(main())
    ok(first)
    ok(second)
    assert second.retries == 0 and server.connections == 2


def test_failure_before_response_on_a_new_connection_is_not_retried() -> None:
    async def script(_i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)

    server = Server(script)
    response = run(post_once(server))
    assert response.error_kind == "stream" and response.retries == 0
    assert response.error is not None and "before responding" in response.error
    assert server.connections == 1 and response.status is None


def test_connection_close_from_the_server_is_honoured() -> None:
    async def script(_i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        # The server leaves its side open: the client must close after the response.
        if await reader.read(100) == b"":
            server.eofs += 1

    async def main() -> tuple[RawResponse, RawResponse, int]:
        async with server, StreamingPool(connect_timeout_s=5, read_timeout_s=5) as pool:
            first = await pool.post(server.url, b"{}", JSON)
            second = await pool.post(server.url, b"{}", JSON)
            await asyncio.sleep(0.05)
            return first, second, pool.connections

    server = Server(script)
    first, second, open_connections = run(main())
    ok(first)
    ok(second)
    assert first.headers["connection"] == "close" and second.retries == 0
    assert server.connections == 2 and server.eofs == 2 and open_connections == 0


# --- failures -------------------------------------------------------------------------------------


def test_connection_refused_is_a_connect_error() -> None:
    port = free_port()

    async def main() -> RawResponse:
        async with StreamingPool(connect_timeout_s=5, read_timeout_s=5) as pool:
            return await pool.post(f"http://127.0.0.1:{port}/v1/completions", b"{}", JSON)

    response = run(main())
    assert response.error_kind == "connect" and response.status is None and response.sent_ns is None
    assert response.error == f"cannot connect to 127.0.0.1:{port}: Connection refused"
    assert response.end_ns > 0


def test_bad_url_is_a_connect_error() -> None:
    async def main() -> RawResponse:
        async with StreamingPool(connect_timeout_s=5, read_timeout_s=5) as pool:
            return await pool.post("ftp://127.0.0.1/x", b"{}", JSON)

    response = run(main())
    assert response.error_kind == "connect" and response.error is not None and "bad URL" in response.error


@pytest.mark.slow
@pytest.mark.parametrize("after_headers", [False, True])
def test_stalled_server_is_a_read_timeout(after_headers: bool) -> None:
    async def script(_i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        if after_headers:
            writer.write(SSE_HEAD + b"".join(chunked(b"data: 1\n\n")[:1]))
            await writer.drain()
            await asyncio.sleep(0.15)
            writer.write(b"".join(chunked(b"data: 2\n\n")[:1]))  # data resets the read timeout
            await writer.drain()
        await asyncio.sleep(5)

    async def main() -> tuple[RawResponse, float, int]:
        async with server, StreamingPool(connect_timeout_s=5, read_timeout_s=0.3) as pool:
            start = time.perf_counter()
            response = await pool.post(server.url, b"{}", JSON)
            return response, time.perf_counter() - start, pool.connections

    server = Server(script)
    response, elapsed, open_connections = run(main())
    assert response.error_kind == "timeout"
    assert response.error == "timed out: no data for 0.3 s, the read timeout"
    assert open_connections == 0
    if after_headers:
        assert response.status == 200 and response.body == b"data: 1\n\ndata: 2\n\n"
        assert 0.44 <= elapsed < 1.2
    else:
        assert response.status is None and response.chunks == []
        assert 0.29 <= elapsed < 1.0


@pytest.mark.slow
def test_total_timeout() -> None:
    async def script(_i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(SSE_HEAD)
        for _ in range(100):
            writer.write(b"".join(chunked(b"data: x\n\n")[:1]))
            await writer.drain()
            await asyncio.sleep(0.05)

    async def main() -> tuple[RawResponse, float]:
        async with server, StreamingPool(connect_timeout_s=5, read_timeout_s=1, total_timeout_s=0.4) as pool:
            start = time.perf_counter()
            response = await pool.post(server.url, b"{}", JSON)
            return response, time.perf_counter() - start

    server = Server(script)
    response, elapsed = run(main())
    assert response.error_kind == "timeout" and 0.39 <= elapsed < 1.2
    assert response.error == "timed out: no complete answer within 0.4 s, the total timeout"
    assert len(response.chunks) >= 3


def test_server_closing_mid_body_is_a_stream_error() -> None:
    async def script(index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        if index == 0:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
        else:
            writer.write(SSE_HEAD + chunked(b"data: 1\n\n")[0])
        await writer.drain()

    async def main() -> list[RawResponse]:
        async with server, StreamingPool(connect_timeout_s=5, read_timeout_s=5) as pool:
            return [await pool.post(server.url, b"{}", JSON) for _ in range(2)]

    server = Server(script)
    for response in run(main()):
        assert response.error_kind == "stream" and response.status == 200
        assert response.error == "server closed the connection mid-response"
        assert response.retries == 0 and response.chunks
    assert server.connections == 2


def test_garbage_instead_of_http_is_a_protocol_error() -> None:
    async def script(_i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(1)

    async def main() -> tuple[RawResponse, int]:
        async with server, StreamingPool(connect_timeout_s=5, read_timeout_s=5) as pool:
            response = await pool.post(server.url, b"{}", JSON)
            await asyncio.sleep(0.02)
            return response, pool.connections

    server = Server(script)
    response, open_connections = run(main())
    assert response.error_kind == "protocol" and response.status is None
    assert response.error is not None and response.error.startswith("malformed HTTP response: ")
    assert "\n" not in response.error and open_connections == 0


def test_body_over_the_limit_is_a_protocol_error() -> None:
    async def script(_i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(SSE_HEAD + b"".join(chunked(*[b"x" * 400] * 5)))
        await writer.drain()
        await asyncio.sleep(1)

    async def main() -> RawResponse:
        async with server, StreamingPool(connect_timeout_s=5, read_timeout_s=5, max_body_bytes=1000) as pool:
            return await pool.post(server.url, b"{}", JSON)

    server = Server(script)
    response = run(main())
    assert response.error_kind == "protocol" and response.status == 200
    assert response.error == "response too large: more than 1000 bytes of body"
    assert sum(len(c) for _, c in response.chunks) <= 1000


@pytest.mark.parametrize(
    ("status", "value", "expected"),
    [(429, "7", 7.0), (503, "0.5", 0.5), (503, "Wed, 21 Oct 2015 07:28:00 GMT", 0.0), (429, "soon", None)],
)
def test_retry_after(status: int, value: str, expected: float | None) -> None:
    async def script(_i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 %d Busy\r\nRetry-After: %s\r\nContent-Length: 4\r\n\r\nbusy" % (status, value.encode()))
        await writer.drain()

    server = Server(script)
    response = run(post_once(server))
    ok(response)
    assert response.status == status and response.retry_after_s == expected and response.body == b"busy"


def test_retry_after_in_the_future_as_a_date() -> None:
    from email.utils import formatdate

    async def script(_i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        date = formatdate(time.time() + 60, usegmt=True).encode()
        writer.write(b"HTTP/1.1 503 Busy\r\nRetry-After: %s\r\nContent-Length: 0\r\n\r\n" % date)

    server = Server(script)
    response = run(post_once(server))
    assert response.retry_after_s is not None and 55 < response.retry_after_s <= 60


def test_cancelling_post_closes_its_connection() -> None:
    async def script(_i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(SSE_HEAD)
        await writer.drain()
        await asyncio.sleep(5)

    async def main() -> tuple[bool, int]:
        async with server, StreamingPool(connect_timeout_s=5, read_timeout_s=5) as pool:
            task = asyncio.ensure_future(pool.post(server.url, b"{}", JSON))
            await asyncio.sleep(0.1)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                cancelled = True
            else:
                cancelled = False
            await asyncio.sleep(0.02)
            return cancelled, pool.connections

    server = Server(script)
    cancelled, open_connections = run(main())
    assert cancelled and open_connections == 0


def test_tls_handshake_failure_is_a_connect_error() -> None:
    async def script(_i: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")  # not TLS
        await writer.drain()
        await asyncio.sleep(0.5)

    async def main() -> RawResponse:
        async with server, StreamingPool(connect_timeout_s=5, read_timeout_s=5) as pool:
            return await pool.post(f"https://127.0.0.1:{server.port}/v1/completions", b"{}", JSON)

    server = Server(script)
    response = run(main())
    assert response.error_kind == "connect"
    assert response.error is not None and response.error.startswith(f"cannot connect to 127.0.0.1:{server.port}: ")


def test_works_under_uvloop() -> None:
    import uvloop

    async def main() -> tuple[list[RawResponse], int]:
        server = Server(lambda i, r, w: keep_alive_script(server)(i, r, w))
        async with server, StreamingPool(connect_timeout_s=5, read_timeout_s=5) as pool:
            responses = [await pool.post(server.url, b"{}", JSON) for _ in range(3)]
            return responses, server.connections

    loop = uvloop.new_event_loop()
    try:
        responses, connections = loop.run_until_complete(main())
    finally:
        loop.close()
    for n, response in enumerate(responses):
        ok(response)
        assert response.body == b"data: %d\n\n" % n
    assert connections == 1
