"""Scores from sample records: AveragePass@1, unbiased pass@k, 95% confidence intervals.

- AveragePass@1: the mean over samples of each sample's fraction of correct repeats
  (requests that finally failed are left out of that sample's repeats, and counted).
- pass@k (k ≤ repeats): the unbiased estimator 1 - C(n-c, k) / C(n, k) per sample
  (Chen et al., 2021), averaged over samples with n ≥ k.
- 95% CI: Wilson score interval when each sample has one judged repeat scored 0 or 1 (a
  proportion), else a percentile bootstrap over samples (2000 resamples, fixed seed), so repeats
  of one sample are never treated as independent and partial scores (F1, a tie's ½) are never
  rounded. A weighted metric (IFEval's per-instruction scores, SimpleQA's F-score) is bootstrapped
  as the weighted mean it is: each resample's sum(score × weight) / sum(weight).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from assay.eval.records import SampleRecord

Z95 = 1.959963984540054


def pass_at_k(n: int, c: int, k: int) -> float:
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def wilson(successes: float, total: int) -> tuple[float, float]:
    if total == 0:
        return (0.0, 0.0)
    p = successes / total
    denominator = 1 + Z95**2 / total
    centre = (p + Z95**2 / (2 * total)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / total + Z95**2 / (4 * total**2)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def bootstrap(values: Sequence[float], resamples: int = 2000, seed: int = 0,
              weights: Sequence[float] | None = None) -> tuple[float, float]:
    """Percentile interval of the (weighted) mean over samples, resampling samples with replacement."""
    import numpy as np

    if not values:
        return (0.0, 0.0)
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(data), size=(resamples, len(data)))
    if weights is None:
        means = data[picks].mean(axis=1)
    else:
        w = np.asarray(weights, dtype=float)
        totals = w[picks].sum(axis=1)
        means = np.divide((data * w)[picks].sum(axis=1), totals, out=np.zeros(resamples), where=totals > 0)
    low, high = np.percentile(means, [2.5, 97.5])
    return (float(low), float(high))


def score_group(records: Iterable[SampleRecord], repeats: int, extra_metrics: Sequence[str] = ()) -> dict[str, Any]:
    """Metrics of one subset (or of all subsets together)."""
    by_sample: dict[str, list[SampleRecord]] = defaultdict(list)
    for record in records:
        by_sample[f"{record.subset}/{record.sample_id}"].append(record)
    per_sample_mean: list[float] = []
    counts: list[tuple[int, int]] = []
    errors = truncated = no_answer = judged = 0
    latency: list[float] = []
    completion_tokens = 0
    for rows in by_sample.values():
        valid = [r for r in rows if r.verdict != "error"]
        errors += len(rows) - len(valid)
        truncated += sum(r.verdict == "truncated" for r in valid)
        no_answer += sum(r.verdict == "wrong" and r.extracted is None for r in valid)  # nothing stated: not guessed
        judged += len(valid)
        latency += [r.latency_s for r in valid if r.latency_s is not None]
        completion_tokens += sum(r.completion_tokens or 0 for r in valid)
        if valid:
            correct = sum(r.score for r in valid)
            per_sample_mean.append(correct / len(valid))
            counts.append((len(valid), round(correct)))
    # No scored sample (every request failed): no score and no interval, null, never 0.0 with [0, 0].
    mean = sum(per_sample_mean) / len(per_sample_mean) if per_sample_mean else None
    binary = all(n == 1 for n, _ in counts) and all(m in (0.0, 1.0) for m in per_sample_mean)
    ci = wilson(sum(c for _, c in counts), len(counts)) if binary else bootstrap(per_sample_mean)
    result: dict[str, Any] = {
        "num": len(by_sample),
        "scored_samples": len(per_sample_mean),
        "judged_generations": judged,
        "AveragePass@1": mean,
        "ci95": {"AveragePass@1": list(ci) if per_sample_mean else None},
        "errors": errors,
        "truncated": truncated,
        "no_answer": no_answer,
        "mean_latency_s": sum(latency) / len(latency) if latency else None,
        "completion_tokens": completion_tokens,
    }
    for name in extra_metrics:  # further per-generation scores: the same mean over samples, same CI
        # A score may carry a weight (``<name>__weight``, e.g. IFEval's instruction count): then
        # the metric is the weighted mean (micro average), as its paper defines it.
        means, weights = [], []
        for rows in by_sample.values():
            scored = [r for r in rows if r.verdict != "error" and name in r.scores]
            if scored:
                means.append(sum(r.scores[name] for r in scored) / len(scored))
                weights.append(sum(r.scores.get(f"{name}__weight", 1.0) for r in scored) / len(scored))
        if means:
            total = sum(weights)
            result[name] = sum(m * w for m, w in zip(means, weights)) / total if total else 0.0
            unweighted = all(w == 1.0 for w in weights)
            binary = unweighted and all(v in (0.0, 1.0) for v in means)
            result["ci95"][name] = list(wilson(sum(means), len(means)) if binary
                                        else bootstrap(means, weights=None if unweighted else weights))
    for k in range(2, repeats + 1):
        eligible = [(n, c) for n, c in counts if n >= k]
        values = [pass_at_k(n, c, k) for n, c in eligible]
        if values:
            result[f"pass@{k}"] = sum(values) / len(values)
            result["ci95"][f"pass@{k}"] = list(bootstrap(values))
    return result


def benchmark_report(
    records: Sequence[SampleRecord], *, subsets: Sequence[str], repeats: int, extra_metrics: Sequence[str] = ()
) -> dict[str, Any]:
    """``{"metrics": [names], "subsets": {name: metrics}, "overall": metrics}`` for one benchmark.

    ``metrics`` lists every score the report holds, in the order the table shows them: the primary
    score, the benchmark's own metrics, then pass@k.
    """
    report: dict[str, Any] = {"subsets": {}}
    for subset in subsets:
        rows = [r for r in records if r.subset == subset]
        if rows:
            report["subsets"][subset] = score_group(rows, repeats, extra_metrics)
    report["overall"] = score_group(records, repeats, extra_metrics)
    passes = sorted((k for k in report["overall"] if k.startswith("pass@")), key=lambda k: int(k.split("@")[1]))
    report["metrics"] = ["AveragePass@1", *(m for m in extra_metrics if m in report["overall"]), *passes]
    return report
