"""The eval score table: printed (rich), saved as Markdown and JSON. Reads only stored data."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

HEADERS = ["Model", "Dataset", "Metric", "Subset", "Num", "Score", "Cat.0", "95% CI", "Truncated", "Errors"]


def table_rows(model: str, reports: dict[str, dict[str, Any]],
               categories: dict[str, dict[str, str]] | None = None) -> list[list[str]]:
    """One row per (benchmark, metric, subset) plus OVERALL, EvalScope's columns first."""
    rows: list[list[str]] = []
    for benchmark, report in reports.items():
        overall = report["overall"]
        metrics = ["AveragePass@1", *sorted((k for k in overall if k.startswith("pass@")), key=lambda k: int(k.split("@")[1]))]
        for metric in metrics:
            names = (categories or {}).get(benchmark, {})
            groups = [(name, data, names.get(name, "default")) for name, data in report["subsets"].items()]
            groups.append(("OVERALL", overall, "-"))
            for subset, data, category in groups:
                if metric not in data:
                    continue
                low, high = data["ci95"].get(metric, [None, None])
                ci = "-" if low is None else f"[{low:.4f}, {high:.4f}]"
                rows.append([
                    model, benchmark, metric, subset, str(data["num"]), f"{round(data[metric], 4):g}",
                    category, ci, str(data["truncated"]), str(data["errors"]),
                ])
    return rows


def markdown_table(model: str, reports: dict[str, dict[str, Any]],
                   categories: dict[str, dict[str, str]] | None = None) -> str:
    rows = table_rows(model, reports, categories)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(HEADERS)]
    numeric = {4, 5, 8, 9}

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
        table.add_column(header, justify="right" if i in (4, 5, 8, 9) else "left")
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
        for note in notes:
            console.print(f"[yellow]{benchmark}: {note}.[/yellow]")
