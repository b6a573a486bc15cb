"""A sweep point split by endpoint, when a run spreads its requests over several ``--url``.

Each record names the endpoint that served it (``RequestRecord.endpoint``, the URL with its
credentials masked). Per endpoint the point's summary gets its requests, successes, failures and
their reasons, throughput and the TTFT / TPOT / latency distributions
(:class:`~assay.store.schema.EndpointSummary`, under the point's ``endpoints``); the point's own
figures stay the overall ones. Rates per endpoint are over the point's whole duration, so that the
endpoints' request and token rates add up to the point's.

Pure functions over records (the point's summary) and over a summary (the report's table); nothing
here sends a request or writes a file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import msgspec

from assay.store.schema import EndpointSummary, RequestRecord


def endpoint_summaries(rows: Sequence[RequestRecord], duration_s: float,
                       percentiles: Sequence[float]) -> dict[str, dict[str, Any]]:
    """The point summary's ``endpoints``: endpoint (as stored) -> its figures, in the order first seen.

    ``rows``: the point's measured records; empty when none names an endpoint (a run of one URL).
    """
    from assay.perf.metrics import _error_class as error_class
    from assay.perf.metrics import stats

    groups: dict[str, list[RequestRecord]] = {}
    for r in rows:
        if r.endpoint is not None:
            groups.setdefault(r.endpoint, []).append(r)
    result: dict[str, dict[str, Any]] = {}
    for endpoint, records in groups.items():
        ok = [r for r in records if r.error is None]
        ttft, tpot, latency = [], [], []
        output_tokens = 0
        for r in ok:
            sent = r.start_ns if r.sent_ns is None else r.sent_ns
            latency.append((r.end_ns - sent) / 1e9)
            first = r.end_ns if r.first_token_ns is None else r.first_token_ns
            ttft.append((first - sent) / 1e9)
            tokens = r.completion_tokens or 0
            output_tokens += tokens
            if tokens > 1:
                tpot.append((r.end_ns - first) / 1e9 / (tokens - 1))
        errors = Counter(error_class(r.error or "") for r in records if r.error is not None)
        summary = EndpointSummary(
            requests=len(records), succeeded=len(ok), failed=len(records) - len(ok),
            success_rate=len(ok) / len(records), errors=dict(errors.most_common(10)),
            rps=len(ok) / duration_s if duration_s > 0 else 0.0, output_tokens=output_tokens,
            output_throughput=output_tokens / duration_s if duration_s > 0 else 0.0,
            ttft_s=stats(ttft, percentiles), tpot_s=stats(tpot, percentiles), latency_s=stats(latency, percentiles),
        )
        result[endpoint] = msgspec.to_builtins(summary)
    return result


def shown_urls(url: Any) -> str:
    """A run's ``url`` as the report and report.html show it: one URL, or several joined by commas."""
    return ", ".join(map(str, url)) if isinstance(url, list) else str(url)


def endpoint_table(point: dict[str, Any]) -> Any:
    """The report's 'Per endpoint' table of one point (None for a point of one endpoint)."""
    endpoints: dict[str, dict[str, Any]] = point.get("endpoints") or {}
    if not endpoints:
        return None
    from rich import box
    from rich.table import Table

    def ms(stats: dict[str, float], key: str) -> str:
        value = stats.get(key)
        return "-" if value is None else f"{value * 1000:.1f}"

    table = Table(title="Per endpoint", box=box.SIMPLE_HEAVY, title_justify="left")
    table.add_column("Endpoint", overflow="fold", min_width=24)
    for title in ("Requests", "Failed", "Req/s", "TTFT mean (ms)", "TPOT mean (ms)", "Latency mean (ms)"):
        table.add_column(title, justify="right")
    for endpoint, figures in endpoints.items():
        table.add_row(endpoint, str(figures["requests"]), str(figures["failed"]), f"{figures['rps']:.2f}",
                      ms(figures["ttft_s"], "mean"), ms(figures["tpot_s"], "mean"), ms(figures["latency_s"], "mean"))
    return table


__all__ = ["endpoint_summaries", "endpoint_table", "shown_urls"]
