"""``assay app``: a local web app over run directories. It reads runs; it never sends a request to a model.

Security: it binds to 127.0.0.1 unless told otherwise; runs are looked up by id in the index
(a request's text is never joined into a file path, so ``../`` and absolute paths find
nothing); every model output and dataset text reaches the page as JSON and is put there with
``textContent``; a Content-Security-Policy forbids inline scripts; no secret is in a run
directory to begin with (keys are masked when runs are written).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from assay.app.index import RunIndex, SampleCache

STATIC = Path(__file__).parent / "static"
PAGE_SIZE_MAX = 200
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'self'")
VERDICTS = ("correct", "wrong", "error", "truncated")


def _not_found(what: str = "no such run") -> JSONResponse:
    return JSONResponse({"error": what}, status_code=404)


def create_app(outputs: str | Path, *, lang: str = "en") -> Starlette:
    index = RunIndex(Path(outputs))
    cache = SampleCache()
    index.refresh()

    async def meta(_: Request) -> JSONResponse:
        return JSONResponse({"lang": lang, "outputs": str(index.outputs), "now": time.time()})

    async def runs(request: Request) -> JSONResponse:
        kind = request.query_params.get("kind")
        model = request.query_params.get("model")
        entries = [e.public() for e in index.refresh()
                   if (not kind or e.kind == kind) and (not model or e.model == model)]
        return JSONResponse({"runs": entries})

    async def run(request: Request) -> JSONResponse:
        entry = index.get(request.query_params.get("id", ""))
        if entry is None:
            return _not_found()
        from assay.app.data import run_details

        return JSONResponse(run_details(entry))

    async def samples(request: Request) -> JSONResponse:
        entry = index.get(request.query_params.get("id", ""))
        if entry is None or entry.kind != "eval":
            return _not_found()
        from assay.app.data import page_of_samples

        params = request.query_params
        return JSONResponse(page_of_samples(
            cache.rows(entry.path / "samples.jsonl"), page=_int(params.get("page"), 1),
            size=min(PAGE_SIZE_MAX, _int(params.get("size"), 50)), verdict=params.get("verdict") or None,
            text=params.get("q") or None, benchmark=params.get("benchmark") or None,
            subset=params.get("subset") or None, sample=params.get("sample") or None,
        ))

    async def requests(request: Request) -> JSONResponse:
        entry = index.get(request.query_params.get("id", ""))
        if entry is None or entry.kind != "perf":
            return _not_found()
        from assay.app.data import page_of_requests

        params = request.query_params
        return JSONResponse(page_of_requests(cache.rows(entry.path / "requests.jsonl"),
                                             page=_int(params.get("page"), 1),
                                             size=min(PAGE_SIZE_MAX, _int(params.get("size"), 100))))

    async def compare(request: Request) -> JSONResponse:
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        entries = [index.get(i) for i in ids]
        if len(entries) < 2 or any(e is None for e in entries) or len({e.kind for e in entries if e}) != 1:
            return _not_found("give two or three runs of one kind")
        from assay.app.data import compare_runs

        return JSONResponse(compare_runs([e for e in entries if e is not None], cache))

    async def perf_report(request: Request) -> Response:
        entry = index.get(request.query_params.get("id", ""))
        if entry is None or entry.kind != "perf" or not (entry.path / "report.html").exists():
            return _not_found("no report")
        return FileResponse(entry.path / "report.html", media_type="text/html")

    async def favicon(_: Request) -> Response:
        return Response(status_code=204)

    async def home(_: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app = Starlette(middleware=[Middleware(SecurityHeaders)], routes=[
        Route("/", home),
        Route("/favicon.ico", favicon),
        Route("/api/meta", meta),
        Route("/api/runs", runs),
        Route("/api/run", run),
        Route("/api/samples", samples),
        Route("/api/requests", requests),
        Route("/api/compare", compare),
        Route("/report", perf_report),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ])

    return app


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
    print(f"assay app: http://{host}:{port}/ (runs under {Path(outputs).resolve()}; Ctrl-C stops it)", flush=True)
    uvicorn.run(create_app(outputs, lang=lang), host=host, port=port, log_level="warning")
