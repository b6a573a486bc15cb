"""The app in a real headless Chromium: every page, the filters, the numbers, and hostile text."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

from tests.app.support import XSS, AppServer
from tests.browser import browser_page
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.slow


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"app-{name}.png"), full_page=True)


def _runs(app_outputs):
    runs = {}
    for run_json in app_outputs.rglob("run.json"):
        run = json.loads(run_json.read_text())
        runs.setdefault(run["kind"], []).append((run_json.parent.relative_to(app_outputs).as_posix(), run))
    return runs


def test_pages_filters_and_numbers(app_server, app_outputs):
    runs = _runs(app_outputs)
    eval_id = next(i for i, r in runs["eval"] if r["config"]["repeats"] == 2)
    other_eval = next(i for i, r in runs["eval"] if r["config"]["repeats"] == 1)
    perf_id = next(i for i, _ in runs["perf"] if i.endswith("perf-a"))
    other_perf = next(i for i, _ in runs["perf"] if i.endswith("perf-b"))
    with browser_page() as (page, errors):
        page.goto(app_server.url + "/")
        page.wait_for_selector("#runs tr[data-run]")
        assert page.locator("#runs tr[data-run]").count() == 5
        _shot(page, "runs")
        page.select_option("#filter-kind", "perf")
        expect(page.locator("#runs tr[data-run]")).to_have_count(2)

        # Eval run: the score shown is the one in report.json.
        page.goto(f"{app_server.url}/#/run?id={eval_id}")
        page.wait_for_selector("#scores")
        report = json.loads((app_outputs / eval_id / "report.json").read_text())["reports"]["gsm8k"]
        shown = page.locator('#scores tr[data-subset="OVERALL"][data-metric="AveragePass@1"] .score').inner_text()
        assert float(shown) == round(report["overall"]["AveragePass@1"], 4)
        assert page.locator('#scores tr[data-metric="pass@2"]').count() >= 1
        _shot(page, "eval-run")

        # Samples: filters, collapsed reasoning, all repeats of one sample.
        page.click("#to-samples")
        page.wait_for_selector("#samples .sample")
        assert page.locator("#samples .sample").count() == 12
        assert page.locator("#samples details.reasoning[open]").count() == 0  # reasoning collapsed
        wrong = sum(1 for line in (app_outputs / eval_id / "samples.jsonl").read_text().splitlines()
                    if json.loads(line)["verdict"] == "wrong")
        page.click('button[data-verdict="wrong"]')
        expect(page.locator("#samples .sample")).to_have_count(wrong)
        _shot(page, "samples")
        page.click('button[data-verdict="all"]')
        expect(page.locator("#samples .sample")).to_have_count(12)
        page.locator("#samples .sample a.repeats").first.click()
        expect(page.locator("#samples .sample")).to_have_count(2)
        boxes = [page.locator("#samples .sample").nth(i).bounding_box() for i in range(2)]
        assert abs(boxes[0]["y"] - boxes[1]["y"]) < 2 and boxes[0]["x"] < boxes[1]["x"]  # side by side
        _shot(page, "repeats")
        page.fill("#search", "Janet")
        page.press("#search", "Enter")
        page.wait_for_selector("#page-info-top")

        # Perf run: one row per point, RPS as stored, the HTML report one click away.
        page.goto(f"{app_server.url}/#/run?id={perf_id}")
        page.wait_for_selector("#points")
        summary = json.loads((app_outputs / perf_id / "summary.json").read_text())
        cells = page.locator("#points .rps").all_inner_texts()
        assert [float(c) for c in cells] == [round(p["rps"], 2) for p in summary["points"]]
        assert page.locator("#requests tr").count() == 1 + 16
        expect(page.locator(".chart canvas")).to_have_count(5)  # interactive charts drew
        legend = page.locator("#chart-latency").inner_text()
        assert "p99" in legend and "p50" in legend
        _shot(page, "perf-run")
        page.click("#to-report")
        page.wait_for_selector("#plot-throughput svg")
        _shot(page, "perf-report")

        # Compare two perf runs: overlaid curves, one series per run.
        page.goto(f"{app_server.url}/#/compare?ids={perf_id},{other_perf}")
        page.wait_for_selector("#chart-rps canvas")
        rps_legend = page.locator("#chart-rps").inner_text()
        assert "perf-a" in rps_legend and "perf-b" in rps_legend
        _shot(page, "compare-perf")

        # Compare two eval runs.
        page.goto(f"{app_server.url}/#/compare?ids={eval_id},{other_eval}")
        page.wait_for_selector("#compare-table")
        assert page.locator("#compare-table tr").count() >= 2
        _shot(page, "compare")
    assert errors == []


def test_hostile_text_is_shown_as_text_and_never_runs(app_server, app_outputs):
    xss_id = next(i for i, r in _runs(app_outputs)["eval"] if r["config"]["model"] == "xss-model")
    with browser_page() as (page, errors):
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(f"{app_server.url}/#/samples?id={xss_id}")
        page.wait_for_selector("#samples .sample")
        page.locator("#samples details").first.evaluate("d => d.open = true")
        text = page.locator("#samples").inner_text()
        for payload in XSS:
            assert payload in text  # visible, as text
        assert page.locator("#samples script, #samples img, #samples a[href^='javascript']").count() == 0
        # Markdown and LaTeX in a model's answer are rendered (bold, KaTeX), the source a click away.
        rich = page.locator("#samples .sample").filter(has_text="Bold step").locator(".answer-rich")
        assert rich.locator("strong").inner_text() == "Bold step"
        assert rich.locator(".katex").count() == 2
        page.locator("#samples details.reasoning").first.evaluate("d => d.open = true")
        page.wait_for_timeout(300)
        _shot(page, "hostile-text")
        page.goto(f"{app_server.url}/#/run?id={xss_id}")
        page.wait_for_selector("#scores")
    assert dialogs == [] and errors == []


def test_a_running_run_updates_live(tmp_path):
    import subprocess
    import sys

    from assay.engines.sim import SimServer, SimSettings

    with SimServer(SimSettings(ttft_ms=50, tpot_ms=20, output_tokens=32)) as sim:
        process = subprocess.Popen(
            [sys.executable, "-m", "assay", "perf", "--url", f"{sim.base_url}/completions", "--model", "sim",
             "--parallel", "2", "--number", "12", "--max-tokens", "32", "--tokenizer-path", "o200k_base",
             "--min-prompt-length", "8", "--max-prompt-length", "8", "--outputs-dir", str(tmp_path), "--quiet",
             "--no-html"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while not list(tmp_path.rglob("run.json")) and time.monotonic() < deadline:
                time.sleep(0.05)
            run_id = next(tmp_path.rglob("run.json")).parent.relative_to(tmp_path).as_posix()
            with AppServer(tmp_path) as server, browser_page() as (page, errors):
                page.goto(f"{server.url}/#/run?id={run_id}")
                expect(page.locator("main p.muted")).to_contain_text("running")
                expect(page.locator("main p.muted")).to_contain_text("finished", timeout=30_000)  # no reload
                expect(page.locator("#points tr[data-point]")).to_have_count(1)
            assert errors == []
        finally:
            process.wait(timeout=60)


def test_chinese_interface(app_outputs):
    with AppServer(app_outputs, lang="zh") as server, browser_page() as (page, errors):
        page.goto(server.url + "/")
        page.wait_for_selector("#runs")
        assert page.locator("#nav-runs").inner_text() == "运行"
        _shot(page, "runs-zh")
    assert errors == []
