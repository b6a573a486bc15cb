"""The run directory: its layout and name, the run's life in ``run.json``, and the typed readers.

One layout for both kinds of run (``docs/run-directory.md`` documents it for users)::

    <outputs_dir>/<YYYYMMDD_HHMMSS>/<name>/
        run.json          PerfRun | EvalRun: kind, versions, config (no secrets), status, pid, ...
        requests.jsonl    perf: one RequestRecord per line, appended as each request ends
        points.jsonl      perf: one PointRecord per sweep point (client health, server metrics)
        summary.json      perf: PerfSummary (per-point metrics, best points, recommendations)
        report.txt        perf: the console report as plain text
        report.html       perf: the HTML report (and plots/*.svg), unless --no-html
        samples.jsonl     eval: one SampleRecord per line (the journal a resume reads)
        report.json       eval: EvalReport, computed from samples.jsonl alone
        report.md         eval: the score table as Markdown

A reader never trusts that a run finished: a ``running`` run whose pid is gone reads as
``interrupted``, and a torn last line of a ``.jsonl`` file is skipped and counted. A file a reader
cannot use raises :class:`RunFileError`, one line naming the file and what is wrong in it.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import time
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from assay.errors import AssayError, StorageError
from assay.store.atomic import write_json_atomic, write_json_last_resort
from assay.store.jsonl import read_jsonl
from assay.store.schema import (
    RECORD_SCHEMA_VERSION,
    REPORT_SCHEMA_VERSION,
    RUN_SCHEMA_VERSION,
    SAMPLE_SCHEMA_VERSION,
    SUMMARY_SCHEMA_VERSION,
    AnyRun,
    EvalReport,
    PerfSummary,
    PointRecord,
    RequestRecord,
    SampleRecord,
)

RUN_FILE = "run.json"
RECORDS_FILE = "requests.jsonl"
SAMPLES_FILE = "samples.jsonl"
SUMMARY_FILE = "summary.json"
POINTS_FILE = "points.jsonl"
REPORT_FILE = "report.txt"
HTML_REPORT_FILE = "report.html"
EVAL_REPORT_FILE = "report.json"
EVAL_REPORT_MD_FILE = "report.md"
PLOTS_DIR = "plots"
RUN_FILES = (RUN_FILE, EVAL_REPORT_FILE, SUMMARY_FILE, SAMPLES_FILE, RECORDS_FILE, HTML_REPORT_FILE)
"""The files a reader opens (``run.json`` first)."""

T = TypeVar("T")


class RunFileError(AssayError):
    """A run file a reader cannot use; the message names the file and says what is wrong, in one line."""


# ------------------------------------------------------------------------------------------- naming
def new_run_path(outputs_dir: str | os.PathLike[str], name: str) -> Path:
    """Make ``<outputs_dir>/<YYYYMMDD_HHMMSS>/<name>`` (``<name>-2``, ... if it exists already).

    ``name`` is made safe for a folder name (the run's name, or its model's). :class:`StorageError`
    if the folder cannot be made.
    """
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._") or "run"
    stamp = time.strftime("%Y%m%d_%H%M%S")
    base = Path(outputs_dir).expanduser() / stamp / safe
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{safe}-{n}")
    try:
        path.mkdir(parents=True)
    except OSError as exc:
        raise StorageError(exc.filename or path, exc) from None
    return path


# ---------------------------------------------------------------------------------------- lifecycle
class RunLifecycle:
    """``run.json`` of a run being written: ``running`` (with this pid) → ``finished`` | ``interrupted`` |
    ``failed``.

    The one place that writes a run's status, for perf and eval alike. ``run`` is the typed
    ``run.json`` (:class:`PerfRun` / :class:`EvalRun`); change its fields, then :meth:`save`.
    """

    def __init__(self, run_dir: Path, run: AnyRun) -> None:
        self.run_dir = run_dir
        self.path = run_dir / RUN_FILE
        self.run = run

    @classmethod
    def start(cls, run_dir: Path, run: AnyRun, *, started_epoch_s: float | None = None) -> RunLifecycle:
        """Mark ``run`` as ``running`` in this process and write it (:class:`StorageError` if it cannot be)."""
        run.status = "running"
        run.pid = os.getpid()
        run.started_epoch_s = time.time() if started_epoch_s is None else started_epoch_s
        run.finished_epoch_s = None
        run.error = None
        run.run_dir = str(run_dir)
        lifecycle = cls(run_dir, run)
        lifecycle.save()
        return lifecycle

    def save(self) -> None:
        """Write ``run.json`` as it is now, atomically (:class:`StorageError` if it cannot be)."""
        write_json_atomic(self.path, self.run)

    def end(self, status: str) -> None:
        """The run ended ``finished`` or ``interrupted``: say so (:class:`StorageError` if it cannot be written;
        then call :meth:`fail`)."""
        self.run.status = status
        self.run.finished_epoch_s = time.time()
        self.save()

    def fail(self, error: BaseException | str) -> bool:
        """The run stopped on ``error`` (a write error): mark it ``failed`` with the reason, as far as the disk
        still allows (an atomic replace, or on a full disk an in-place rewrite that needs no new space).
        The first error is kept if one was already recorded. Never raises; returns whether it was written."""
        self.run.status = "failed"
        self.run.error = self.run.error or str(error)
        self.run.finished_epoch_s = time.time()
        return write_json_last_resort(self.path, self.run)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (one we may not signal counts: it is someone's)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ----------------------------------------------------------------------------------------- reading
def run_file(run_dir: Path, name: str, *, inside: Path | None = None) -> Path | None:
    """``run_dir/name`` if it is there; with ``inside``, only a regular file that resolves inside that folder.

    A link that points out of ``inside`` raises :class:`RunFileError` (it is never followed); a file that
    is absent (or a fifo, a folder) is None.
    """
    path = run_dir / name
    if inside is None:
        return path if path.is_file() else None
    try:
        resolved = path.resolve(strict=True)
        resolved.relative_to(inside)
        if not stat.S_ISREG(os.stat(resolved).st_mode):
            return None
    except ValueError:
        raise RunFileError(f"{name} is a link to a file outside the outputs folder (not followed)") from None
    except (OSError, RuntimeError):
        if path.is_symlink():
            raise RunFileError(f"{name} is a link to a file outside the outputs folder (not followed)") from None
        return None
    return resolved


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str) or (isinstance(value, float) and not math.isfinite(value)):
        return repr(value)
    return {dict: "an object", list: "a list", bool: "a boolean"}.get(type(value), "a number")


_EXPECTED = {"object": "an object", "array": "a list", "str": "a string", "int": "a whole number",
             "float": "a number", "bool": "a boolean", "null": "null"}
_GOT = {"object": dict, "array": list, "str": str, "int": int, "float": float, "bool": bool, "null": type(None)}
_ERROR = re.compile(r"Expected `(?P<expected>[^`]*)`, got `(?P<got>[^`]*)`(?: - at `\$(?P<path>[^`]*)`)?")
_STEP = re.compile(r"\.([A-Za-z0-9_@]+)|\[(\d+|\.\.\.)\]")


def _find(value: Any, steps: list[tuple[str, str]], got: type) -> tuple[str, Any] | None:
    """Follow a msgspec error path (whose ``[...]`` hides a dict key) to the value of type ``got``."""
    if not steps:
        return ("", value) if isinstance(value, got) and not (got is int and isinstance(value, bool)) else None
    (field, index), rest = steps[0], steps[1:]
    if field:
        candidates = [(f".{field}", value.get(field))] if isinstance(value, dict) and field in value else []
    elif index == "...":
        candidates = [(f"[{key!r}]", item) for key, item in value.items()] if isinstance(value, dict) else []
    else:
        position = int(index)
        candidates = ([(f"[{position}]", value[position])] if isinstance(value, list) and position < len(value)
                      else [])
    for label, item in candidates:
        found = _find(item, rest, got)
        if found is not None:
            return label + found[0], found[1]
    return None


def _why(name: str, raw: Any, error: msgspec.ValidationError) -> str:
    """A validation error in the words of the file: ``config is null, not an object``."""
    match = _ERROR.match(str(error))
    if match is None:
        return f"{name}: {error}"
    path = match["path"] or ""
    expected = " or ".join(_EXPECTED.get(t, t) for t in match["expected"].split(" | "))
    steps = [(m[1] or "", m[2] or "") for m in _STEP.finditer(path)]
    found = _find(raw, steps, _GOT.get(match["got"], object))
    where, value = found if found is not None else (path, None)
    if not where:
        return f"{name} holds {_type_name(raw)}, not {expected}"
    return f"{name}: {where.lstrip('.')} is {_type_name(value)}, not {expected}"


def read_json_file(run_dir: Path, name: str, type_: type[T], *, inside: Path | None = None) -> T | None:
    """A JSON run file decoded as ``type_`` (None if absent); :class:`RunFileError` saying what is wrong.

    Read as Python reads JSON (``NaN`` and lone surrogates, which assay and other writers may
    write, are kept; presenting code cleans them), then checked against the schema: fields it
    lacks take their defaults, fields it does not know are ignored.
    """
    path = run_file(run_dir, name, inside=inside)
    if path is None:
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunFileError(f"{name}: {exc}") from None
    return _convert(name, raw, type_)


def _convert(name: str, raw: Any, type_: type[T]) -> T:
    try:
        return msgspec.convert(raw, type_)
    except msgspec.ValidationError as exc:
        raise RunFileError(_why(name, raw, exc)) from None


def _check_version(name: str, found: Any, known: int) -> None:
    if isinstance(found, int) and found > known:
        raise RunFileError(f"{name} was written by a newer assay (schema {found}; this one reads up to {known}); "
                           f"upgrade assay")


def read_run_info(run_dir: str | os.PathLike[str], *, inside: Path | None = None) -> AnyRun:
    """``run.json`` of a run directory, typed, with a dead writer's ``running`` read as ``interrupted``.

    :class:`RunFileError` if it is missing, not JSON, not a run of a known kind, from a newer assay,
    or holds a field of the wrong type (``started_epoch_s is 'yesterday', not a number``).
    """
    folder = Path(run_dir)
    path = run_file(folder, RUN_FILE, inside=inside)
    if path is None:
        raise RunFileError(f"{folder} is not an assay run directory (no {RUN_FILE})")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunFileError(f"{RUN_FILE}: {exc}") from None
    if not isinstance(raw, dict):
        raise RunFileError(f"{RUN_FILE} holds {_type_name(raw)}, not an object")
    if raw.get("kind") not in ("eval", "perf"):
        raise RunFileError(f"{RUN_FILE}: kind is {raw.get('kind')!r}, not 'eval' or 'perf'")
    if raw.get("started_epoch_s", 0.0) is None:  # early runs could leave it empty
        raw["started_epoch_s"] = 0.0
    _check_version(RUN_FILE, raw.get("schema_version"), RUN_SCHEMA_VERSION)
    _check_version(f"{RUN_FILE} (requests.jsonl rows)", raw.get("record_schema_version"), RECORD_SCHEMA_VERSION)
    _check_version(f"{RUN_FILE} (samples.jsonl rows)", raw.get("sample_schema_version"), SAMPLE_SCHEMA_VERSION)
    run: AnyRun = _convert(RUN_FILE, raw, AnyRun)  # type: ignore[arg-type]
    if not math.isfinite(run.started_epoch_s):
        raise RunFileError(f"{RUN_FILE}: started_epoch_s is {run.started_epoch_s!r}, not a number of seconds")
    if run.status == "running" and not pid_alive(run.pid):
        run.status = "interrupted"
    return run


def read_summary(run_dir: Path, *, inside: Path | None = None) -> PerfSummary | None:
    """A perf run's ``summary.json`` (None if it has none yet)."""
    summary = read_json_file(run_dir, SUMMARY_FILE, PerfSummary, inside=inside)
    if summary is not None:
        _check_version(SUMMARY_FILE, summary.schema_version, SUMMARY_SCHEMA_VERSION)
    return summary


def read_eval_report(run_dir: Path, *, inside: Path | None = None) -> EvalReport | None:
    """An eval run's ``report.json`` (None if it has none yet)."""
    report = read_json_file(run_dir, EVAL_REPORT_FILE, EvalReport, inside=inside)
    if report is not None:
        _check_version(EVAL_REPORT_FILE, report.schema_version, REPORT_SCHEMA_VERSION)
    return report


def read_requests(run_dir: Path) -> tuple[list[RequestRecord], int]:
    """A perf run's requests, in file order, and the number of torn or unreadable lines skipped."""
    return read_jsonl(run_dir / RECORDS_FILE, RequestRecord)


def read_samples(run_dir: Path) -> tuple[dict[str, SampleRecord], int]:
    """An eval run's samples, the last row of each key winning (at the place of its first), and the
    number of torn or unreadable lines skipped."""
    rows, skipped = read_jsonl(run_dir / SAMPLES_FILE, SampleRecord)
    return {row.key: row for row in rows}, skipped


def read_points(run_dir: Path) -> tuple[list[PointRecord], int]:
    """A perf run's sweep points as measured (none for a run written before ``points.jsonl``)."""
    return read_jsonl(run_dir / POINTS_FILE, PointRecord)


def read_records(path: Path) -> tuple[list[RequestRecord], int]:
    """The rows of one ``requests.jsonl`` file (see :func:`read_requests`)."""
    return read_jsonl(path, RequestRecord)


def read_run(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``run.json`` as a plain dict (for code not yet on :func:`read_run_info`, which it wraps)."""
    return dict(msgspec.to_builtins(read_run_info(path)))
