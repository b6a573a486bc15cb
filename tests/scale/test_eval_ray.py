"""`assay eval --ray`: samples × repeats sent from Ray actors over two endpoints, one journal on the driver.

On the real two-node cluster of tests/scale/cluster.py (its own network namespace) against two
`assay sim`s: the driver is SIGKILLed mid-run and resumed (nothing lost, nothing twice), an actor
is killed mid-run (its in-flight samples are errors with reason `worker lost`, never wrong answers,
and a resume asks them again), and each run's report equals a single-process run's on the same
answers. Ray missing or unreachable: one line, exit 2.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from assay.engines.sim import SimSettings
from tests.helpers import run_assay, write_gsm8k_questions
from tests.scale.cluster import NODE_IP, RayCluster

pytestmark = pytest.mark.slow

SAMPLES = 30
REPEATS = 2


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GSM8K-shaped questions as local files."""
    return write_gsm8k_questions(tmp_path_factory.mktemp("data"), SAMPLES)


@pytest.fixture(scope="module")
def sims(ray_cluster: RayCluster):
    """Two endpoints of the same "model", in the cluster's namespace (the actors reach them there).
    Each answer takes ~0.1 s, so that a run lasts long enough to be cut in its middle."""
    settings = SimSettings(ttft_ms=10, tpot_ms=25, output_tokens=4)
    with ray_cluster.sim(settings) as one, ray_cluster.sim(settings) as two:
        yield one, two


def _eval_args(sims, data_dir: Path, work: Path, *more: str) -> list[str]:
    one, two = sims
    return ["eval", "--model", "sim", "--api-url", one.base_url, "--api-url", two.base_url, "--datasets", "gsm8k",
            "--dataset-dir", str(data_dir), "--dataset-hub", "local", "--generation-config", '{"max_tokens": 4}',
            "--repeats", str(REPEATS), "--eval-batch-size", "4", "--work-dir", str(work), "--quiet", *more]


def _run_dir(work: Path) -> Path:
    [run_json] = work.glob("*/*/run.json")
    return run_json.parent


def _journal_lines(run_dir: Path) -> list[dict]:
    lines = (run_dir / "samples.jsonl").read_text().splitlines() if (run_dir / "samples.jsonl").exists() else []
    return [json.loads(line) for line in lines if line.endswith("}")]


def _wait_for_records(work: Path, count: int, process: subprocess.Popen, timeout_s: float = 120) -> Path:
    """The run directory once its journal holds ``count`` records (the driver still running)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before it could be cut short"
        found = list(work.glob("*/*/samples.jsonl"))
        if found and found[0].read_bytes().count(b"\n") >= count:
            return found[0].parent
        time.sleep(0.01)
    raise AssertionError(f"no {count} records within {timeout_s} s")


def _reports(run_dir: Path) -> dict:
    """report.json's scores and counts: everything but the mean latency, which two runs never share."""
    reports = json.loads((run_dir / "report.json").read_text())["reports"]
    for report in reports.values():
        for figures in [*report["subsets"].values(), report["overall"]]:
            assert figures.pop("mean_latency_s") > 0
    return reports


@pytest.fixture(scope="module")
def reference(ray_cluster: RayCluster, sims, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The report of a single-process run (no Ray) of the same samples on the same endpoints."""
    work = tmp_path_factory.mktemp("reference")
    done = ray_cluster.assay(*_eval_args(sims, data_dir, work))
    assert done.returncode == 0, done.stderr[-2000:]
    return _reports(_run_dir(work))


def test_driver_killed_and_resumed_loses_nothing_and_repeats_nothing(ray_cluster, sims, data_dir, reference,
                                                                     tmp_path):
    driver = ray_cluster.popen([sys.executable, "-m", "assay", *_eval_args(sims, data_dir, tmp_path, "--ray")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        run_dir = _wait_for_records(tmp_path, 12, driver)
    finally:
        driver.kill()  # SIGKILL: no handler runs, the journal is as the kill left it
        driver.wait()
    cut = _journal_lines(run_dir)
    assert 12 <= len(cut) < SAMPLES * REPEATS
    resumed = ray_cluster.assay(*_eval_args(sims, data_dir, tmp_path, "--ray", "--use-cache", str(run_dir)))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    records = _journal_lines(run_dir)
    keys = Counter(r["key"] for r in records)
    assert len(keys) == SAMPLES * REPEATS and max(keys.values()) == 1  # every sample × repeat once
    assert all(r["error"] is None for r in records)
    # What the killed driver had journaled is kept as it was, not asked again.
    kept = {r["key"]: r for r in records}
    assert all(kept[r["key"]] == r for r in cut if r["error"] is None)
    # Sent from both actors (one per node), to both endpoints.
    assert {r["worker"] for r in records} == {"actor-0", "actor-1"}
    assert {r["endpoint"] for r in records} == {f"{sim.base_url}/chat/completions" for sim in sims}
    assert _reports(run_dir) == reference  # the same answers, the same report as one process


def _actor_pids(ray_cluster: RayCluster) -> list[int]:
    """The eval actors' processes (in the cluster's namespace: all started by this test session)."""
    found = []
    for pid in ray_cluster.processes():
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if command.startswith(b"ray::EvalActor"):
            found.append(pid)
    return found


def test_a_lost_actor_fails_its_samples_as_worker_lost_and_a_resume_asks_them_again(
        ray_cluster, sims, data_dir, reference, tmp_path):
    driver = ray_cluster.popen(
        [sys.executable, "-m", "assay", *_eval_args(sims, data_dir, tmp_path, "--ray", ray_cluster.address,
                                                    "--ray-actors", "2")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_records(tmp_path, 8, driver)
        actors = _actor_pids(ray_cluster)
        assert len(actors) == 2, actors
        os.kill(actors[0], signal.SIGKILL)
        _, stderr = driver.communicate(timeout=180)  # the run goes on with the other actor, and ends
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert driver.returncode == 0, stderr[-2000:]
    run_dir = _run_dir(tmp_path)
    records = _journal_lines(run_dir)
    assert len({r["key"] for r in records}) == SAMPLES * REPEATS
    lost = [r for r in records if r["error"] == "worker lost"]
    assert lost, "the killed actor held no request"
    assert all(r["verdict"] == "error" and r["score"] == 0 for r in lost)  # never scored as wrong answers
    assert {r["worker"] for r in lost} == {lost[0]["worker"]}  # only the killed actor's
    assert all(r["error"] is None for r in records if r["error"] != "worker lost")
    resumed = ray_cluster.assay(*_eval_args(sims, data_dir, tmp_path, "--ray", "--use-cache", str(run_dir)))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    records = _journal_lines(run_dir)
    assert len(records) == SAMPLES * REPEATS and all(r["error"] is None for r in records)
    assert _reports(run_dir) == reference


def test_an_unreachable_cluster_is_one_line_and_exit_2(ray_cluster, sims, data_dir, tmp_path):
    done = ray_cluster.assay(*_eval_args(sims, data_dir, tmp_path, "--ray", f"{NODE_IP}:1"), timeout_s=180)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"assay: error: cannot reach the Ray cluster at {NODE_IP}:1: "), \
        done.stderr[-2000:]


def test_ray_missing_is_one_line_and_exit_2(tmp_path, data_dir):
    """Without Ray installed (an import that fails stands in for it): one line naming the fix, exit 2."""
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    done = run_assay("eval", "--model", "sim", "--api-url", "http://127.0.0.1:9/v1", "--datasets", "gsm8k",
                     "--dataset-dir", str(data_dir), "--dataset-hub", "local", "--work-dir", str(tmp_path / "out"),
                     "--quiet", "--ray", env={"PYTHONPATH": str(tmp_path)})
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "assay: error: --ray needs Ray, which is not installed: pip install 'assay[ray]'"
