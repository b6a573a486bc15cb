"""Embeddings, rerank/score and the Responses API against the simulator's ground truth.

The simulator answers an embeddings request of N texts (a rerank of N documents) exactly
``pooling_ms + N × pooling_ms_per_input`` after taking it up, and records N and, on the machine-wide
clock, when the request reached its socket and when its answer was handed over. Tolerances are those of
the chat truth tests (tests/perf/test_sim_truth.py): median latency error ≤ 2 ms at concurrency 1, ≤ 8 ms
at concurrency 16; the error is one-sided (the client never measures less than the server took).
"""

from __future__ import annotations

import json
import statistics

import pytest

from assay import PerfConfig, run_perf
from assay.engines.sim import SimServer, SimSettings
from assay.errors import ConfigError
from assay.perf.stored import rebuild_summary
from assay.store import read_records, read_run_info


def _run(sim: SimServer, tmp_path, path: str, **kwargs):
    config = dict(url=f"{sim.base_url}{path}", model="sim", tokenizer_path="o200k_base", min_prompt_length=8,
                  max_prompt_length=24, outputs_dir=str(tmp_path), quiet=True, html=False)
    config.update(kwargs)
    result = run_perf(PerfConfig(**config))
    records, _ = read_records(result.run_dir / "requests.jsonl")
    origin = json.loads((result.run_dir / "run.json").read_text())["origin_perf_ns"]
    return result, [r for r in records if r.phase == "measure"], origin


def _latency_errors_ms(records, truth, origin) -> list[float]:
    errors = []
    for record in records:
        t = truth[record.response_id]
        # Causality on the shared clock: sent before it arrived, its answer read after it was handed over.
        assert record.sent_ns + origin <= t["arrival_ns"] and record.end_ns + origin >= t["end_ns"]
        errors.append((record.end_ns - record.sent_ns - (t["end_ns"] - t["arrival_ns"])) / 1e6)
    return errors


@pytest.mark.slow
@pytest.mark.parametrize(("concurrency", "tolerance_ms"), [(1, 2.0), (16, 8.0)])
def test_embeddings_batches_reach_the_server_as_asked_and_latency_matches_the_truth(tmp_path, concurrency,
                                                                                     tolerance_ms):
    settings = SimSettings(pooling_ms=5, pooling_ms_per_input=2)
    number = max(8, 2 * concurrency)
    with SimServer(settings) as sim:
        # EvalScope's command: --api embedding --dataset random_embedding_batch --extra-args '{"batch_size": 4}',
        # and a --url without the endpoint (EvalScope appends /embeddings).
        result, records, origin = _run(sim, tmp_path, "", api="embedding", dataset="random_embedding_batch",
                                       extra_args={"batch_size": 4}, parallel=[concurrency], number=[number])
        truth = {t["id"]: t for t in sim.records()}
    assert result.run_dir.joinpath("run.json").read_text().count("/v1/embeddings") >= 1
    assert len(records) == number and all(r.error is None for r in records)
    seen = [truth[r.response_id] for r in records]
    # The batch sizes the server saw are the ones asked for; the body carried no batch_size of its own.
    assert [t["inputs"] for t in seen] == [4] * number and [r.inputs for r in records] == [4] * number
    assert all(t["endpoint"] == "embeddings" and "batch_size" not in t["params"] for t in seen)
    # Exactly pooling_ms + 4 × pooling_ms_per_input of work each (the simulator's own record).
    assert all((t["end_ns"] - t["start_ns"]) / 1e6 >= 13 for t in seen)
    errors = _latency_errors_ms(records, truth, origin)
    assert min(errors) >= 0 and statistics.median(errors) <= tolerance_ms, sorted(errors)
    assert all(r.prompt_tokens == truth[r.response_id]["prompt_tokens"] for r in records)
    point = result.summary["points"][0]
    measures = point["endpoint"]
    assert measures["kind"] == "embeddings" and measures["inputs"] == 4 * number
    assert measures["inputs_per_s"] == pytest.approx(4 * number / point["duration_s"])
    assert measures["input_tokens_per_s"] == pytest.approx(sum(r.prompt_tokens for r in records) / point["duration_s"])
    assert measures["inputs_per_request"]["mean"] == 4
    # Nothing is generated: no TTFT, TPOT or ITL, rather than the latency under another name.
    assert point["ttft_s"] == {} and point["tpot_s"] == {} and point["itl_s"] == {}
    assert "Input throughput (texts embedded/s)" in result.report_text and "Avg TTFT" in result.report_text
    # A report rebuilt from the run directory is the one the run printed.
    rebuilt = rebuild_summary(result.run_dir, read_run_info(result.run_dir))  # type: ignore[arg-type]
    assert rebuilt["points"][0]["endpoint"] == measures and rebuilt["points"][0]["ttft_s"] == {}


@pytest.mark.slow
def test_rerank_and_score_send_each_query_with_its_documents(tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("\n".join(json.dumps({"query": f"q{i}", "documents": [f"doc {j}" for j in range(i + 2)]})
                               for i in range(3)) + "\n")
    with SimServer(SimSettings(pooling_ms=2, pooling_ms_per_input=1)) as sim:
        _, random_records, _ = _run(sim, tmp_path, "/rerank", api="openai_rerank", dataset="random_rerank",
                                    extra_args={"num_documents": 5, "document_length_ratio": 2}, parallel=[2],
                                    number=[6])
        random_truth = {t["id"]: t for t in sim.records()}
        sim.reset()
        result, file_records, origin = _run(sim, tmp_path, "/score", api="rerank", dataset="rerank",
                                            dataset_path=str(pairs), parallel=[1], number=[6])
        file_truth = {t["id"]: t for t in sim.records()}
    assert all(r.error is None and r.inputs == 5 for r in random_records)
    assert [random_truth[r.response_id]["inputs"] for r in random_records] == [5] * 6
    # document_length_ratio 2: every document has twice the query's words (the simulator counts words).
    for r in random_records:
        t = random_truth[r.response_id]
        assert t["endpoint"] == "rerank" and t["prompt_tokens"] % 3 == 0
    # The file's pairs in order, cycled; vLLM's /score layout.
    assert [file_truth[r.response_id]["inputs"] for r in file_records] == [2, 3, 4, 2, 3, 4]
    assert {file_truth[r.response_id]["endpoint"] for r in file_records} == {"score"}
    errors = _latency_errors_ms(file_records, file_truth, origin)
    assert min(errors) >= 0 and statistics.median(errors) <= 2.0, sorted(errors)
    assert result.summary["points"][0]["endpoint"]["inputs"] == 18


@pytest.mark.slow
def test_responses_api_ttft_and_reasoning_tokens_match_the_truth(tmp_path):
    settings = SimSettings(ttft_ms=40, tpot_ms=5, reasoning_tokens=4, tokens_per_chunk=2)
    with SimServer(settings) as sim:
        result, records, origin = _run(sim, tmp_path, "/chat/completions", api="openai_responses", parallel=[1],
                                       number=[6], max_tokens=16)
        truth = {f"resp_{t['id']}": t for t in sim.records()}
    assert len(records) == 6 and all(r.error is None for r in records)
    errors = []
    for record in records:
        t = truth[record.response_id]
        assert t["endpoint"] == "responses" and t["params"]["max_output_tokens"] == 16
        assert record.completion_tokens == 16 and record.reasoning_tokens == 4 and record.finish_reason == "length"
        # The first chunk is reasoning (response.reasoning_text.delta); the answer starts two chunks later.
        assert record.first_token_ns == record.first_reasoning_ns < record.first_answer_ns
        assert len(record.chunk_times_us) == len(t["chunk_ns"]) == 8
        assert record.sent_ns + origin <= t["arrival_ns"] and record.first_token_ns + origin >= t["chunk_ns"][0]
        errors.append((record.first_token_ns - record.sent_ns - (t["chunk_ns"][0] - t["arrival_ns"])) / 1e6)
    assert min(errors) >= 0 and statistics.median(errors) <= 2.0, sorted(errors)
    point = result.summary["points"][0]
    assert "endpoint" not in point and point["ttft_s"]["mean"] >= 0.040
    assert point["tpot_s"]["mean"] == pytest.approx(0.005, rel=0.1)


# ------------------------------------------------------------------------------ configs (no server)
def test_the_api_resolves_the_url_and_says_so_once():
    config = PerfConfig(url="http://127.0.0.1:9/v1", api="openai_embedding", model="m", dataset="line_by_line",
                        dataset_path="x.txt")
    assert config.url == "http://127.0.0.1:9/v1/embeddings"
    config.validate()  # run_perf validates again: the note is still said, once
    assert [line for line in config.notes() if "/embeddings was appended" in line] == [
        "--api openai_embedding: the URL names no endpoint; /embeddings was appended: http://127.0.0.1:9/v1/embeddings"]
    responses = PerfConfig(url="http://127.0.0.1:9/v1/chat/completions", api="responses", model="m",
                           tokenizer_path="o200k_base")
    assert responses.url == "http://127.0.0.1:9/v1/responses"


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(api="embedding", url="http://h/v1/chat/completions"), "url: .*another endpoint"),
    (dict(api="openai", url="http://h/v1/embeddings"), "add --api openai_embedding"),
    (dict(api="openai_rerank", url="http://h/v1/rerank", dataset="line_by_line", dataset_path="x"),
     "dataset: --api openai_rerank ranks documents"),
    (dict(api="openai", url="http://h/v1/completions", dataset="random_embedding"), "is for --api openai_embedding"),
    (dict(api="embedding", url="http://h/v1", extra_args={"batch_size": 0}), "batch_size must be a positive integer"),
    (dict(api="embedding", url="http://h/v1", slo="ttft_p99<=1s"), "slo: .*no TTFT"),
    (dict(api="embedding", engine="llama-server"), "api: --engine starts a chat model"),
    (dict(api="grpc", url="http://h/v1"), "api: one of openai, openai_embedding"),
])
def test_an_api_that_cannot_be_honoured_is_refused_in_one_line(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        PerfConfig(model="m", tokenizer_path="o200k_base", **kwargs)
