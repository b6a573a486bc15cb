"""What the app's API returns, computed from run directories only (never from a model)."""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
import numpy as np

from assay.app.index import RunEntry, RunIndex, SampleCache
from assay.redact import redact_url
from assay.store import (
    HTML_REPORT_FILE,
    SAMPLES_FILE,
    EvalRun,
    RunFileError,
    read_eval_report,
    read_run_info,
    read_summary,
)
from assay.store.lineindex import LineIndex

TEXT_FIELDS = ("response", "answer_text", "reasoning")
CHANGED_MAX = 1000


def run_details(index: RunIndex, entry: RunEntry) -> dict[str, Any]:
    """A run as its page shows it: what the list knows, its config, and its scores or sweep points."""
    root = index.outputs
    run = read_run_info(entry.path, inside=root)
    config = dict(run.config)
    for key in ("url", "api_url", "server_metrics"):  # runs written before URLs were redacted on saving
        if isinstance(config.get(key), str):
            config[key] = redact_url(config[key])
        elif isinstance(config.get(key), list):  # several endpoints (--url given more than once)
            config[key] = [redact_url(str(url)) for url in config[key]]
    details: dict[str, Any] = {**entry.public(), "config": config, "assay_version": run.assay_version}
    if isinstance(run, EvalRun):
        report = read_eval_report(entry.path, inside=root)
        details["report"] = msgspec.to_builtins(report.reports) if report is not None else {}
        details["benchmarks"] = run.benchmarks
    else:
        summary = read_summary(entry.path, inside=root)
        details["summary"] = msgspec.to_builtins(summary) if summary is not None else {}
        details["has_report_html"] = index.file(entry, HTML_REPORT_FILE) is not None
    return details


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def page_of_samples(index: LineIndex, *, page: int, size: int, verdict: str | None, text: str | None,
                    benchmark: str | None, subset: str | None, sample: str | None) -> dict[str, Any]:
    """One page of samples (all fields for the page's rows, a summary for the counts).

    Filters work on the index; a text search reads the selected lines from disk (the result is kept
    for the next page), so a run of any size is searched in bounded memory.
    """
    selected = index.select(benchmark=benchmark, subset=subset, sample=sample)
    counts = {v: 0 for v in ("correct", "wrong", "error", "truncated")}
    counts.update(index.verdict_counts(selected))
    if verdict:
        selected = index.with_verdict(selected, verdict)
    if text:
        needle = text.lower()
        chosen = selected
        selected = index.memo(("search", benchmark, subset, sample, verdict, needle),
                              lambda: search(index, chosen, needle))
    start = (page - 1) * size
    benchmarks: dict[str, set[str]] = {}
    for bench, sub in index.group_names:
        benchmarks.setdefault(bench, set()).add(sub)
    return {"total": len(selected), "page": page, "size": size, "counts": counts, "skipped": index.skipped,
            "benchmarks": {b: sorted(s) for b, s in sorted(benchmarks.items())},
            "rows": index.rows(selected[start:start + size])}


SEARCH_FIELDS = ("response", "reasoning", "extracted", "gold", "sample_id", "error")
RAW_SAFE = re.compile(r"[a-z0-9 .;!?#%()*+=@^_|~\[\]{}$-]+")
"""Needles that read the same in a JSON line as in the decoded text (no quotes, backslash, slash, ``<>&``
that some writers escape, nor ``,`` ``:`` whose spacing varies): a line without one cannot match."""
LOWER_TO_ASCII = "ik"
"""ASCII letters that a non-ASCII character lowers to (İ -> i̇, the Kelvin sign -> k): a needle holding one
is also looked for, decoded, in lines that hold such a character (raw or escaped)."""


def search(index: LineIndex, positions: np.ndarray, needle: str) -> np.ndarray:
    """Positions whose text holds ``needle`` (lower case), reading lines one window at a time.

    A line whose raw bytes do not hold the needle is not decoded, when the needle is made of
    characters JSON writes as themselves.
    """
    raw = needle.encode() if RAW_SAFE.fullmatch(needle) else None
    special = any(c in needle for c in LOWER_TO_ASCII)

    def may_match(line: bytes) -> bool:
        if raw is None or raw in line.lower():
            return True
        if not special:
            return False
        if not line.isascii() and (b"\xc4\xb0" in line or b"\xe2\x84\xaa" in line):
            return True
        return b"\\u" in line and (b"\\u0130" in line or b"\\u212" in line)

    found = [position for position, row in index.iter_rows(positions, may_match) if needle in _haystack(row)]
    return np.array(sorted(found), np.int32)  # kept for the next page: 4 bytes a hit


def _searchable(value: Any) -> str:
    """Text as written; anything else (a list of gold answers, a number) as compact JSON."""
    if isinstance(value, str):
        return value
    return "" if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _haystack(row: dict[str, Any]) -> str:
    parts = [_searchable(row.get(k)) for k in SEARCH_FIELDS]
    messages = row.get("messages")
    if isinstance(messages, list):
        parts += [_searchable(m.get("content")) for m in messages if isinstance(m, dict)]
    return "\n".join(parts).lower()


def sample_text(index: LineIndex, key: str, field: str) -> str | None:
    """One text field of one sample, whole (for the download link of a long answer)."""
    position = index.position_of(key)
    if field not in TEXT_FIELDS or position is None:
        return None
    rows = index.rows([position])
    return _text(rows[0].get(field)) if rows else None


def page_of_requests(index: LineIndex, *, page: int, size: int, sort: str | None = None,
                     descending: bool = False) -> dict[str, Any]:
    """One page of a perf run's requests, sorted by any column (``ttft_ms``, ``latency_ms`` are computed).

    A sort reads the column from disk once and keeps the order (positions), not the rows.
    """
    ordered: Any = np.arange(len(index))
    if sort:
        column = sort
        ordered = index.memo(("sort", column, descending), lambda: _sorted_positions(index, column, descending))
    start = (page - 1) * size
    return {"total": len(index), "page": page, "size": size, "skipped": index.skipped, "sort": sort,
            "descending": descending, "rows": [_request_row(r) for r in index.rows(ordered[start:start + size])]}


def _sorted_positions(index: LineIndex, column: str, descending: bool) -> np.ndarray:
    """Every position, sorted by the column (stable; missing values last, whichever the direction).

    The column is read into one float per row (text columns: the rank of each distinct text), so
    sorting a million requests costs megabytes, not a parsed copy of the file.
    """
    numbers = np.full(len(index), np.nan)
    texts: dict[int, str] = {}
    for position, row in index.iter_rows(np.arange(len(index))):
        value = _request_value(row, column)
        if isinstance(value, int | float):
            numbers[position] = value
        elif value is not None:
            texts[position] = str(value)
    if texts:  # text (or numbers and text mixed): by text
        for position in np.flatnonzero(~np.isnan(numbers)).tolist():
            number = float(numbers[position])
            texts[position] = str(int(number)) if number.is_integer() else repr(number)
        ranks = {text: rank for rank, text in enumerate(sorted(set(texts.values())))}
        numbers = np.full(len(index), np.nan)
        for position, text in texts.items():
            numbers[position] = ranks[text]
    present = np.flatnonzero(~np.isnan(numbers))
    keys = -numbers[present] if descending else numbers[present]
    order = np.concatenate([present[np.argsort(keys, kind="stable")], np.flatnonzero(np.isnan(numbers))])
    return order.astype(np.int32)  # kept for the next page: 4 bytes a request


def _ns(row: dict[str, Any], key: str) -> float | None:
    value = row.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _request_value(row: dict[str, Any], column: str) -> Any:
    if column == "ttft_ms":
        sent, first = _ns(row, "sent_ns"), _ns(row, "first_token_ns")
        return (first - sent) / 1e6 if sent is not None and first is not None else None
    if column == "latency_ms":
        start, end = _ns(row, "sent_ns") or _ns(row, "start_ns"), _ns(row, "end_ns")
        return (end - start) / 1e6 if start is not None and end is not None else None
    if column == "result":
        return row.get("error") or "ok"
    return row.get(column)


def _request_row(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "ttft_ms": _request_value(row, "ttft_ms"), "latency_ms": _request_value(row, "latency_ms")}


def _preview(row: dict[str, Any], chars: int = 600) -> str:
    """The start of what was judged (the answer without its reasoning), for side-by-side reading."""
    text = row.get("answer_text")
    text = text if isinstance(text, str) else _text(row.get("response"))
    return text if len(text) <= chars else text[:chars] + " …"


def compare_runs(index: RunIndex, entries: list[RunEntry], cache: SampleCache) -> dict[str, Any]:
    """Eval: per-subset scores side by side, the samples whose verdict changed, and those not in every run.

    Perf: the points, and whether each run was closed-loop (a concurrency) or open-loop (a rate).
    """
    runs = [run_details(index, e) for e in entries]
    result: dict[str, Any] = {"kind": entries[0].kind,
                              "runs": [{"id": r["id"], "model": r["model"]} for r in runs]}
    if entries[0].kind == "perf":
        result["points"] = [r["summary"].get("points", []) for r in runs]
        result["modes"] = ["rate" if r["config"].get("rate") else "concurrency" for r in runs]
        return result
    table: dict[tuple[str, str], list[Any]] = {}
    for i, r in enumerate(runs):
        for benchmark, report in r["report"].items():
            for subset, data in [*(report.get("subsets") or {}).items(), ("OVERALL", report.get("overall") or {})]:
                table.setdefault((benchmark, subset), [None] * len(runs))[i] = data.get("AveragePass@1")
    result["scores"] = [{"benchmark": b, "subset": s, "scores": v} for (b, s), v in table.items()]
    indexes = [cache.load(index.file(e, SAMPLES_FILE)) for e in entries]
    changed, partial = [], []
    for key in sorted(set().union(*(i.row_keys() for i in indexes))):
        positions = [i.position_of(key) for i in indexes]
        verdicts = [i.verdict_of(p) if p is not None else None for i, p in zip(indexes, positions, strict=True)]
        if None in positions:
            partial.append((key, positions, verdicts))
        elif len(set(verdicts)) > 1:
            changed.append((key, positions, verdicts))
    result["changed"] = _compared(indexes, changed[:CHANGED_MAX])
    result["changed_total"] = len(changed)
    result["partial"] = _compared(indexes, partial[:CHANGED_MAX])
    result["partial_total"] = len(partial)
    result["in_run"] = [len(i) for i in indexes]
    return result


def _compared(indexes: list[LineIndex], found: list[tuple[str, list[int | None], list[str | None]]],
              ) -> list[dict[str, Any]]:
    """The listed samples, with the start of each run's answer (read from disk for these rows only)."""
    previews = []
    for run, index in enumerate(indexes):
        wanted = [positions[run] for _, positions, _ in found if positions[run] is not None]
        previews.append({p: _preview(row) for p, row in index.iter_rows(wanted)})
    items = []
    for key, positions, verdicts in found:
        run, position = next((r, p) for r, p in enumerate(positions) if p is not None)
        benchmark, subset = indexes[run].group_of(position)
        items.append({"key": key, "benchmark": benchmark, "subset": subset,
                      "sample_id": indexes[run].sample_of(position), "verdicts": verdicts,
                      "answers": [previews[r].get(p) if p is not None else None for r, p in enumerate(positions)]})
    return items


def benchmarks_seen(index: RunIndex, entries: list[RunEntry]) -> list[dict[str, Any]]:
    """Every benchmark the eval runs used, as each run described it, with the runs and their scores."""
    seen: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry.kind != "eval" or entry.problem:
            continue
        try:
            run = read_run_info(entry.path, inside=index.outputs)
        except RunFileError:  # the index said it was readable; it changed since: skip it this time
            continue
        if not isinstance(run, EvalRun):
            continue
        for name, about in run.benchmarks.items():
            item = seen.setdefault(str(name), {"name": str(name), "description": about.get("description"),
                                               "subsets": about.get("subsets") or [], "metrics": about.get("metrics") or [],
                                               "huggingface": about.get("huggingface"),
                                               "modelscope": about.get("modelscope"), "runs": []})
            item["runs"].append({"id": entry.id, "model": entry.model, "started_epoch_s": entry.started_epoch_s,
                                 "score": (entry.headline.get("scores") or {}).get(name)})
    return sorted(seen.values(), key=lambda b: b["name"])


PAIRED_MAX_BYTES = 128 * 2**20
"""The paired test reads both runs' samples whole (``assay.eval.compare``): beyond this size of
``samples.jsonl`` the app says to run ``assay eval compare`` instead, so that it stays small in memory."""


def paired_comparison(index: RunIndex, entries: list[RunEntry]) -> dict[str, Any]:
    """``assay eval compare A B`` for the app: per benchmark the score difference, its 95 % interval,
    p-value, verdict, the samples flipped each way and the power note (:mod:`assay.eval.compare`), or
    ``{"error": one line}`` when the runs cannot be compared."""
    from assay.errors import AssayError
    from assay.eval.compare import compare_runs as compare_eval_runs
    from assay.eval.compare import to_json

    if len(entries) != 2 or any(e.kind != "eval" for e in entries):
        return {"error": "the paired test compares two eval runs"}
    files = [index.file(e, SAMPLES_FILE) for e in entries]
    for entry, path in zip(entries, files, strict=True):
        if path is None:
            return {"error": f"{entry.id}: no samples.jsonl inside the outputs folder"}
        if path.stat().st_size > PAIRED_MAX_BYTES:
            return {"error": f"{entry.id}: samples.jsonl is over {PAIRED_MAX_BYTES // 2**20} MiB: run "
                             f"`assay eval compare` on the two run folders instead"}
    try:
        comparison = compare_eval_runs(entries[0].path, entries[1].path)
    except AssayError as exc:
        return {"error": str(exc)}
    result = to_json(comparison)
    result["run_a"], result["run_b"] = entries[0].id, entries[1].id  # ids, not paths on the server's disk
    return result
