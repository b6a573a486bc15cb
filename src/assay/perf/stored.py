"""Re-read a stored perf run and re-print its report (no request is sent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console

from assay.errors import AssayError
from assay.perf import metrics
from assay.store.rundir import RECORDS_FILE, SUMMARY_FILE, read_records, read_run


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
        "recommendations": metrics.recommendations(points, config.get("max_tokens"), config.get("min_tokens")),
    }


def report_run(run_dir: str | Path, console: Console | None = None) -> str:
    """Print the report of a stored run; returns its plain text."""
    from assay.perf.report import print_report

    path = Path(run_dir)
    run = read_run(path)
    if run.get("kind") != "perf":
        raise AssayError(f"{path} is a {run.get('kind')} run, not a perf run")
    summary = load_summary(path, run)
    return print_report(run, summary, console or Console())
