"""Per-sweep-point metrics from request records. Pure functions; nothing here formats text.

Definitions (all latencies start at ``sent_ns``, when the request reached the socket):
  - latency = end - sent; TTFT = first content/reasoning chunk - sent;
  - TPOT = (latency - TTFT) / (output tokens - 1), per request with > 1 output token;
  - ITL is per token: the gap before a chunk that carries k tokens counts as k
    inter-token latencies of gap/k each. k comes from per-chunk usage when the server
    sent it, else the request's tokens after the first chunk are spread evenly over
    its later chunks (``itl_method`` says which);
  - client overhead = sent - start: time the request spent inside the client;
  - duration = first start to last end of the point's measured requests;
    RPS = successful requests / duration; throughputs = tokens / duration.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from assay.client.records import RequestRecord
from assay.perf.numeric import numpy


def stats(values: Sequence[float], percentiles: Sequence[float], weights: Sequence[float] | None = None) -> dict[str, float]:
    """Mean, min, max and the given percentiles (``p50`` ...); empty dict for no values."""
    np = numpy()

    if len(values) == 0:
        return {}
    array = np.asarray(values, dtype=float)
    result: dict[str, float] = {"min": float(array.min()), "max": float(array.max())}
    if weights is None:
        result["mean"] = float(array.mean())
        points = np.percentile(array, list(percentiles))
    else:
        w = np.asarray(weights, dtype=float)
        result["mean"] = float((array * w).sum() / w.sum())
        points = np.percentile(array, list(percentiles), weights=w, method="inverted_cdf")
    for p, value in zip(percentiles, points):
        result[percentile_key(p)] = float(value)
    return result


def percentile_key(p: float) -> str:
    return f"p{int(p)}" if float(p).is_integer() else f"p{p:g}"


def itl_samples(record: RequestRecord) -> tuple[list[float], list[float], str]:
    """Per-token inter-token latencies of one request: (values_s, weights, method).

    ``method`` is ``per-chunk usage`` (the server said how many tokens each chunk holds),
    ``one token per chunk`` (as many chunks as tokens) or ``spread evenly``.
    """
    times = record.chunk_times_us
    if len(times) < 2:
        return [], [], "one token per chunk"
    if record.chunk_tokens and len(record.chunk_tokens) == len(times):
        values, weights = [], []
        for i in range(1, len(times)):
            k = record.chunk_tokens[i]
            if k <= 0:  # a chunk with text but no new token (e.g. held-back bytes flushed)
                continue
            values.append((times[i] - times[i - 1]) / 1e6 / k)
            weights.append(float(k))
        return values, weights, "per-chunk usage"
    tokens_after_first = (record.completion_tokens or len(times)) - 1
    per_chunk = max(tokens_after_first, len(times) - 1) / (len(times) - 1)
    values = [(times[i] - times[i - 1]) / 1e6 / per_chunk for i in range(1, len(times))]
    return values, [per_chunk] * len(values), "one token per chunk" if per_chunk == 1.0 else "spread evenly"


def summarize_point(
    records: Iterable[RequestRecord],
    *,
    point: int,
    concurrency: int,
    number: int,
    percentiles: Sequence[float],
    special_tokens: Sequence[str] = (),
    expected_extra_tokens: int | None = None,
    slo_terms: Sequence[Any] = (),
    rate: float | None = None,
    client: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the report and the app show for one sweep point, as plain JSON data."""
    from assay.perf.slo import point_meets, request_meets

    all_rows = [r for r in records if r.point == point]
    rows = [r for r in all_rows if r.phase == "measure"]
    excluded = Counter(r.phase for r in all_rows if r.phase != "measure")
    ok = [r for r in rows if r.error is None]
    failed = [r for r in rows if r.error is not None]
    duration_s = (max(r.end_ns for r in rows) - min(r.start_ns for r in rows)) / 1e9 if rows else 0.0

    latency, ttft, tpot, overhead, queue_wait = [], [], [], [], []
    itl_values: list[float] = []
    itl_weights: list[float] = []
    itl_methods: Counter[str] = Counter()
    good = 0
    output_tokens, input_tokens = [], []
    for r in ok:
        sent = r.sent_ns if r.sent_ns is not None else r.start_ns
        lat = (r.end_ns - sent) / 1e9
        latency.append(lat)
        overhead.append((sent - r.start_ns) / 1e9)
        first = r.first_token_ns if r.first_token_ns is not None else r.end_ns
        ttft.append((first - sent) / 1e9)
        if r.scheduled_ns is not None:
            queue_wait.append(max(0, r.start_ns - r.scheduled_ns) / 1e9)
        out = r.completion_tokens or 0
        output_tokens.append(out)
        input_tokens.append(r.prompt_tokens or 0)
        own_tpot = (r.end_ns - first) / 1e9 / (out - 1) if out > 1 else None
        if own_tpot is not None:
            tpot.append(own_tpot)
        values, weights, method = itl_samples(r)
        itl_values += values
        itl_weights += weights
        itl_methods[method] += 1
        if slo_terms:
            own_itl = sum(v * w for v, w in zip(values, weights)) / sum(weights) if weights else None
            own = {"ttft": ttft[-1], "tpot": own_tpot, "itl": own_itl, "latency": lat}
            good += request_meets(own, list(slo_terms))

    total_out = sum(output_tokens)
    total_in = sum(input_tokens)
    errors = Counter(_error_class(r.error or "") for r in failed)
    summary: dict[str, Any] = {
        "point": point,
        "concurrency": concurrency,
        "number": number,
        "rate": rate,
        "excluded": dict(excluded),
        "requests": len(rows),
        "succeeded": len(ok),
        "failed": len(failed),
        "success_rate": len(ok) / len(rows) if rows else 0.0,
        "errors": dict(errors.most_common(10)),
        "duration_s": duration_s,
        "rps": len(ok) / duration_s if duration_s > 0 else 0.0,
        "output_tokens": total_out,
        "input_tokens": total_in,
        "output_throughput": total_out / duration_s if duration_s > 0 else 0.0,
        "total_throughput": (total_out + total_in) / duration_s if duration_s > 0 else 0.0,
        "latency_s": stats(latency, percentiles),
        "ttft_s": stats(ttft, percentiles),
        "tpot_s": stats(tpot, percentiles),
        "itl_s": stats(itl_values, percentiles, itl_weights),
        "client_overhead_s": stats(overhead, percentiles),
        "queue_wait_s": stats(queue_wait, percentiles),
        "input_tokens_per_request": stats(input_tokens, percentiles),
        "output_tokens_per_request": stats(output_tokens, percentiles),
        "output_throughput_per_request": stats(
            [o / lat for o, lat in zip(output_tokens, latency) if lat > 0], percentiles
        ),
        "token_source": dict(Counter(r.token_source for r in ok)),
        "itl_method": ", ".join(f"{m} ({n})" for m, n in itl_methods.most_common()) or "-",
        "finish_reasons": dict(Counter(str(r.finish_reason) for r in ok)),
        "prompt_tokens_check": prompt_tokens_check(ok, special_tokens, expected_extra_tokens),
        "client": client or {},
    }
    if slo_terms:
        meets, details = point_meets(summary, list(slo_terms))
        summary["slo"] = {"meets": meets, "terms": details, "good_requests": good,
                          "goodput_rps": good / duration_s if duration_s > 0 else 0.0}
    return summary


def prompt_tokens_check(
    records: Sequence[RequestRecord], special_tokens: Sequence[str], expected_extra_tokens: int | None = None
) -> dict[str, Any]:
    """Server-counted prompt tokens vs the lengths assay asked for (random prompts only).

    ``special_tokens`` names what the server is expected to add; each counts one token
    unless ``expected_extra_tokens`` says otherwise (a chat template adds many).
    """
    pairs = [
        (r.requested_prompt_tokens, r.prompt_tokens)
        for r in records
        if r.requested_prompt_tokens is not None and r.prompt_tokens is not None
    ]
    if not pairs:
        return {}
    differences = Counter(server - asked for asked, server in pairs)
    expected = len(special_tokens) if expected_extra_tokens is None else expected_extra_tokens
    return {
        "expected_extra_tokens": expected,
        "requested_mean": sum(a for a, _ in pairs) / len(pairs),
        "server_mean": sum(s for _, s in pairs) / len(pairs),
        "differences": {str(k): v for k, v in sorted(differences.items())},
        "special_tokens": list(special_tokens),
        "matches": set(differences) == {expected},
    }


def _load(point: dict[str, Any]) -> float:
    return float(point["rate"] if point.get("rate") is not None else point["concurrency"])


def _error_class(error: str) -> str:
    """Group error messages: numbers and addresses vary, the kind does not."""
    return error.split(":", 1)[0][:80] if error.startswith("HTTP") else error[:80]


def best_points(points: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The highest-RPS and lowest-latency sweep points (among those with any success)."""
    usable = [p for p in points if p["succeeded"] > 0]
    if not usable:
        return {}
    best_rps = max(usable, key=lambda p: p["rps"])
    best_latency = min(usable, key=lambda p: p["latency_s"].get("mean", float("inf")))
    return {"highest_rps": best_rps["point"], "lowest_latency": best_latency["point"]}


def point_label(point: dict[str, Any]) -> str:
    if point.get("rate") is None:
        return f"concurrency {point['concurrency']}"
    return f"rate {point['rate']:g}/s"


def recommendations(points: Sequence[dict[str, Any]], max_tokens: int | None, min_tokens: int | None) -> list[str]:
    """Plain-language advice derived from the numbers (never from guesses)."""
    advice: list[str] = []
    usable = [p for p in points if p["succeeded"] > 0]
    if not usable:
        return ["Every request failed: check the URL, the model name and the server's log."]
    if len(usable) >= 2:
        last, previous = usable[-1], usable[-2]
        higher = _load(last) > _load(previous)
        if previous["rps"] > 0 and last["rps"] > previous["rps"] * 1.1 and higher:
            advice.append(
                f"Throughput still grows at {point_label(last)} "
                f"({previous['rps']:.2f} → {last['rps']:.2f} req/s): the server has not saturated; "
                f"try higher {'rate' if last.get('rate') is not None else 'concurrency'}."
            )
        elif higher and last["rps"] <= previous["rps"] * 1.02:
            advice.append(
                f"Throughput stops growing past {point_label(previous)} "
                f"({previous['rps']:.2f} → {last['rps']:.2f} req/s): the server is saturated there."
            )
        first = usable[0]
        low = first["latency_s"].get("mean", 0.0)
        high = last["latency_s"].get("mean", 0.0)
        if low > 0 and high > 2 * low:
            advice.append(
                f"Mean latency grows {high / low:.1f}× from {point_label(first)} to "
                f"{point_label(last)} ({low:.2f} s → {high:.2f} s): requests queue or share the batch."
            )
    else:
        advice.append("Only one sweep point: add more --parallel/--number pairs to see where the server saturates.")
    for p in points:
        if p["failed"]:
            reasons = ", ".join(f"{k} (×{v})" for k, v in p["errors"].items())
            advice.append(
                f"{p['failed']} of {p['requests']} requests failed at {point_label(p)}: {reasons}."
            )
    if min_tokens is not None and max_tokens is not None and min_tokens >= max_tokens:
        short = [p for p in usable if p["output_tokens_per_request"].get("min", max_tokens) < max_tokens]
        if short:
            advice.append(
                f"Some responses stopped before {max_tokens} tokens although min_tokens = max_tokens: "
                "the server may ignore min_tokens; add --extra-args '{\"ignore_eos\": true}'."
            )
    for p in usable:
        check = p.get("prompt_tokens_check") or {}
        if check and not check.get("matches", True):
            advice.append(
                f"Server-counted prompt tokens differ from the requested lengths by {check['differences']} "
                f"at concurrency {p['concurrency']}: the server's tokenizer may not be --tokenizer-path's."
            )
            break
    return advice
