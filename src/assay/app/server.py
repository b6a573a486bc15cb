"""``assay app``: a local web app over run directories. It reads runs; it never sends a request to a model.

Security: it binds to 127.0.0.1 unless told otherwise; runs are looked up by id in the index
(a request's text is never joined into a file path, so ``../`` and absolute paths find
nothing); every model output and dataset text reaches the page as JSON and is put there with
``textContent``; a Content-Security-Policy forbids inline scripts; no secret is in a run
directory to begin with (keys are masked when runs are written).
"""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from assay.app import data
from assay.app.index import RunIndex, SampleCache, Unreadable, clean
from assay.store import HTML_REPORT_FILE, RECORDS_FILE, SAMPLES_FILE

STATIC = Path(__file__).parent / "static"
PAGE_SIZE_MAX = 200
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'self'")
SEARCH_THREADS = 2
"""Reads and searches of run files at once, in worker threads: few, so the event loop (and every other
request) still gets the interpreter while many searches wait their turn."""
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARDS = ("0.0.0.0", "::", "")


class SafeJSON(JSONResponse):
    """JSON that never fails to encode: NaN becomes null, a lone surrogate U+FFFD."""

    def render(self, content: Any) -> bytes:
        return json.dumps(clean(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _not_found(what: str = "no such run") -> JSONResponse:
    return SafeJSON({"error": what}, status_code=404)


def allowed_hosts(host: str) -> set[str]:
    """Host header names this app answers to: loopback, the bound address, and this machine's names on a wildcard.

    Anything else is refused, so a page on another origin whose name an attacker points at
    127.0.0.1 (DNS rebinding) cannot read the runs.
    """
    names = {*LOOPBACK_NAMES, host.strip("[]").lower()}
    if host in WILDCARDS:
        hostname = socket.gethostname()
        names |= {hostname.lower(), socket.getfqdn().lower()}
        try:
            names |= {str(info[4][0]).lower() for info in socket.getaddrinfo(hostname, None)}
        except OSError:
            pass
    names.discard("")
    return names


def create_app(outputs: str | Path, *, lang: str = "en", host: str = "127.0.0.1") -> Starlette:
    index = RunIndex(Path(outputs))
    cache = SampleCache()
    index.refresh()
    workers: list[anyio.CapacityLimiter] = []  # made on first use, inside the server's event loop

    async def off_loop(function: Any, *args: Any) -> Any:
        if not workers:
            workers.append(anyio.CapacityLimiter(SEARCH_THREADS))
        return await anyio.to_thread.run_sync(function, *args, limiter=workers[0])

    async def meta(_: Request) -> JSONResponse:
        return SafeJSON({"lang": lang, "outputs": str(index.outputs), "now": time.time()})

    async def runs(request: Request) -> JSONResponse:
        kind = request.query_params.get("kind")
        model = request.query_params.get("model")
        entries = [e.public() for e in index.refresh()
                   if (not kind or e.kind == kind) and (not model or e.model == model)]
        return SafeJSON({"runs": entries})

    async def benchmarks(_: Request) -> JSONResponse:
        return SafeJSON({"benchmarks": data.benchmarks_seen(index, index.refresh())})

    async def run(request: Request) -> JSONResponse:
        run_id = request.query_params.get("id", "")
        entry = index.get(run_id)
        if entry is None:
            problem = index.problem(run_id)
            # A run that exists but cannot be read is an answer, not a failed request (a 4xx would
            # also put a "failed to load resource" error in the browser's console): the page shows it.
            return SafeJSON({"unreadable": f"{run_id} cannot be read: {problem}"}) if problem else _not_found()
        try:
            return SafeJSON(data.run_details(index, entry))
        except Unreadable as exc:
            return SafeJSON({"unreadable": f"{entry.id}: {exc}"})

    async def samples(request: Request) -> JSONResponse:
        entry = index.get(request.query_params.get("id", ""))
        if entry is None or entry.kind != "eval":
            return _not_found()
        params = request.query_params

        def page() -> dict[str, Any]:  # in a worker thread: a search of a big run does not hold up other requests
            return data.page_of_samples(
                cache.load(index.file(entry, SAMPLES_FILE)), page=_int(params.get("page"), 1),
                size=min(PAGE_SIZE_MAX, _int(params.get("size"), 50)), verdict=params.get("verdict") or None,
                text=params.get("q") or None, benchmark=params.get("benchmark") or None,
                subset=params.get("subset") or None, sample=params.get("sample") or None,
            )

        return SafeJSON(await off_loop(page))

    async def sample_text(request: Request) -> Response:
        entry = index.get(request.query_params.get("id", ""))
        if entry is None or entry.kind != "eval":
            return _not_found()
        field = request.query_params.get("field", "")
        text = await off_loop(lambda: data.sample_text(cache.load(index.file(entry, SAMPLES_FILE)),
                                                       request.query_params.get("key", ""), field))
        if text is None:
            return _not_found("no such sample or field")
        return Response(clean(text).encode("utf-8"), media_type="text/plain; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{field}.txt"'})

    async def requests(request: Request) -> JSONResponse:
        entry = index.get(request.query_params.get("id", ""))
        if entry is None or entry.kind != "perf":
            return _not_found()
        params = request.query_params

        def page() -> dict[str, Any]:
            return data.page_of_requests(cache.load(index.file(entry, RECORDS_FILE)),
                                         page=_int(params.get("page"), 1),
                                         size=min(PAGE_SIZE_MAX, _int(params.get("size"), 100)),
                                         sort=params.get("sort") or None, descending=params.get("desc") == "1")

        return SafeJSON(await off_loop(page))

    async def compare(request: Request) -> JSONResponse:
        ids = request.query_params.getlist("id")  # one parameter per run: ids may hold commas
        if not ids:
            ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        entries = [index.get(i) for i in ids]
        if len(entries) < 2 or any(e is None for e in entries) or len({e.kind for e in entries if e}) != 1:
            return _not_found("give two or three readable runs of one kind")
        try:
            result = await off_loop(data.compare_runs, index, [e for e in entries if e is not None], cache)
        except Unreadable as exc:
            return SafeJSON({"error": str(exc)}, status_code=422)
        return SafeJSON(result)

    async def compare_eval(request: Request) -> JSONResponse:
        """Two eval runs' paired test (``assay eval compare``): asked for apart, as it reads both runs whole."""
        entries = [index.get(i) for i in request.query_params.getlist("id")]
        if len(entries) != 2 or any(e is None or e.kind != "eval" for e in entries):
            return _not_found("give two readable eval runs")
        return SafeJSON(await off_loop(data.paired_comparison, index, [e for e in entries if e is not None]))

    async def perf_report(request: Request) -> Response:
        entry = index.get(request.query_params.get("id", ""))
        path = index.file(entry, HTML_REPORT_FILE) if entry is not None and entry.kind == "perf" else None
        if path is None:
            return _not_found("no report")
        return FileResponse(path, media_type="text/html")

    async def favicon(_: Request) -> Response:
        return Response(status_code=204)

    async def home(_: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app = Starlette(middleware=[Middleware(HostCheck, hosts=allowed_hosts(host)), Middleware(SecurityHeaders)],
                    routes=[
        Route("/", home),
        Route("/favicon.ico", favicon),
        Route("/api/meta", meta),
        Route("/api/runs", runs),
        Route("/api/run", run),
        Route("/api/benchmarks", benchmarks),
        Route("/api/samples", samples),
        Route("/api/sample-text", sample_text),
        Route("/api/requests", requests),
        Route("/api/compare", compare),
        Route("/api/compare-eval", compare_eval),
        Route("/report", perf_report),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ])

    return app


class HostCheck:
    """Refuses (400) a request whose Host header is not one of this app's names: the DNS-rebinding guard."""

    def __init__(self, app: Any, hosts: set[str]) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope.get("headers", []) if k == b"host"), b"").decode("latin-1")
        if host_name(header) not in self.hosts:
            body = json.dumps({"error": f"Host {header!r} is not this app's address (DNS rebinding guard)"}).encode()
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def host_name(header: str) -> str:
    """The name in a Host header, without the port: ``[::1]:8765`` -> ``::1``, ``localhost:80`` -> ``localhost``."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else ""
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class SecurityHeaders:
    """Adds the Content-Security-Policy and friends to every response (pure ASGI)."""

    HEADERS = ((b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
               (b"referrer-policy", b"no-referrer"))

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *self.HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _int(value: str | None, default: int) -> int:
    try:
        return max(1, int(value)) if value is not None else default
    except ValueError:
        return default


def serve(outputs: str | Path, *, host: str = "127.0.0.1", port: int = 8765, lang: str = "en") -> None:
    import uvicorn

    from assay.errors import ConfigError

    if not Path(outputs).is_dir():
        raise ConfigError(f"--outputs: {outputs} is not a folder")
    if lang not in ("en", "zh"):
        raise ConfigError(f"--lang: en or zh, got {lang!r}")
    if host in WILDCARDS:
        print(f"assay app: warning: --host {host!r} serves every run (prompts, answers, configs) to anyone who can "
              "reach this machine; use 127.0.0.1 unless you mean that", file=sys.stderr, flush=True)
    print(f"assay app: http://{host}:{port}/ (runs under {Path(outputs).resolve()}; Ctrl-C stops it)", flush=True)
    uvicorn.run(create_app(outputs, lang=lang, host=host), host=host, port=port, log_level="warning")
