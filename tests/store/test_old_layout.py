"""Run directories written before the typed run format (issue 14) still read: through the store's
readers, through ``assay perf report`` and ``assay eval --rescore``, and through the app's API.

``fixtures/old_layout`` holds one perf run (``assay sim``, concurrency 1 and 2, 3 + 4 requests) and
one eval run (gsm8k, 3 samples, against ``assay sim``) exactly as assay wrote them before the change.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from assay.store import (
    EvalRun,
    PerfRun,
    read_eval_report,
    read_requests,
    read_run_info,
    read_samples,
    read_summary,
)
from tests.helpers import run_assay

OLD = Path(__file__).parent / "fixtures" / "old_layout"
PERF = Path("perf/20261202_122713/fixture-perf")
EVAL = Path("eval/20261202_122716")


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    """A copy of the old runs (readers may rewrite a summary; the checked-in files stay as they were)."""
    shutil.copytree(OLD, tmp_path / "outputs")
    return tmp_path / "outputs"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_store_reads_old_runs_typed(outputs):
    perf = read_run_info(outputs / PERF)
    assert isinstance(perf, PerfRun) and perf.kind == "perf" and perf.status == "finished"
    assert perf.model == "fixture-model" and perf.config["parallel"] == [1, 2] and perf.config["api_key"] == "***"
    assert perf.origin_epoch_ns == 1796214433249387960 and perf.endpoint_kind == "chat"
    summary = read_summary(outputs / PERF)
    assert summary is not None and [p["concurrency"] for p in summary.points] == [1, 2]
    assert summary.best == {"highest_rps": 1, "lowest_latency": 0} and summary.verdict is not None
    records, skipped = read_requests(outputs / PERF)
    assert skipped == 0 and [r.point for r in records].count(0) == 3 and [r.point for r in records].count(1) == 4
    assert all(r.ok and r.response_id and r.completion_tokens == 8 for r in records)

    evaluation = read_run_info(outputs / EVAL)
    assert isinstance(evaluation, EvalRun) and evaluation.status == "finished"
    assert evaluation.benchmarks["gsm8k"]["subsets"] == ["main"] and evaluation.identity is not None
    report = read_eval_report(outputs / EVAL)
    assert report is not None and report.model == "fixture-model"
    assert report.reports["gsm8k"].overall["num"] == 3 and report.reports["gsm8k"].metrics == ["AveragePass@1"]
    samples, skipped = read_samples(outputs / EVAL)
    assert skipped == 0 and len(samples) == 3
    assert {s.verdict for s in samples.values()} == {"truncated"} and samples["gsm8k/main/main/0/0"].gold == "18"


@pytest.mark.slow
def test_perf_report_reprints_an_old_run_as_it_printed_it(outputs):
    run_dir = outputs / PERF
    shown = run_assay("perf", "report", str(run_dir), env={"COLUMNS": "120"})
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == (run_dir / "report.txt").read_text(encoding="utf-8")


@pytest.mark.slow
def test_an_old_run_cut_short_is_rebuilt_from_its_records(outputs):
    """An old run has no points.jsonl: the rebuild takes each point's load from the records and the
    config, and its numbers are the live run's (only the client's health, not stored then, is missing)."""
    run_dir = outputs / PERF
    live = json.loads((run_dir / "summary.json").read_text())
    run = json.loads((run_dir / "run.json").read_text())
    run.update(status="running", pid=_dead_pid())  # its writer died
    (run_dir / "run.json").write_text(json.dumps(run))
    (run_dir / "summary.json").unlink()
    shown = run_assay("perf", "report", str(run_dir), env={"COLUMNS": "120"})
    assert shown.returncode == 0, shown.stderr
    assert ("7 of 7 planned requests recorded (the run is interrupted); summary.json rebuilt from requests.jsonl."
            in shown.stdout)
    rebuilt = json.loads((run_dir / "summary.json").read_text())
    for old, new in zip(live["points"], rebuilt["points"], strict=True):
        assert new.pop("client") == {} and old.pop("client")["loop_lag_p99_ms"] >= 0
        assert {k: new[k] for k in old} == old  # every old field as it was; fields added since come besides
    assert {k: rebuilt[k] for k in ("best", "recommendations", "verdict")} == {
        k: live[k] for k in ("best", "recommendations", "verdict")}


@pytest.mark.slow
def test_rescore_of_an_old_eval_run_gives_its_report(outputs):
    run_dir = outputs / EVAL
    before = json.loads((run_dir / "report.json").read_text())
    (run_dir / "report.json").unlink()
    rescored = run_assay("eval", "--rescore", str(run_dir))
    assert rescored.returncode == 0, rescored.stderr
    assert json.loads((run_dir / "report.json").read_text()) == before


def test_the_app_lists_and_opens_old_runs(outputs):
    from tests.app.support import AppServer

    def get(server: AppServer, path: str) -> dict:
        with urllib.request.urlopen(server.url + path, timeout=10) as response:
            return json.loads(response.read())

    with AppServer(outputs) as server:
        runs = {r["id"]: r for r in get(server, "/api/runs")["runs"]}
        perf_id, eval_id = PERF.as_posix(), EVAL.as_posix()
        assert set(runs) == {perf_id, eval_id}
        assert runs[perf_id]["status"] == "finished" and runs[perf_id]["headline"]["points"] == 2
        assert runs[eval_id]["headline"] == {"benchmarks": ["gsm8k"], "scores": {"gsm8k": 0.0}}
        perf = get(server, f"/api/run?id={perf_id}")
        assert [p["concurrency"] for p in perf["summary"]["points"]] == [1, 2] and perf["has_report_html"] is False
        assert perf["config"]["model"] == "fixture-model"
        evaluation = get(server, f"/api/run?id={eval_id}")
        assert evaluation["report"]["gsm8k"]["overall"]["num"] == 3
        assert evaluation["benchmarks"]["gsm8k"]["huggingface"] == "openai/gsm8k"
        samples = get(server, f"/api/samples?id={eval_id}")
        assert samples["total"] == 3 and samples["counts"]["truncated"] == 3 and samples["skipped"] == 0
        requests = get(server, f"/api/requests?id={perf_id}&sort=ttft_ms")
        assert requests["total"] == 7 and all(r["ttft_ms"] > 0 for r in requests["rows"])
