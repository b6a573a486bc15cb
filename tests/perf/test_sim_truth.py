"""assay's numbers against the simulator's ground truth (issue 4).

The simulator records, on the machine-wide monotonic clock, when each request reached its
socket (the kernel's receive timestamp) and when each chunk was written; assay records when it
sent each request and when each chunk arrived. Stated tolerances (2-core CI machine, client and
simulator sharing it):

- TTFT: median error ≤ 2 ms at concurrency 1; ≤ 8 ms at concurrency 64, where the client and the
  simulator share two cores while 64 streams run (measured here: 0.2–0.7 ms mean, under 1 ms
  with both cores also busy with other work; median 0.15 ms at 1 and 0.04 ms at 64 with five
  other test runs on the two cores, whose mean at 64 was 1.05 ms and largest error 4.6 ms);
- TPOT, ITL: within 3 % of the simulator's schedule; throughput within 5 %.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import statistics
import sys
import time

import pytest

from assay import PerfConfig, run_perf
from assay.engines.sim import SimServer, SimSettings
from assay.perf.schedule import arrival_offsets
from assay.store import read_records
from tests.perf.machine_load import delay_per_point

pytestmark = pytest.mark.slow


def _run(sim: SimServer, tmp_path, **kwargs):
    config = dict(url=f"{sim.base_url}/completions", model="sim", tokenizer_path="o200k_base",
                  min_prompt_length=16, max_prompt_length=16, outputs_dir=str(tmp_path), quiet=True)
    config.update(kwargs)
    result = run_perf(PerfConfig(**config))
    records, _ = read_records(result.run_dir / "requests.jsonl")
    origin = json.loads((result.run_dir / "run.json").read_text())["origin_perf_ns"]
    return result, records, origin


@pytest.mark.parametrize(("concurrency", "tokens_per_chunk", "ttft_tolerance_ms"), [
    (1, 1, 2.0), (1, 4, 2.0), (64, 1, 8.0), (64, 4, 8.0),
])
def test_measured_timings_match_the_simulators_ground_truth(tmp_path, concurrency, tokens_per_chunk, ttft_tolerance_ms):
    settings = SimSettings(ttft_ms=50, tpot_ms=10, tokens_per_chunk=tokens_per_chunk)
    number = max(5, 2 * concurrency)  # enough requests for a median that one late wake-up cannot move
    with SimServer(settings) as sim:
        result, records, origin = _run(sim, tmp_path, parallel=[concurrency], number=[number],
                                       max_tokens=64, continuous_usage=tokens_per_chunk > 1)
        truth = {t["id"]: t for t in sim.records() if t["chunk_ns"]}
    assert len(records) == number and all(r.error is None for r in records)
    ttft_errors, tpot_truth, itl_truth, token_gaps = [], [], [], []
    for record in records:
        t = truth[record.response_id]
        true_ttft = (t["chunk_ns"][0] - t["arrival_ns"]) / 1e6
        ttft_errors.append((record.first_token_ns - record.sent_ns) / 1e6 - true_ttft)
        tpot_truth.append((t["chunk_ns"][-1] - t["chunk_ns"][0]) / 1e9 / (record.completion_tokens - 1))
        gaps = [(b - a) / 1e9 / k for a, b, k in zip(t["chunk_ns"], t["chunk_ns"][1:], t["chunk_tokens"][1:])]
        itl_truth.append(statistics.mean(gaps))
        token_gaps += [gap for gap, k in zip(gaps, t["chunk_tokens"][1:]) for _ in range(k)]
        assert record.completion_tokens == 64
        # Sending before arriving, receiving after writing: causality holds on the shared clock.
        assert record.sent_ns + origin <= t["arrival_ns"] and record.first_token_ns + origin >= t["chunk_ns"][0]
    point = result.summary["points"][0]
    # The error is one-sided: the part the client adds to every request, plus the time a loaded
    # machine keeps the client (or the kernel's delivery) from running when a chunk arrives, which
    # hits some requests by several milliseconds. The median keeps the first and drops the second,
    # so the bound holds on a quiet, a fast and a loaded machine alike, while a client that adds
    # 20 ms to each first token fails it (at concurrency 1, one that adds 3 ms).
    assert min(ttft_errors) >= 0 and statistics.median(ttft_errors) <= ttft_tolerance_ms, sorted(ttft_errors)
    assert point["tpot_s"]["mean"] == pytest.approx(statistics.mean(tpot_truth), rel=0.03)
    assert point["itl_s"]["mean"] == pytest.approx(statistics.mean(itl_truth), rel=0.03)
    # A chunk of 4 tokens is 4 inter-token latencies of 10 ms, not one of 40 ms.
    # Against the simulator's own per-token gaps, not its nominal 10 ms: on a loaded machine it falls
    # behind and writes several due chunks back to back (seen: 17 % of gaps under 1 ms at 64 streams,
    # and more than half in some runs, where the true median is 0.07 ms). 1 ms, plus the spread of the
    # true gaps between their 40th and 60th percentiles (near zero unless the median sits on such a
    # cliff), still fails a 40 ms ITL for a 4-token chunk and any client that adds milliseconds.
    deciles = statistics.quantiles(token_gaps, n=10)
    assert point["itl_s"]["p50"] == pytest.approx(statistics.median(token_gaps), abs=0.001 + deciles[5] - deciles[3])
    expected_method = "per-chunk usage" if tokens_per_chunk > 1 else "one token per chunk"
    assert point["itl_method"].startswith(expected_method)
    # The point's own requests only: a probe sent before the point (the prompt-token check) would
    # stretch the span by however long the machine took to get from it to the point.
    served = [truth[r.response_id] for r in records]
    span = (max(t["end_ns"] for t in served) - min(t["arrival_ns"] for t in served)) / 1e9
    assert point["output_throughput"] == pytest.approx(64 * len(records) / span, rel=0.05)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kernel receive timestamps (SO_TIMESTAMPNS)")
def test_arrival_is_when_the_bytes_reached_the_socket_even_while_the_simulator_is_stopped():
    # A request sent while the simulator cannot run (stopped for 300 ms) keeps its true arrival,
    # and the wait counts in the true TTFT, as a client sees it.
    with SimServer(SimSettings(ttft_ms=20, tpot_ms=5)) as sim:
        body = json.dumps({"model": "sim", "prompt": "hello", "max_tokens": 2}).encode()
        head = (f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", sim.port)) as conn:
            os.kill(sim.pid, signal.SIGSTOP)
            try:
                sent_ns = time.perf_counter_ns()
                conn.sendall(head + body)
                time.sleep(0.3)
            finally:
                os.kill(sim.pid, signal.SIGCONT)
            reply = b""
            while chunk := conn.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 200")
        (truth,) = sim.records()
    assert 0 <= truth["arrival_ns"] - sent_ns < 5e6
    assert (truth["start_ns"] - truth["arrival_ns"]) / 1e6 >= 290
    assert (truth["chunk_ns"][0] - truth["arrival_ns"]) / 1e6 >= 300 + 20


def test_reasoning_and_answer_first_tokens_are_told_apart(tmp_path, monkeypatch):
    delays = delay_per_point(monkeypatch)
    with SimServer(SimSettings(ttft_ms=30, tpot_ms=5, reasoning_tokens=20)) as sim:
        config = dict(url=f"{sim.base_url}/chat/completions")
        _result, records, _ = _run(sim, tmp_path, parallel=[2], number=[4], max_tokens=40, **config)
        truth = {t["id"]: t for t in sim.records() if t["chunk_ns"]}
    for r in records:
        assert r.first_reasoning_ns == r.first_token_ns
        # The 21st chunk is the first of the answer: against when the simulator wrote it (it runs
        # late on a loaded machine), within 4 ms (a token is 5 ms) plus what the machine took from
        # the client meanwhile.
        chunks = truth[r.response_id]["chunk_ns"]
        assert (r.first_answer_ns - r.first_reasoning_ns) / 1e6 == pytest.approx(
            (chunks[20] - chunks[0]) / 1e6, abs=4 + delays[0].ms)
        # The server's count of them (usage.completion_tokens_details, as vLLM sends it) is the 20 reasoning tokens.
        assert r.reasoning_tokens == 20 and r.completion_tokens == 40


@pytest.mark.parametrize("burstiness", [1.0, 0.25, 4.0])
def test_arrivals_have_the_asked_rate_and_dispersion(burstiness):
    offsets = arrival_offsets(20000, 50.0, burstiness=burstiness, seed=3)
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    mean = statistics.mean(gaps)
    assert mean == pytest.approx(1 / 50, rel=0.03)
    cv = statistics.pstdev(gaps) / mean
    assert cv == pytest.approx(1 / burstiness**0.5, rel=0.05)  # Poisson: CV 1


def test_ramp_up_climbs_linearly_and_duration_cuts_the_schedule():
    offsets = arrival_offsets(10**6, 100.0, ramp_up_s=10.0, duration_s=20.0, seed=1)
    first_half = sum(1 for t in offsets if t < 5)   # expected 100·5²/20 = 125
    second_half = sum(1 for t in offsets if 5 <= t < 10)  # expected 500 - 125 = 375
    assert first_half == pytest.approx(125, rel=0.2) and second_half == pytest.approx(375, rel=0.15)
    assert max(offsets) < 20.0 and len(offsets) == pytest.approx(1500, rel=0.1)


def test_open_loop_rate_reaches_the_server_and_slot_waits_are_reported(tmp_path, monkeypatch):
    delays = delay_per_point(monkeypatch)
    with SimServer(SimSettings(ttft_ms=20, tpot_ms=5)) as sim:
        _result, records, _origin = _run(sim, tmp_path, rate=[40.0], number=[120], max_tokens=8)
        arrivals = sorted(t["arrival_ns"] for t in sim.records())
        sim.reset()
        capped, capped_records, _ = _run(sim, tmp_path, rate=[200.0], parallel=[2], number=[40], max_tokens=8)
    span = (arrivals[-1] - arrivals[0]) / 1e9
    assert (len(arrivals) - 1) / span == pytest.approx(40.0, rel=0.25)
    # Each request starts on its schedule: within 20 ms, plus whatever the machine kept the client's
    # loop from running meanwhile (a loaded 2-core machine: tens of ms; a late start the client
    # causes itself is not excused).
    assert all(r.scheduled_ns is not None for r in records)
    latest_ms = max(r.start_ns - r.scheduled_ns for r in records) / 1e6
    assert latest_ms < 20 + delays[0].ms, (latest_ms, delays[0].ms)
    # 200/s into 2 slots of ~55 ms each: most requests wait for a slot, and the wait is not latency.
    waits = [(r.start_ns - r.scheduled_ns) / 1e9 for r in capped_records]
    assert max(waits) > 0.2
    point = capped.summary["points"][0]
    assert point["queue_wait_s"]["max"] == pytest.approx(max(waits), rel=1e-6)
    assert point["latency_s"]["max"] < 0.2


def test_duration_stops_in_time_and_warmup_is_excluded(tmp_path):
    with SimServer(SimSettings(ttft_ms=10, tpot_ms=5)) as sim:
        result, records, _origin = _run(sim, tmp_path, parallel=[4], duration=1.5, warmup_s=0.5, max_tokens=8)
    point = result.summary["points"][0]
    starts = [r.start_ns for r in records]
    assert (max(r.end_ns for r in records) - min(starts)) / 1e9 < 1.5 + 0.5  # last requests end soon after
    assert (max(starts) - min(starts)) / 1e9 < 1.5
    warm = [r for r in records if r.phase == "warmup"]
    assert warm and all((r.start_ns - min(starts)) / 1e9 < 0.55 for r in warm)
    assert point["requests"] == len(records) - len(warm) and point["excluded"] == {"warmup": len(warm)}


@pytest.mark.slow  # a dozen probes of a few seconds each
def test_slo_search_finds_the_knee(tmp_path):
    # TTFT = 20 ms + 40 ms for every other request in flight: 340 ms at 9, 380 ms at 10. The SLO sits
    # between them, 20 ms from each, and 60 ms from 300 ms at 8: a loaded machine (the simulator
    # late, the client late: seen 10-20 ms on a p99 here) moves the knee by one at most, where an
    # SLO right at 9's TTFT moved it on one run in five.
    with SimServer(SimSettings(ttft_ms=20, tpot_ms=2, ttft_ms_per_request=40)) as sim:
        result, _records, _ = _run(sim, tmp_path, max_tokens=4, slo="ttft_p99<=360ms", slo_search="concurrency",
                                   search_range=[1, 64], search_repeats=2)
    search = result.summary["search"]
    assert search["best"] in (8, 9, 10), search
    assert search["first_failing"] == search["best"] + 1
    met = {p["value"]: p["meets"] for p in search["probes"]}
    assert met[search["best"]] and not met[search["first_failing"]]  # the answer is what the probes saw
    values = [p["value"] for p in search["probes"]]
    assert values[:4] == [1, 2, 4, 8]  # bracket by doubling, then bisect
    assert "SLO search (ttft_p99<=360ms): highest concurrency meeting it" in result.report_text
