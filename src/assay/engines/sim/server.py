"""The simulator's HTTP server: raw non-blocking sockets whose reads carry the kernel's receive time.

Per request it records, on the monotonic clock shared by every process of the machine
(``time.perf_counter_ns``), when the request's bytes reached its socket (the kernel's receive
timestamp, ``SO_TIMESTAMPNS``, where the OS gives one: a request that waits in the socket while the
simulator is busy writing other streams' chunks keeps its true arrival, and the wait counts in its
TTFT as any client sees it). httptools parses; each complete request goes to :func:`.routes.route`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import sys
import time
from dataclasses import dataclass
from typing import Any

from assay.engines.sim.model import Simulator
from assay.engines.sim.routes import route
from assay.engines.sim.settings import SimSettings


class Reply:
    """Writes one HTTP/1.1 response on a connection: whole, or streamed with chunked encoding."""

    __slots__ = ("keep_alive", "transport")

    def __init__(self, transport: Connection, keep_alive: bool) -> None:
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


def kernel_stamp(ancillary: list[tuple[int, int, bytes]], now: int) -> int | None:
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


class Connection:
    """One client connection on a raw non-blocking socket: requests' arrival is the kernel's receive time.

    The simulator reads with ``recvmsg`` and ``SO_TIMESTAMPNS`` (Linux) rather than through an asyncio
    transport, so a request's arrival is when its bytes reached the socket, not when the event loop
    got round to it: while the simulator writes a burst of chunks for a hundred other streams (or is
    off-CPU on a busy machine), a request waiting in the socket is stamped with its true arrival, and
    that wait counts as the server's TTFT, as a client would see it. Where the kernel gives no
    timestamp, the read's own time is used. Writes go out at once; what the socket does not take is
    buffered and flushed when it is writable. Bytes are parsed (httptools) in a callback after every
    ready socket has been read. It offers the few transport methods ``Reply`` uses.
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

    # the part of asyncio.Transport that Reply uses
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
        stamp = kernel_stamp(ancillary, now)
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
                Reply(self, False).json(400, {"error": {"message": "malformed HTTP request"}})
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
        reply = Reply(self, self.parser.should_keep_alive())
        method = self.parser.get_method().decode()
        target = self._url.decode("latin-1")
        request = Request(method, target, target.split("?", 1)[0], self._headers, b"".join(self._body))
        task = self.loop.create_task(route(self.sim, request, self._arrival, reply))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


@dataclass
class Request:
    method: str
    target: str
    """The request line's target: path and query."""
    path: str
    headers: dict[str, str]
    body: bytes


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
            Connection(sim, sock, loop)

    loop.add_reader(listener.fileno(), accept)
    return listener


def serve(settings: SimSettings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the simulator until interrupted (on assay's event loop: uvloop when installed)."""

    async def main() -> None:
        listener = start_server(settings, host, port)
        print(f"assay sim: serving {settings.model!r} at http://{host}:{port}/v1", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            asyncio.get_running_loop().remove_reader(listener.fileno())
            listener.close()

    from assay._aio import run

    try:
        run(main(), freeze_heap=False)
    except KeyboardInterrupt:
        pass
