"""SIGKILL `assay eval` at 20 random points, resuming each time: the final records equal an
uninterrupted run's — no sample lost, none duplicated, no corrupt line."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

from assay.engines.sim import SimServer, SimSettings
from assay.eval.records import SampleJournal

SAMPLES = 200


def _command(sim: SimServer, data_dir, work_dir, resume=None) -> list[str]:
    command = [sys.executable, "-m", "assay", "eval", "--model", "sim", "--api-url", sim.base_url,
               "--datasets", "general_qa", "--dataset-hub", "local", "--dataset-dir", str(data_dir),
               "--eval-batch-size", "2", "--repeats", "2", "--generation-config", '{"max_tokens": 6}',
               "--work-dir", str(work_dir), "--quiet"]
    return [*command, "--use-cache", str(resume)] if resume else command


def test_kill_9_at_20_random_points_then_resume(tmp_path):
    data = tmp_path / "data" / "general_qa"
    data.mkdir(parents=True)
    (data / "test.jsonl").write_text("".join(
        json.dumps({"question": f"question {i}", "answer": "alpha beta" if i % 3 else "gamma"}) + "\n"
        for i in range(SAMPLES)))
    rng = random.Random(2026)
    with SimServer(SimSettings(ttft_ms=20, tpot_ms=10, output_tokens=6)) as sim:
        reference = subprocess.run(_command(sim, tmp_path / "data", tmp_path / "reference"), capture_output=True,
                                   text=True, timeout=300)
        assert reference.returncode == 0, reference.stderr
        reference_dir = next((tmp_path / "reference").iterdir())

        work = tmp_path / "killed"
        run_dir = None
        kills = 0
        for _ in range(20):
            process = subprocess.Popen(_command(sim, tmp_path / "data", work, run_dir),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.3, 2.0))  # start-up is part of the range: kills land everywhere
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                kills += 1
            process.wait()
            if run_dir is None:
                made = list(work.iterdir()) if work.exists() else []
                run_dir = made[0] if made else None
        assert kills >= 15  # (nearly) every try was really cut short
        assert run_dir is not None
        final = subprocess.run(_command(sim, tmp_path / "data", work, run_dir), capture_output=True, text=True,
                               timeout=300)
        assert final.returncode == 0, final.stderr

    lines = (run_dir / "samples.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b""
    keys = [json.loads(line)["key"] for line in lines[:-1]]  # every line parses: nothing corrupt
    assert len(keys) == len(set(keys)) == 2 * SAMPLES  # none lost, none duplicated
    ours = SampleJournal(run_dir).read()
    theirs = SampleJournal(reference_dir).read()
    assert {k: (r.response, r.verdict, r.score) for k, r in ours.items()} == {
        k: (r.response, r.verdict, r.score) for k, r in theirs.items()}
    report = json.loads((run_dir / "report.json").read_text())["reports"]["general_qa"]["overall"]
    expected = json.loads((reference_dir / "report.json").read_text())["reports"]["general_qa"]["overall"]
    for group in (report, expected):
        group.pop("mean_latency_s")
    assert report == expected
