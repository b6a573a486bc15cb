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

import math
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from assay.store import (
    EVAL_REPORT_FILE,
    RECORDS_FILE,
    RUN_FILE,
    RUN_FILES,
    SAMPLES_FILE,
    SUMMARY_FILE,
    AnyRun,
    RunFileError,
    read_eval_report,
    read_run_info,
    read_summary,
    run_file,
)
from assay.store.lineindex import LineIndex

MAX_DEPTH = 4
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
STAMPED_FILES = (RUN_FILE, EVAL_REPORT_FILE, SUMMARY_FILE, SAMPLES_FILE, RECORDS_FILE)
"""The files whose change changes what the list shows of a run."""

Unreadable = RunFileError
"""A run file the app cannot use; the message says which file and why, in one line (the store's reader says it)."""


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


def _headline(root: Path, path: Path, run: AnyRun) -> dict[str, Any]:
    if run.kind == "eval":
        report = read_eval_report(path, inside=root)
        reports = report.reports if report is not None else {}
        scores = {name: data.overall.get("AveragePass@1") for name, data in reports.items()}
        return {"benchmarks": run.config.get("datasets", []), "scores": scores}
    summary = read_summary(path, inside=root)
    points = summary.points if summary is not None else []
    rps = [r for r in (_number(p.get("rps")) for p in points) if r is not None and math.isfinite(r)]
    return {"points": len(points), "best_rps": max(rps, default=None), "parallel": run.config.get("parallel"),
            "rate": run.config.get("rate")}


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
            if RUN_FILE in files:
                found.append(Path(folder))
                dirs[:] = []  # a run's own folders hold no runs
            elif depth >= MAX_DEPTH:
                dirs[:] = []
        return found

    def _stamp(self, folder: Path) -> tuple[float, ...]:
        stamps = []
        for name in STAMPED_FILES:
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
            # A link out, not JSON, a field of the wrong type: said by the store's reader, which also
            # turns a dead writer's "running" into "interrupted".
            run = read_run_info(folder, inside=self.outputs)
            entry = RunEntry(
                id=run_id, path=folder, kind=run.kind, model=run.model, status=run.status,
                started_epoch_s=run.started_epoch_s, headline=_headline(self.outputs, folder, run),
            )
            if has_bad_text(msgspec.to_builtins(run)):
                entry.warnings.append("run.json holds text that is not valid Unicode (shown as \ufffd)")
            for name in RUN_FILES:
                try:
                    run_file(folder, name, inside=self.outputs)
                except RunFileError as exc:
                    entry.warnings.append(str(exc))
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
        """A run's file, if it is a regular file inside the outputs folder (a link out is None)."""
        try:
            return run_file(entry.path, name, inside=self.outputs)
        except RunFileError:
            return None


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
