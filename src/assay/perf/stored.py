"""Re-read a stored perf run and re-print its report (no request is sent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.errors import AssayError, StorageError
from assay.perf import metrics
from assay.store.rundir import RECORDS_FILE, SUMMARY_FILE, read_records, read_run, write_json_atomic

if TYPE_CHECKING:
    from rich.console import Console


def load_summary(run_dir: Path, run: dict[str, Any]) -> dict[str, Any]:
    """``summary.json``, or one rebuilt from ``requests.jsonl`` when the run was killed first."""
    summary_file = run_dir / SUMMARY_FILE
    if summary_file.exists() and run.get("status") == "finished":
        try:
            return dict(json.loads(summary_file.read_text(encoding="utf-8")))
        except ValueError:
            pass
    records, _skipped = read_records(run_dir / RECORDS_FILE)
    config = run.get("config", {})
    rates = config.get("rate") or []
    numbers = config.get("number") or []
    points = []
    for point in sorted({r.point for r in records if r.point >= 0}):
        rows = [r for r in records if r.point == point]
        points.append(metrics.summarize_point(
            rows, point=point, concurrency=rows[0].concurrency,
            number=numbers[point] if point < len(numbers) else (numbers[0] if numbers else len(rows)),
            percentiles=config.get("percentiles", [50, 90, 99]),
            special_tokens=run.get("special_tokens", []),
            expected_extra_tokens=run.get("expected_extra_tokens"),
            rate=rates[point] if point < len(rates) else None,
        ))
    return {
        "schema_version": 1,
        "points": points,
        "best": metrics.best_points(points),
        "recommendations": metrics.recommendations(points, config.get("max_tokens"), config.get("min_tokens"),
                                               extra_args=config.get("extra_args")),
    }


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
    run = read_run(path)
    if run.get("kind") != "perf":
        raise AssayError(f"{path} is a {run.get('kind')} run, not a perf run")
    if console is None:
        from rich.console import Console  # lazy: keeps rich out of `assay perf` start-up

        console = Console()
    summary = load_summary(path, run)
    text = print_report(run, summary, console)
    if run.get("status") != "finished":
        records, skipped = read_records(path / RECORDS_FILE)
        recorded = sum(1 for r in records if r.point >= 0)
        planned = planned_requests(run.get("config", {}))
        line = (f"{recorded} of {planned} planned requests recorded" if planned is not None
                else f"{recorded} requests recorded")
        line += f" (the run is {run.get('status')}"
        line += f": {run['error']})" if run.get("error") else ")"
        if skipped:
            line += f"; {skipped} torn or unreadable line(s) skipped"
        if run.get("status") == "running":  # still being written by its own process: leave its files alone
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
