"""Server-side numbers from a Prometheus ``/metrics`` endpoint, scraped around each sweep point.

vLLM, SGLang, llama-server (``--metrics``) and ``assay sim`` expose one. The difference of
the counters (and of histogram sums and counts) between the scrape before a point and the
one after it gives the server's own view of that point: tokens it generated, mean TTFT,
queue time, end-to-end latency, shown beside the client's.

Speculative decoding (vLLM's ``spec_decode_num_drafts`` / ``_num_draft_tokens`` /
``_num_accepted_tokens`` counters, and ``_num_accepted_tokens_per_pos`` by ``position``; ``assay sim
--spec-draft-tokens`` serves the same names), as vLLM defines them over the point:
``draft_acceptance_rate = accepted / draft tokens``; ``mean_acceptance_length = 1 + accepted / drafts``
(the bonus token of each step included); ``acceptance_rate_per_position[i] = accepted at i / drafts``.
"""

from __future__ import annotations

from typing import Any

# Our name -> the names servers use (first found wins).
COUNTERS = {
    "generation_tokens": ("vllm:generation_tokens_total", "sglang:generation_tokens_total",
                          "llamacpp:tokens_predicted_total", "sim_generation_tokens_total"),
    "prompt_tokens": ("vllm:prompt_tokens_total", "sglang:prompt_tokens_total", "llamacpp:prompt_tokens_total"),
    "requests": ("vllm:request_success_total", "sglang:num_requests_total", "sim_requests_total"),
    "spec_decode_drafts": ("vllm:spec_decode_num_drafts_total",),
    # prefix cache (multi-turn): prompt tokens looked up in it, and those found there
    "prefix_cache_queries": ("vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"),
    "prefix_cache_hits": ("vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"),
    "spec_decode_draft_tokens": ("vllm:spec_decode_num_draft_tokens_total",),
    "spec_decode_accepted_tokens": ("vllm:spec_decode_num_accepted_tokens_total",),
}
ACCEPTED_PER_POSITION = "vllm:spec_decode_num_accepted_tokens_per_pos_total"
"""Labelled by ``position``: :func:`parse` keeps each as ``<name>{position="i"}`` besides the sum."""
HISTOGRAMS = {
    "ttft_s": ("vllm:time_to_first_token_seconds", "sglang:time_to_first_token_seconds"),
    "queue_s": ("vllm:request_queue_time_seconds", "sglang:queue_time_seconds"),
    "latency_s": ("vllm:e2e_request_latency_seconds", "sglang:e2e_request_latency_seconds"),
    "tpot_s": ("vllm:request_time_per_output_token_seconds", "vllm:time_per_output_token_seconds",
               "sglang:time_per_output_token_seconds"),
}


def metrics_url(endpoint_url: str) -> str:
    """``http://host:port/metrics`` for an endpoint URL like ``http://host:port/v1/completions``."""
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint_url)
    return f"{parts.scheme}://{parts.netloc}/metrics"


def parse(text: str) -> dict[str, float]:
    """Sample name -> value, summed over label sets (one model per server)."""
    from prometheus_client.parser import text_string_to_metric_families

    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[sample.name] = values.get(sample.name, 0.0) + float(sample.value)
            if sample.name == ACCEPTED_PER_POSITION and "position" in sample.labels:
                key = _position_key(int(sample.labels["position"]))
                values[key] = values.get(key, 0.0) + float(sample.value)
    return values


def _position_key(position: int) -> str:
    return f'{ACCEPTED_PER_POSITION}{{position="{position}"}}'


def difference(before: dict[str, float], after: dict[str, float], duration_s: float) -> dict[str, Any]:
    """The server's view of one sweep point."""
    delta = {name: after[name] - before.get(name, 0.0) for name in after}
    result: dict[str, Any] = {}
    for ours, names in COUNTERS.items():
        for name in names:
            if name in delta:
                result[ours] = delta[name]
                break
    if "generation_tokens" in result and duration_s > 0:
        result["generation_tokens_per_s"] = result["generation_tokens"] / duration_s
    if result.get("prefix_cache_queries"):
        result["prefix_cache_hit_rate"] = result.get("prefix_cache_hits", 0.0) / result["prefix_cache_queries"]
    for ours, names in HISTOGRAMS.items():
        for name in names:
            count = delta.get(f"{name}_count")
            if count:
                result[f"{ours}_mean"] = delta.get(f"{name}_sum", 0.0) / count
                break
    result.update(spec_decode(result, delta))
    return result


def spec_decode(counters: dict[str, Any], delta: dict[str, float]) -> dict[str, Any]:
    """Acceptance over the point from its counter differences (nothing when no draft was made in it)."""
    drafts = counters.get("spec_decode_drafts")
    if not drafts:
        return {}
    result: dict[str, Any] = {}
    accepted = counters.get("spec_decode_accepted_tokens", 0.0)
    draft_tokens = counters.get("spec_decode_draft_tokens")
    if draft_tokens:
        result["draft_acceptance_rate"] = accepted / draft_tokens
    result["mean_acceptance_length"] = 1 + accepted / drafts
    positions: list[float] = []
    while _position_key(len(positions)) in delta:
        positions.append(delta[_position_key(len(positions))] / drafts)
    if positions:
        result["acceptance_rate_per_position"] = positions
    return result


async def scrape(url: str) -> dict[str, float] | None:
    """One scrape; None (and the point goes on) if the endpoint does not answer."""
    import aiohttp

    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session, \
                session.get(url) as response:
            if response.status != 200:
                return None
            return parse(await response.text())
    except Exception:  # metrics are a bonus: never fail a run over them
        return None
