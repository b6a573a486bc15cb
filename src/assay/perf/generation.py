"""What a sweep point's generations looked like, beside their timings: reasoning and chunking.

- **TTFO** (time to first output, AIPerf's name): the first *answer* chunk - sent. A reasoning model
  streams its thinking first (``reasoning_content`` / ``reasoning`` deltas, ``<think>`` or gpt-oss
  harmony text in the content); TTFT counts the first chunk of either, TTFO only the answer's.
  Without reasoning the two are equal.
- **Reasoning tokens**: ``usage.completion_tokens_details.reasoning_tokens`` as the server counted
  them (part of the completion tokens), per request.
- **Tokens per chunk**: how many tokens each streamed chunk carried, from per-chunk usage when the
  server sent it (``continuous_usage_stats``), else the request's completion tokens over its chunks.
  A speculative-decoding engine sends the accepted draft tokens and the bonus token of a step
  together, so this reads above 1 there (see ``server_metrics`` for its acceptance counters).

Pure functions over records (the point's summary) and over a summary (the report's rows); nothing
here sends a request or writes a file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assay.store.schema import GenerationSummary, RequestRecord


def generation_summary(ok: Sequence[RequestRecord], percentiles: Sequence[float]) -> dict[str, Any]:
    """The point summary's fields of :class:`~assay.store.schema.GenerationSummary` (successful requests
    only), as plain data. Stats are dicts as :func:`assay.perf.metrics.stats` makes them (empty: none measured)."""
    import msgspec

    from assay.perf.metrics import stats

    ttfo: list[float] = []
    reasoning: list[float] = []
    per_chunk: list[float] = []
    reasoned = 0
    from_usage = from_totals = 0
    for r in ok:
        if r.first_answer_ns is not None and r.sent_ns is not None:
            ttfo.append((r.first_answer_ns - r.sent_ns) / 1e9)
        if r.first_reasoning_ns is not None or r.reasoning_tokens:
            reasoned += 1
        if r.reasoning_tokens is not None:
            reasoning.append(float(r.reasoning_tokens))
        chunks = len(r.chunk_times_us)
        if not chunks:
            continue
        if r.chunk_tokens and len(r.chunk_tokens) == chunks:
            per_chunk.append(sum(r.chunk_tokens) / chunks)
            from_usage += 1
        elif r.completion_tokens:
            per_chunk.append(r.completion_tokens / chunks)
            from_totals += 1
    sources = [name for name, count in (("per-chunk usage", from_usage), ("completion tokens / chunks", from_totals))
               if count]
    return msgspec.structs.asdict(GenerationSummary(
        ttfo_s=stats(ttfo, percentiles),
        reasoning_requests=reasoned,
        reasoning_tokens=int(sum(reasoning)),
        reasoning_tokens_per_request=stats(reasoning, percentiles),
        tokens_per_chunk=stats(per_chunk, percentiles),
        tokens_per_chunk_source=", ".join(sources) or "-",
    ))


def has_reasoning(point: dict[str, Any]) -> bool:
    """Whether any request of the point reasoned (a summary from before these fields: no)."""
    return bool(point.get("reasoning_requests") or point.get("reasoning_tokens"))


def report_rows(point: dict[str, Any]) -> list[tuple[str, str]]:
    """The 'Benchmarking summary' rows for reasoning and chunking (none when there is nothing to say:
    no reasoning seen, one token per chunk)."""
    rows: list[tuple[str, str]] = []
    if has_reasoning(point):
        ttfo = (point.get("ttfo_s") or {}).get("mean")
        rows.append(("Average time to first answer token (s)", "-" if ttfo is None else f"{ttfo:.4f}"))
        per_request = (point.get("reasoning_tokens_per_request") or {}).get("mean")
        rows.append(("Average reasoning tokens per request", "-" if per_request is None else f"{per_request:.1f}"))
    chunk = (point.get("tokens_per_chunk") or {}).get("mean")
    if chunk is not None and abs(chunk - 1.0) > 1e-9:
        rows.append(("Average tokens per chunk", f"{chunk:.2f}"))
    return rows


def server_spec_decode_text(server: dict[str, Any]) -> str | None:
    """'draft acceptance 62.5 %, mean acceptance length 2.88 (per position 0.80 0.60 0.47)' from the
    server's counters over the point, or None when it reported no speculative decoding."""
    rate = server.get("draft_acceptance_rate")
    length = server.get("mean_acceptance_length")
    if rate is None and length is None:
        return None
    parts = []
    if rate is not None:
        parts.append(f"draft acceptance {100 * rate:.1f} %")
    if length is not None:
        parts.append(f"mean acceptance length {length:.2f}")
    positions = server.get("acceptance_rate_per_position")
    if positions:
        parts.append("per position " + " ".join(f"{p:.2f}" for p in positions))
    return "speculative decoding: " + ", ".join(parts)


def shows_something(point: dict[str, Any]) -> bool:
    """Whether a point has reasoning, several tokens a chunk, or the server's speculative-decoding counters."""
    chunk = (point.get("tokens_per_chunk") or {}).get("mean")
    return (has_reasoning(point) or (chunk is not None and abs(chunk - 1.0) > 1e-9)
            or "mean_acceptance_length" in (point.get("server") or {}))


def html_table(points: list[dict[str, Any]]) -> str:
    """report.html's 'Reasoning and decoding' section ("" when no point has anything to show)."""
    import html

    shown = [p for p in points if shows_something(p)]
    if not shown:
        return ""

    def ms(stats: dict[str, float] | None, key: str) -> str:
        value = (stats or {}).get(key)
        return "-" if value is None else f"{value * 1000:.1f}"

    def number(value: float | None, digits: int) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    headers = ["Conc.", "Rate/s", "Avg TTFT (ms)", "Avg TTFO (ms)", "P99 TTFO (ms)", "Reasoning tok/request",
               "Tokens/chunk", "Draft acceptance", "Mean acceptance length"]
    rows = []
    for p in shown:
        server = p.get("server") or {}
        rate = server.get("draft_acceptance_rate")
        cells = [str(p["concurrency"] or "-"), "-" if p.get("rate") is None else f"{p['rate']:g}",
                 ms(p.get("ttft_s"), "mean"), ms(p.get("ttfo_s"), "mean"), ms(p.get("ttfo_s"), "p99"),
                 number((p.get("reasoning_tokens_per_request") or {}).get("mean"), 1),
                 number((p.get("tokens_per_chunk") or {}).get("mean"), 2),
                 "-" if rate is None else f"{100 * rate:.1f}%", number(server.get("mean_acceptance_length"), 2)]
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    return (f"<h2>Reasoning and decoding</h2><table id=\"generation\"><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")
