"""Where each row of a big ``samples.jsonl`` / ``requests.jsonl`` is, so a reader pages, filters, searches
and sorts it reading only the lines it needs: a 400 MB run costs a few megabytes of index, not its size in
parsed objects (the app's pages of samples and requests read runs through it).

Rows are decoded by :func:`decode_row`, the store's lenient row reader: what msgspec reads, and also
what Python's reader takes and some writers write (a lone surrogate, ``NaN``), so a row is shown
as it was written, fields a newer assay added included.
"""

from __future__ import annotations

import json
import os
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import msgspec
import numpy as np


class _Summary(msgspec.Struct):
    """The few fields of a JSONL record the index keeps; the rest of the line is skipped, not decoded."""

    key: Any = None
    benchmark: Any = None
    subset: Any = None
    sample_id: Any = None
    verdict: Any = None


_decode_summary = msgspec.json.Decoder(_Summary).decode
READ_WINDOW_BYTES = 4 * 1024 * 1024
MEMO_MAX = 6


def decode_row(line: bytes) -> dict[str, Any] | None:
    """One JSONL row as an object, or None if the line is not a JSON object (torn, not JSON, a list)."""
    try:
        row = msgspec.json.decode(line)
    except msgspec.DecodeError:
        try:  # a lone surrogate or NaN: Python's reader takes them; clean() replaces them on the way out
            row = json.loads(line)
        except ValueError:
            return None
    return row if isinstance(row, dict) else None


def _summarise(line: bytes) -> _Summary | None:
    try:
        return _decode_summary(line)
    except msgspec.ValidationError:  # valid JSON, not an object
        return None
    except msgspec.DecodeError:
        row = decode_row(line)
        if row is None:
            return None
        return _Summary(**{name: row.get(name) for name in _Summary.__struct_fields__})


class _Codes:
    """Distinct values as small integers, so a column of a million rows is a numpy array, not a list of str."""

    def __init__(self) -> None:
        self.names: list[Any] = []
        self.ids: dict[Any, int] = {}

    def code(self, name: Any) -> int:
        found = self.ids.get(name)
        if found is None:
            found = self.ids[name] = len(self.names)
            self.names.append(name)
        return found


class _Builder:
    """What reading a JSONL file has found so far; kept so that a file that grew (a run in progress)
    is read on from where the last read stopped, not from the start."""

    TAIL_BYTES = 256

    def __init__(self) -> None:
        self.offsets, self.lengths = array("q"), array("q")
        self.verdicts, self.groups, self.samples = array("i"), array("i"), array("i")
        self.loose_offsets, self.loose_lengths = array("q"), array("q")
        self.verdict_codes, self.group_codes, self.sample_codes = _Codes(), _Codes(), _Codes()
        self.keys: list[str] = []
        self.positions: dict[str, int] = {}
        self.skipped = 0
        self.end = 0  # the end of the last whole line read
        self.head = b""  # the file's first bytes and those just before ``end``: a rewritten file is noticed
        self.tail = b""
        self.inode = -1

    def read(self, path: Path) -> None:
        """Read whole lines from ``end`` on (the line being written is left for the next time)."""
        with open(path, "rb") as handle:
            self.inode = os.fstat(handle.fileno()).st_ino
            handle.seek(self.end)
            offset = self.end
            for line in handle:
                if not line.endswith(b"\n"):
                    break  # the line being written
                start, offset = offset, offset + len(line)
                self._add(start, line)
            self.end = offset
            handle.seek(0)
            self.head = handle.read(min(offset, self.TAIL_BYTES))
            handle.seek(max(0, offset - self.TAIL_BYTES))
            self.tail = handle.read(offset - max(0, offset - self.TAIL_BYTES))

    def grew_from(self, path: Path, stat_: os.stat_result) -> bool:
        """Whether the file is the one read before, with lines added after ``end``: the same inode, and
        the same first and last bytes of what was read (a file rewritten in place shows in one of them,
        unless only its middle changed: the journals are only ever appended to)."""
        if stat_.st_ino != self.inode or stat_.st_size < self.end:
            return False
        try:
            with open(path, "rb") as handle:
                if handle.read(len(self.head)) != self.head:
                    return False
                handle.seek(self.end - len(self.tail))
                return handle.read(len(self.tail)) == self.tail
        except OSError:
            return False

    def _add(self, start: int, line: bytes) -> None:
        summary = _summarise(line)
        if summary is None:
            self.skipped += 1
            return
        key = summary.key
        if key is None:
            self.loose_offsets.append(start)
            self.loose_lengths.append(len(line))
            return
        if not isinstance(key, str):
            self.skipped += 1
            return
        verdict = self.verdict_codes.code(str(summary.verdict if summary.verdict is not None else "error"))
        group = self.group_codes.code((str(summary.benchmark), str(summary.subset)))
        sample = self.sample_codes.code(str(summary.sample_id))
        position = self.positions.get(key)
        if position is None:
            self.positions[key] = len(self.keys)
            self.keys.append(key)
            self.offsets.append(start)
            self.lengths.append(len(line))
            self.verdicts.append(verdict)
            self.groups.append(group)
            self.samples.append(sample)
        else:  # the last record of a key wins, at the place of its first
            self.offsets[position], self.lengths[position] = start, len(line)
            self.verdicts[position], self.groups[position], self.samples[position] = verdict, group, sample

    def index(self, path: Path, mtime: float, size: int) -> LineIndex:
        """A snapshot: its arrays are copies, so a later read on never changes what a request is using.
        The key list and lookup are shared and only grow; a snapshot looks only at its first ``len`` keys."""
        index = LineIndex(path, mtime, size)
        index.builder = self
        if self.loose_offsets:  # records without keys (requests): every one, in file order
            index.offsets = np.frombuffer(self.loose_offsets, np.int64).copy()
            index.lengths = np.frombuffer(self.loose_lengths, np.int64).copy()
            return index
        index.keys, index.positions = self.keys, self.positions
        index.offsets = np.frombuffer(self.offsets, np.int64).copy()
        index.lengths = np.frombuffer(self.lengths, np.int64).copy()
        index.verdicts = np.frombuffer(self.verdicts, np.int32).copy()
        index.groups = np.frombuffer(self.groups, np.int32).copy()
        index.sample_codes = np.frombuffer(self.samples, np.int32).copy()
        index.verdict_names, index.group_names, index.sample_names = (
            self.verdict_codes.names, self.group_codes.names, self.sample_codes.names)
        index.skipped = self.skipped
        return index


class LineIndex:
    """Where each record of one ``samples.jsonl`` / ``requests.jsonl`` is (byte offset and length), and a
    few fields of it (key, verdict, benchmark and subset, sample id) as small integers.

    Pages, searches and sorts read the lines they need from the file: a 400 MB run costs a few
    megabytes of index, not its size in parsed objects. Records with a ``key`` (samples) are
    deduplicated, the last record of a key winning at the place of its first (as the journal reads
    it); records without one (requests) are kept in file order. Lines that are torn (the one being
    written), not JSON, or not objects are skipped and counted.
    """

    def __init__(self, path: Path | None, mtime: float = 0.0, size: int = 0) -> None:
        self.path, self.mtime, self.size = path, mtime, size
        self.builder: _Builder | None = None
        self.keys: list[str] = []
        self.positions: dict[str, int] = {}
        self.verdict_names: list[str] = []
        self.group_names: list[tuple[str, str]] = []
        self.sample_names: list[str] = []
        self.offsets = np.zeros(0, np.int64)
        self.lengths = np.zeros(0, np.int64)
        self.verdicts = np.zeros(0, np.int32)
        self.groups = np.zeros(0, np.int32)
        self.sample_codes = np.zeros(0, np.int32)
        self.skipped = 0
        self._memo: OrderedDict[Any, Any] = OrderedDict()
        self._memo_lock = threading.Lock()

    @classmethod
    def build(cls, path: Path, previous: LineIndex | None = None) -> LineIndex:
        """Read the file line by line, keeping offsets and the summary fields only; from where
        ``previous`` stopped if the file only grew since."""
        stat_ = path.stat()
        builder = previous.builder if previous is not None else None
        if builder is None or not builder.grew_from(path, stat_):
            builder = _Builder()
        builder.read(path)
        return builder.index(path, stat_.st_mtime, stat_.st_size)

    def position_of(self, key: str) -> int | None:
        """The row of a sample's key, if this snapshot holds it."""
        position = self.positions.get(key)
        return position if position is not None and position < len(self) else None

    def row_keys(self) -> list[str]:
        return self.keys[:len(self)]

    def __len__(self) -> int:
        return len(self.offsets)

    @cached_property
    def nbytes(self) -> int:
        """About what the index holds in memory (arrays, twice: its own and its reader's; keys and lookup)."""
        arrays = 2 * sum(a.nbytes for a in (self.offsets, self.lengths, self.verdicts, self.groups, self.sample_codes))
        return arrays + sum(len(k) + 150 for k in self.keys) + 80 * len(self.sample_names) + 1024

    def select(self, *, benchmark: str | None = None, subset: str | None = None,
               sample: str | None = None) -> np.ndarray:
        """Positions (in row order) of the records in this benchmark, subset and sample."""
        mask = np.ones(len(self), bool)
        if benchmark or subset:
            wanted = [i for i, (b, s) in enumerate(self.group_names)
                      if (not benchmark or b == benchmark) and (not subset or s == subset)]
            mask &= np.isin(self.groups, wanted)
        if sample:
            mask &= self.sample_codes == (self.sample_names.index(sample) if sample in self.sample_names else -1)
        return np.flatnonzero(mask)

    def with_verdict(self, positions: np.ndarray, verdict: str) -> np.ndarray:
        code = self.verdict_names.index(verdict) if verdict in self.verdict_names else -1
        return positions[self.verdicts[positions] == code]

    def verdict_counts(self, positions: np.ndarray) -> dict[str, int]:
        names = list(self.verdict_names)  # a run read on may add a verdict meanwhile
        counts = np.bincount(self.verdicts[positions], minlength=len(names))
        return {name: int(n) for name, n in zip(names, counts, strict=False)}

    def verdict_of(self, position: int) -> str:
        return self.verdict_names[int(self.verdicts[position])]

    def group_of(self, position: int) -> tuple[str, str]:
        return self.group_names[int(self.groups[position])]

    def sample_of(self, position: int) -> str:
        return self.sample_names[int(self.sample_codes[position])]

    def iter_rows(self, positions: Any, keep: Callable[[bytes], bool] | None = None,
                  ) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(position, record)`` for each position, in file order, read through a window of a few MB:
        memory stays bounded however many records are read. ``keep`` may pass over a line undecoded."""
        positions = np.asarray(positions, np.int64)
        if self.path is None or not len(positions):
            return
        ordered = positions[np.argsort(self.offsets[positions], kind="stable")]
        window, window_start = b"", 0
        with open(self.path, "rb") as handle:
            for position in ordered.tolist():
                start, length = int(self.offsets[position]), int(self.lengths[position])
                if start < window_start or start + length > window_start + len(window):
                    handle.seek(start)
                    window, window_start = handle.read(max(READ_WINDOW_BYTES, length)), start
                line = window[start - window_start:start - window_start + length]
                if keep is not None and not keep(line):
                    continue
                row = decode_row(line)
                if row is not None:  # None: the file changed under the index; the next request re-reads it
                    yield position, row

    def rows(self, positions: Any) -> list[dict[str, Any]]:
        """The records at these positions, in the order given."""
        found = dict(self.iter_rows(positions))
        return [found[p] for p in np.asarray(positions, np.int64).tolist() if p in found]

    def memo(self, key: Any, compute: Any) -> Any:
        """A search's or sort's result, kept for the next page (a few per file, least recently used out)."""
        with self._memo_lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        value = compute()
        with self._memo_lock:
            self._memo[key] = value
            while len(self._memo) > MEMO_MAX:
                self._memo.popitem(last=False)
        return value
