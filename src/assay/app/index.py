"""The runs under an outputs folder: found by their ``run.json``, checked, summarised, cached by mtime.

A run is addressed by its id, the path of its folder relative to the outputs folder
(``20261129_231339/my-model``). The app never builds a file path from what a request says:
it looks the id up here, and only then opens the files the index knows, and only when they are
regular files that resolve inside the outputs folder (a ``report.html -> /etc/passwd`` link is
not followed).

A run whose files the app cannot make sense of (``config`` not an object, a start time that is not
a number, ``points`` that are not objects, ...) is listed as unreadable with the reason; it never
takes the list down.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from assay.store.rundir import read_run

MAX_DEPTH = 4
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
RUN_FILES = ("run.json", "report.json", "summary.json", "samples.jsonl", "requests.jsonl", "report.html")


class Unreadable(Exception):
    """A run file the app cannot use; the message says which file and why, in one line."""


def clean(value: Any) -> Any:
    """``value`` made safe to send as JSON: NaN and infinities become null, a lone surrogate becomes U+FFFD."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {clean(k) if isinstance(k, str) else k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def has_bad_text(value: Any) -> bool:
    """Whether any string in ``value`` holds a lone surrogate (text that is not valid Unicode)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return False
        except UnicodeEncodeError:
            return True
    if isinstance(value, dict):
        return any(has_bad_text(k) or has_bad_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_bad_text(v) for v in value)
    return False


def safe_file(root: Path, folder: Path, name: str) -> Path | None:
    """``folder/name`` resolved, if it is a regular file inside ``root``; None otherwise (missing, a link out, a fifo)."""
    try:
        resolved = (folder / name).resolve(strict=True)
        resolved.relative_to(root)
        if not stat.S_ISREG(os.stat(resolved).st_mode):
            return None
    except (OSError, ValueError, RuntimeError):
        return None
    return resolved


def _is_link_out(root: Path, folder: Path, name: str) -> bool:
    path = folder / name
    return path.is_symlink() and safe_file(root, folder, name) is None


def read_json_file(root: Path, folder: Path, name: str) -> Any:
    """The parsed file, or None if it is absent; :class:`Unreadable` if it is a link out or not JSON."""
    if _is_link_out(root, folder, name):
        raise Unreadable(f"{name} is a link to a file outside the outputs folder (not followed)")
    path = safe_file(root, folder, name)
    if path is None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Unreadable(f"{name}: {exc}") from None


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")


def checked_run(run: Any) -> dict[str, Any]:
    """``run.json`` with the fields the app relies on checked (:class:`Unreadable` says which is wrong)."""
    if not isinstance(run, dict):
        raise Unreadable(f"run.json holds {_type_name(run)}, not an object")
    if run.get("kind") not in ("eval", "perf"):
        raise Unreadable(f"run.json: kind is {run.get('kind')!r}, not 'eval' or 'perf'")
    if "config" in run and not isinstance(run["config"], dict):
        raise Unreadable(f"run.json: config is {_type_name(run['config'])}, not an object")
    started = run.get("started_epoch_s", 0.0)
    if started is None:
        started = 0.0
    if isinstance(started, bool) or not isinstance(started, int | float) or not math.isfinite(started):
        raise Unreadable(f"run.json: started_epoch_s is {started!r}, not a number of seconds")
    return run


def checked_report(report: Any) -> dict[str, Any]:
    """``report.json``'s ``reports``: benchmark -> {overall, subsets}, each an object."""
    if report is None:
        return {}
    if not isinstance(report, dict):
        raise Unreadable(f"report.json holds {_type_name(report)}, not an object")
    reports = report.get("reports", {})
    if reports is None:
        reports = {}
    if not isinstance(reports, dict):
        raise Unreadable(f"report.json: reports is {_type_name(reports)}, not an object")
    for name, data in reports.items():
        if not isinstance(data, dict):
            raise Unreadable(f"report.json: reports[{name!r}] is {_type_name(data)}, not an object")
        for part in ("overall", "subsets"):
            if part in data and not isinstance(data[part], dict):
                raise Unreadable(f"report.json: reports[{name!r}].{part} is {_type_name(data[part])}, not an object")
        for subset, values in (data.get("subsets") or {}).items():
            if not isinstance(values, dict):
                raise Unreadable(f"report.json: {name} subset {subset!r} is {_type_name(values)}, not an object")
    return reports


def checked_summary(summary: Any) -> dict[str, Any]:
    """``summary.json`` with ``points`` a list of objects."""
    if summary is None:
        return {}
    if not isinstance(summary, dict):
        raise Unreadable(f"summary.json holds {_type_name(summary)}, not an object")
    points = summary.get("points", [])
    if points is not None and not isinstance(points, list):
        raise Unreadable(f"summary.json: points is {_type_name(points)}, not a list")
    for i, point in enumerate(points or []):
        if not isinstance(point, dict):
            raise Unreadable(f"summary.json: points[{i}] is {_type_name(point)}, not an object")
    return summary


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass
class RunEntry:
    id: str
    path: Path
    kind: str
    model: str
    status: str
    started_epoch_s: float
    headline: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None
    """Why the run cannot be read (then ``status`` is ``unreadable``)."""
    warnings: list[str] = field(default_factory=list)
    """What was shown other than as written (text with a lone surrogate)."""

    def public(self) -> dict[str, Any]:
        return clean({"id": self.id, "kind": self.kind, "model": self.model, "status": self.status,
                      "started_epoch_s": self.started_epoch_s, "headline": self.headline,
                      "problem": self.problem, "warnings": self.warnings})


def _headline(kind: str, root: Path, path: Path, run: dict[str, Any]) -> dict[str, Any]:
    config = run.get("config") or {}
    if kind == "eval":
        reports = checked_report(read_json_file(root, path, "report.json"))
        scores = {name: (data.get("overall") or {}).get("AveragePass@1") for name, data in reports.items()}
        return {"benchmarks": config.get("datasets", []), "scores": scores}
    summary = checked_summary(read_json_file(root, path, "summary.json"))
    points = summary.get("points") or []
    rps = [r for r in (_number(p.get("rps")) for p in points) if r is not None and math.isfinite(r)]
    return {"points": len(points), "best_rps": max(rps, default=None), "parallel": config.get("parallel"),
            "rate": config.get("rate")}


class RunIndex:
    """Scans ``outputs`` for run directories; re-reads a run only when its files changed."""

    def __init__(self, outputs: Path) -> None:
        self.outputs = outputs.resolve()
        self._entries: dict[str, RunEntry] = {}
        self._stamps: dict[str, tuple[float, ...]] = {}

    def _run_dirs(self) -> list[Path]:
        found = []
        root_depth = len(self.outputs.parts)
        for folder, dirs, files in os.walk(self.outputs, followlinks=False):
            depth = len(Path(folder).parts) - root_depth
            if "run.json" in files:
                found.append(Path(folder))
                dirs[:] = []  # a run's own folders hold no runs
            elif depth >= MAX_DEPTH:
                dirs[:] = []
        return found

    def _stamp(self, folder: Path) -> tuple[float, ...]:
        stamps = []
        for name in RUN_FILES[:5]:
            try:
                stamps.append(os.lstat(folder / name).st_mtime)
            except OSError:
                stamps.append(0.0)
        return tuple(stamps)

    def _load(self, run_id: str, folder: Path) -> None:
        """(Re-)read one run if its files changed since the last look; a run that cannot be read says why."""
        stamp = self._stamp(folder)
        if self._stamps.get(run_id) == stamp and run_id in self._entries:
            return
        try:
            read_json_file(self.outputs, folder, "run.json")  # a link out, or not JSON: said here
            run = checked_run(read_run(folder))  # read_run turns a dead writer's "running" into "interrupted"
            kind = run["kind"]
            config = run.get("config") or {}
            entry = RunEntry(
                id=run_id, path=folder, kind=kind, model=str(config.get("model")), status=str(run.get("status")),
                started_epoch_s=float(run.get("started_epoch_s") or 0.0),
                headline=_headline(kind, self.outputs, folder, run),
            )
            if has_bad_text(run):
                entry.warnings.append("run.json holds text that is not valid Unicode (shown as \ufffd)")
            for name in RUN_FILES:
                if _is_link_out(self.outputs, folder, name):
                    entry.warnings.append(f"{name} is a link to a file outside the outputs folder (not followed)")
        except Exception as exc:
            reason = str(exc).replace(str(folder) + "/", "").replace(str(folder), "")
            entry = RunEntry(id=run_id, path=folder, kind="?", model="?", status="unreadable", started_epoch_s=0.0,
                             problem=reason or type(exc).__name__)
        self._entries[run_id] = entry
        self._stamps[run_id] = stamp

    def refresh(self) -> list[RunEntry]:
        seen = set()
        for folder in self._run_dirs():
            run_id = folder.relative_to(self.outputs).as_posix()
            seen.add(run_id)
            self._load(run_id, folder)
        for gone in set(self._entries) - seen:
            self._entries.pop(gone, None)
            self._stamps.pop(gone, None)
        return sorted(self._entries.values(), key=lambda e: e.started_epoch_s, reverse=True)

    def get(self, run_id: str) -> RunEntry | None:
        """The readable run with exactly this id, or None (ids are compared, never joined into paths)."""
        if run_id not in self._entries:
            self.refresh()
        entry = self._entries.get(run_id)
        if entry is not None:
            self._load(run_id, entry.path)  # a run in progress changes: follow it
            entry = self._entries.get(run_id)
        return entry if entry is not None and entry.problem is None else None

    def problem(self, run_id: str) -> str | None:
        """Why the run with this id cannot be read, if it is listed as unreadable."""
        entry = self._entries.get(run_id)
        return entry.problem if entry is not None else None

    def file(self, entry: RunEntry, name: str) -> Path | None:
        """A run's file, if it is a regular file inside the outputs folder."""
        return safe_file(self.outputs, entry.path, name)


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
    """One JSONL record, or None if the line is not a JSON object."""
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


class SampleCache:
    """A :class:`LineIndex` per ``samples.jsonl`` / ``requests.jsonl``, rebuilt when the file changes.

    Bounded: at most ``max_bytes`` of indexes stay (the least recently used go first). A file is
    never held in memory parsed: pages and searches read its lines from disk.
    """

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._cache: OrderedDict[Path, LineIndex] = OrderedDict()
        self._lock = threading.Lock()  # searches run in worker threads
        self._building: dict[Path, threading.Lock] = {}

    def load(self, path: Path | None) -> LineIndex:
        if path is None:
            return LineIndex(None)
        try:
            stat_ = path.stat()
        except OSError:
            return LineIndex(None)
        with self._lock:
            building = self._building.setdefault(path, threading.Lock())
        with building:  # two searches of one new run: one reads the file, the other waits for its index
            with self._lock:
                cached = self._cache.get(path)
                if cached is not None and cached.mtime == stat_.st_mtime and cached.size == stat_.st_size:
                    self._cache.move_to_end(path)
                    return cached
            try:
                index = LineIndex.build(path, cached)
            except OSError:
                return LineIndex(None)
            with self._lock:
                self._cache[path] = index
                self._cache.move_to_end(path)
                while len(self._cache) > 1 and sum(c.nbytes for c in self._cache.values()) > self.max_bytes:
                    self._cache.popitem(last=False)
        return index
