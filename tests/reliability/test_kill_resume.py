"""SIGKILL `assay eval` at 20 random points, resuming each time: the final records equal an
uninterrupted run's — no sample lost, none duplicated, no corrupt line.

The kill points are chosen by observed progress (the journal has grown by k records since the
process started), not by wall time: a timer lands at other points on a fast and on a loaded
machine, and on a fast one a resumed run could finish before it fired (issue 11, point 9).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assay.engines.sim import SimServer, SimSettings
from assay.eval.records import SampleJournal

pytestmark = pytest.mark.slow  # twenty kills and resumes of a real eval run

SAMPLES = 200
KILLS = 20
MAX_STEP = 15
"""Records one try may add before its kill: 20 tries add at most 300 of the 400, so every try is cut short."""


class _Journal:
    """Counts the complete records of a run's journal as it grows, reading only what was appended
    (a poll every 2 ms must not load the machine it measures)."""

    def __init__(self, run_dir) -> None:
        self.path = run_dir / "samples.jsonl"
        self.inode = self.offset = self.lines = 0

    def current_inode(self) -> int:
        try:
            return self.path.stat().st_ino
        except FileNotFoundError:
            return 0

    def records(self) -> int:
        inode = self.current_inode()
        if inode != self.inode:  # replaced (a resume compacts it): count afresh
            self.inode, self.offset, self.lines = inode, 0, 0
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                appended = handle.read()
        except FileNotFoundError:
            return 0
        self.offset += len(appended)
        self.lines += appended.count(b"\n")  # a torn last line is not a record
        return self.lines


def _made_run_dir(work: Path) -> Path | None:
    """The run directory eval made under ``work`` (whichever run-folder layout), once its run.json exists."""
    found = sorted(work.glob("**/run.json")) if work.exists() else []
    return found[0].parent if found else None


def _kill_after_progress(process: subprocess.Popen, work, run_dir, records: int) -> bool:
    """SIGKILL ``process`` once its journal holds ``records`` more records than at its start.

    ``records == 0``: at the end of start-up, once a resumed run has replaced its journal by the
    compacted one (a fresh run: at once). Returns False if the process ended by itself first.
    """
    journal = _Journal(run_dir) if run_dir is not None else None
    start = journal.records() if journal is not None else 0
    inode = journal.current_inode() if journal is not None else 0
    deadline = time.monotonic() + 120
    while records or journal is not None:
        if journal is None:  # the first try: its run directory appears once it has loaded the data
            made = _made_run_dir(work)
            journal = _Journal(made) if made is not None else None
        elif records == 0:
            if journal.current_inode() not in (0, inode):
                break
        # A resumed run first compacts the journal, which may drop a torn line: count from the start.
        elif journal.records() >= start + records:
            break
        if process.poll() is not None:
            return False
        assert time.monotonic() < deadline, f"no progress to {records} more records in 120 s"
        time.sleep(0.002)
    if process.poll() is not None:
        return False
    os.kill(process.pid, signal.SIGKILL)
    return True


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
        reference_dir = _made_run_dir(tmp_path / "reference")
        assert reference_dir is not None

        work = tmp_path / "killed"
        run_dir = None
        kills = 0
        for attempt in range(KILLS):
            process = subprocess.Popen(_command(sim, tmp_path / "data", work, run_dir),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # Start-up is among the points: k = 0 at the first try and at a few resumes.
            records = 0 if attempt in (0, 7, 13) else rng.randint(1, MAX_STEP)
            kills += _kill_after_progress(process, work, run_dir, records)
            process.wait()
            if run_dir is None:
                run_dir = _made_run_dir(work)
        assert kills == KILLS  # every try was really cut short, whatever the machine's speed
        assert run_dir is not None and 0 < _Journal(run_dir).records() < 2 * SAMPLES
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
