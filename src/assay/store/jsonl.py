"""JSON-lines files that only grow: the one writer and the one reader of ``requests.jsonl``,
``samples.jsonl`` and the judge's cache.

A writer never carries on past a write error: every one becomes a :class:`StorageError`
(``cannot write <path>: <reason>``) that stops the run, and the file is cut back to its last
whole line first, so what was written before stays readable. A reader never trusts the last
line: a torn line (a kill mid-write) or one that does not decode is skipped and counted.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from assay.errors import StorageError

T = TypeVar("T")


def _as_json(obj: Any) -> Any:
    if isinstance(obj, array):  # a record's marks as the client keeps them (see RequestRecord.chunk_times_us)
        return obj.tolist()
    raise NotImplementedError(f"cannot write a {type(obj).__name__} as JSON")


def row_encoder() -> Callable[[Any], bytes]:
    """The JSON encoder of a row: msgspec's, and the client's arrays of marks as JSON arrays."""
    return msgspec.json.Encoder(enc_hook=_as_json).encode


class LineAppender:
    """A file that only grows, by whole lines, and never carries on past a write error.

    A write that fails (disk full, I/O error, read-only, a file-size limit) is cut back to the last
    whole line that reached the file, so every line written before stays readable, and raises
    :class:`StorageError`; every later call raises the same error.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines = 0
        """Whole lines this appender has written."""
        self.failure: StorageError | None = None
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
            self._size = os.fstat(self._fd).st_size
        except OSError as exc:
            raise StorageError(path, exc) from None

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def append(self, data: bytes) -> None:
        """Write ``data`` (whole lines, each ending in a newline) to the OS: it survives ``kill -9``."""
        if self.failure is not None:
            raise self.failure
        written = 0
        try:
            while written < len(data):
                written += os.write(self._fd, data[written:])
        except OSError as exc:
            kept = data.rfind(b"\n", 0, written) + 1
            if kept < written:  # never leave half a line
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, self._size + kept)
            self._size += kept
            self.lines += data.count(b"\n", 0, kept)
            self.failure = StorageError(self.path, exc)
            raise self.failure from None
        self._size += written
        self.lines += data.count(b"\n")

    def sync(self) -> None:
        """Put what was written on the disk: it survives a crash of the machine."""
        if self.failure is not None:
            raise self.failure
        try:
            os.fsync(self._fd)
        except OSError as exc:
            self.failure = StorageError(self.path, exc)
            raise self.failure from None

    def close(self) -> None:
        """Sync and close; after a write error, only close (never raises then)."""
        if self._fd < 0:
            return
        try:
            if self.failure is None:
                self.sync()
        finally:
            fd, self._fd = self._fd, -1
            with contextlib.suppress(OSError):
                os.close(fd)


class JsonlWriter:
    """Appends records (schema structs or plain dicts) as JSON lines, whole lines only.

    Each line reaches the OS as it is written, or at the caller's :meth:`flush` when written with
    ``flush=False`` (one system call for the records that ended together: the perf hot path).
    With ``sync_every_s`` it is also put on the disk at most that long after it was written
    (survives a crash of the machine, not only a kill). The file is opened (created) at once: make
    the writer after any :func:`rewrite_jsonl` of the same file, which replaces it.

    ``background=True`` hands each flush's lines to a thread of the writer's own, which makes the
    system call: a ``write`` the kernel holds back (a busy or slow disk throttles writers for tens of
    ms) then waits there, not in the caller's event loop, where it made every request due meanwhile
    late. Lines keep their order; :meth:`close` waits for every one. A write error in that thread is
    kept as :attr:`failure` (raised by the next call) and passed to ``on_failure`` (from that thread).
    """

    def __init__(self, path: Path, *, sync_every_s: float | None = None, background: bool = False,
                 on_failure: Callable[[StorageError], None] | None = None) -> None:
        self.path = path
        self.sync_every_s = sync_every_s
        self._pending = bytearray()
        self._encode = row_encoder()
        self._last_sync = 0.0
        self._file = LineAppender(path)
        self._on_failure = on_failure
        self._queue: queue.SimpleQueue[bytes | None] | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._queue = queue.SimpleQueue()
            self._thread = threading.Thread(target=self._drain, name=f"assay-writer:{path.name}", daemon=True)
            self._thread.start()

    @property
    def failure(self) -> StorageError | None:
        """The write error that stopped this writer, if one did."""
        return self._file.failure


    def write(self, record: Any, *, flush: bool = True) -> None:
        file = self._file
        if file.failure is not None:
            raise file.failure
        self._pending += self._encode(record)
        self._pending += b"\n"
        if flush:
            self.flush()

    def flush(self) -> None:
        """Hand the pending lines to the OS (one write); and to the disk when ``sync_every_s`` is due."""
        file = self._file
        if file.failure is not None:
            raise file.failure
        if not self._pending or file.closed:
            return
        data = bytes(self._pending)
        self._pending.clear()
        if self._queue is not None:
            self._queue.put(data)
            return
        self._append(data)

    def _append(self, data: bytes) -> None:
        file = self._file
        file.append(data)
        if self.sync_every_s is not None:
            now = time.monotonic()
            if now - self._last_sync > self.sync_every_s:
                file.sync()
                self._last_sync = now

    def _drain(self) -> None:
        """The background thread: write what is handed over, in order, until told to stop (None)."""
        assert self._queue is not None
        while True:
            data = self._queue.get()
            if data is None:
                return
            if self._file.failure is not None:
                continue  # nothing more is written after an error (the caller is told by failure)
            try:
                self._append(data)
            except StorageError as exc:
                if self._on_failure is not None:
                    self._on_failure(exc)

    def close(self) -> None:
        """Flush, sync to disk and close; after a write error, only close (never raises then).

        In the background mode, every line handed over is written first; a write error met there
        and not yet raised is raised now (after the file is closed)."""
        failed_before = self._file.failure is not None
        try:
            if self._file.failure is None:
                self.flush()
        finally:
            if self._thread is not None and self._queue is not None:
                self._queue.put(None)
                self._thread.join()
                self._thread = None
            self._file.close()
        if not failed_before and self._file.failure is not None:
            raise self._file.failure


def iter_jsonl(path: Path, decoder: msgspec.json.Decoder[T]) -> Iterator[T | None]:
    """Each line of ``path`` decoded, or None for a torn or undecodable one (nothing if absent)."""
    if not path.exists():
        return
    with open(path, "rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):  # torn by a kill mid-write
                yield None
                continue
            try:
                yield decoder.decode(line)
            except msgspec.DecodeError:
                yield None


def read_jsonl(path: Path, type_: type[T]) -> tuple[list[T], int]:
    """Every readable row of ``path`` as ``type_``, and the number of torn or unreadable lines skipped."""
    rows: list[T] = []
    skipped = 0
    for row in iter_jsonl(path, msgspec.json.Decoder(type_)):
        if row is None:
            skipped += 1
        else:
            rows.append(row)
    return rows, skipped


def rewrite_jsonl(path: Path, records: Iterable[Any]) -> None:
    """Replace ``path`` with exactly ``records``, atomically (compacting a journal on resume)."""
    from assay.store.atomic import write_bytes_atomic

    encode = row_encoder()
    write_bytes_atomic(path, (encode(record) + b"\n" for record in records))
