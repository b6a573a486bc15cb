"""What the report shows of a point of a non-generating endpoint (embeddings, rerank, score): latency,
requests/s, inputs/s and input tokens/s, inputs per request; no TTFT, TPOT, ITL or output tokens.
Hooks of :func:`assay.perf.report.point_tables` and :func:`assay.perf.report.sweep_report`."""

from __future__ import annotations

from typing import Any

from rich.text import Text

_WHAT = {"embeddings": "texts embedded", "rerank": "documents ranked", "score": "documents scored"}

POOLING_COLUMNS = [("Latency (s)", "latency_s", 4), ("Input tokens", "input_tokens_per_request", 0),
                   ("Inputs", "endpoint.inputs_per_request", 0)]
"""The percentile table's columns for such a point (``endpoint.`` reads inside ``point["endpoint"]``)."""


def _s(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def pooling_rows(point: dict[str, Any]) -> list[tuple[str, str]]:
    """EvalScope's embedding/rerank summary rows (its 'Input token throughput'), and inputs per second."""
    measures = point["endpoint"]
    what = _WHAT.get(measures["kind"], "inputs")
    client_overhead = point["client_overhead_s"].get("mean")
    return [
        ("Time taken for tests (s)", _s(point["duration_s"], 2)),
        ("Number of concurrency", str(point["concurrency"])),
        ("Total requests", str(point["requests"])),
        ("Succeed requests", str(point["succeeded"])),
        ("Failed requests", str(point["failed"])),
        ("Request throughput (req/s)", _s(point["rps"], 4)),
        (f"Input throughput ({what}/s)", _s(measures["inputs_per_s"], 2)),
        ("Input token throughput (tok/s)", _s(measures["input_tokens_per_s"], 2)),
        ("Average latency (s)", _s(point["latency_s"].get("mean"), 4)),
        ("Average client overhead (ms)", _s(None if client_overhead is None else client_overhead * 1000, 3)),
        (f"Average {what} per request", _s(measures["inputs_per_request"].get("mean"), 1)),
        ("Average input tokens per request", _s(point["input_tokens_per_request"].get("mean"), 1)),
    ]


def percentile_value(point: dict[str, Any], field: str, key: str) -> float | None:
    """``field``'s percentile ``key`` in the point (``endpoint.x``: inside its endpoint measures)."""
    source = point.get("endpoint", {}) if field.startswith("endpoint.") else point
    value = source.get(field.removeprefix("endpoint."), {}).get(key)
    return None if value is None else float(value)


def endpoint_dataset_line(config: dict[str, Any]) -> str | None:
    """The report's dataset line for an embeddings or rerank run: what one request carries; None otherwise."""
    api = config.get("api")
    if api not in ("openai_embedding", "embedding", "openai_rerank", "rerank"):
        return None
    dataset = str(config.get("dataset"))
    extra = config.get("extra_args") or {}
    lo, hi = config.get("min_prompt_length"), config.get("max_prompt_length")
    length = f"{lo}" if lo == hi else f"{lo}–{hi}"
    source = f"{dataset}, {length} tokens each" if dataset.startswith("random") else \
        f"{dataset} ({config.get('dataset_path') or config.get('prompt')})"
    if "rerank" in api:
        documents = "documents from the file" if not dataset.startswith("random") else \
            f"{extra.get('num_documents') or 10} documents of {extra.get('document_length_ratio') or 5}× the query's length"
        return f"{source}: a query and {documents} a request"
    batch = extra.get("batch_size") or (8 if dataset.endswith("_batch") else 1)
    return f"{source}: {batch} text{'s' if batch != 1 else ''} a request"


def pooling_sweep_lines(points: list[dict[str, Any]]) -> list[Text]:
    """Under the sweep table (whose TTFT/TPOT/ITL columns stay empty for these): inputs/s per point."""
    pooled = [p for p in points if p.get("endpoint")]
    if not pooled:
        return []
    kind = pooled[0]["endpoint"]["kind"]
    cells = ", ".join(f"{p['concurrency'] or p.get('rate')}: {p['endpoint']['inputs_per_s']:.1f}/s "
                      f"({p['endpoint']['input_tokens_per_s']:.0f} tok/s)" for p in pooled)
    return [Text(f"/{kind}: no tokens are generated (no TTFT, TPOT or ITL). {_WHAT.get(kind, 'inputs').capitalize()} "
                 f"per second by point: {cells}.", style="cyan")]


__all__ = ["POOLING_COLUMNS", "endpoint_dataset_line", "percentile_value", "pooling_rows", "pooling_sweep_lines"]
