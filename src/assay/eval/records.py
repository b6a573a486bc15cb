"""Per-sample records of an eval run (``samples.jsonl``) and the journal that resumes a run.

One line per (sample, repeat), appended and flushed as each finishes, so ``kill -9`` loses
at most the line being written. On resume the file is compacted (last record per key, torn
lines dropped) and only keys without a final record are queried again; a record whose
request finally failed (``verdict == "error"``) is not final: resuming retries it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import msgspec

from assay.store.rundir import LineAppender, write_bytes_atomic

SAMPLES_FILE = "samples.jsonl"
SAMPLE_SCHEMA_VERSION = 1


class SampleRecord(msgspec.Struct, kw_only=True):
    """One generation for one benchmark sample, and how it was judged."""

    key: str
    """``benchmark/subset/sample_id/repeat``: unique within a run."""
    benchmark: str
    subset: str
    sample_id: str
    repeat: int
    messages: list[dict[str, str]]
    gold: str
    meta: dict[str, Any] = {}
    """What the benchmark needs to judge again (choices and their order, tests, instructions)."""
    response: str | None = None
    """The answer text exactly as the server sent it (``content``)."""
    reasoning_content: str | None = None
    """The server's separate reasoning field (``reasoning_content`` / ``reasoning``), as sent."""
    reasoning: str | None = None
    """All reasoning: ``reasoning_content`` plus the text inside ``<think>…</think>``."""
    answer_text: str | None = None
    """The part of the response searched for the answer (reasoning removed)."""
    extracted: str | None = None
    verdict: str = "error"
    """``correct``, ``wrong``, ``truncated`` or ``error``."""
    score: float = 0.0
    scores: dict[str, float] = {}
    """Further per-generation scores a benchmark defines (e.g. IFEval's four accuracies)."""
    method: str = ""
    judge: dict[str, Any] | None = None
    """An LLM judge's part: ``model``, ``raw`` (its reply as sent), ``verdict``, ``cached``."""
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    ttft_s: float | None = None
    http_status: int | None = None
    error: str | None = None
    error_kind: str | None = None
    attempts: int = 1
    finished_epoch_s: float = 0.0


def record_key(benchmark: str, subset: str, sample_id: str, repeat: int) -> str:
    return f"{benchmark}/{subset}/{sample_id}/{repeat}"


class SampleJournal:
    """Appends sample records durably; reads, deduplicates and compacts them on resume.

    The file is a :class:`~assay.store.rundir.LineAppender`: a write error raises
    :class:`StorageError` and cuts the file back to its last whole line, so every record written
    before stays readable; later appends raise the same error.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / SAMPLES_FILE
        self._encode = msgspec.json.Encoder().encode
        self._file: LineAppender | None = None
        self._last_sync = 0.0

    def read(self) -> dict[str, SampleRecord]:
        """Last readable record per key (torn or corrupt lines are skipped)."""
        decoder = msgspec.json.Decoder(SampleRecord)
        records: dict[str, SampleRecord] = {}
        if not self.path.exists():
            return records
        with open(self.path, "rb") as handle:
            for line in handle:
                if not line.endswith(b"\n"):
                    continue
                try:
                    record = decoder.decode(line)
                except msgspec.DecodeError:
                    continue
                records[record.key] = record
        return records

    def compact(self, records: dict[str, SampleRecord]) -> None:
        """Rewrite the file with exactly ``records`` (atomic replace)."""
        write_bytes_atomic(self.path, (self._encode(record) + b"\n" for record in records.values()))

    def append(self, record: SampleRecord) -> None:
        if self._file is None:
            self._file = LineAppender(self.path)
        self._file.append(self._encode(record) + b"\n")  # in the OS now: survives kill -9
        now = time.monotonic()
        if now - self._last_sync > 1.0:  # and on disk at least every second: survives a crash
            self._file.sync()
            self._last_sync = now

    def close(self) -> None:
        """Sync to disk and close; after a write error, only close (never raises then)."""
        if self._file is not None:
            file, self._file = self._file, None
            file.close()
