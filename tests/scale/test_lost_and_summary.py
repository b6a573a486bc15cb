"""The parts of ``--ray`` that need no cluster: what a lost actor leaves in the records, and the point's
``actors`` entry made from them (runs without root and without Ray)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from assay.client.openai import ChatOrCompletionRequest
from assay.perf.load import Schedule
from assay.perf.workers import WorkerJob
from assay.scale.ray_perf import ClockReading, lost_records
from assay.scale.summary import actor_line, actor_summary
from assay.store import RequestRecord


def _job(offsets_ns: list[int] | None) -> WorkerJob:
    requests = [(i, ChatOrCompletionRequest(prompt="p", max_tokens=7, prompt_tokens=3)) for i in (10, 12, 14, 16)]
    return WorkerJob(client_args={}, origin_perf_ns=1_000, origin_epoch_ns=5_000_000_000,
                     schedule=Schedule(point=2, phase="measure", concurrency=2, offsets_ns=offsets_ns),
                     requests=requests, window_ns=None)  # type: ignore[arg-type]


def test_every_request_a_lost_actor_did_not_return_is_recorded_failed_once() -> None:
    reading = ClockReading(offset_ns=123, uncertainty_ns=456)
    lost = lost_records(_job([0, 10, 20, 30]), {12, 16}, actor=1, reading=reading,
                        reason="worker lost (ActorDiedError: gone)", start_ns=100_000)
    assert [r.index for r in lost] == [10, 14]
    for r, offset in zip(lost, (0, 20)):
        assert r.error == "worker lost (ActorDiedError: gone)" and r.error_kind == "worker" and not r.ok
        assert (r.point, r.phase, r.actor, r.clock_offset_ns, r.clock_uncertainty_ns) == (2, "measure", 1, 123, 456)
        assert r.sent_ns is None and r.requested_prompt_tokens == 3 and r.requested_max_tokens == 7
        assert r.scheduled_ns == 100_000 + offset - 1_000  # its send time, on the run's timeline
    closed = lost_records(_job(None), {10}, actor=0, reading=reading, reason="worker lost", start_ns=0)
    assert [r.index for r in closed] == [12, 14, 16] and all(r.scheduled_ns is None for r in closed)


def _record(actor: int | None, uncertainty: int, error: str | None = None) -> RequestRecord:
    return RequestRecord(index=0, point=0, phase="measure", concurrency=1, start_ns=0, end_ns=1, error=error,
                         actor=actor, clock_offset_ns=None if actor is None else 1_000_000 * (actor + 1),
                         clock_uncertainty_ns=uncertainty)


def test_the_points_actors_entry_and_report_line() -> None:
    assert actor_summary([_record(None, 0)]) is None
    rows = [_record(0, 300_000), _record(1, 700_000), _record(1, 700_000, "worker lost (x)"), _record(0, 1, "http 500")]
    summary = actor_summary(rows)
    assert summary == {"count": 2, "clock_uncertainty_ms_max": 0.7, "clock_offset_ms": {"0": 1.0, "1": 2.0},
                       "lost": {"1": 1}}
    line = actor_line({"actors": summary})
    assert line is not None and "±0.70 ms" in line and "actor 1 (1 requests)" in line
    assert actor_line({}) is None


def test_ray_not_installed_is_one_line_and_exit_2(tmp_path: Path) -> None:
    # A Python where `import ray` fails, as on a machine without the extra.
    code = "import sys; sys.modules['ray'] = None; from assay.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run([sys.executable, "-c", code, "perf", "--ray", "--url", "http://127.0.0.1:9/v1/completions",
                           "--model", "m", "--tokenizer-path", "o200k_base", "--number", "4", "--outputs-dir",
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["assay: error: --ray needs Ray, which is not installed: "
                                                "pip install 'assay[ray]'"]
    assert not (tmp_path / "out").exists()
