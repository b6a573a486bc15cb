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

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any

from assay.perf.config import point_label
from assay.perf.numeric import numpy
from assay.store.schema import PerfRun, PointRecord, RequestRecord


def stats(values: Sequence[float], percentiles: Sequence[float], weights: Sequence[float] | None = None) -> dict[str, float]:
    """Mean, min, max and the given percentiles (``p50`` ...); empty dict for no values."""
    np = numpy()

    if len(values) == 0:
        return {}
    array = np.asarray(values, dtype=float)
    result: dict[str, float] = {"min": float(array.min()), "max": float(array.max())}
    if weights is None:
        result["mean"] = float(array.mean())
        points = _linear_percentiles(array, percentiles, np)
    else:
        w = np.asarray(weights, dtype=float)
        result["mean"] = float((array * w).sum() / w.sum())
        if w.size and w.min() == w.max() > 0:
            # Equal weights (one token per chunk): numpy's weighted inverted CDF, without its argsort of
            # every value (seconds for millions of ITLs): the same cdf, and a partition at the ranks needed.
            cdf = np.ones(array.size).cumsum()
            cdf /= cdf[-1]
            ranks = np.minimum(np.searchsorted(cdf, np.asarray(percentiles, dtype=float) / 100, side="left"),
                               array.size - 1)
            points = np.partition(array, ranks)[ranks]
        else:
            points = np.percentile(array, list(percentiles), weights=w, method="inverted_cdf")
    for p, value in zip(percentiles, points):
        result[percentile_key(p)] = float(value)
    return result


def _linear_percentiles(array: Any, percentiles: Sequence[float], np: Any) -> list[float]:
    """``np.percentile(array, percentiles)`` (its default, linear method), bit for bit, from a partition at
    the ranks needed: numpy's own call goes through ``np.unique``, which imports ``numpy.ma`` (~20 ms
    more between the last request and the report) and sorts every value."""
    if np.isnan(array).any():
        return list(np.percentile(array, list(percentiles)))  # NaN propagates as numpy defines it
    last = array.size - 1
    positions = [last * (float(p) / 100) for p in percentiles]  # numpy's order of operations
    below = [last if x >= last else math.floor(x) for x in positions]
    above = [min(i + 1, last) for i in below]
    ordered = np.partition(array, sorted(set(below + above)))
    result = []
    for position, low, high in zip(positions, below, above):
        a, b, t = float(ordered[low]), float(ordered[high]), position - low
        result.append(b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t)  # numpy's _lerp
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
    """Everything the report and the app show for one sweep point, as plain JSON data.

    One pass over the records gathers their marks into arrays; every figure is then an array
    operation (a point of 10,000 requests × 256 chunks is summed up in a fraction of a second).
    """
    from assay.perf.generation import generation_summary
    from assay.perf.slo import point_meets, request_meets

    np = numpy()
    all_rows = [r for r in records if r.point == point]
    rows = [r for r in all_rows if r.phase == "measure"]
    excluded = Counter(r.phase for r in all_rows if r.phase != "measure")
    ok = [r for r in rows if r.error is None]
    failed = [r for r in rows if r.error is not None]
    duration_s = (max(r.end_ns for r in rows) - min(r.start_ns for r in rows)) / 1e9 if rows else 0.0

    marks = np.array(
        [(r.start_ns, r.start_ns if r.sent_ns is None else r.sent_ns,
          r.end_ns if r.first_token_ns is None else r.first_token_ns, r.end_ns, r.completion_tokens or 0,
          r.prompt_tokens or 0, -1 if r.scheduled_ns is None else r.scheduled_ns) for r in ok],
        dtype=np.int64,
    ).reshape(-1, 7)
    start, sent, first, end, output_tokens, input_tokens, scheduled = marks.T
    latency = (end - sent) / 1e9
    overhead = (sent - start) / 1e9
    ttft = (first - sent) / 1e9
    has_schedule = scheduled >= 0
    queue_wait = np.maximum(0, start[has_schedule] - scheduled[has_schedule]) / 1e9
    several = output_tokens > 1
    own_tpot = np.full(len(ok), np.nan)
    own_tpot[several] = (end[several] - first[several]) / 1e9 / (output_tokens[several] - 1)
    itl_values, itl_weights, own_itl, itl_methods = _itl(ok, np)

    good = 0
    if slo_terms:
        terms = list(slo_terms)
        for ttft_s, tpot_s, itl_s, latency_s in zip(ttft.tolist(), own_tpot.tolist(), own_itl.tolist(),
                                                    latency.tolist()):
            own = {"ttft": ttft_s, "tpot": None if tpot_s != tpot_s else tpot_s,
                   "itl": None if itl_s != itl_s else itl_s, "latency": latency_s}
            good += request_meets(own, terms)

    total_out = int(output_tokens.sum())
    total_in = int(input_tokens.sum())
    errors = Counter(_error_class(r.error or "") for r in failed)
    positive = latency > 0
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
        "tpot_s": stats(own_tpot[several], percentiles),
        "itl_s": stats(itl_values, percentiles, itl_weights),
        "client_overhead_s": stats(overhead, percentiles),
        "queue_wait_s": stats(queue_wait, percentiles),
        "input_tokens_per_request": stats(input_tokens, percentiles),
        "output_tokens_per_request": stats(output_tokens, percentiles),
        "output_throughput_per_request": stats(output_tokens[positive] / latency[positive], percentiles),
        "token_source": dict(Counter(r.token_source for r in ok)),
        "itl_method": ", ".join(f"{m} ({n})" for m, n in itl_methods.most_common()) or "-",
        # Every measured request's, failed ones too: "abort" or "error" is why they failed.
        "finish_reasons": dict(Counter(str(r.finish_reason) for r in rows)),
        "prompt_tokens_check": prompt_tokens_check(ok, special_tokens, expected_extra_tokens),
        "client": client or {},
    }
    summary.update(generation_summary(ok, percentiles))  # reasoning, TTFO, tokens per chunk (perf/generation.py)
    from assay.scale.summary import actor_summary

    actors = actor_summary(rows)  # --ray: actors, worst clock uncertainty, actors lost (scale/summary.py)
    if actors is not None:
        summary["actors"] = actors
    from assay.perf.by_endpoint import endpoint_summaries

    endpoints = endpoint_summaries(rows, duration_s, percentiles)  # several --url: each one's share
    if endpoints:
        summary["endpoints"] = endpoints
    from assay.perf.turns import session_summary

    sessions = session_summary(rows, duration_s)  # --multi-turn: TTFT by turn, sessions/s (perf/turns.py)
    if sessions is not None:
        summary["sessions"] = sessions
    if slo_terms:
        meets, details = point_meets(summary, list(slo_terms))
        summary["slo"] = {"meets": meets, "terms": details, "good_requests": good,
                          "goodput_rps": good / duration_s if duration_s > 0 else 0.0}
    return summary


def _itl(records: Sequence[RequestRecord], np: Any) -> tuple[Any, Any, Any, Counter[str]]:
    """Per-token ITL values and weights of all ``records`` at once, each request's own mean ITL (NaN if
    none), and how many requests each method served (see :func:`itl_samples`, which this matches)."""
    methods: Counter[str] = Counter()
    lengths = np.fromiter((len(r.chunk_times_us) for r in records), dtype=np.int64, count=len(records))
    # Per request: the tokens each later chunk stands for (spread evenly), or 0 where per-chunk usage says.
    spread = np.zeros(len(records))
    usage = np.zeros(len(records), dtype=bool)
    for i, r in enumerate(records):
        count = len(r.chunk_times_us)
        if count < 2:
            methods["one token per chunk"] += 1
        elif r.chunk_tokens and len(r.chunk_tokens) == count:
            usage[i] = True
            methods["per-chunk usage"] += 1
        else:
            per_chunk = max((r.completion_tokens or count) - 1, count - 1) / (count - 1)
            spread[i] = per_chunk
            methods["one token per chunk" if per_chunk == 1.0 else "spread evenly"] += 1
    total = int(lengths.sum())
    times = np.fromiter(chain.from_iterable(r.chunk_times_us for r in records), dtype=np.int64, count=total)
    owner = np.repeat(np.arange(len(records)), lengths)
    later = np.ones(total, dtype=bool)  # a chunk after its request's first one: it has a gap before it
    starts = np.cumsum(lengths) - lengths
    later[starts[lengths > 0]] = False
    gaps_s = np.diff(times, prepend=0)[later] / 1e6
    gap_owner = owner[later]
    tokens = np.repeat(spread, lengths)[later]
    if usage.any():
        usage_records = [r for r, u in zip(records, usage.tolist()) if u]
        per_chunk_tokens = np.fromiter(chain.from_iterable(r.chunk_tokens for r in usage_records), dtype=np.float64,
                                       count=int(lengths[usage].sum()))
        in_usage = np.repeat(usage, lengths)
        tokens[in_usage[later]] = per_chunk_tokens[later[in_usage]]
    counted = tokens > 0  # a chunk with text but no new token (held-back bytes flushed) carries no ITL
    weights = tokens[counted]
    values = gaps_s[counted] / weights
    owner_counted = gap_owner[counted]
    gap_sum = np.bincount(owner_counted, weights=gaps_s[counted], minlength=len(records))
    token_sum = np.bincount(owner_counted, weights=weights, minlength=len(records))
    with np.errstate(invalid="ignore", divide="ignore"):
        own_itl = np.where(token_sum > 0, gap_sum / np.where(token_sum > 0, token_sum, 1), np.nan)
    return values, weights, own_itl, methods


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


def _by_load(points: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per distinct load, lowest first: label, mean RPS and mean latency over its runs."""
    groups: dict[float, list[dict[str, Any]]] = {}
    for p in points:
        groups.setdefault(_load(p), []).append(p)
    return [
        {"label": _label(runs[0]), "kind": "rate" if runs[0].get("rate") is not None else "concurrency",
         "rps": sum(p["rps"] for p in runs) / len(runs),
         "latency_s": sum(p["latency_s"].get("mean", 0.0) for p in runs) / len(runs)}
        for _, runs in sorted(groups.items())
    ]


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


def _label(point: dict[str, Any]) -> str:
    return point_label(point["concurrency"], point.get("rate"))


def recommendations(points: Sequence[dict[str, Any]], max_tokens: int | None, min_tokens: int | None,
                    extra_args: dict[str, Any] | None = None) -> list[str]:
    """Plain-language advice derived from the numbers (never from guesses).

    ``extra_args`` is the run's request-body additions: advice to set ``ignore_eos`` is not given
    when it was set.
    """
    advice: list[str] = []
    usable = [p for p in points if p["succeeded"] > 0]
    if not usable:
        return ["Every request failed: check the URL, the model name and the server's log."]
    # By load, not in the order run (an SLO search probes up and down; repeats of a load are averaged).
    loads = _by_load(usable)
    if len(loads) >= 2:
        first, previous, last = loads[0], loads[-2], loads[-1]
        if previous["rps"] > 0 and last["rps"] > previous["rps"] * 1.1:
            advice.append(
                f"Throughput still grows at {last['label']}, the highest load run "
                f"({previous['rps']:.2f} → {last['rps']:.2f} req/s): the server has not saturated; "
                f"try higher {last['kind']}."
            )
        elif last["rps"] <= previous["rps"] * 1.02:
            advice.append(
                f"Throughput stops growing past {previous['label']} "
                f"({previous['rps']:.2f} → {last['rps']:.2f} req/s): the server is saturated there."
            )
        low, high = first["latency_s"], last["latency_s"]
        if low > 0 and high > 2 * low:
            advice.append(
                f"Mean latency grows {high / low:.1f}× from {first['label']} to "
                f"{last['label']} ({low:.2f} s → {high:.2f} s): requests queue or share the batch."
            )
    elif len(points) == 1:
        advice.append("Only one sweep point: add more --parallel/--number pairs to see where the server saturates.")
    for p in points:
        if p["failed"]:
            reasons = ", ".join(f"{k} (×{v})" for k, v in p["errors"].items())
            advice.append(
                f"{p['failed']} of {p['requests']} requests failed at {_label(p)}: {reasons}."
            )
    if min_tokens is not None and max_tokens is not None and min_tokens >= max_tokens:
        short = [p for p in usable if p["output_tokens_per_request"].get("min", max_tokens) < max_tokens]
        if short and (extra_args or {}).get("ignore_eos"):
            advice.append(
                f"Some responses stopped before {max_tokens} tokens although min_tokens = max_tokens and "
                "ignore_eos is set: the server honours neither; see the finish reasons per point."
            )
        elif short:
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


def summary_percentiles(config: dict[str, Any]) -> list[float]:
    """The percentiles a run's point summaries hold: those asked for and those its SLO needs."""
    from assay.perf.slo import needed_percentiles, parse_slo

    slo = config.get("slo")
    return sorted(set(config.get("percentiles") or []) | set(needed_percentiles(parse_slo(slo) if slo else [])))


def point_summary(records: Iterable[RequestRecord], point: PointRecord, run: PerfRun) -> dict[str, Any]:
    """One sweep point's summary from what its run directory holds (``run.json``, the point's records and
    its ``points.jsonl`` row): a live run and a rebuild from disk call this alike, so they agree."""
    from assay.perf.slo import parse_slo

    slo = run.config.get("slo")
    summary = summarize_point(
        records, point=point.point, concurrency=point.concurrency, number=point.number,
        percentiles=summary_percentiles(run.config), special_tokens=run.special_tokens,
        expected_extra_tokens=run.expected_extra_tokens, slo_terms=parse_slo(slo) if slo else [], rate=point.rate,
        client=point.client,
    )
    from assay.perf.endpoints import add_pooling_measures

    add_pooling_measures(summary, records, run.endpoint_kind, summary_percentiles(run.config))  # embeddings, rerank
    if point.server is not None:
        summary["server"] = point.server
    if point.probe is not None:
        summary["probe"] = point.probe
    return summary


def below_min_success_rate(point: dict[str, Any], min_success_rate: float) -> bool:
    """Whether fewer of the point's requests succeeded than ``--min-success-rate`` asks."""
    return bool(point["succeeded"] < min_success_rate * point["requests"])


def counts_for_verdict(point: dict[str, Any], search: dict[str, Any] | None) -> bool:
    """Sweep points always count. An SLO search probes past the server's capacity on purpose, and a
    probe that lost requests already fails the SLO there: only probes at or below the load the
    search settled on count (the lowest load probed, when none passed), so a search still fails
    the run when requests are lost at the load it reports."""
    probe = point.get("probe")
    if probe is None or search is None:
        return True
    best = search.get("best")
    if best is None:
        values = [p["value"] for p in search.get("probes") or []]
        return not values or probe["value"] <= min(values)
    return bool(probe["value"] <= best)


def run_summary(points: list[dict[str, Any]], run: PerfRun, search: dict[str, Any] | None = None) -> dict[str, Any]:
    """``summary.json``: the points, the best of them, advice and the success-rate verdict; the same for a
    live run and a rebuild."""
    from assay.store.schema import SUMMARY_SCHEMA_VERSION

    config = run.config
    min_success_rate = float(config.get("min_success_rate", 1.0))
    return {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "search": search,
        "points": points,
        "best": best_points(points),
        "recommendations": recommendations(points, config.get("max_tokens"), config.get("min_tokens"),
                                           extra_args=config.get("extra_args")),
        "verdict": {
            "min_success_rate": min_success_rate,
            "below_min_success_rate": [p["point"] for p in points if counts_for_verdict(p, search)
                                       and below_min_success_rate(p, min_success_rate)],
        },
    }
