"""Images in perf requests, as ``data:`` URLs in chat messages: random ones (``random_vl``) and a dataset's
own (``flickr8k``).

EvalScope's ``--image-format`` is a Pillow colour mode (``RGB``, ``L``, ``RGBA``, …) of a PNG, and so it is
here; a file format name (``PNG``, ``JPEG``, ``WEBP``) is also taken, for an RGB image in that format.
Pillow is needed only here (``pip install 'assay[images]'``), and imported only when images are made.
"""

from __future__ import annotations

import base64
import io
import random
from dataclasses import dataclass
from typing import Any

from assay.errors import ConfigError, DatasetError

DEFAULT_WIDTH = 224
DEFAULT_HEIGHT = 224
DEFAULT_MODE = "RGB"
DEFAULT_COUNT = 1
"""EvalScope's defaults for ``--image-width``, ``--image-height``, ``--image-format`` and ``--image-num``."""

MODES = ("1", "L", "LA", "I", "P", "RGB", "RGBA")
"""Pillow colour modes a PNG holds."""
ENCODINGS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
_ENCODING_NAMES = {"PNG": "PNG", "JPEG": "JPEG", "JPG": "JPEG", "WEBP": "WEBP"}
_MAX_SIDE = 16384


@dataclass(frozen=True)
class ImageSpec:
    """What each random image is: its size in pixels, colour mode, file format, and how many per request."""

    width: int = DEFAULT_WIDTH
    height: int = DEFAULT_HEIGHT
    mode: str = DEFAULT_MODE
    encoding: str = "PNG"
    count: int = DEFAULT_COUNT


def image_spec(width: int | None, height: int | None, image_format: str | None, count: int | None) -> ImageSpec:
    """The images ``--image-width/--image-height/--image-format/--image-num`` ask for (EvalScope's defaults
    for those not given); a bad value raises :class:`ConfigError` naming its option."""
    spec = ImageSpec()
    for name, value in (("image_width", width), ("image_height", height)):
        if value is not None and not 1 <= value <= _MAX_SIDE:
            raise ConfigError(f"{name}: pixels between 1 and {_MAX_SIDE}, got {value}")
    if count is not None and count < 1:
        raise ConfigError(f"image_num: images per request must be >= 1, got {count}")
    mode, encoding = spec.mode, spec.encoding
    if image_format is not None:
        name = image_format.strip()
        if name.upper() in _ENCODING_NAMES:
            encoding = _ENCODING_NAMES[name.upper()]
        elif name.upper() in MODES:
            mode = name.upper()
        else:
            raise ConfigError(f"image_format: a colour mode ({', '.join(MODES)}; EvalScope's meaning, a PNG) or a "
                              f"file format ({', '.join(ENCODINGS)}), got {image_format!r}")
    return ImageSpec(width=width or spec.width, height=height or spec.height, mode=mode, encoding=encoding,
                     count=count or spec.count)


def pillow() -> Any:
    """The ``PIL`` package, or a one-line :class:`DatasetError` saying how to install it."""
    try:
        import PIL.Image
        import PIL.ImageDraw
    except ImportError:
        raise DatasetError("images need Pillow: pip install 'assay[images]' (or pip install pillow)") from None
    return PIL


def random_image(spec: ImageSpec, rng: random.Random) -> bytes:
    """One random image file: a plain background and a few rectangles, ellipses and lines (as EvalScope
    draws them), so that images differ and do not compress to nothing."""
    pil = pillow()
    image = pil.Image.new(spec.mode, (spec.width, spec.height))
    bands = len(image.getbands())

    def colour() -> Any:
        values = tuple(rng.randint(0, 255) for _ in range(bands))
        return values if bands > 1 else values[0]

    draw = pil.ImageDraw.Draw(image)
    draw.rectangle((0, 0, spec.width - 1, spec.height - 1), fill=colour())
    for _ in range(rng.randint(1, 5)):
        xs = sorted(rng.randint(0, spec.width - 1) for _ in range(2))
        ys = sorted(rng.randint(0, spec.height - 1) for _ in range(2))
        box = (xs[0], ys[0], xs[1], ys[1])
        shape = rng.choice(("rectangle", "ellipse", "line"))
        if shape == "rectangle":
            draw.rectangle(box, fill=colour())
        elif shape == "ellipse":
            draw.ellipse(box, fill=colour())
        else:
            draw.line(box, fill=colour(), width=rng.randint(1, 5))
    out = io.BytesIO()
    image.save(out, format=spec.encoding)
    return out.getvalue()


def data_url(data: bytes) -> str:
    """An image file as a ``data:image/…;base64,`` URL, its type read from the file's first bytes."""
    return f"data:{image_mime(data)};base64,{base64.b64encode(data).decode('ascii')}"


def image_mime(data: bytes) -> str:
    """The MIME type of an image file from its magic bytes (``application/octet-stream`` if unknown)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data.startswith(b"BM"):
        return "image/bmp"
    return "application/octet-stream"


def image_message(text: str, urls: list[str]) -> dict[str, Any]:
    """A user message of the text then the images, in the OpenAI chat layout (as EvalScope sends them)."""
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    content += [{"type": "image_url", "image_url": {"url": url}} for url in urls]
    return {"role": "user", "content": content}
