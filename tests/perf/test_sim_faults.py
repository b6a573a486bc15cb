"""Streams that end badly: aborted by the server, past max_tokens, endless, cut by a context limit,
and gpt-oss harmony text, each against `assay sim` (issue 11 points 2 and 6, issue 12 point 1)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from assay import PerfConfig, TaskConfig, run_perf
from assay.client.openai import ChatOrCompletionRequest, OpenAIClient
from assay.engines.sim import SimServer, SimSettings
from assay.eval import run_eval
from assay.eval.records import SampleJournal
from assay.perf.metrics import recommendations
from assay.store import read_records
from tests.helpers import run_assay


def _perf(sim: SimServer, tmp_path, endpoint: str = "completions", **kwargs):
    config = dict(url=f"{sim.base_url}/{endpoint}", model="sim", tokenizer_path="o200k_base", min_prompt_length=8,
                  max_prompt_length=8, outputs_dir=str(tmp_path), quiet=True, html=False, min_success_rate=0.0)
    config.update(kwargs)
    result = run_perf(PerfConfig(**config))
    records, skipped = read_records(result.run_dir / "requests.jsonl")
    assert skipped == 0
    return result, [r for r in records if r.phase == "measure"]


@pytest.mark.slow
def test_aborted_streams_are_failures_counted_exactly_as_injected(tmp_path):
    """HTTP 200 with finish_reason "abort" after a few tokens (vLLM shutting down) is a failure."""
    settings = SimSettings(ttft_ms=5, tpot_ms=1, faults={"abort": 0.4}, fault_seed=11)
    with SimServer(settings) as sim:
        result, records = _perf(sim, tmp_path, parallel=[4], number=[30], max_tokens=16, test_connection=False)
        truth = {r["id"]: r for r in sim.records()}
    aborted = {key for key, r in truth.items() if r["fault"] == "abort"}
    assert 0 < len(aborted) < 30
    point = result.summary["points"][0]
    assert (point["succeeded"], point["failed"]) == (30 - len(aborted), len(aborted))
    assert point["finish_reasons"] == {"length": 30 - len(aborted), "abort": len(aborted)}
    for record in records:
        if record.response_id in aborted:
            assert record.error_kind == "aborted" and "finish_reason 'abort'" in (record.error or "")
            assert record.finish_reason == "abort" and record.completion_tokens == 2
        else:
            assert record.error is None and record.completion_tokens == 16
    # Means are over the real successes only: no 2-token "success" pulls them down.
    assert point["output_tokens_per_request"]["mean"] == 16


@pytest.mark.slow
def test_a_stream_past_max_tokens_is_a_protocol_error_and_is_cut_at_once(tmp_path):
    settings = SimSettings(ttft_ms=5, tpot_ms=20, faults={"runaway": 0.5}, fault_seed=2)
    with SimServer(settings) as sim:
        _, records = _perf(sim, tmp_path, parallel=[4], number=[8], max_tokens=10, test_connection=False)
        runaway = {r["id"] for r in sim.records() if r["fault"] == "runaway"}
    assert 0 < len(runaway) < 8
    for record in records:
        if record.response_id not in runaway:
            assert record.error is None and record.completion_tokens == 10
            continue
        assert record.error_kind == "protocol", record.error
        assert "more tokens than max_tokens (10; 21 text chunks)" in (record.error or "")
        # Cut at the 21st chunk (~0.4 s), not after the 50 tokens the server would send (~1 s).
        assert len(record.chunk_times_us) == 21
        assert (record.end_ns - record.sent_ns) / 1e9 < 0.8


@pytest.mark.slow
def test_a_stream_past_max_tokens_by_its_usage_is_a_protocol_error(tmp_path):
    """Several tokens a chunk: fewer chunks than max_tokens, but the server's usage says 50 > 10."""
    settings = SimSettings(ttft_ms=5, tpot_ms=1, tokens_per_chunk=5, faults={"runaway": 0.5}, fault_seed=2)
    with SimServer(settings) as sim:
        _, records = _perf(sim, tmp_path, parallel=[2], number=[8], max_tokens=10, test_connection=False)
        runaway = {r["id"] for r in sim.records() if r["fault"] == "runaway"}
    assert 0 < len(runaway) < 8
    assert {r.response_id for r in records if r.error_kind == "protocol"} == runaway
    assert all("usage: 50 completion tokens" in (r.error or "") for r in records if r.response_id in runaway)


@pytest.mark.slow
def test_perf_total_timeout_ends_a_stream_that_never_stops(tmp_path):
    """Empty events every few ms: --read-timeout never fires; --total-timeout (per request) does."""
    with SimServer(SimSettings(ttft_ms=5, tpot_ms=2, faults={"endless": 0.5}, fault_seed=4)) as sim:
        started = time.monotonic()
        done = run_assay(
            "perf", "--url", f"{sim.base_url}/chat/completions", "--model", "sim", "--tokenizer-path", "o200k_base",
            "--min-prompt-length", "8", "--max-prompt-length", "8", "--max-tokens", "8", "--parallel", "4",
            "--number", "12", "--read-timeout", "0.5", "--total-timeout", "1.5", "--no-test-connection",
            "--min-success-rate", "0", "--outputs-dir", str(tmp_path), "--quiet", "--no-html", timeout=120)
        elapsed = time.monotonic() - started
        truth = {r["id"]: r for r in sim.records()}
    assert done.returncode == 0, done.stderr
    run_dir = next(tmp_path.glob("*/sim"))
    records, _ = read_records(run_dir / "requests.jsonl")
    endless = {key for key, r in truth.items() if r["fault"] == "endless"}
    assert 0 < len(endless) < 12
    failed = [r for r in records if r.error is not None]
    assert {r.response_id for r in failed} == endless
    for record in failed:
        assert record.error_kind == "timeout" and "1.5 s, the total timeout" in (record.error or "")
        assert 1.45 <= (record.end_ns - record.start_ns) / 1e9 < 2.5  # the loop's timers may fire 1 ms early
    assert elapsed < 60
    assert json.loads((run_dir / "run.json").read_text())["config"]["total_timeout"] == 1.5


@pytest.mark.slow
def test_eval_total_timeout_ends_a_stream_that_never_stops(tmp_path):
    folder = tmp_path / "data" / "general_qa"
    folder.mkdir(parents=True)
    (folder / "test.jsonl").write_text("".join(json.dumps({"question": f"q{i}", "answer": "alpha"}) + "\n"
                                               for i in range(4)))
    with SimServer(SimSettings(ttft_ms=5, tpot_ms=2, output_tokens=4, faults={"endless": 0.5}, fault_seed=10)) as sim:
        started = time.monotonic()
        result = run_eval(TaskConfig(
            model="sim", api_url=sim.base_url, datasets=["general_qa"], dataset_hub="local",
            dataset_dir=str(tmp_path / "data"), eval_batch_size=4, retries=0, timeout=1.0,
            generation_config={"max_tokens": 4, "stream": True}, quiet=True, work_dir=str(tmp_path / "out"),
        ))
        elapsed = time.monotonic() - started
        truth = sim.records()
    records = list(SampleJournal(result.run_dir).read().values())
    endless = sum(1 for r in truth[1:] if r["fault"] == "endless")  # [0]: the service check
    errors = [r for r in records if r.verdict == "error"]
    assert 0 < endless == len(errors)
    assert all(r.error_kind == "timeout" and "total timeout" in (r.error or "") for r in errors)
    assert elapsed < 30


@pytest.mark.slow
def test_length_before_min_tokens_is_a_failure_and_after_it_is_not():
    """The context limit cuts at 16 output tokens: a request that asked for at least 32 failed."""

    async def send(min_tokens: int | None, url: str) -> tuple[str | None, str | None, str | None]:
        async with OpenAIClient(url, "sim", min_tokens=min_tokens) as client:
            record = await client.send(ChatOrCompletionRequest(prompt="one two three four", max_tokens=32))
            return record.error_kind, record.error, record.finish_reason

    with SimServer(SimSettings(ttft_ms=1, tpot_ms=1, context_tokens=20)) as sim:
        url = f"{sim.base_url}/completions"
        kind, error, finish = asyncio.run(send(32, url))
        assert (kind, finish) == ("aborted", "length") and "before min_tokens (32)" in (error or "")
        assert asyncio.run(send(16, url))[0] is None
        assert asyncio.run(send(None, url))[0] is None


def test_ignore_eos_advice_is_not_given_when_ignore_eos_was_set():
    point = {"point": 0, "concurrency": 1, "rate": None, "succeeded": 4, "failed": 0, "requests": 4, "errors": {},
             "rps": 1.0, "latency_s": {"mean": 1.0}, "output_tokens_per_request": {"min": 40.0},
             "prompt_tokens_check": {}}
    without = " ".join(recommendations([point], 64, 64))
    assert "add --extra-args" in without and "ignore_eos" in without
    advice = " ".join(recommendations([point], 64, 64, extra_args={"ignore_eos": True}))
    assert "add --extra-args" not in advice and "ignore_eos is set" in advice


@pytest.mark.slow
@pytest.mark.parametrize("endpoint, tokens_per_chunk", [("chat/completions", 1), ("completions", 3)])
def test_harmony_first_answer_mark_is_the_final_channels_first_chunk(tmp_path, endpoint, tokens_per_chunk):
    """The server streams harmony text in the content; the answer mark is the final channel's first chunk."""
    settings = SimSettings(ttft_ms=5, tpot_ms=4, harmony=True, reasoning_tokens=12, tokens_per_chunk=tokens_per_chunk)
    with SimServer(settings) as sim:
        _, records = _perf(sim, tmp_path, endpoint=endpoint, parallel=[2], number=[4], max_tokens=32)
        truth = {r["id"]: r for r in sim.records()}
    for record in records:
        assert record.error is None and record.finish_reason == "stop"
        answer_chunk = truth[record.response_id]["first_answer_chunk"]
        assert answer_chunk == (3 + 12 + 6) // tokens_per_chunk  # head, analysis and turn markers first
        assert record.first_reasoning_ns == record.first_token_ns < record.first_answer_ns
        assert (record.first_answer_ns - record.sent_ns) // 1000 == record.chunk_times_us[answer_chunk]


@pytest.mark.slow
@pytest.mark.parametrize("stream", [True, False])
def test_harmony_eval_scores_the_final_channel_and_a_cut_analysis_as_truncated(tmp_path, stream):
    folder = tmp_path / "data" / "general_qa"
    folder.mkdir(parents=True)
    (folder / "test.jsonl").write_text(json.dumps({"question": "q", "answer": "alpha"}) + "\n")
    verdicts = {}
    with SimServer(SimSettings(ttft_ms=2, tpot_ms=1, harmony=True, reasoning_tokens=6)) as sim:
        # head 3 + analysis 6 + turn 6 + "alpha" + <|return|> = 17 tokens; 10 ends inside the analysis.
        for max_tokens in (17, 10):
            result = run_eval(TaskConfig(
                model="sim", api_url=sim.base_url, datasets=["general_qa"], dataset_hub="local",
                dataset_dir=str(tmp_path / "data"), generation_config={"max_tokens": max_tokens, "stream": stream},
                quiet=True, work_dir=str(tmp_path / f"out{max_tokens}"),
            ))
            (record,) = SampleJournal(result.run_dir).read().values()
            verdicts[max_tokens] = (record.verdict, record.answer_text, record.reasoning)
    assert verdicts[17] == ("correct", "alpha", "we need to check each step")
    assert verdicts[10][:2] == ("truncated", "")
