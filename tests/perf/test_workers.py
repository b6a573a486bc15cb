"""--workers N: the same requests and merged metrics as one process, on one schedule."""

from __future__ import annotations

import itertools

import pytest

from assay import PerfConfig, run_perf
from assay.engines.sim import SimServer, SimSettings
from assay.store import read_records


def _run(sim, tmp_path, name, **kwargs):
    config = dict(url=f"{sim.base_url}/completions", model="sim", name=name, tokenizer_path="o200k_base",
                  min_prompt_length=16, max_prompt_length=16, max_tokens=32, outputs_dir=str(tmp_path),
                  quiet=True, html=False)
    config.update(kwargs)
    result = run_perf(PerfConfig(**config))
    records, _ = read_records(result.run_dir / "requests.jsonl")
    return result.summary["points"], records


@pytest.mark.parametrize("load", [{"parallel": [8], "number": [48]}, {"rate": [60.0], "number": [60]}])
def test_two_workers_match_one_process(tmp_path, load):
    with SimServer(SimSettings(ttft_ms=20, tpot_ms=4)) as sim:
        one, one_records = _run(sim, tmp_path, "one", **load)
        two, two_records = _run(sim, tmp_path, "two", workers=2, **load)
    assert len(one_records) == len(two_records) == load["number"][0]
    assert sorted(r.index for r in two_records) == sorted(r.index for r in one_records)
    assert all(r.error is None for r in two_records)
    a, b = one[0], two[0]
    assert a["requests"] == b["requests"] and a["output_tokens"] == b["output_tokens"]
    assert b["tpot_s"]["mean"] == pytest.approx(a["tpot_s"]["mean"], rel=0.05)
    assert b["ttft_s"]["p50"] == pytest.approx(a["ttft_s"]["p50"], abs=0.005)
    assert b["rps"] == pytest.approx(a["rps"], rel=0.25)
    # Percentiles come from the union of all requests, not from per-worker summaries.
    import numpy as np

    latencies = [(r.end_ns - r.sent_ns) / 1e9 for r in two_records]
    assert b["latency_s"]["p99"] == pytest.approx(float(np.percentile(latencies, 99)))
    if "rate" in load:  # one schedule: the send times interleave across workers like one process's
        scheduled = sorted(r.scheduled_ns for r in two_records)
        gaps = [y - x for x, y in itertools.pairwise(scheduled)]
        assert sum(gaps) / len(gaps) / 1e9 == pytest.approx(1 / 60, rel=0.35)
