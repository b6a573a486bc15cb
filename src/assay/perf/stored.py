"""Re-read a stored perf run and re-print its report (no request is sent)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from assay.errors import AssayError, StorageError
from assay.perf import metrics
from assay.store import (
    RECORDS_FILE,
    SUMMARY_FILE,
    PerfRun,
    PointRecord,
    RunFileError,
    read_points,
    read_requests,
    read_run_info,
    read_summary,
    write_json_atomic,
)

if TYPE_CHECKING:
    from rich.console import Console


def read_perf_run(run_dir: str | Path) -> PerfRun:
    """``run.json`` of a perf run (:class:`AssayError` naming the kind it is, if it is another)."""
    path = Path(run_dir)
    run = read_run_info(path)
    if not isinstance(run, PerfRun):
        raise AssayError(f"{path} is a {run.kind} run, not a perf run")
    return run


def as_perf_run(run: PerfRun | dict[str, Any]) -> PerfRun:
    """The typed ``run.json``; a plain dict (what the runner held before the typed format) is checked into one."""
    return run if isinstance(run, PerfRun) else msgspec.convert({**run, "kind": "perf"}, PerfRun)


def rebuild_summary(run_dir: Path, run: PerfRun) -> dict[str, Any]:
    """``summary.json`` made again from ``requests.jsonl`` and ``points.jsonl``, by the functions the live
    run used (:func:`metrics.point_summary`, :func:`metrics.run_summary`), so the two agree.

    A point the run did not finish (or a run written before ``points.jsonl``) has no row there: its
    load comes from the records and the config, and it has no client or server figures.
    """
    records, _skipped = read_requests(run_dir)
    measured = {p.point: p for p in read_points(run_dir)[0]}
    config = run.config
    rates = config.get("rate") or []
    numbers = config.get("number") or []
    by_point: dict[int, list[Any]] = {}
    for record in records:
        if record.point >= 0:
            by_point.setdefault(record.point, []).append(record)
    points = []
    for point, rows in sorted(by_point.items()):
        info = measured.get(point) or PointRecord(
            point=point, concurrency=rows[0].concurrency,
            number=numbers[point] if point < len(numbers) else (numbers[0] if numbers else len(rows)),
            rate=rates[point] if point < len(rates) else None,
        )
        points.append(metrics.point_summary(rows, info, run))
    return metrics.run_summary(points, run)


def load_summary(run_dir: Path, run: PerfRun | dict[str, Any]) -> dict[str, Any]:
    """``summary.json`` of a finished run, or one rebuilt from the records when the run did not finish
    (or its summary cannot be read)."""
    run = as_perf_run(run)
    if run.status == "finished":
        try:
            summary = read_summary(run_dir)
        except RunFileError:
            summary = None
        if summary is not None:
            return dict(msgspec.to_builtins(summary))
    return rebuild_summary(run_dir, run)


def planned_requests(config: dict[str, Any]) -> int | None:
    """Requests the sweep meant to measure, when that was fixed in advance (not by time or a search)."""
    numbers = config.get("number") or []
    if not numbers or config.get("duration") or config.get("slo_search"):
        return None
    points = len(config.get("rate") or config.get("parallel") or [1])
    return sum(numbers[i] if len(numbers) > 1 else numbers[0] for i in range(points))


def report_run(run_dir: str | Path, console: Console | None = None) -> str:
    """Print the report of a stored run; returns its plain text.

    A run that did not finish is rebuilt from its records: ``summary.json`` is rewritten from
    them, and a line says how many of the planned requests were recorded.
    """
    from assay.perf.report import print_report

    path = Path(run_dir)
    run = read_perf_run(path)
    if console is None:
        from rich.console import Console  # lazy: keeps rich out of `assay perf` start-up

        console = Console()
    summary = load_summary(path, run)
    text = print_report(run, summary, console)
    if run.status != "finished":
        records, skipped = read_requests(path)
        recorded = sum(1 for r in records if r.point >= 0)
        planned = planned_requests(run.config)
        line = (f"{recorded} of {planned} planned requests recorded" if planned is not None
                else f"{recorded} requests recorded")
        line += f" (the run is {run.status}"
        line += f": {run.error})" if run.error else ")"
        if skipped:
            line += f"; {skipped} torn or unreadable line(s) skipped"
        if run.status == "running":  # still being written by its own process: leave its files alone
            line += "."
        else:
            try:
                write_json_atomic(path / SUMMARY_FILE, summary)
                line += f"; {SUMMARY_FILE} rebuilt from {RECORDS_FILE}."
            except StorageError as exc:
                line += f"; {SUMMARY_FILE} not rewritten: {exc}."
        console.print(line, style="yellow", markup=False, highlight=False)
        text += line + "\n"
    return text
