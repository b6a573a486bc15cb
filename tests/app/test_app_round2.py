"""Issue 15: the app survives any run directory, renders every answer as written, and labels its charts.

Every page is opened in a real headless Chromium with a dialog listener and a console-error listener
(no alert, no console error); screenshots (light and dark) go to test-artifacts/.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.app.support import LONG_BYTES, REASONING_CHARS, AppServer, run_ids
from tests.browser import CHROMIUM_ARGS
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.slow

RENDER_BUDGET_MS = 1000


@contextmanager
def watched_page(*extra_args: str, dark: bool = False) -> Iterator[tuple[Any, list[str]]]:
    """A Chromium page whose console errors, page errors and dialogs all land in the returned list."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                             args=[*CHROMIUM_ARGS, *extra_args])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000},
                                    color_scheme="dark" if dark else "light")
            problems: list[str] = []
            page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
            yield page, problems
        finally:
            browser.close()


DOC_SHOTS_ENV = "ASSAY_APP_DOC_SHOTS"
"""Set to 1 to refresh the screenshots in docs/img/app (``ASSAY_APP_DOC_SHOTS=1 pytest tests/app/test_app_round2.py``)."""
DOC_SHOTS = {"runs-light": "runs-light", "runs-dark": "runs-dark", "eval-run-light": "eval-run-light",
             "eval-run-dark": "eval-run-dark", "samples-rendering": "samples-light",
             "samples-rendering-dark": "samples-dark", "perf-run-light": "perf-run-light",
             "perf-run-dark": "perf-run-dark", "compare-perf-light": "compare-perf-light",
             "compare-perf-dark": "compare-perf-dark", "compare-eval-light": "compare-eval-light",
             "compare-eval-dark": "compare-eval-dark", "scores": "scores-light", "scores-dark": "scores-dark",
             "benchmarks-light": "benchmarks-light", "benchmarks-dark": "benchmarks-dark"}
"""Screenshot name in test-artifacts -> its name in docs/img/app: one per view, light and dark."""
DOC_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "img" / "app"
DOC_WIDTH_PX, DOC_HEIGHT_PX, DOC_COLOURS = 1000, 1100, 96


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"app-{name}.png"), full_page=True)
    if os.environ.get(DOC_SHOTS_ENV) == "1" and name in DOC_SHOTS:
        _doc_shot(page, DOC_SHOTS[name])


def _doc_shot(page, name: str) -> None:
    """The top of the page, scaled down and reduced to a palette: small enough to commit (about 100 KB)."""
    import io

    from PIL import Image

    height = min(DOC_HEIGHT_PX, int(page.evaluate("() => document.documentElement.scrollHeight")))
    width = int(page.viewport_size["width"])
    image = Image.open(io.BytesIO(page.screenshot(full_page=True, clip={"x": 0, "y": 0, "width": width,
                                                                        "height": height})))
    scaled = image.convert("RGB").resize((DOC_WIDTH_PX, round(height * DOC_WIDTH_PX / width)), Image.LANCZOS)
    DOC_IMAGES.mkdir(parents=True, exist_ok=True)
    scaled.quantize(colors=DOC_COLOURS, method=Image.Quantize.MEDIANCUT).save(DOC_IMAGES / f"{name}.png",
                                                                               optimize=True)


def raw_status(port: int, host_header: str, path: str = "/api/runs") -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\n\r\n".encode())
        head = sock.recv(4096).decode(errors="replace")
    return int(head.split()[1])


def goto(page, url: str) -> int:
    """Open ``url`` and return the app's own render time for it (fetch + build + layout, ms)."""
    page.goto(url)
    page.wait_for_function("() => document.body.dataset.renderMs !== undefined")
    return int(page.evaluate("() => Number(document.body.dataset.renderMs)"))


def hash_to(page, fragment: str) -> int:
    """Move to ``#fragment`` inside the loaded app; the render time of that view (ms)."""
    page.evaluate("() => { delete document.body.dataset.renderMs; }")
    page.evaluate(f"() => {{ location.hash = {json.dumps(fragment)}; }}")
    page.wait_for_function("() => document.body.dataset.renderMs !== undefined")
    return int(page.evaluate("() => Number(document.body.dataset.renderMs)"))


def settled(page, part: str) -> None:
    """Wait until the view for a hash holding ``part`` has been drawn."""
    page.wait_for_function("part => location.hash.includes(part) && document.body.dataset.route === location.hash", arg=part)


# 1. DNS rebinding --------------------------------------------------------------------------------

def test_requests_for_another_host_are_refused(crafted_server):
    port = crafted_server.port
    assert raw_status(port, "evil.example") == 400
    assert raw_status(port, f"evil.example:{port}") == 400
    assert raw_status(port, "127.0.0.1.evil.example") == 400
    for good in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
        assert raw_status(port, good) == 200, good
    # A page on a name that resolves to 127.0.0.1 (what DNS rebinding achieves) gets nothing.
    with watched_page("--host-resolver-rules=MAP rebind.example 127.0.0.1") as (page, problems):
        response = page.goto(f"http://rebind.example:{port}/")
        assert response.status == 400 and "DNS rebinding" in page.inner_text("body")
        shot(page, "dns-rebinding-refused")
        goto(page, f"http://localhost:{port}/")
        page.wait_for_selector("#runs tr[data-run]")
    assert [p for p in problems if "400" not in p] == []  # the refused page's own 400 is the only error


def test_app_warns_when_it_listens_on_every_address(tmp_path):
    from assay.engines.llama_server import free_port

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "assay", "app", "--outputs", str(tmp_path), "--host", "0.0.0.0",
                                "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                status = raw_status(port, "evil.example", "/")
                break
            except OSError:
                time.sleep(0.1)
        assert status == 400
        assert raw_status(port, f"localhost:{port}", "/") == 200
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert "warning: --host '0.0.0.0' serves every run" in err


# 2, 3. Links out of the outputs folder, malformed runs ------------------------------------------

def _copy_run(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target


def _edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.fixture(scope="module")
def hostile_outputs(crafted_outputs, tmp_path_factory) -> tuple[Path, Path]:
    """Good runs beside one run of each malformed kind, and runs whose files link out of the folder."""
    ids = run_ids(crafted_outputs)
    root = tmp_path_factory.mktemp("hostile")
    outputs = root / "outputs"
    secret = root / "outside-secret.txt"
    secret.write_text('{"points": [{"rps": 1234567}], "OUTSIDE": "SECRET-OUTSIDE-TEXT"}')
    perf, evaluation = crafted_outputs / ids["closed"], crafted_outputs / ids["answers"]
    _copy_run(perf, outputs / "good-perf")
    good_eval = _copy_run(evaluation, outputs / "good-eval")
    with open(good_eval / "samples.jsonl", "a") as handle:
        handle.write('[1, 2]\n"just text"\n42\n')  # valid JSON, not records: skipped and counted
    malformed = {
        "bad-config-null": (perf, "run.json", lambda r: r.update(config=None)),
        "bad-config-list": (evaluation, "run.json", lambda r: r.update(config=[1, 2])),
        "bad-started-text": (perf, "run.json", lambda r: r.update(started_epoch_s="yesterday")),
        "bad-points": (perf, "summary.json", lambda s: s.update(points=[1, "two"])),
        "bad-reports-list": (evaluation, "report.json", lambda r: r.update(reports=[])),
    }
    for name, (source, file, change) in malformed.items():
        _edit_json(_copy_run(source, outputs / name) / file, change)
    nan = _copy_run(perf, outputs / "bad-started-nan")
    (nan / "run.json").write_text((nan / "run.json").read_text().replace('"started_epoch_s":', '"started_epoch_s": NaN, "x":'))
    surrogate = _copy_run(evaluation, outputs / "name-surrogate")
    (surrogate / "run.json").write_text((surrogate / "run.json").read_text().replace('"model-answers"', '"model-\\ud800-x"'))
    nan_summary = _copy_run(perf, outputs / "nan-in-summary")  # assay itself writes NaN for an empty metric
    (nan_summary / "summary.json").write_text((nan_summary / "summary.json").read_text().replace(
        '"success_rate": 1.0', '"success_rate": NaN'))
    linked = _copy_run(perf, outputs / "link-report")
    (linked / "report.html").unlink()
    (linked / "report.html").symlink_to("/etc/passwd")
    linked_summary = _copy_run(perf, outputs / "link-summary")
    (linked_summary / "summary.json").unlink()
    (linked_summary / "summary.json").symlink_to(secret)
    linked_samples = _copy_run(evaluation, outputs / "link-samples")
    (linked_samples / "samples.jsonl").unlink()
    (linked_samples / "samples.jsonl").symlink_to(secret)
    return outputs, secret


EXPECTED_PROBLEMS = {
    "bad-config-null": "config is null, not an object",
    "bad-config-list": "config is a list, not an object",
    "bad-started-text": "started_epoch_s is 'yesterday', not a number",
    "bad-started-nan": "started_epoch_s is nan, not a number",
    "bad-points": "summary.json: points[0] is a number, not an object",
    "bad-reports-list": "report.json: reports is a list, not an object",
    "link-summary": "summary.json is a link to a file outside the outputs folder",
}


def test_one_bad_run_never_takes_the_list_down(hostile_outputs):
    outputs, _ = hostile_outputs
    with AppServer(outputs) as server, watched_page() as (page, problems):  # start-up itself survives them
        goto(page, server.url + "/")
        page.wait_for_selector("#runs tr[data-run]")
        good = sorted(page.locator("#runs tr[data-run]").evaluate_all("rows => rows.map(r => r.dataset.run)"))
        assert good == ["good-eval", "good-perf", "link-report", "link-samples", "name-surrogate", "nan-in-summary"]
        for run_id, reason in EXPECTED_PROBLEMS.items():
            row = page.locator(f'#unreadable tr[data-run="{run_id}"]')
            expect(row).to_contain_text(reason)
        assert page.locator("#unreadable tr[data-run]").count() == len(EXPECTED_PROBLEMS)
        surrogate_row = page.locator('#runs tr[data-run="name-surrogate"]')
        expect(surrogate_row).to_contain_text("model-\ufffd-x")
        expect(surrogate_row).to_contain_text("not valid Unicode")
        expect(page.locator('#runs tr[data-run="link-samples"]')).to_contain_text(
            "samples.jsonl is a link to a file outside the outputs folder (not followed)")
        expect(page.locator('#runs tr[data-run="link-report"]')).to_contain_text("report.html is a link")
        shot(page, "malformed-runs")
        page.emulate_media(color_scheme="dark")
        shot(page, "malformed-runs-dark")
        page.emulate_media(color_scheme="light")

        # Rows that are JSON but not records are skipped and counted; the run works.
        goto(page, f"{server.url}/#/samples?id=good-eval")
        expect(page.locator("#skipped")).to_contain_text("3 lines of samples.jsonl skipped")
        assert page.locator("#samples .sample").count() == 8
        # NaN in a metric shows as "-", the run opens.
        goto(page, f"{server.url}/#/run?id=nan-in-summary")
        page.wait_for_selector("#points tr[data-point]")
        assert "-" in page.locator("#points tr[data-point] td").nth(2).inner_text()
        # An unreadable run's own page says why instead of failing silently.
        goto(page, f"{server.url}/#/run?id=bad-points")
        expect(page.locator("#error")).to_contain_text("bad-points cannot be read: summary.json: points[0] is a number")
    assert problems == [], problems


def test_files_linking_out_of_the_outputs_folder_are_not_served(hostile_outputs):
    outputs, secret = hostile_outputs
    with AppServer(outputs) as server:
        import urllib.request

        def fetch(path: str) -> tuple[int, str]:
            try:
                with urllib.request.urlopen(server.url + path, timeout=10) as response:
                    return response.status, response.read().decode()
            except urllib.error.HTTPError as error:
                return error.code, error.read().decode()

        status, body = fetch("/report?id=link-report")
        assert status == 404 and "root:" not in body
        status, body = fetch("/api/run?id=link-report")
        assert status == 200 and json.loads(body)["has_report_html"] is False
        status, body = fetch("/api/runs")
        assert "SECRET-OUTSIDE-TEXT" not in body and "1234567" not in body
        status, body = fetch("/api/samples?id=link-samples")
        assert status == 200 and json.loads(body)["total"] == 0 and "SECRET" not in body
        status, body = fetch("/api/run?id=link-summary")
        assert status == 200 and "link to a file outside the outputs folder" in json.loads(body)["unreadable"]
        assert "SECRET" not in body
    assert secret.exists()


# 4-9. Rendering answers as the model wrote them --------------------------------------------------

def _card(page, sample_id: str):
    return page.locator("#samples .sample").filter(has=page.locator(f"b:text-is('general_qa / default / {sample_id}')"))


def test_answers_render_as_written(crafted_server, crafted_outputs):
    ids = run_ids(crafted_outputs)
    with watched_page() as (page, problems):
        goto(page, f"{crafted_server.url}/#/samples?id={ids['answers']}")
        page.wait_for_selector("#samples .sample")
        assert page.locator("#samples .sample").count() == 8

        # 6. Code is escaped once: the characters the model wrote.
        code = _card(page, "default/0").locator(".answer-rich")
        block = code.locator("pre code").inner_text()
        assert "def add(x: int) -> int:" in block and "x > 0 && x < 9" in block and "&gt;" not in block
        assert code.locator("p code").inner_text() == "a -> b && c"

        # 7. Money is not math; code is never math; real math still is.
        money = _card(page, "default/1").locator(".answer-rich")
        assert "He had $80,000 and then puts in $50,000 more." in money.inner_text()
        assert money.locator("code").all_inner_texts() == ["echo $HOME", "$PATH"]
        assert money.locator(".katex").count() == 1 and "x2" in money.locator(".katex").inner_text().replace("\n", "")

        # 4. Text that looks like a placeholder stays text, and the page lives.
        placeholders = _card(page, "default/2").locator(".answer-rich")
        assert "Literal @@MATH99@@ and @@MATH0@@ beside" in placeholders.inner_text()
        assert placeholders.locator(".katex").count() == 1

        # 8. <think> and harmony: the answer box shows the answer, the reasoning box the reasoning.
        think = _card(page, "default/3")
        assert think.locator(".answer-rich").inner_text().strip() == "The answer is 42."
        assert "THINK-ONLY" not in think.locator(".answer").inner_text()
        assert think.locator("details.reasoning .reasoning-text-rich").count() == 0  # not drawn while collapsed
        think.locator("details.reasoning summary").click()
        expect(think.locator("details.reasoning .reasoning-text-rich")).to_contain_text("THINK-ONLY private steps")
        harmony = _card(page, "default/4")
        assert harmony.locator(".answer-rich").inner_text().strip() == "Final answer 7"
        assert "HARMONY-THOUGHT" not in harmony.locator(".answer").inner_text()
        harmony.locator("details.reasoning summary").click()
        expect(harmony.locator(".reasoning-text-rich")).to_contain_text("HARMONY-THOUGHT steps")
        harmony.locator("details.raw-response summary").click()
        expect(harmony.locator(".raw-rich")).to_contain_text("<|channel|>analysis")

        # 9. Autolinks keep their characters; escaped Markdown stays literal.
        links = _card(page, "default/5").locator(".answer-rich a")
        assert links.evaluate_all("a => a.map(x => [x.getAttribute('href'), x.textContent])") == [
            ["https://example.com/a?b=1&c=2", "https://example.com/a?b=1&c=2"],
            ["https://example.org/x_y", "https://example.org/x_y"]]
        assert "*not bold*" in _card(page, "default/5").locator(".answer-rich").inner_text()

        # 9. A sample with a lone surrogate is listed, the character replaced.
        expect(_card(page, "surrogate").locator(".answer-rich")).to_have_text("bad \ufffd char")
        shot(page, "samples-rendering")
        page.emulate_media(color_scheme="dark")
        shot(page, "samples-rendering-dark")
    assert problems == []


def test_long_answers_and_reasoning_render_fast(crafted_server, crafted_outputs):
    """A 1 MB answer without a space, and a page of 20 samples with 40 KB of reasoning each: each under 1 s."""
    ids = run_ids(crafted_outputs)
    timings = {}
    with watched_page() as (page, problems):
        goto(page, crafted_server.url + "/")
        timings["1 MB answer"] = hash_to(page, f"#/samples?id={ids['answers']}&sample=default/6")
        long = _card(page, "default/6")
        expect(long.locator(".cut")).to_contain_text("not shown")
        assert long.locator(".show-all").inner_text() == "show all (1 MB)"
        width = long.evaluate("card => [card.scrollWidth, card.clientWidth]")
        assert width[0] <= width[1] + 1, width  # the unbroken word is broken, not a page-wide line
        href = long.locator("a.download").get_attribute("href")
        text = page.evaluate("async href => (await (await fetch(href)).text()).length", href)
        assert text == LONG_BYTES
        began = time.monotonic()
        long.locator(".show-all").click()
        expect(long.locator(".answer-all")).to_have_count(1)
        page.evaluate("() => document.body.offsetHeight")
        timings["1 MB answer, show all"] = round((time.monotonic() - began) * 1000)
        shot(page, "long-answer")

        timings["20 x 40 KB reasoning"] = hash_to(page, f"#/samples?id={ids['reasoning']}")
        assert page.locator("#samples .sample").count() == 20
        assert page.locator("#samples .reasoning-text-rich").count() == 0  # collapsed: not drawn
        summary = page.locator("#samples details.reasoning summary").first
        assert f"({REASONING_CHARS / 1000 + 0.0:.1f} KB)" in summary.inner_text() or "KB)" in summary.inner_text()
        summary.click()
        expect(page.locator("#samples .reasoning-text-rich")).to_have_count(1)
    print("render times (ms):", timings)
    (ARTIFACTS / "app-render-times.json").write_text(json.dumps(timings, indent=1))
    assert timings["1 MB answer"] < RENDER_BUDGET_MS and timings["20 x 40 KB reasoning"] < RENDER_BUDGET_MS, timings
    assert problems == []


# 10-12. Compare and charts --------------------------------------------------------------------------

def test_perf_pages_label_loads_and_read_in_ms(crafted_server, crafted_outputs):
    ids = run_ids(crafted_outputs)
    closed, opened = ids["closed"], ids["open"]
    summary = json.loads((crafted_outputs / closed / "summary.json").read_text())
    with watched_page() as (page, problems):
        goto(page, f"{crafted_server.url}/#/run?id={closed}")
        page.wait_for_selector("#chart-tpot canvas")
        assert page.title() == "sim · perf · assay"
        heads = page.locator("#points th").all_inner_texts()
        assert "P99 TTFT (ms)" in heads and not any("(s)" in h for h in heads)
        shown = [float(t) for t in page.locator("#points .ttft-p99").all_inner_texts()]
        assert shown == [round(p["ttft_s"]["p99"] * 1000, 1) for p in summary["points"]]
        assert page.locator("#points .load").all_inner_texts() == ["concurrency 1", "concurrency 4"]
        axes = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.chart')].map(c =>
            [c.id, {x: c.plot.axes[0].label, y: c.plot.axes[1].label, ymin: c.plot.scales.y.min,
                    ticks: c.plot.axes[1]._values}]))""")
        for chart in axes.values():
            assert chart["x"] == "concurrency (requests in flight)" and chart["ymin"] == 0
        assert axes["chart-tpot"]["y"] == "ms"
        ticks = axes["chart-tpot"]["ticks"]
        assert len(ticks) >= 3 and len(set(ticks)) == len(ticks), ticks  # distinct tick labels
        # The configuration reads as key/value rows; a key shows only whether it is set.
        expect(page.locator('#config tr[data-key="model"] td')).to_have_text("sim")
        expect(page.locator('#config tr[data-key="api_key"] td')).to_have_text("unset")
        expect(page.locator("#card-best-rps")).to_contain_text("best RPS")
        shot(page, "perf-run-light")
        page.emulate_media(color_scheme="dark")
        page.reload()
        page.wait_for_selector("#chart-tpot canvas")
        shot(page, "perf-run-dark")
        page.emulate_media(color_scheme="light")

        # Requests: paged and sorted by any column, by the server.
        requests = [json.loads(line) for line in (crafted_outputs / closed / "requests.jsonl").read_text().splitlines()]
        page.locator('#requests th[data-sort="latency_ms"]').click()
        expect(page.locator('#requests th[data-sort="latency_ms"]')).to_contain_text("▲")
        page.locator('#requests th[data-sort="latency_ms"]').click()
        expect(page.locator('#requests th[data-sort="latency_ms"]')).to_contain_text("▼")
        latencies = [float(t) for t in page.locator("#requests td.latency").all_inner_texts()]
        assert latencies == sorted(latencies, reverse=True) and len(latencies) == len(requests)
        slowest = max(requests, key=lambda r: r["end_ns"] - r["sent_ns"])
        assert page.locator("#requests tr[data-index]").first.get_attribute("data-index") == str(slowest["index"])

        # 10. Closed- and open-loop runs compared: each load named, the mixed axis said.
        hash_to(page, f"#/compare?id={closed}&id={opened}")
        page.wait_for_selector("#chart-rps canvas")
        expect(page.locator("#mixed-load")).to_contain_text("open loop (request rate)")
        loads = page.locator("#compare-table .load").all_inner_texts()
        assert "concurrency 4" in loads and "4 req/s (cap 4)" in loads and "16 req/s (cap 4)" in loads
        label = page.evaluate("() => document.querySelector('#chart-rps').plot.axes[0].label")
        assert label == "concurrency or request rate (runs differ)"
        colours = page.evaluate("""() => [...document.querySelectorAll('.chart')].map(c =>
            c.plot.series.slice(1).map(s => s._stroke || s.stroke()))""")
        assert all(series[0] == colours[0][0] for series in colours)  # one colour per run on every chart
        shot(page, "compare-perf-light")
        page.emulate_media(color_scheme="dark")
        page.reload()
        page.wait_for_selector("#chart-rps canvas")
        shot(page, "compare-perf-dark")
    assert problems == []


def test_eval_compare_counts_samples_in_one_run_apart(crafted_server, crafted_outputs):
    ids = run_ids(crafted_outputs)
    answers, comma = ids["answers"], ids["with,comma"]
    assert "," in comma
    with watched_page() as (page, problems):
        goto(page, f"{crafted_server.url}/")
        page.wait_for_selector("#runs tr[data-run]")
        page.locator(f'#runs tr[data-run="{answers}"] input.pick').check()
        page.locator(f'#runs tr[data-run="{comma}"] input.pick').check()
        page.click("#compare")
        page.wait_for_selector("#changed")
        # Shared: default/0..3; only default/3 changed (think -> "42"). answers' 4, 5, 6, surrogate are not in both.
        expect(page.locator("#changed-title")).to_contain_text("Verdict changed (1,")
        assert page.locator("#changed tr[data-key]").evaluate_all("r => r.map(x => x.dataset.key)") == [
            "general_qa/default/default/3/0"]
        expect(page.locator("#partial-title")).to_contain_text("Not in every run (4)")
        expect(page.locator("#partial tr[data-key]").first).to_contain_text("absent")
        assert page.title().startswith("Compare")
        shot(page, "compare-eval")
        page.locator("#changed a.sample-link", has_text="correct").click()  # the changed sample, in its run
        page.wait_for_selector("#samples .sample")
        assert page.locator("#samples .sample").count() == 1
        expect(page.locator("#samples .sample .tag")).to_have_text("correct")
        assert comma in page.url.replace("%2C", ",").replace("%2F", "/")
    assert problems == []


def test_samples_filters_by_benchmark_and_subset_and_cards_show_facts(crafted_server, crafted_outputs):
    ids = run_ids(crafted_outputs)
    with watched_page() as (page, problems):
        goto(page, f"{crafted_server.url}/#/run?id={ids['answers']}")
        page.wait_for_selector("#scores")
        expect(page.locator("#card-general_qa")).to_contain_text("0.000")
        expect(page.locator("#card-general_qa")).to_contain_text("95% CI [0.000, 0.354]")
        page.locator('#scores tr[data-subset="default"] a.subset-link').click()
        page.wait_for_selector("#samples .sample")
        assert page.locator("#filter-benchmark").input_value() == "general_qa"
        assert page.locator("#filter-subset").input_value() == "default"
        facts = page.locator("#samples .sample .facts").first.inner_text()
        assert "finish stop" in facts and "11 tokens" in facts and " ms" in facts
        assert page.title().startswith("Samples")
        shot(page, "samples-filters")
    assert problems == []


def test_searches_run_off_the_event_loop(crafted_outputs, tmp_path):
    """While searches of a big run are under way, the runs list still answers: they run in worker threads."""
    import concurrent.futures
    import urllib.request

    ids = run_ids(crafted_outputs)
    big = _copy_run(crafted_outputs / ids["answers"], tmp_path / "big")
    row = json.loads((big / "samples.jsonl").read_text().splitlines()[0])
    with open(big / "samples.jsonl", "w") as handle:
        for i in range(10_000):
            row.update(key=f"general_qa/default/{i}/0", sample_id=str(i), response=f"answer {i} " + "word " * 800)
            handle.write(json.dumps(row) + "\n")
    with AppServer(tmp_path) as server:
        def search(i: int) -> float:
            began = time.monotonic()
            with urllib.request.urlopen(f"{server.url}/api/samples?id=big&q=nothing-{i}", timeout=120) as r:
                assert r.status == 200 and json.loads(r.read())["total"] == 0
            return time.monotonic() - began

        one_s = search(-1) and search(-2)  # the first parses the file; the second is a search alone
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            futures = [pool.submit(search, i) for i in range(20)]
            time.sleep(one_s)  # searches are under way
            began = time.monotonic()
            with urllib.request.urlopen(f"{server.url}/api/runs", timeout=120) as response:
                assert response.status == 200
            runs_s = time.monotonic() - began
            searches_s = [f.result() for f in futures]
    print(f"one search {one_s:.3f} s; /api/runs during 20 searches {runs_s:.3f} s; slowest search {max(searches_s):.3f} s")
    # On the event loop, /api/runs would wait for every search queued before it (about 20 x one_s).
    assert runs_s < max(0.5, 5 * one_s), (runs_s, one_s)


def test_sample_cache_is_bounded(crafted_outputs):
    from assay.app.index import SampleCache
    from assay.store.lineindex import LineIndex

    files = [p for p in crafted_outputs.rglob("samples.jsonl")]
    cache = SampleCache(max_bytes=max(LineIndex.build(p).nbytes for p in files))
    for path in files:
        assert len(cache.load(path))
    assert len(cache._cache) < len(files)  # the least recently used were let go
    assert files[-1] in cache._cache


# Exploring evals (EvalScope's viewer and beyond) -------------------------------------------------

def test_scores_dashboard_search_filter_sort_group_and_radar(crafted_server, crafted_outputs):
    ids = run_ids(crafted_outputs)
    with watched_page() as (page, problems):
        goto(page, f"{crafted_server.url}/#/scores")
        page.wait_for_selector("#dashboard")
        assert page.title() == "Scores · assay"
        heads = page.locator("#dashboard tr").first.locator("th").all_inner_texts()
        assert heads[1:] == ["aime24", "general_qa", "gsm8k", "math_500"]
        report = json.loads((crafted_outputs / ids["multi"] / "report.json").read_text())["reports"]
        cells = page.locator('#dashboard tr[data-model="model-multi"] td').all_inner_texts()
        assert cells[0] == f"{report['aime24']['overall']['AveragePass@1']:.3f}" and cells[1] == "-"
        expect(page.locator("#radar polygon[data-model]")).to_have_count(1)  # the one model scored on 3+ benchmarks
        assert page.locator("#radar polygon[data-model]").get_attribute("data-model") == "model-multi"
        assert page.locator("#reports tr[data-report]").count() == 6  # 3 general_qa runs + 3 benchmarks of one run
        page.fill("#reports-search", "gsm8k")
        page.press("#reports-search", "Enter")
        settled(page, "q=gsm8k")
        expect(page.locator("#reports tr[data-report]")).to_have_count(1)
        page.fill("#reports-search", "")
        page.press("#reports-search", "Enter")
        expect(page.locator("#reports tr[data-report]")).to_have_count(6)  # redrawn before the next field is used
        page.fill("#score-min", "0.5")
        page.press("#score-min", "Enter")
        settled(page, "min=0.5")
        shown = [float(t) for t in page.locator("#reports .score").all_inner_texts()]
        assert all(v >= 0.5 for v in shown)
        page.fill("#score-min", "")
        page.press("#score-min", "Enter")
        expect(page.locator("#reports tr[data-report]")).to_have_count(6)
        page.locator('#reports th[data-sort="score"]').click()
        expect(page.locator('#reports th[data-sort="score"]')).to_contain_text("▲")
        scores = [float(t) for t in page.locator("#reports .score").all_inner_texts()]
        assert scores == sorted(scores)
        page.select_option("#group-by", "model")
        expect(page.locator("#reports tr.group")).to_have_count(4)
        shot(page, "scores")
        page.emulate_media(color_scheme="dark")
        shot(page, "scores-dark")
    assert problems == []


def test_benchmark_browser_chat_view_and_details(crafted_server, crafted_outputs):
    ids = run_ids(crafted_outputs)
    with watched_page() as (page, problems):
        page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        goto(page, f"{crafted_server.url}/#/benchmarks?name=gsm8k")
        page.wait_for_selector("details.benchmark")
        assert page.title() == "Benchmarks · assay"
        names = page.locator("details.benchmark").evaluate_all("d => d.map(x => x.dataset.benchmark)")
        assert names == ["aime24", "general_qa", "gsm8k", "math_500"]
        gsm8k = page.locator('details.benchmark[data-benchmark="gsm8k"]')
        assert gsm8k.get_attribute("open") is not None
        expect(gsm8k).to_contain_text("AveragePass@1")
        shot(page, "benchmarks")
        gsm8k.locator(".benchmark-runs a").first.click()
        page.wait_for_selector("#samples .sample")
        assert page.locator("#filter-benchmark").input_value() == "gsm8k"
        assert page.locator("#samples .sample").count() == 2

        # The conversation: one bubble per message, each with a copy button; the details as JSON.
        goto(page, f"{crafted_server.url}/#/samples?id={ids['answers']}")
        card = _card(page, "default/3")
        card.locator("details.prompt-box summary").click()
        bubble = card.locator(".bubble").first
        expect(bubble.locator(".bubble-head b")).to_have_text("user")
        expect(bubble).to_contain_text("think: question")
        bubble.locator("button.copy").click()
        expect(bubble.locator("button.copy")).to_have_text("✓")
        assert page.evaluate("() => navigator.clipboard.readText()") == "think: question"
        card.locator("details.sample-details summary").click()
        details = json.loads(card.locator("details.sample-details pre").inner_text())
        record = next(json.loads(line) for line in (crafted_outputs / ids["answers"] / "samples.jsonl").read_text()
                      .splitlines() if json.loads(line)["sample_id"] == "default/3")
        assert details["method"] == record["method"] and details["completion_tokens"] == 11
        shot(page, "sample-chat")
    assert problems == []


def test_compare_filters_by_verdict_per_run_with_answers_side_by_side(crafted_server, crafted_outputs):
    ids = run_ids(crafted_outputs)
    answers, comma = ids["answers"], ids["with,comma"]
    with watched_page() as (page, problems):
        goto(page, f"{crafted_server.url}/#/compare?id={answers}&id={comma.replace(',', '%2C')}")
        page.wait_for_selector("#changed")
        row = page.locator('#changed tr[data-key="general_qa/default/default/3/0"]')
        expect(row.locator("pre.changed-answer")).to_have_count(2)
        expect(row.locator("pre.changed-answer").first).to_have_text("The answer is 42.")  # the answer, not <think>
        expect(row.locator("pre.changed-answer").nth(1)).to_have_text("42")
        page.locator('select.run-verdict[data-run="1"]').select_option("absent")
        expect(page.locator("#partial tr[data-key]:visible")).to_have_count(4)
        expect(page.locator("#changed tr[data-key]:visible")).to_have_count(0)
        page.locator('select.run-verdict[data-run="1"]').select_option("correct")
        expect(page.locator("#changed tr[data-key]:visible")).to_have_count(1)
        expect(page.locator("#partial tr[data-key]:visible")).to_have_count(0)
        shot(page, "compare-eval-side-by-side")
    assert problems == []


def test_every_view_follows_a_dark_system_theme(crafted_server, crafted_outputs):
    ids = run_ids(crafted_outputs)
    views = {"runs": "#/", "eval-run": f"#/run?id={ids['multi']}", "samples": f"#/samples?id={ids['multi']}",
             "compare-eval": f"#/compare?id={ids['answers']}&id={ids['with,comma'].replace(',', '%2C')}",
             "benchmarks": "#/benchmarks?name=gsm8k"}
    for dark in (False, True):
        with watched_page(dark=dark) as (page, problems):
            for name, fragment in views.items():
                goto(page, f"{crafted_server.url}/{fragment}")
                background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
                assert (background == "rgb(13, 17, 23)") == dark, (name, background)
                shot(page, f"{name}-{'dark' if dark else 'light'}")
        assert problems == [], (dark, problems)
