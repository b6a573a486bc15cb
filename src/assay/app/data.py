"""What the app's API returns, computed from run directories only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assay.app.index import RunEntry, SampleCache

SAMPLE_FIELDS = ("key", "benchmark", "subset", "sample_id", "repeat", "verdict", "score", "extracted", "gold",
                 "finish_reason", "completion_tokens", "latency_s", "error", "attempts", "method")


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def run_details(entry: RunEntry) -> dict[str, Any]:
    run = _read(entry.path / "run.json") or {}
    details: dict[str, Any] = {**entry.public(), "config": run.get("config", {}), "assay_version": run.get("assay_version")}
    if entry.kind == "eval":
        details["report"] = (_read(entry.path / "report.json") or {}).get("reports", {})
        details["benchmarks"] = run.get("benchmarks", {})
    else:
        details["summary"] = _read(entry.path / "summary.json") or {}
        details["has_report_html"] = (entry.path / "report.html").exists()
    return details


def page_of_samples(rows: list[dict[str, Any]], *, page: int, size: int, verdict: str | None, text: str | None,
                    benchmark: str | None, subset: str | None, sample: str | None) -> dict[str, Any]:
    """One page of samples (all fields for the page's rows, a summary for the counts)."""
    selected = rows
    if benchmark:
        selected = [r for r in selected if r.get("benchmark") == benchmark]
    if subset:
        selected = [r for r in selected if r.get("subset") == subset]
    if sample:
        selected = [r for r in selected if r.get("sample_id") == sample]
    counts = {v: 0 for v in ("correct", "wrong", "error", "truncated")}
    for r in selected:
        counts[r.get("verdict", "error")] = counts.get(r.get("verdict", "error"), 0) + 1
    if verdict:
        selected = [r for r in selected if r.get("verdict") == verdict]
    if text:
        needle = text.lower()
        selected = [r for r in selected if needle in _haystack(r)]
    start = (page - 1) * size
    return {"total": len(selected), "page": page, "size": size, "counts": counts,
            "rows": selected[start:start + size]}


def _haystack(row: dict[str, Any]) -> str:
    parts = [str(row.get(k) or "") for k in ("response", "reasoning", "extracted", "gold", "sample_id", "error")]
    parts += [str(m.get("content", "")) for m in row.get("messages") or []]
    return "\n".join(parts).lower()


def page_of_requests(rows: list[dict[str, Any]], *, page: int, size: int) -> dict[str, Any]:
    start = (page - 1) * size
    return {"total": len(rows), "page": page, "size": size, "rows": rows[start:start + size]}


def compare_runs(entries: list[RunEntry], cache: SampleCache) -> dict[str, Any]:
    """Eval: per-subset scores side by side and the samples whose verdict changed. Perf: the points."""
    runs = [run_details(e) for e in entries]
    result: dict[str, Any] = {"kind": entries[0].kind, "runs": [{"id": r["id"], "model": r["model"]} for r in runs]}
    if entries[0].kind == "perf":
        result["points"] = [r["summary"].get("points", []) for r in runs]
        return result
    table: dict[tuple[str, str], list[Any]] = {}
    for i, r in enumerate(runs):
        for benchmark, report in r["report"].items():
            for subset, data in [*report.get("subsets", {}).items(), ("OVERALL", report.get("overall", {}))]:
                table.setdefault((benchmark, subset), [None] * len(runs))[i] = data.get("AveragePass@1")
    result["scores"] = [{"benchmark": b, "subset": s, "scores": v} for (b, s), v in table.items()]
    verdicts = [{row["key"]: row.get("verdict") for row in cache.rows(e.path / "samples.jsonl") if "key" in row}
                for e in entries]
    changed = []
    for key in sorted(set().union(*verdicts)):
        values = [v.get(key) for v in verdicts]
        if len(set(values)) > 1:
            changed.append({"key": key, "verdicts": values})
    result["changed"] = changed[:1000]
    result["changed_total"] = len(changed)
    return result
