"""What the simulator saw of the images in a chat request: each ``image_url`` part decoded, so that a test
can check the size, colour mode, file format and count of the images a client sent.

A ``data:`` URL is decoded with Pillow when it is installed (``assay[images]``); without it only the
declared type and byte count are recorded. Other URLs are recorded as given (the simulator fetches nothing).
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any


def seen_images(body: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per image part of the request's messages, in order:
    ``{"width", "height", "mode", "format", "bytes", "mime"}``, or ``{"url"}`` / ``{"error"}``."""
    seen = []
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for part in content:
            if isinstance(part, dict) and part.get("type") == "image_url":
                image = part.get("image_url")
                url = image.get("url") if isinstance(image, dict) else image
                seen.append(_decode(url) if isinstance(url, str) else {"error": "image_url without a url"})
    return seen


def _decode(url: str) -> dict[str, Any]:
    if not url.startswith("data:"):
        return {"url": url[:200]}
    header, _, payload = url.partition(",")
    mime = header[5:].split(";", 1)[0]
    if ";base64" not in header:
        return {"mime": mime, "error": "not base64"}
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return {"mime": mime, "error": "bad base64"}
    facts: dict[str, Any] = {"mime": mime, "bytes": len(data)}
    try:
        from PIL import Image
    except ImportError:
        return facts
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # decode the pixels, not just the header
            facts.update(width=image.width, height=image.height, mode=image.mode, format=image.format)
    except Exception as exc:  # an image Pillow cannot decode is what the test wants to see
        facts["error"] = f"{type(exc).__name__}: {exc}"[:200]
    return facts
