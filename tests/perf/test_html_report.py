"""The HTML report and the comparison, opened in a real headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay import PerfConfig, run_perf
from assay.engines.sim import SimServer, SimSettings
from tests.browser import browser_page
from tests.conftest import ARTIFACTS
from tests.helpers import run_assay

pytestmark = pytest.mark.slow

PLOTS = ("throughput", "latency", "distributions", "timeline")


def _run(sim: SimServer, tmp_path: Path, name: str, parallel: list[int]) -> Path:
    result = run_perf(PerfConfig(
        url=f"{sim.base_url}/completions", model="sim", name=name, parallel=parallel,
        number=[4 * p for p in parallel], max_tokens=16, tokenizer_path="o200k_base", min_prompt_length=16,
        max_prompt_length=16, outputs_dir=str(tmp_path), quiet=True,
    ))
    return result.run_dir


def _assert_plots_rendered(page, url: str, plots: tuple[str, ...], screenshot: str) -> None:
    page.goto(url)
    for plot in plots:
        box = page.locator(f"#plot-{plot} svg").bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100, plot
        assert page.locator(f"#plot-{plot} svg path").count() > 10, plot  # lines drawn, not an empty frame
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)


def test_report_and_compare_render_every_plot(tmp_path):
    with SimServer(SimSettings(ttft_ms=10, tpot_ms=2, ttft_ms_per_request=2)) as sim:
        first = _run(sim, tmp_path, "first", [1, 4])
        second = _run(sim, tmp_path, "second", [2, 8])
    for run_dir in (first, second):
        assert {p.name for p in (run_dir / "plots").iterdir()} == {f"{p}.svg" for p in PLOTS}
        assert all((run_dir / "plots" / f"{p}.svg").stat().st_size > 2000 for p in PLOTS)
    html = (first / "report.html").read_text()
    # Self-contained: no script, stylesheet, image or font is fetched from anywhere.
    assert "<script" not in html and 'src="http' not in html and 'href="http' not in html and "@import" not in html

    result = run_assay("perf", "compare", str(first), str(second), "--output", str(tmp_path / "cmp"))
    assert result.returncode == 0, result.stderr
    assert "first" in result.stdout and "second" in result.stdout and "Perf runs compared" in result.stdout
    assert {p.name for p in (tmp_path / "cmp").iterdir()} == {"compare.html", "throughput.svg", "latency.svg"}

    with browser_page() as (page, errors):
        _assert_plots_rendered(page, (first / "report.html").as_uri(), PLOTS, "perf-report.png")
        assert page.locator("table tbody tr").count() == 2
        _assert_plots_rendered(page, (tmp_path / "cmp" / "compare.html").as_uri(), ("throughput", "latency"),
                               "perf-compare.png")
        legend = page.locator("#plot-throughput").inner_text() + page.content()
        assert "first" in legend and "second" in legend
    assert errors == []
