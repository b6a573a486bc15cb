"""The journal of an eval run's sample records (``samples.jsonl``): how a run survives a kill and resumes.

One line per (sample, repeat), appended and flushed as each finishes, so ``kill -9`` loses
at most the line being written. On resume the file is compacted (last record per key, torn
lines dropped) and only keys without a final record are queried again; a record whose
request finally failed (``verdict == "error"``) is not final: resuming retries it.

The row itself, :class:`~assay.store.SampleRecord`, is part of the run format that ``store`` owns.
"""

from __future__ import annotations

from pathlib import Path

from assay.store import SAMPLE_SCHEMA_VERSION, SAMPLES_FILE, JsonlWriter, SampleRecord, read_samples, rewrite_jsonl
from assay.store import sample_key as record_key

__all__ = ["SAMPLES_FILE", "SAMPLE_SCHEMA_VERSION", "SampleJournal", "SampleRecord", "record_key"]


class SampleJournal:
    """Appends sample records durably; reads, deduplicates and compacts them on resume.

    Appends go through a :class:`~assay.store.JsonlWriter` (on disk at least every second): a write
    error raises :class:`StorageError` and cuts the file back to its last whole line, so every record
    written before stays readable; later appends raise the same error.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.path = run_dir / SAMPLES_FILE
        self._file: JsonlWriter | None = None

    def read(self) -> dict[str, SampleRecord]:
        """Last readable record per key (torn or corrupt lines are skipped)."""
        return read_samples(self.run_dir)[0]

    def compact(self, records: dict[str, SampleRecord]) -> None:
        """Rewrite the file with exactly ``records`` (atomic replace)."""
        rewrite_jsonl(self.path, records.values())

    def append(self, record: SampleRecord) -> None:
        if self._file is None:  # opened at the first append: after any compact, which replaces the file
            self._file = JsonlWriter(self.path, sync_every_s=1.0)
        self._file.write(record)  # in the OS now: survives kill -9; on disk within a second: survives a crash

    def close(self) -> None:
        """Sync to disk and close; after a write error, only close (never raises then)."""
        if self._file is not None:
            file, self._file = self._file, None
            file.close()
