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
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import IO, Any

import msgspec

from assay.client.records import RECORD_SCHEMA_VERSION, RequestRecord
from assay.errors import AssayError

RUN_FILE = "run.json"
RECORDS_FILE = "requests.jsonl"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.txt"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that a reader sees the old file or the new one, never half of one."""
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(staging, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False, default=str)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staging, path)


def new_run_path(outputs_dir: str | os.PathLike[str], name: str) -> Path:
    """``<outputs_dir>/<timestamp>/<name>``, made unique if that exists already."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._") or "run"
    stamp = time.strftime("%Y%m%d_%H%M%S")
    base = Path(outputs_dir) / stamp / safe
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{safe}-{n}")
    path.mkdir(parents=True)
    return path


class RecordWriter:
    """Appends records as JSON lines; each line is flushed to the OS as it is written, or at the
    caller's :meth:`flush` (one system call for the records that ended together)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # A large buffer, so that only flush() makes system calls.
        self._handle: IO[bytes] = open(path, "ab", buffering=1 << 20)  # noqa: SIM115 - closed in close()
        self._encode = msgspec.json.Encoder().encode
        self.count = 0

    def write(self, record: RequestRecord, *, flush: bool = True) -> None:
        self._handle.write(self._encode(record) + b"\n")
        if flush:
            self._handle.flush()
        self.count += 1

    def flush(self) -> None:
        if not self._handle.closed:
            self._handle.flush()

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()


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
