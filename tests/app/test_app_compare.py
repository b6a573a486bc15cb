"""The app's view of `assay eval compare A B` (headless Chromium): per benchmark the score difference, its
interval, p-value and verdict, the flipped samples both ways linked to their pages in each run, and the power
note; and the perf page's reasoning / speculative-decoding table. Runs are real: eval runs against a scripted
server whose answers differ between "deployments" on known samples, perf runs against `assay sim`."""

from __future__ import annotations

import json
import math
import urllib.parse
import urllib.request

import pytest
from aiohttp import web

from assay import PerfConfig, TaskConfig, run_perf
from assay.engines.sim import SimServer, SimSettings
from assay.eval import run_eval
from tests.app.support import AppServer
from tests.browser import browser_page
from tests.conftest import ARTIFACTS
from tests.scripted_server import ScriptedServer

SAMPLES = 20


def _answer(text: str) -> web.Response:
    return web.json_response({"choices": [{"message": {"content": text}, "finish_reason": "stop"}],
                              "usage": {"prompt_tokens": 10, "completion_tokens": 5}})


def _deployment(wrong: set[int]):
    """Right answers (the scripted server's default) except on the ``wrong`` samples."""
    def behaviour(question: str, attempt: int):
        index = int(question.split()[0][1:])
        return _answer(f"So \\boxed{{{index + 1000}}}.") if index in wrong else None
    return behaviour


def _mcnemar(worse: int, better: int) -> float:
    n = worse + better
    return min(1.0, 2 * sum(math.comb(n, k) for k in range(min(worse, better) + 1)) / 2**n)


@pytest.fixture(scope="module")
def compare_outputs(tmp_path_factory):
    outputs = tmp_path_factory.mktemp("compare-outputs")
    data = outputs.parent / "compare-data" / "gsm8k"
    data.mkdir(parents=True, exist_ok=True)
    (data / "test.jsonl").write_text("".join(json.dumps({"question": f"q{i} GOLD={i}", "answer": f"w #### {i}"}) + "\n"
                                             for i in range(SAMPLES)))
    for name, wrong in (("a", {7}), ("b", {2, 5, 11, 17}), ("c", {*range(7), 11, 17, 7})):
        with ScriptedServer(_deployment(wrong)) as server:
            run_eval(TaskConfig(model=f"model-{name}", api_url=server.url, datasets=["gsm8k"], dataset_hub="local",
                                dataset_dir=str(data.parent), eval_batch_size=4, work_dir=str(outputs / name),
                                quiet=True))
    with SimServer(SimSettings(ttft_ms=5, tpot_ms=1, reasoning_tokens=6, tokens_per_chunk=3,
                               spec_draft_tokens=4)) as sim:
        run_perf(PerfConfig(url=f"{sim.base_url}/chat/completions", model="sim", name="spec", tokenizer_path="o200k_base",
                            min_prompt_length=8, max_prompt_length=8, max_tokens=24, parallel=[2], number=[4],
                            server_metrics="auto", outputs_dir=str(outputs), quiet=True))
    return outputs


def _ids(outputs) -> dict[str, str]:
    ids = {}
    for run_json in outputs.rglob("run.json"):
        run_id = run_json.parent.relative_to(outputs).as_posix()
        ids[run_id.split("/")[0] if run_id.split("/")[0] in ("a", "b", "c") else "spec"] = run_id
    return ids


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"app-{name}.png"), full_page=True)


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read())


def _compare_hash(*ids: str) -> str:
    return "#/compare?" + "&".join("id=" + urllib.parse.quote(i, safe="") for i in ids)


@pytest.mark.slow
def test_paired_test_flips_links_and_power_note_in_the_browser(compare_outputs):
    ids = _ids(compare_outputs)
    with AppServer(compare_outputs) as app, browser_page() as (page, errors):
        page.goto(f"{app.url}/{_compare_hash(ids['a'], ids['b'])}")
        page.wait_for_selector("#paired tr[data-benchmark]")
        row = page.locator('#paired tr[data-benchmark="gsm8k"]')
        assert row.locator(".difference").inner_text() == "-15.0"  # 19/20 -> 16/20
        assert float(row.locator(".p-value").inner_text()) == pytest.approx(_mcnemar(4, 1)) == 0.375
        assert row.locator(".verdict").inner_text() == "no detectable change at 95 %"
        low, high = (float(x) for x in row.locator(".ci").inner_text().strip("[]").split(", "))
        assert low < -15 < high and low < 0 < high
        block = page.locator('.paired-benchmark[data-benchmark="gsm8k"]')
        worse = block.locator(".flips.worse li[data-sample]").evaluate_all("l => l.map(x => x.dataset.sample)")
        better = block.locator(".flips.better li[data-sample]").evaluate_all("l => l.map(x => x.dataset.sample)")
        assert (worse, better) == (["main/2", "main/5", "main/11", "main/17"], ["main/7"])
        psi = 5 / 20
        needed = math.ceil((1.959963984540054 * math.sqrt(psi) + 0.8416212335729143 * math.sqrt(psi - 1e-4)) ** 2 / 1e-4)
        assert f"needs about {needed:,} paired samples" in block.locator(".power-note").inner_text()
        _shot(page, "compare-paired")
        # A flipped sample's link opens it in run B, where it is wrong.
        block.locator('.flips.worse li[data-sample="main/5"] a.flip-b').click()
        page.wait_for_selector("#samples .sample")
        assert page.locator("#samples .sample").count() == 1
        assert page.locator("#samples .sample .tag").first.inner_text() == "wrong"
        assert urllib.parse.unquote(page.url).count(ids["b"]) == 1

        # A regression beyond noise: 9 samples broken, none fixed.
        page.goto(f"{app.url}/{_compare_hash(ids['a'], ids['c'])}")
        page.wait_for_selector("#paired tr[data-benchmark]")
        row = page.locator('#paired tr[data-benchmark="gsm8k"]')
        assert float(row.locator(".p-value").inner_text()) == pytest.approx(_mcnemar(9, 0), rel=1e-3)
        verdict = row.locator(".verdict")
        assert verdict.inner_text().startswith("regression of 45.0 pt [95 % CI ")
        assert "bad" in (verdict.get_attribute("class") or "")
        assert page.locator(".flips.worse li[data-sample]").count() == 9 and page.locator(".flips.better").count() == 0
    assert errors == []


@pytest.mark.slow
def test_paired_test_api_answers_and_refusals(compare_outputs):
    ids = _ids(compare_outputs)
    with AppServer(compare_outputs) as app:
        result = _get(f"{app.url}/api/compare-eval?id={urllib.parse.quote(ids['a'])}&id={urllib.parse.quote(ids['b'])}")
        (gsm8k,) = result["benchmarks"]
        assert (result["run_a"], result["run_b"]) == (ids["a"], ids["b"])  # ids, not the server's paths
        assert gsm8k["paired"] == SAMPLES and gsm8k["test"] == "exact McNemar"
        assert gsm8k["difference_pt"] == pytest.approx(-15.0)
        with pytest.raises(urllib.error.HTTPError) as refused:  # a perf run is not an eval run
            _get(f"{app.url}/api/compare-eval?id={urllib.parse.quote(ids['a'])}&id={urllib.parse.quote(ids['spec'])}")
        assert refused.value.code == 404


@pytest.mark.slow
def test_perf_page_shows_ttfo_reasoning_and_speculative_decoding(compare_outputs):
    ids = _ids(compare_outputs)
    with AppServer(compare_outputs) as app, browser_page() as (page, errors):
        page.goto(f"{app.url}/#/run?id={urllib.parse.quote(ids['spec'], safe='')}")
        page.wait_for_selector("#generation tr[data-point]")
        row = page.locator("#generation tr[data-point]").first
        # 24 tokens in chunks of 3 with 4 draft tokens a step: 2 of 4 accepted each step, acceptance length 3.
        assert row.locator(".tokens-per-chunk").inner_text() == "3"
        assert row.locator(".acceptance").inner_text() == "50%"
        assert row.locator(".acceptance-length").inner_text() == "3"
        ttfo = float(row.locator(".ttfo").inner_text())
        ttft = float(row.locator("td").nth(1).inner_text())
        assert ttfo > ttft  # 6 reasoning tokens (two chunks) come first
        _shot(page, "perf-generation")
    assert errors == []
