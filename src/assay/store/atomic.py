"""Whole-file writes that a reader (or a crash) never sees half-done.

A write error (disk full, read-only, I/O error) becomes a :class:`StorageError`
(``cannot write <path>: <reason>``) that stops the run: a run never carries on past one.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec

from assay.errors import StorageError


def write_bytes_atomic(path: Path, chunks: Iterable[bytes]) -> None:
    """Write a file so that a reader sees the old one or the new one, never half of one.

    A write error raises :class:`StorageError` naming ``path`` and leaves no staging file behind
    to hold the space.
    """
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(staging, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staging, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            staging.unlink()
        raise StorageError(path, exc) from None


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON (a dict or one of :mod:`assay.store.schema`'s types) atomically, indented for people."""
    write_bytes_atomic(path, [json_text(data)])


def write_text_atomic(path: Path, text: str) -> None:
    """Write UTF-8 text atomically (see :func:`write_bytes_atomic`)."""
    write_bytes_atomic(path, [text.encode("utf-8")])


def write_json_last_resort(path: Path, data: Any) -> bool:
    """Write JSON atomically, or failing that (a full disk) in place where that needs no new space.

    Used to mark a run ``failed`` after a write error: the in-place rewrite is tried only when the
    new text fits in the space the old file already holds, so it cannot fail half-way for want of
    space. Returns whether the file was written; never raises.
    """
    try:
        write_json_atomic(path, data)
        return True
    except StorageError:
        pass
    text = json_text(data)
    try:
        with open(path, "r+b") as handle:
            allocated = os.fstat(handle.fileno()).st_blocks * 512
            if len(text) > allocated:
                return False
            handle.write(text)
            handle.truncate()
            handle.flush()
            os.fsync(handle.fileno())
        return True
    except OSError:
        return False


def json_text(data: Any) -> bytes:
    """``data`` as indented JSON text; a typed struct is written with its fields in declared order."""
    if isinstance(data, msgspec.Struct):
        data = msgspec.to_builtins(data)
    return (json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")
