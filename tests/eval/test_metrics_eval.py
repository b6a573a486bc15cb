"""Eval metrics: AveragePass@1, unbiased pass@k, confidence intervals, extra and weighted scores."""

from __future__ import annotations

import math

import pytest

from assay.eval.metrics import bootstrap, pass_at_k, score_group, wilson
from assay.eval.records import SampleRecord


def rec(sample: str, repeat: int, verdict: str, scores: dict[str, float] | None = None) -> SampleRecord:
    return SampleRecord(key=f"b/s/{sample}/{repeat}", benchmark="b", subset="s", sample_id=sample, repeat=repeat,
                        messages=[], gold="1", verdict=verdict, score=float(verdict == "correct"),
                        scores=scores or {})


def test_pass_at_k_is_the_unbiased_estimator():
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(10, 3, 2) == pytest.approx(1 - math.comb(7, 2) / math.comb(10, 2))
    assert pass_at_k(4, 0, 2) == 0.0 and pass_at_k(4, 3, 2) == 1.0


def test_average_pass_at_1_pass_at_k_and_errors():
    rows = [rec("a", 0, "correct"), rec("a", 1, "wrong"), rec("b", 0, "wrong"), rec("b", 1, "wrong"),
            rec("c", 0, "correct"), rec("c", 1, "error")]
    group = score_group(rows, repeats=2)
    assert group["num"] == 3 and group["errors"] == 1
    assert group["AveragePass@1"] == pytest.approx((0.5 + 0.0 + 1.0) / 3)
    assert group["pass@2"] == pytest.approx((1.0 + 0.0) / 2)  # c has one judged repeat: not eligible for k=2
    low, high = group["ci95"]["AveragePass@1"]
    assert low <= group["AveragePass@1"] <= high


def test_wilson_and_bootstrap_bound_the_mean():
    low, high = wilson(12, 15)
    assert low == pytest.approx(0.5481, abs=1e-4) and high == pytest.approx(0.9295, abs=1e-4)
    low, high = bootstrap([0.0, 0.5, 1.0, 1.0])
    assert 0.0 <= low < 0.625 < high <= 1.0


def test_extra_scores_can_be_micro_averaged_by_weight():
    rows = [rec("a", 0, "correct", {"inst": 1.0, "inst__weight": 1.0}),
            rec("b", 0, "wrong", {"inst": 0.25, "inst__weight": 4.0})]
    group = score_group(rows, repeats=1, extra_metrics=["inst"])
    assert group["inst"] == pytest.approx((1.0 * 1 + 0.25 * 4) / 5)  # 2 of 5 instructions followed


def test_a_weighted_metrics_interval_is_of_the_weighted_mean():
    # 10 one-instruction prompts all followed, 10 nine-instruction prompts with one in nine followed: the micro
    # average is 20/100 = 0.2; the unweighted mean of per-prompt scores (0.556) must not set the interval.
    rows = [rec(f"a{i}", 0, "correct", {"inst": 1.0, "inst__weight": 1.0}) for i in range(10)]
    rows += [rec(f"b{i}", 0, "wrong", {"inst": 1 / 9, "inst__weight": 9.0}) for i in range(10)]
    group = score_group(rows, repeats=1, extra_metrics=["inst"])
    assert group["inst"] == pytest.approx(0.2)
    low, high = group["ci95"]["inst"]
    assert low <= 0.2 <= high < 0.45


def test_partial_single_scores_are_not_rounded_into_a_proportion():
    # One repeat each, scored ½ (a tie, an F1 of 0.5): Wilson on rounded scores would give an interval around 0.
    rows = [SampleRecord(key=f"b/s/{i}/0", benchmark="b", subset="s", sample_id=str(i), repeat=0, messages=[],
                         gold="1", verdict="wrong", score=0.5) for i in range(20)]
    group = score_group(rows, repeats=1)
    assert group["AveragePass@1"] == pytest.approx(0.5)
    assert group["ci95"]["AveragePass@1"] == pytest.approx([0.5, 0.5])
