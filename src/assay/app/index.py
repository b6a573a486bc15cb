"""The runs under an outputs folder: found by their ``run.json``, summarised, cached by mtime.

A run is addressed by its id, the path of its folder relative to the outputs folder
(``20261129_231339/my-model``). The app never builds a file path from what a request says:
it looks the id up here, and only then opens the files the index knows.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from assay.store.rundir import read_run

MAX_DEPTH = 4


@dataclass
class RunEntry:
    id: str
    path: Path
    kind: str
    model: str
    status: str
    started_epoch_s: float
    headline: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "model": self.model, "status": self.status,
                "started_epoch_s": self.started_epoch_s, "headline": self.headline}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _headline(kind: str, path: Path, run: dict[str, Any]) -> dict[str, Any]:
    if kind == "eval":
        report = _read_json(path / "report.json") or {}
        scores = {name: data["overall"].get("AveragePass@1") for name, data in (report.get("reports") or {}).items()}
        return {"benchmarks": run.get("config", {}).get("datasets", []), "scores": scores}
    summary = _read_json(path / "summary.json") or {}
    points = summary.get("points") or []
    best = max((p.get("rps", 0.0) for p in points), default=None)
    config = run.get("config", {})
    return {"points": len(points), "best_rps": best, "parallel": config.get("parallel"), "rate": config.get("rate")}


class RunIndex:
    """Scans ``outputs`` for run directories; re-reads a run only when its files changed."""

    def __init__(self, outputs: Path) -> None:
        self.outputs = outputs.resolve()
        self._entries: dict[str, RunEntry] = {}
        self._stamps: dict[str, float] = {}

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

    def _stamp(self, folder: Path) -> float:
        files = ("run.json", "report.json", "summary.json", "samples.jsonl", "requests.jsonl")
        return max(((folder / f).stat().st_mtime for f in files if (folder / f).exists()), default=0.0)

    def _load(self, run_id: str, folder: Path) -> None:
        """(Re-)read one run if its files changed since the last look."""
        stamp = self._stamp(folder)
        if self._stamps.get(run_id) == stamp and run_id in self._entries:
            return
        try:
            run = read_run(folder)  # also turns a dead writer's "running" into "interrupted"
        except Exception:
            return
        kind = str(run.get("kind", "?"))
        self._entries[run_id] = RunEntry(
            id=run_id, path=folder, kind=kind, model=str(run.get("config", {}).get("model")),
            status=str(run.get("status")), started_epoch_s=float(run.get("started_epoch_s") or 0.0),
            headline=_headline(kind, folder, run),
        )
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
        """The run with exactly this id, or None (ids are compared, never joined into paths)."""
        if run_id not in self._entries:
            self.refresh()
        entry = self._entries.get(run_id)
        if entry is not None:
            self._load(run_id, entry.path)  # a run in progress changes: follow it
            entry = self._entries.get(run_id)
        return entry


class SampleCache:
    """Parsed ``samples.jsonl`` / ``requests.jsonl`` per run, re-read when the file grows."""

    def __init__(self) -> None:
        self._cache: dict[Path, tuple[float, int, list[dict[str, Any]]]] = {}

    def rows(self, path: Path) -> list[dict[str, Any]]:
        if not path.exists():
            return []
        stat = path.stat()
        cached = self._cache.get(path)
        if cached and cached[0] == stat.st_mtime and cached[1] == stat.st_size:
            return cached[2]
        rows: dict[str, dict[str, Any]] = {}
        ordered: list[dict[str, Any]] = []
        decode = msgspec.json.decode
        with open(path, "rb") as handle:
            for line in handle:
                if not line.endswith(b"\n"):
                    continue
                try:
                    row = decode(line)
                except msgspec.DecodeError:
                    continue
                key = row.get("key")
                if key is None:
                    ordered.append(row)
                else:
                    rows[key] = row  # the last record of a key wins, as the journal reads it
        result = ordered or list(rows.values())
        self._cache[path] = (stat.st_mtime, stat.st_size, result)
        return result
