"""Names a web page where an OpenAI-compatible API should be, for the first request of a run.

A URL that points at a web UI, a proxy's login page or a server's root answers HTML: the
stream parser then only sees "no completion events", or the user an HTTP 404 with markup in
it. When the first request failed that way, one more request, read whole, tells what the
server answered instead, so the one-line error can say so (perf and eval alike).
"""

from __future__ import annotations

import json
from typing import Any

WEB_PAGE_TYPES = ("text/html", "application/xhtml+xml")


def auth_headers(api_key: str | None, headers: dict[str, str] | None = None) -> dict[str, str]:
    """The headers a run sends besides the body's: its key and its extra headers."""
    sent = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return sent | dict(headers or {})


def is_json_type(content_type: str) -> bool:
    """A media type an OpenAI-compatible API answers with (JSON, or a stream of JSON events)."""
    return content_type in ("application/json", "text/event-stream", "application/x-ndjson") or \
        content_type.endswith("+json")


async def answered_media_type(url: str, payload: dict[str, Any], headers: dict[str, str]) -> str | None:
    """The media type of the server's answer to ``payload`` (sniffed from the body when unlabelled);
    None when no answer came."""
    from assay.client.transport import StreamingPool

    sent = {"Content-Type": "application/json", "Accept": "application/json"} | headers
    async with StreamingPool(connect_timeout_s=10.0, read_timeout_s=10.0, total_timeout_s=15.0) as pool:
        raw = await pool.post(url, json.dumps(payload).encode(), sent)
    if raw.error is not None:
        return None
    content_type = raw.headers.get("content-type", "").split(";")[0].strip().lower()
    if not content_type and raw.body.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        content_type = "text/html"
    return content_type or None


async def not_json_problem(url: str, shown_url: str, payload: dict[str, Any], headers: dict[str, str], *,
                           http_status: int | None, refused: bool) -> str | None:
    """``"<url>: the server answered text/html, not JSON: is the URL the API's? (HTTP 200)"``, or None.

    ``refused``: the first request got a 4xx. A 4xx in plain text is the API's (or a proxy's) own
    refusal, which the caller says in its words; a web page is named as such.
    """
    content_type = await answered_media_type(url, payload, headers)
    if content_type is None or is_json_type(content_type):
        return None
    if refused and content_type not in WEB_PAGE_TYPES:
        return None
    return f"{shown_url}: the server answered {content_type}, not JSON: is the URL the API's? (HTTP {http_status or 0})"


__all__ = ["answered_media_type", "auth_headers", "is_json_type", "not_json_problem"]
