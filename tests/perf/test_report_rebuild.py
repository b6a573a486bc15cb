"""A perf run's report is rebuilt from its run directory alone (issue 19): moved elsewhere, with the
server gone and an empty cache, ``assay perf report RUN --html`` prints the report the live run printed
and writes the same report.html and plots, byte for byte."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assay.engines.sim import SimServer, SimSettings
from tests.helpers import run_assay

PLOTS = ("throughput", "latency", "distributions", "timeline")


@pytest.mark.slow
def test_report_rebuilt_from_the_run_directory_alone(tmp_path):
    with SimServer(SimSettings(ttft_ms=8, tpot_ms=2, ttft_ms_per_request=1)) as sim:
        live = run_assay(
            "perf", "--url", f"{sim.base_url}/completions", "--model", "sim", "--parallel", "2", "6",
            "--number", "6", "18", "--tokenizer-path", "o200k_base", "--min-prompt-length", "8",
            "--max-prompt-length", "24", "--max-tokens", "12", "--log-every-n-query", "0",
            "--outputs-dir", str(tmp_path / "out"), env={"ASSAY_CACHE": str(tmp_path / "cache")},
        )
    assert live.returncode == 0, live.stderr
    *report_lines, html_line, dir_line = live.stdout.splitlines(keepends=True)
    run_dir = Path(dir_line.removeprefix("Run directory: ").strip())
    assert html_line == f"HTML report: {run_dir / 'report.html'}\n"
    live_report = "".join(report_lines)
    assert live_report.count("Percentile results") == 2  # one per sweep point, then the whole-run report
    assert "Performance Test Summary Report" in live_report

    moved = tmp_path / "elsewhere" / "run"
    shutil.copytree(run_dir, moved)
    shutil.rmtree(tmp_path / "out")  # nothing of the original place is left to lean on
    live_html = (moved / "report.html").read_bytes()
    live_plots = {name: (moved / "plots" / f"{name}.svg").read_bytes() for name in PLOTS}
    (moved / "report.html").unlink()
    shutil.rmtree(moved / "plots")

    again = run_assay("perf", "report", str(moved), "--html", env={"ASSAY_CACHE": str(tmp_path / "empty-cache")})
    assert again.returncode == 0, again.stderr
    assert again.stdout == live_report + f"HTML report: {moved / 'report.html'}\n"
    assert (moved / "report.txt").read_text(encoding="utf-8") == live_report
    assert (moved / "report.html").read_bytes() == live_html
    for name in PLOTS:
        assert (moved / "plots" / f"{name}.svg").read_bytes() == live_plots[name], name
    assert b"<svg" in live_html and b"<script" not in live_html


@pytest.mark.slow
def test_a_rebuilt_summary_is_the_live_one(tmp_path):
    """A run that did not finish is summarised again from its directory by the same code as a live run:
    the summary rebuilt from requests.jsonl and points.jsonl equals the live summary.json field for field,
    SLO, the client's health and the server's metrics included (issue 14: they used to be lost)."""
    import json

    with SimServer(SimSettings(ttft_ms=5, tpot_ms=2)) as sim:
        live = run_assay(
            "perf", "--url", f"{sim.base_url}/completions", "--model", "sim", "--parallel", "1", "3",
            "--number", "4", "9", "--tokenizer-path", "o200k_base", "--min-prompt-length", "8",
            "--max-prompt-length", "16", "--max-tokens", "8", "--slo", "ttft_p97<=2s,tpot_p50<=1s",
            "--server-metrics", "auto", "--percentiles", "50", "90", "--log-every-n-query", "0", "--no-html",
            "--outputs-dir", str(tmp_path / "out"), env={"ASSAY_CACHE": str(tmp_path / "cache")},
        )
    assert live.returncode == 0, live.stderr
    run_dir = Path(live.stdout.splitlines()[-1].removeprefix("Run directory: ").strip())
    expected = json.loads((run_dir / "summary.json").read_text())
    assert all(p["client"] and p["server"]["requests"] == p["requests"] and p["slo"]["meets"]
               for p in expected["points"])
    assert "p97" in expected["points"][0]["ttft_s"]  # the SLO's percentile, beside the ones asked for

    run = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**run, "status": "interrupted"}))
    (run_dir / "summary.json").unlink()
    again = run_assay("perf", "report", str(run_dir), env={"ASSAY_CACHE": str(tmp_path / "empty-cache")})
    assert again.returncode == 0, again.stderr
    assert "summary.json rebuilt from requests.jsonl" in again.stdout
    assert json.loads((run_dir / "summary.json").read_text()) == expected
