"""The run directory: the contract between measuring and presenting.

Perf run layout (``docs/run-directory.md`` documents it for users)::

    <outputs_dir>/<YYYYMMDD_HHMMSS>/<name>/
        run.json         kind, schema_version, assay version, config (no secrets),
                         status (running | finished | interrupted | failed), pid,
                         clock origin (origin_perf_ns, origin_epoch_ns), tokenizer facts
        requests.jsonl   one RequestRecord per line, appended as each request ends
        summary.json     per-sweep-point metrics, best points, recommendations
        report.txt       the console report as plain text

A reader never trusts that a run finished: a ``running`` run whose pid is gone reads as
``interrupted``, and a torn last line of ``requests.jsonl`` is skipped and counted.

A writer never carries on past a write error: every one becomes a :class:`StorageError`
(``cannot write <path>: <reason>``) that stops the run, and a record file is cut back to its
last whole line first, so what was written before stays readable.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec

from assay.client.records import RECORD_SCHEMA_VERSION, RequestRecord
from assay.errors import AssayError, StorageError

RUN_FILE = "run.json"
RECORDS_FILE = "requests.jsonl"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.txt"


def write_bytes_atomic(path: Path, chunks: Iterable[bytes]) -> None:
    """Write a file so that a reader sees the old one or the new one, never half of one.

    A write error (disk full, read-only, I/O error) raises :class:`StorageError` naming ``path``
    and leaves no staging file behind to hold the space.
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
    """Write JSON atomically (see :func:`write_bytes_atomic`)."""
    write_bytes_atomic(path, [_json_text(data)])


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
    text = _json_text(data)
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


def _json_text(data: Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")


def new_run_path(outputs_dir: str | os.PathLike[str], name: str) -> Path:
    """``<outputs_dir>/<timestamp>/<name>``, made unique if that exists already (:class:`StorageError` if
    it cannot be made)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._") or "run"
    stamp = time.strftime("%Y%m%d_%H%M%S")
    base = Path(outputs_dir) / stamp / safe
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{safe}-{n}")
    try:
        path.mkdir(parents=True)
    except OSError as exc:
        raise StorageError(exc.filename or path, exc) from None
    return path


class LineAppender:
    """A file that only grows, by whole lines (a JSONL journal), and never carries on past a write error.

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


class RecordWriter:
    """Appends records as JSON lines (a :class:`LineAppender`: whole lines only, stops at a write error).

    Each line reaches the OS as it is written, or at the caller's :meth:`flush` (one system call
    for the records that ended together).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = LineAppender(path)
        self._pending = bytearray()
        self._encode = msgspec.json.Encoder().encode

    @property
    def failure(self) -> StorageError | None:
        """The write error that stopped this writer, if one did."""
        return self._file.failure

    @property
    def count(self) -> int:
        """Records written (in the OS, or pending the next flush)."""
        return self._file.lines + self._pending.count(b"\n")

    def write(self, record: RequestRecord, *, flush: bool = True) -> None:
        if self._file.failure is not None:
            raise self._file.failure
        self._pending += self._encode(record)
        self._pending += b"\n"
        if flush:
            self.flush()

    def flush(self) -> None:
        if self._file.failure is not None:
            raise self._file.failure
        if not self._pending or self._file.closed:
            return
        data = bytes(self._pending)
        self._pending.clear()
        self._file.append(data)

    def close(self) -> None:
        """Flush, sync to disk and close; after a write error, only close (never raises then)."""
        try:
            if self._file.failure is None:
                self.flush()
        finally:
            self._file.close()


def read_records(path: Path) -> tuple[list[RequestRecord], int]:
    """All readable records and the number of torn or unreadable lines skipped."""
    decoder = msgspec.json.Decoder(RequestRecord)
    records: list[RequestRecord] = []
    skipped = 0
    if not path.exists():
        return records, 0
    with open(path, "rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):  # torn by a kill mid-write
                skipped += 1
                continue
            try:
                records.append(decoder.decode(line))
            except msgspec.DecodeError:
                skipped += 1
    return records, skipped


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_run(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``run.json`` of a run directory, with ``status`` corrected for dead writers."""
    run_dir = Path(path)
    run_file = run_dir / RUN_FILE
    if not run_file.exists():
        raise AssayError(f"{run_dir} is not an assay run directory (no {RUN_FILE})")
    try:
        run = json.loads(run_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AssayError(f"cannot read {run_file}: {exc}") from None
    if run.get("record_schema_version", 1) > RECORD_SCHEMA_VERSION:
        raise AssayError(
            f"{run_dir} was written by a newer assay (record schema {run['record_schema_version']}); upgrade assay"
        )
    if run.get("status") == "running" and not _pid_alive(int(run.get("pid", 0) or 0)):
        run["status"] = "interrupted"
    return run
