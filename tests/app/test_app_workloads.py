"""The app and report.html show what the newer workloads measure (headless Chromium on real runs):

- embeddings and rerank runs (`assay sim`): latency, requests/s, inputs/s, input tokens/s and inputs per request,
  and no generation-only column (TTFT, TPOT, ITL, tokens/s) that could only say "-";
- function-calling samples (bfcl_v3 and general_fc against a scripted server that answers with `tool_calls`): the
  tools offered, the calls made (name, arguments as indented JSON), calls read from the text, the verdict's method,
  and a function-calling history (assistant content null) shown without a "null";
- reasoning tokens of an `assay sim` run (usage.completion_tokens_details, as vLLM sends it);
- multi-turn sessions (llama-server's prompt cache): TTFT and cached prompt tokens by turn.
"""

from __future__ import annotations

import json
import statistics
import urllib.parse
from pathlib import Path

import pytest

from assay import PerfConfig, TaskConfig, run_perf
from assay.engines.sim import SimServer, SimSettings
from assay.eval import run_eval
from assay.store import read_records
from tests.app.support import AppServer
from tests.browser import browser_page
from tests.conftest import ARTIFACTS
from tests.scripted_server import ScriptedServer, tool_call_reply

EMBED_BATCH = 4
RERANK_DOCUMENTS = 10  # random_rerank's default: a query and 10 documents a request
REASONING_TOKENS = 6

CONVERT = {"type": "function", "function": {
    "name": "convert_temperature", "description": "Temperature conversion",
    "parameters": {"type": "object", "properties": {"celsius": {"type": "number", "description": "Celsius"}},
                   "required": ["celsius"], "additionalProperties": False}}}
TRIANGLE = {"name": "calculate_triangle_area", "description": "Area of a triangle.",
            "parameters": {"type": "dict", "properties": {"base": {"type": "integer", "description": "Base."},
                                                          "height": {"type": "integer", "description": "Height."}},
                           "required": ["base", "height"]}}
HISTORY = [
    {"role": "user", "content": "Convert 37 C to F"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_7", "type": "function", "function": {"name": "convert_temperature", "arguments": '{"celsius": 37}'}}]},
    {"role": "tool", "tool_call_id": "call_7", "content": "98.6"},
    {"role": "user", "content": "Thanks! And what did it say?"},
]
# question -> (calls the server sends as tool_calls, text content)
REPLIES = {
    "Convert 20 C to F": ([("convert_temperature", '{"celsius": "20"}')], None),  # a string for a number
    "Convert 5 C to F": ([], '<tool_call>{"name": "convert_temperature", "arguments": {"celsius": 5}}</tool_call>'),
    "Thanks! And what did it say?": ([], "It said 98.6 F."),
    "Area of a triangle, base 10 and height 5?": ([("calculate_triangle_area", '{"base": 10}')], None),
}


def _fc_row(messages: list[dict], should: bool) -> dict:
    return {"messages": messages, "tools": [CONVERT], "should_call_tool": should}


@pytest.fixture(scope="module")
def workload_outputs(tmp_path_factory) -> Path:
    outputs = tmp_path_factory.mktemp("workload-outputs")
    data = outputs.parent / "workload-data"
    data.mkdir(exist_ok=True)
    with SimServer(SimSettings(pooling_ms=5, pooling_ms_per_input=1, ttft_ms=5, tpot_ms=1,
                               reasoning_tokens=REASONING_TOKENS)) as sim:
        base = {"model": "sim", "tokenizer_path": "o200k_base", "min_prompt_length": 8, "max_prompt_length": 24,
                "outputs_dir": str(outputs), "quiet": True}
        run_perf(PerfConfig(**base, url=sim.base_url, api="openai_embedding", dataset="random_embedding_batch",
                            extra_args={"batch_size": EMBED_BATCH}, name="embed", parallel=[1, 4], number=[8, 8]))
        run_perf(PerfConfig(**base, url=f"{sim.base_url}/rerank", api="openai_rerank", dataset="random_rerank",
                            name="rerank", parallel=[2], number=[6]))
        run_perf(PerfConfig(**base, url=f"{sim.base_url}/chat/completions", name="reason", max_tokens=16,
                            parallel=[2], number=[4]))
    general_fc = data / "fc.jsonl"
    general_fc.write_text("".join(json.dumps(row) + "\n" for row in (
        _fc_row([{"role": "user", "content": "Convert 20 C to F"}], True),
        _fc_row([{"role": "user", "content": "Convert 5 C to F"}], True),
        _fc_row(HISTORY, False))))
    bfcl = data / "bfcl.jsonl"
    bfcl.write_text(json.dumps({"id": "simple_0", "function": [TRIANGLE],
                                "question": [[{"role": "user", "content": "Area of a triangle, base 10 and height 5?"}]],
                                "ground_truth": [{"calculate_triangle_area": {"base": [10], "height": [5]}}]}) + "\n")

    def behaviour(question: str, attempt: int):
        calls, content = REPLIES[question]
        return tool_call_reply(calls, stream=True, content=content)

    with ScriptedServer(behaviour) as server:
        run_eval(TaskConfig(model="fc-model", api_url=server.url, datasets=["general_fc", "bfcl_v3"], dataset_hub="local",
                            dataset_args={"general_fc": {"local_path": str(general_fc)},
                                          "bfcl_v3": {"local_path": str(bfcl)}},
                            generation_config={"stream": True}, work_dir=str(outputs / "fc"), quiet=True))
    return outputs


def _ids(outputs: Path) -> dict[str, str]:
    ids = {}
    for run_json in outputs.rglob("run.json"):
        run_id = run_json.parent.relative_to(outputs).as_posix()
        ids["fc" if run_id.startswith("fc/") else run_id.split("/")[-1]] = run_id
    return ids


def _summary(outputs: Path, run_id: str) -> list[dict]:
    return json.loads((outputs / run_id / "summary.json").read_text())["points"]


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"app-{name}.png"), full_page=True)


def _run_hash(run_id: str) -> str:
    return "#/run?id=" + urllib.parse.quote(run_id, safe="")


GENERATION_ONLY = ("TTFT", "TPOT", "ITL", "Gen. tok/s")


@pytest.mark.slow
def test_embeddings_and_rerank_runs_show_latency_and_inputs_not_ttft(workload_outputs):
    ids = _ids(workload_outputs)
    with AppServer(workload_outputs) as app, browser_page() as (page, errors):
        for name, word, per_request in (("embed", "Texts embedded", EMBED_BATCH), ("rerank", "Documents ranked",
                                                                                    RERANK_DOCUMENTS)):
            points = _summary(workload_outputs, ids[name])
            page.goto(f"{app.url}/{_run_hash(ids[name])}")
            page.wait_for_selector("#points tr[data-point]")
            page.wait_for_selector("#requests tr[data-index]")
            heads = page.locator("#points th").all_inner_texts()
            assert f"{word}/s" in heads and "Input tok/s" in heads and "Inputs/request" in heads
            assert not [h for h in heads if any(g in h for g in GENERATION_ONLY)], heads
            for point in points:
                row = page.locator(f'#points tr[data-point="{point["point"]}"]')
                assert float(row.locator(".inputs-per-s").inner_text()) == pytest.approx(
                    point["endpoint"]["inputs_per_s"], abs=0.051)
                assert float(row.locator(".input-tokens-per-s").inner_text()) == pytest.approx(
                    point["endpoint"]["input_tokens_per_s"], abs=0.51)
                assert row.locator(".inputs-per-request").inner_text() == str(per_request)
                assert float(row.locator(".latency-p99").inner_text()) == pytest.approx(
                    point["latency_s"]["p99"] * 1000, abs=0.051)
                # inputs/s is requests/s times the inputs each carried
                assert point["endpoint"]["inputs_per_s"] == pytest.approx(point["rps"] * per_request)
            assert page.locator("#chart-inputs").count() == 1
            assert page.locator("#chart-ttft, #chart-tpot, #chart-tokens").count() == 0
            assert page.locator("#card-best-inputs .card-label").inner_text().startswith(f"best {word.lower()}/s")
            # Per request: its inputs and input tokens, no TTFT column.
            request_heads = page.locator("#requests th").all_inner_texts()
            assert not [h for h in request_heads if "TTFT" in h] and any(h.startswith("Inputs") for h in request_heads)
            records = {r.index: r for r in read_records(workload_outputs / ids[name] / "requests.jsonl")[0]}
            first = page.locator("#requests tr[data-index]").first
            record = records[int(first.get_attribute("data-index"))]
            assert first.locator(".inputs").inner_text() == str(record.inputs) == str(per_request)
            assert first.locator(".input-tokens").inner_text() == str(record.prompt_tokens)
            _shot(page, f"perf-{name}")

            # report.html: the same measures, and its plots are of latency and inputs
            report = (workload_outputs / ids[name] / "report.html").read_text()
            sweep = report.split('<table id="sweep">')[1].split("</table>")[0]
            assert f"{word}/s" in sweep and not [g for g in GENERATION_ONLY if g in sweep]
            assert f"{point['endpoint']['inputs_per_s']:.1f}" in sweep
            plots = workload_outputs / ids[name] / "plots"
            assert f"{word} per second" in (plots / "throughput.svg").read_text()
            assert "Latency distribution" in (plots / "distributions.svg").read_text()
            assert "TTFT" not in (plots / "latency.svg").read_text()

        # Two such runs compared: inputs/s beside requests/s, no TTFT / TPOT
        page.goto(f"{app.url}/#/compare?id={urllib.parse.quote(ids['embed'], safe='')}"
                  f"&id={urllib.parse.quote(ids['rerank'], safe='')}")
        page.wait_for_selector("#compare-table")
        heads = page.locator("#compare-table th").all_inner_texts()
        assert "Inputs/s" in heads and not [h for h in heads if "TTFT" in h or "TPOT" in h]
        assert page.locator("#compare-table .inputs-per-s").count() == 3
    assert errors == []


def _card(page, app_url: str, run_id: str, sample_id: str, benchmark: str):
    query = urllib.parse.urlencode({"id": run_id, "sample": sample_id, "benchmark": benchmark})
    page.goto(f"{app_url}/#/samples?{query}")
    page.wait_for_selector("#samples .sample")
    card = page.locator("#samples .sample").first
    return card


@pytest.mark.slow
def test_tool_call_samples_show_tools_calls_and_the_verdicts_method(workload_outputs):
    ids = _ids(workload_outputs)
    run_dir = workload_outputs / ids["fc"]
    records = {r["sample_id"]: r for r in map(json.loads, (run_dir / "samples.jsonl").read_text().splitlines())}
    with AppServer(workload_outputs) as app, browser_page() as (page, errors):
        # A call with a string for a number: the call as sent, indented; the tool offered; jsonschema's reason.
        card = _card(page, app.url, ids["fc"], "default/0", "general_fc")
        record = records["default/0"]
        assert record["verdict"] == "wrong"
        assert card.locator(".method").inner_text() == record["method"]
        assert "'20' is not of type 'number'" in record["method"]
        made = card.locator(".tool-calls.made .tool-call")
        assert made.count() == 1 and made.locator(".tool-name").inner_text() == "convert_temperature"
        shown = made.locator(".tool-arguments").inner_text()
        assert json.loads(shown) == {"celsius": "20"} and "\n" in shown  # indented JSON
        card.locator("details.tools-offered summary").click()
        assert "convert_temperature" in card.locator("details.tools-offered summary").inner_text()
        assert json.loads(card.locator(".tool-parameters").inner_text()) == CONVERT["function"]["parameters"]
        _shot(page, "sample-tool-call")

        # A server without a tool parser: the call the scorer read from the text, flagged as such.
        card = _card(page, app.url, ids["fc"], "default/1", "general_fc")
        assert records["default/1"]["tool_calls"] is None
        assert card.locator(".method").inner_text() == records["default/1"]["method"] == "text/hermes/schema"
        read = card.locator(".tool-calls.from-text .tool-call")
        assert read.count() == 1 and json.loads(read.locator(".tool-arguments").inner_text()) == {"celsius": 5}

        # A function-calling history: the assistant's call (content null) and the tool's answer, no "null" shown.
        card = _card(page, app.url, ids["fc"], "default/2", "general_fc")
        card.locator("details.prompt-box summary").click()
        bubbles = card.locator(".bubble")
        assert bubbles.count() == len(HISTORY)
        assistant = bubbles.nth(1)
        assert assistant.locator(".tool-calls.in-message .tool-name").inner_text() == "convert_temperature"
        assert json.loads(assistant.locator(".tool-arguments").inner_text()) == {"celsius": 37}
        assert "call_7" in bubbles.nth(2).locator(".tool-call-id").inner_text()
        assert "null" not in card.inner_text()
        assert card.locator(".no-calls").count() == 1 and card.locator(".answer").count() == 1

        # BFCL: a required argument left out, said by the AST check.
        card = _card(page, app.url, ids["fc"], "simple_0", "bfcl_v3")
        assert records["simple_0"]["method"] == "tool_calls/ast/missing_required: 'height'"
        assert card.locator(".method").inner_text() == records["simple_0"]["method"]
        assert json.loads(card.locator(".tool-calls.made .tool-arguments").inner_text()) == {"base": 10}
        _shot(page, "sample-bfcl")
    assert errors == []


@pytest.mark.slow
def test_reasoning_tokens_of_a_sim_run_reach_the_perf_page(workload_outputs):
    """`assay sim` counts its reasoning tokens in usage.completion_tokens_details, as vLLM does."""
    ids = _ids(workload_outputs)
    records = [r for r in read_records(workload_outputs / ids["reason"] / "requests.jsonl")[0] if r.phase == "measure"]
    assert [r.reasoning_tokens for r in records] == [REASONING_TOKENS] * 4
    (point,) = _summary(workload_outputs, ids["reason"])
    assert point["reasoning_tokens"] == 4 * REASONING_TOKENS
    with AppServer(workload_outputs) as app, browser_page() as (page, errors):
        page.goto(f"{app.url}/{_run_hash(ids['reason'])}")
        page.wait_for_selector("#generation tr[data-point]")
        assert page.locator("#generation .reasoning-tokens").first.inner_text() == str(REASONING_TOKENS)
    assert errors == []


@pytest.mark.slow
def test_multi_turn_run_shows_ttft_and_cached_tokens_by_turn(tiny_server, tiny_model_dir, tmp_path):
    turns = 3
    result = run_perf(PerfConfig(
        url=f"{tiny_server.base_url}/chat/completions", model="tiny", tokenizer_path=str(tiny_model_dir),
        dataset="random_multi_turn", turns=turns, min_prompt_length=48, max_prompt_length=64, max_tokens=8,
        min_tokens=8, parallel=[2], number=[2], outputs_dir=str(tmp_path / "runs"), quiet=True))
    records = [r for r in read_records(result.run_dir / "requests.jsonl")[0] if r.phase == "measure"]
    assert len(records) == 2 * turns and all(r.error is None for r in records)
    run_id = result.run_dir.relative_to(tmp_path / "runs").as_posix()
    with AppServer(tmp_path / "runs") as app, browser_page() as (page, errors):
        page.goto(f"{app.url}/{_run_hash(run_id)}")
        page.wait_for_selector("#turns tr[data-turn]")
        rows = page.locator("#turns tr[data-turn]")
        assert rows.count() == turns
        for turn in range(turns):
            own = [r for r in records if r.turn == turn]
            row = page.locator(f'#turns tr[data-turn="{turn}"]')
            # the figures of the records themselves (not only the summary's): mean TTFT, cached and prompt tokens
            ttft_ms = statistics.mean((r.first_token_ns - r.sent_ns) / 1e6 for r in own)
            assert float(row.locator(".ttft-mean").inner_text()) == pytest.approx(ttft_ms, abs=0.051)
            assert float(row.locator(".cached-tokens").inner_text()) == pytest.approx(
                statistics.mean(r.cached_tokens for r in own), abs=0.051)
            assert float(row.locator(".prompt-tokens").inner_text()) == pytest.approx(
                statistics.mean(r.prompt_tokens for r in own), abs=0.051)
        # llama-server's prompt cache: the last turn finds the conversation so far in it
        assert float(page.locator('#turns tr[data-turn="2"] .cached-tokens').inner_text()) > 0
        assert "2 of 2 sessions completed" in page.locator(".sessions-line").inner_text()
        assert page.locator("#chart-turn-ttft").count() == 1 and page.locator("#chart-turn-cached").count() == 1
        _shot(page, "perf-multi-turn")
    assert errors == []
    report = (result.run_dir / "report.html").read_text()
    table = report.split('<table id="turns">')[1].split("</table>")[0]
    assert table.count("<tr>") == turns + 1 and "Cached tokens" in table
    assert "By turn (multi-turn sessions)" in report and 'id="plot-ttft_by_turn"' in report
