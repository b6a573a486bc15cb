from __future__ import annotations

import os
import subprocess
import sys

import pytest

from assay.perf.metrics import best_points, itl_samples, recommendations, stats, summarize_point
from assay.store import RequestRecord

MS = 1_000_000  # ns


def record(index, *, start=0, sent=1, first=101, end=1101, tokens=11, chunks=None, chunk_tokens=(), error=None,
           prompt=None, asked=None):
    """Times in ms; chunk times in ms after sent."""
    times = chunks if chunks is not None else [100 + 100 * i for i in range(tokens)]
    return RequestRecord(
        index=index, point=0, phase="measure", concurrency=1, start_ns=start * MS, sent_ns=sent * MS,
        first_token_ns=first * MS, end_ns=end * MS, chunk_times_us=[t * 1000 for t in times],
        chunk_tokens=list(chunk_tokens), completion_tokens=None if error else tokens, prompt_tokens=prompt,
        requested_prompt_tokens=asked, token_source="usage", error=error,
    )


def test_latency_ttft_tpot_follow_their_definitions():
    point = summarize_point([record(0)], point=0, concurrency=1, number=1, percentiles=[50, 99])
    assert point["latency_s"]["mean"] == pytest.approx(1.1)
    assert point["ttft_s"]["mean"] == pytest.approx(0.1)
    assert point["tpot_s"]["mean"] == pytest.approx(0.1)  # (1.1 - 0.1) / (11 - 1)
    assert point["client_overhead_s"]["mean"] == pytest.approx(0.001)
    assert point["duration_s"] == pytest.approx(1.101)
    assert point["rps"] == pytest.approx(1 / 1.101)
    assert point["output_throughput"] == pytest.approx(11 / 1.101)


def test_a_chunk_of_k_tokens_counts_as_k_inter_token_latencies():
    # 1 + 4 + 4 + 4 tokens in 4 chunks, 40 ms apart: each token 10 ms apart.
    exact = record(0, tokens=13, chunks=[100, 140, 180, 220], chunk_tokens=[1, 4, 4, 4])
    values, weights, method = itl_samples(exact)
    assert method == "per-chunk usage" and values == pytest.approx([0.01, 0.01, 0.01]) and weights == [4, 4, 4]
    # Without per-chunk usage the 12 later tokens are spread evenly: the same answer, flagged.
    spread = record(0, tokens=13, chunks=[100, 140, 180, 220])
    values, weights, method = itl_samples(spread)
    assert method == "spread evenly" and values == pytest.approx([0.01] * 3)
    point = summarize_point([spread], point=0, concurrency=1, number=1, percentiles=[50])
    assert point["itl_s"]["mean"] == pytest.approx(0.01)
    assert point["itl_method"] == "spread evenly (1)"
    # Per-chunk ITL (what the peers report) would say 40 ms: 4x too slow.


def test_weighted_percentiles_count_tokens_not_chunks():
    values = [0.001, 0.1]
    assert stats(values, [50], weights=[99, 1])["p50"] == pytest.approx(0.001)
    assert stats(values, [50])["p50"] == pytest.approx(0.0505)


def test_failures_count_in_success_rate_and_leave_timings_alone():
    rows = [record(0), record(1, error="HTTP 500: boom"), record(2, error="HTTP 500: boom"), record(3)]
    point = summarize_point(rows, point=0, concurrency=2, number=4, percentiles=[50])
    assert point["requests"] == 4 and point["succeeded"] == 2 and point["failed"] == 2
    assert point["success_rate"] == 0.5
    assert point["errors"] == {"HTTP 500": 2}
    assert point["latency_s"]["mean"] == pytest.approx(1.1)
    advice = recommendations([point], 11, None)
    assert any("2 of 4 requests failed" in line for line in advice)


def test_prompt_token_check_names_the_special_tokens():
    rows = [record(i, prompt=101, asked=100) for i in range(3)]
    check = summarize_point(rows, point=0, concurrency=1, number=3, percentiles=[50],
                            special_tokens=["<s> (BOS)"])["prompt_tokens_check"]
    assert check["matches"] and check["differences"] == {"1": 3} and check["special_tokens"] == ["<s> (BOS)"]
    off = summarize_point([record(0, prompt=140, asked=100)], point=0, concurrency=1, number=1, percentiles=[50],
                          special_tokens=["<s> (BOS)"])
    assert not off["prompt_tokens_check"]["matches"]
    assert any("differ from the requested lengths" in line for line in recommendations([off, off], 11, None))


def test_best_points_and_saturation_advice():
    def point(index, concurrency, rps, latency):
        return {"point": index, "concurrency": concurrency, "rps": rps, "succeeded": 1, "failed": 0,
                "requests": 1, "errors": {}, "latency_s": {"mean": latency}, "output_tokens_per_request": {}}

    growing = [point(0, 1, 1.0, 1.0), point(1, 10, 5.0, 2.0)]
    assert best_points(growing) == {"highest_rps": 1, "lowest_latency": 0}
    assert any("try higher concurrency" in a for a in recommendations(growing, None, None))
    flat = [point(0, 1, 1.0, 1.0), point(1, 10, 5.0, 2.0), point(2, 50, 5.0, 10.0)]
    advice = recommendations(flat, None, None)
    assert any("saturated" in a for a in advice) and any("grows 10.0×" in a for a in advice)


def test_numpy_comes_without_a_blas_thread_pool_and_leaves_the_environment_alone():
    code = ("import os; from assay.perf.metrics import stats; stats([1.0, 2.0], [50]); "
            "print(len(os.listdir('/proc/self/task')), 'OPENBLAS_NUM_THREADS' in os.environ)")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.split() == ["1", "False"]  # one thread: no OpenBLAS workers spinning beside the loop


def test_percentiles_are_numpys_to_the_last_bit_without_numpy_ma():
    """stats() takes its percentiles from a partition (issue 19); they must equal np.percentile's exactly."""
    import numpy as np

    rng = np.random.default_rng(7)
    wanted = [0, 10, 25, 33.3, 50, 66, 75, 90, 95, 99, 99.9, 100]
    for n in (1, 2, 3, 7, 100, 1001):
        for values in (rng.random(n), rng.exponential(0.05, n), np.round(rng.random(n) * 5), np.full(n, 0.25)):
            got = stats(values.tolist(), wanted)
            expected = np.percentile(values, wanted)
            assert [got[f"p{p:g}"] for p in wanted] == expected.tolist(), n
    assert stats([1.0, float("nan")], [50])["p50"] != stats([1.0, float("nan")], [50])["p50"]  # NaN, as numpy
    code = "import sys; from assay.perf.metrics import stats; stats([3.0, 1.0, 2.0], [50, 99]); print('numpy.ma' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False"]  # np.percentile would have imported it (through np.unique)
