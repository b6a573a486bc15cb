"""The report after the last request costs the same few Python calls however many requests a run has
(issue 19): the summary gathers the records in one pass and computes with arrays, the pictures are drawn
from arrays, so no assay function runs once per request. Counted, not timed: a real run, then the same
run with ten times its records, rebuilt (summary, text report, report.html and plots) under a profiler
that counts every call into assay's own code."""

from __future__ import annotations

import io
import json
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import assay
from assay import PerfConfig, report_run, run_perf
from assay.engines.sim import SimServer, SimSettings
from assay.perf.html import write_html_report
from assay.store import RECORDS_FILE, SUMMARY_FILE

SOURCE = str(Path(assay.__file__).parent)
CO_GENERATOR = 0x20  # a generator's resumptions are its loop's steps, not calls


def _calls_while(work: Any) -> Counter[str]:
    """Calls into assay's own functions (by name) while ``work()`` runs."""
    calls: Counter[str] = Counter()

    def profile(frame: Any, event: str, arg: Any) -> None:
        code = frame.f_code
        if event == "call" and code.co_filename.startswith(SOURCE) and not code.co_flags & CO_GENERATOR:
            calls[f"{Path(code.co_filename).name}:{code.co_name}"] += 1

    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
    return calls


def _rebuild(run_dir: Path) -> None:
    (run_dir / SUMMARY_FILE).unlink(missing_ok=True)
    report_run(run_dir, console=_quiet_console())
    write_html_report(run_dir)


def _quiet_console() -> Any:
    from rich.console import Console

    return Console(file=io.StringIO(), width=160)


def _scaled(run_dir: Path, target: Path, times: int) -> Path:
    """The run with every record repeated ``times`` times (as later requests of the same point)."""
    shutil.copytree(run_dir, target)
    lines = (run_dir / RECORDS_FILE).read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    with (target / RECORDS_FILE).open("w") as out:
        for copy in range(times):
            for row in rows:
                out.write(json.dumps({**row, "index": copy * len(rows) + row["index"]}) + "\n")
    run = json.loads((target / "run.json").read_text())
    run["status"] = "interrupted"  # so the summary is made again from the records, as `perf report` does
    (target / "run.json").write_text(json.dumps(run))
    return target


@pytest.mark.slow
def test_report_work_does_not_grow_with_the_requests(tmp_path):
    with SimServer(SimSettings(ttft_ms=2, tpot_ms=1, output_tokens=16)) as sim:
        result = run_perf(PerfConfig(
            url=f"{sim.base_url}/completions", model="sim", parallel=[4, 8], number=[24, 24], max_tokens=16,
            tokenizer_path="o200k_base", min_prompt_length=8, max_prompt_length=8, outputs_dir=str(tmp_path / "out"),
            quiet=True,
        ))
    small = _scaled(result.run_dir, tmp_path / "x1", 1)
    large = _scaled(result.run_dir, tmp_path / "x10", 10)
    _rebuild(small)  # imports and caches warmed, outside the count
    small_calls = _calls_while(lambda: _rebuild(small))
    large_calls = _calls_while(lambda: _rebuild(large))
    requests_added = 9 * 48
    summary = json.loads((large / SUMMARY_FILE).read_text())
    assert [p["requests"] for p in summary["points"]] == [240, 240]  # the large run was summed up in full
    grown = {name: large_calls[name] - small_calls[name] for name in large_calls
             if large_calls[name] - small_calls[name] >= requests_added // 10}
    # Nothing runs once per request (or once per ten requests): the work is in array operations.
    assert not grown, grown
    assert sum(large_calls.values()) < sum(small_calls.values()) + requests_added // 10
