"""``assay perf --ray`` on a real two-node Ray cluster against ``assay sim`` (no mocks).

The simulator records, on the machine-wide monotonic clock, when each request reached it and when
each chunk left; the actors' records are on the driver's timeline (``origin_perf_ns`` + mark). All
run on one machine, so the true clock offset is 0 and every bound below is a hard one: a request
cannot reach the simulator before it was sent, nor its first chunk reach the client before it left.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from assay.engines.sim import SimSettings
from assay.store import read_records
from tests.scale.cluster import RayCluster

pytestmark = pytest.mark.slow

SKEW_NS = 250_000_000


def _perf_args(sim: Any, outputs: Path, *more: str) -> list[str]:
    return ["perf", "--ray", "--url", f"{sim.base_url}/completions", "--model", "sim", "--tokenizer-path",
            "o200k_base", "--min-prompt-length", "16", "--max-prompt-length", "16", "--outputs-dir", str(outputs),
            "--no-html", "--quiet", *more]


def _run_dir(outputs: Path) -> Path:
    (run_dir,) = [p.parent for p in outputs.glob("*/*/run.json")]
    return run_dir


def _records(run_dir: Path) -> tuple[list[Any], int, dict[str, Any]]:
    records, _ = read_records(run_dir / "requests.jsonl")
    origin = json.loads((run_dir / "run.json").read_text())["origin_perf_ns"]
    summary = json.loads((run_dir / "summary.json").read_text())
    return records, origin, summary


def _check_timeline(records: list[Any], origin: int, truth: dict[str, Any]) -> list[float]:
    """Causality on the merged timeline within each record's clock uncertainty; the TTFT errors (ms)."""
    errors = []
    for r in records:
        t = truth[r.response_id]
        slack = r.clock_uncertainty_ns
        assert slack is not None and 0 < slack < 50_000_000
        assert r.sent_ns + origin <= t["arrival_ns"] + slack, "reached the simulator before it was sent"
        assert r.first_token_ns + origin >= t["chunk_ns"][0] - slack, "first chunk received before it left"
        assert t["arrival_ns"] - (r.sent_ns + origin) < 50_000_000 + slack, "sent long before it arrived"
        errors.append((r.first_token_ns - r.sent_ns - (t["chunk_ns"][0] - t["arrival_ns"])) / 1e6)
    return errors


def test_closed_and_open_loop_over_two_actors_match_the_simulators_truth(ray_cluster: RayCluster,
                                                                          tmp_path: Path) -> None:
    with ray_cluster.sim(SimSettings(ttft_ms=50, tpot_ms=10)) as sim:
        closed = tmp_path / "closed"
        done = ray_cluster.assay(*_perf_args(sim, closed, "--parallel", "4", "--number", "24", "--max-tokens", "32"))
        assert done.returncode == 0, done.stderr[-3000:]
        truth = {t["id"]: t for t in ray_cluster.call(sim.records) if t["chunk_ns"]}
        ray_cluster.call(sim.reset)
        opened = tmp_path / "open"
        done = ray_cluster.assay(*_perf_args(sim, opened, "--rate", "20", "--number", "80", "--max-tokens", "8"))
        assert done.returncode == 0, done.stderr[-3000:]
        open_truth = {t["id"]: t for t in ray_cluster.call(sim.records) if t["chunk_ns"]}

    records, origin, summary = _records(_run_dir(closed))
    # Every request recorded once, from both actors (one per node).
    assert sorted(r.index for r in records) == list(range(24))
    assert {r.actor for r in records} == {0, 1}
    assert all(r.error is None and r.completion_tokens == 32 for r in records)
    ttft_errors = _check_timeline(records, origin, truth)
    # The single-process bounds (tests/perf/test_sim_truth.py): TTFT median error <= 8 ms, TPOT within 3 %.
    assert min(ttft_errors) >= -1 and statistics.median(ttft_errors) <= 8.0, sorted(ttft_errors)
    tpot_truth = [(truth[r.response_id]["chunk_ns"][-1] - truth[r.response_id]["chunk_ns"][0]) / 1e9 / 31
                  for r in records]
    point = summary["points"][0]
    assert point["tpot_s"]["mean"] == pytest.approx(statistics.mean(tpot_truth), rel=0.03)
    actors = point["actors"]
    assert actors["count"] == 2 and actors["lost"] == {}
    assert actors["clock_uncertainty_ms_max"] * 1e6 == max(r.clock_uncertainty_ns for r in records)

    records, origin, _ = _records(_run_dir(opened))
    assert sorted(r.index for r in records) == list(range(80)) and {r.actor for r in records} == {0, 1}
    _check_timeline(records, origin, open_truth)
    # The merged arrivals are the requested process: one global schedule dealt out, sent on time...
    late_ms = sorted((r.start_ns - r.scheduled_ns) / 1e6 for r in records)
    assert late_ms[0] >= -1 and statistics.median(late_ms) < 5, late_ms
    # ... and their gaps pass a Kolmogorov-Smirnov test against the exponential of rate 20/s (alpha 0.01).
    sent = sorted(r.start_ns for r in records)
    gaps = sorted((b - a) / 1e9 for a, b in itertools.pairwise(sent))
    n = len(gaps)
    statistic = max(max((i + 1) / n - (1 - math.exp(-20 * g)), (1 - math.exp(-20 * g)) - i / n)
                    for i, g in enumerate(gaps))
    assert statistic < 1.63 / math.sqrt(n), statistic


def test_a_skewed_actor_clock_is_corrected_within_the_measured_uncertainty(ray_cluster: RayCluster,
                                                                           tmp_path: Path) -> None:
    # Actor 1's clock reads 250 ms ahead, as another machine's might.
    env = {**ray_cluster.env, "ASSAY_TEST_RAY_CLOCK_SKEW_NS": f"0,{SKEW_NS}"}
    with ray_cluster.sim(SimSettings(ttft_ms=30, tpot_ms=5)) as sim:
        done = ray_cluster.run([sys.executable, "-m", "assay", *_perf_args(
            sim, tmp_path, "--parallel", "4", "--number", "16", "--max-tokens", "16")], env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        truth = {t["id"]: t for t in ray_cluster.call(sim.records) if t["chunk_ns"]}
    records, origin, _ = _records(_run_dir(tmp_path))
    assert {r.actor for r in records} == {0, 1}
    for r in records:  # the true offset is the skew: measured within its uncertainty
        skew = SKEW_NS if r.actor == 1 else 0
        assert abs(r.clock_offset_ns - skew) <= r.clock_uncertainty_ns, (r.actor, r.clock_offset_ns)
    # The merged timeline is corrected: uncorrected, actor 1's sends would land 250 ms after their arrival.
    _check_timeline(records, origin, truth)


def test_an_actor_killed_mid_point_costs_only_its_unfinished_requests(ray_cluster: RayCluster,
                                                                       tmp_path: Path) -> None:
    with ray_cluster.sim(SimSettings(ttft_ms=20, tpot_ms=20)) as sim:
        driver = ray_cluster.popen([sys.executable, "-m", "assay", *_perf_args(
            sim, tmp_path, "--parallel", "4", "--number", "24", "--max-tokens", "40", "--min-success-rate", "0")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 180
            records_file = None
            while time.monotonic() < deadline:  # wait until records arrive (the point is under way)
                found = list(tmp_path.glob("*/*/requests.jsonl"))
                if found and found[0].stat().st_size > 0:
                    records_file = found[0]
                    break
                assert driver.poll() is None, driver.communicate()[1][-3000:]
                time.sleep(0.05)
            assert records_file is not None, "no record arrived"
            (victim,) = [pid for pid in ray_cluster.processes() if _cmdline(pid).startswith("ray::PerfActor")][:1]
            os.kill(victim, signal.SIGKILL)
            _, err = driver.communicate(timeout=120)  # nothing hangs
        finally:
            if driver.poll() is None:
                driver.kill()
                driver.wait()
    assert driver.returncode == 0, err[-3000:]
    records, _, summary = _records(_run_dir(tmp_path))
    assert sorted(r.index for r in records) == list(range(24))  # every request once, lost ones too
    lost = [r for r in records if r.error is not None]
    assert lost and all(r.error.startswith("worker lost") and r.error_kind == "worker" for r in lost)
    (lost_actor,) = {r.actor for r in lost}
    assert any(r.ok for r in records if r.actor != lost_actor)  # the other actor finished the point
    assert summary["points"][0]["actors"]["lost"] == {str(lost_actor): len(lost)}


def test_an_unreachable_cluster_is_one_line_and_exit_2(ray_cluster: RayCluster, tmp_path: Path) -> None:
    done = ray_cluster.run([sys.executable, "-m", "assay", "perf", "--ray", f"{ray_cluster.node_ip}:1", "--url",
                            "http://127.0.0.1:9/v1/completions", "--model", "m", "--tokenizer-path", "o200k_base",
                            "--number", "4", "--outputs-dir", str(tmp_path)], timeout_s=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("assay: error: cannot reach the Ray cluster at 10.77.0.1:1")
    assert not list(tmp_path.iterdir())  # no run directory for a run that never started


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
