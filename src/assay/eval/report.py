"""The eval reports: computed from the stored records only, saved as JSON and Markdown, printed (rich)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from rich import box
from rich.console import Console
from rich.table import Table

from assay.errors import AssayError
from assay.store import EVAL_REPORT_FILE, EVAL_REPORT_MD_FILE, BenchmarkReport, EvalReport


@dataclass(frozen=True)
class EvalResult:
    """What an eval run (or a rescore) gives back: where its files are and its scores (report.json, typed)."""

    run_dir: Path
    report: EvalReport

    @property
    def model(self) -> str | None:
        return self.report.model

    @property
    def reports(self) -> dict[str, dict[str, Any]]:
        """Per benchmark as plain dicts (what ``run_task`` returns, as EvalScope's does):
        ``{"metrics": [...], "subsets": {...}, "overall": {...}}``."""
        return {name: msgspec.to_builtins(report) for name, report in self.report.reports.items()}

    @property
    def scores(self) -> dict[str, float | None]:
        """The primary score (``AveragePass@1``) of every benchmark over all its subsets (None: nothing scored)."""
        return {name: self.score(name) for name in self.report.reports}

    def score(self, benchmark: str, metric: str = "AveragePass@1", subset: str | None = None) -> float | None:
        """One score: ``metric`` of ``benchmark`` over all subsets, or of one ``subset`` (None: nothing scored)."""
        report = self.report.reports[benchmark]
        value = (report.overall if subset is None else report.subsets[subset]).get(metric)
        return None if value is None else float(value)


def write_reports(run_dir: Path, console: Console | None = None, *, print_it: bool = True) -> EvalResult:
    """Compute, save (report.json, report.md) and print the reports of a run from its stored records only."""
    from assay.eval.metrics import benchmark_report
    from assay.store import EvalRun, read_run_info, read_samples, write_json_atomic, write_text_atomic

    run = read_run_info(run_dir)
    if not isinstance(run, EvalRun):
        raise AssayError(f"{run_dir} is not an eval run directory")
    config = run.config
    records = list(read_samples(run_dir)[0].values())
    reports: dict[str, BenchmarkReport] = {}
    for name in config["datasets"]:
        rows = [r for r in records if r.benchmark == name]
        subsets = (config.get("dataset_args", {}).get(name, {}) or {}).get("subset_list") or run.benchmarks[name]["subsets"]
        report = benchmark_report(rows, subsets=subsets, repeats=int(config.get("repeats", 1)),
                                  extra_metrics=run.benchmarks[name].get("metrics", [])[1:])
        reports[name] = BenchmarkReport(subsets=report["subsets"], overall=report["overall"], metrics=report["metrics"])
    model = str(config.get("model"))
    result = EvalResult(run_dir=run_dir, report=EvalReport(model=model, reports=reports))
    write_json_atomic(run_dir / EVAL_REPORT_FILE, result.report)
    categories = {name: info.get("categories", {}) for name, info in run.benchmarks.items()}
    write_text_atomic(run_dir / EVAL_REPORT_MD_FILE, markdown_table(model, result.reports, categories))
    if print_it:
        print_table(model, result.reports, console, categories)
    return result


HEADERS = ["Model", "Dataset", "Metric", "Subset", "Num", "Score", "Cat.0", "95% CI", "Truncated", "No answer",
           "Errors"]
NUMERIC = {4, 5, 8, 9, 10}


def table_rows(model: str, reports: dict[str, dict[str, Any]],
               categories: dict[str, dict[str, str]] | None = None) -> list[list[str]]:
    """One row per (benchmark, metric, subset) plus OVERALL, EvalScope's columns first.

    Every metric of the benchmark gets its rows (IFEval: the prompt- and instruction-level
    accuracies, strict and loose), as EvalScope prints them.
    """
    rows: list[list[str]] = []
    for benchmark, report in reports.items():
        overall = report["overall"]
        passes = sorted((k for k in overall if k.startswith("pass@")), key=lambda k: int(k.split("@")[1]))
        metrics = report.get("metrics") or ["AveragePass@1", *passes]  # reports written before 'metrics' existed
        for metric in metrics:
            names = (categories or {}).get(benchmark, {})
            groups = [(name, data, names.get(name, "default")) for name, data in report["subsets"].items()]
            groups.append(("OVERALL", overall, "-"))
            for subset, data, category in groups:
                if metric not in data:
                    continue
                low, high = data["ci95"].get(metric) or [None, None]
                ci = "-" if low is None else f"[{low:.4f}, {high:.4f}]"
                # Every request failed: there is no score, not a 0 (reports before it was null held 0.0).
                if data[metric] is None or data.get("scored_samples") == 0:
                    score, ci = "N/A", "-"
                else:
                    score = f"{round(data[metric], 4):g}"
                rows.append([
                    model, benchmark, metric, subset, str(data["num"]), score,
                    category, ci, str(data["truncated"]), str(data.get("no_answer", "-")), str(data["errors"]),
                ])
    return rows


def markdown_table(model: str, reports: dict[str, dict[str, Any]],
                   categories: dict[str, dict[str, str]] | None = None) -> str:
    rows = table_rows(model, reports, categories)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(HEADERS)]
    numeric = NUMERIC

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(
            c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ) + " |"

    separator = "|" + "|".join(("-" * (w + 1) + ":") if i in numeric else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(HEADERS), separator, *(line(r) for r in rows)]) + "\n"


def print_table(model: str, reports: dict[str, dict[str, Any]], console: Console | None = None,
                categories: dict[str, dict[str, str]] | None = None) -> None:
    console = console or Console()
    table = Table(box=box.MARKDOWN, title="Evaluation results", title_justify="left")
    for i, header in enumerate(HEADERS):
        table.add_column(header, justify="right" if i in NUMERIC else "left")
    for row in table_rows(model, reports, categories):
        table.add_row(*row)
    console.print(table)
    for benchmark, report in reports.items():
        overall = report["overall"]
        notes = []
        if overall["errors"]:
            notes.append(f"{overall['errors']} generation(s) failed after retries: excluded from the score, "
                         "listed in samples.jsonl (resume with use_cache to retry them)")
        if overall["truncated"]:
            notes.append(f"{overall['truncated']} generation(s) hit the length limit with no final answer (scored 0)")
        if overall.get("no_answer"):
            notes.append(f"{overall['no_answer']} generation(s) stated no valid final answer (scored 0, not guessed; "
                         "method 'no-answer' or 'out-of-range:X' in samples.jsonl)")
        for note in notes:
            console.print(f"[yellow]{benchmark}: {note}.[/yellow]")
