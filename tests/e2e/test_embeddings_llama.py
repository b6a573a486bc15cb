"""Embeddings and rerank against llama-server: a tiny random Llama GGUF made on the spot, with mean pooling
(``--embeddings`` serves ``/v1/embeddings``) and with rank pooling (``--reranking`` serves ``/v1/rerank``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assay import PerfConfig, run_perf
from assay.store import read_records

pytestmark = [pytest.mark.engine, pytest.mark.slow]


def _server(tmp_path_factory: pytest.TempPathFactory, pooling: str, flag: str) -> Iterator[object]:
    from assay.engines import LlamaServer, make_tiny_model

    folder = tmp_path_factory.mktemp(f"tiny-{pooling}")
    model = make_tiny_model(folder, pooling=pooling)
    with LlamaServer(model, alias="tiny", parallel=2, context_size=4096, threads=1, extra_args=[flag],
                     log_path=folder / "server.log") as server:
        yield server


@pytest.fixture(scope="module")
def embedding_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    yield from _server(tmp_path_factory, "mean", "--embeddings")


@pytest.fixture(scope="module")
def rerank_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    yield from _server(tmp_path_factory, "rank", "--reranking")


def _perf(server, tmp_path: Path, **kwargs):
    config = dict(model="tiny", tokenizer_path=str(Path(server.model_path).parent), min_prompt_length=16,
                  max_prompt_length=16, outputs_dir=str(tmp_path), quiet=True, html=False)
    config.update(kwargs)
    result = run_perf(PerfConfig(**config))
    records, _ = read_records(result.run_dir / "requests.jsonl")
    return result, records


def test_embeddings_batches_on_llama_server(embedding_server, tmp_path):
    # EvalScope's command, unchanged: the base URL, --api embedding, a batch dataset with batch_size.
    result, records = _perf(embedding_server, tmp_path, url=embedding_server.base_url, api="embedding",
                            dataset="random_embedding_batch", extra_args={"batch_size": 4}, parallel=[1, 2],
                            number=[4, 6])
    assert len(records) == 10 and all(r.error is None for r in records), [r.error for r in records]
    assert all(r.inputs == 4 for r in records)
    # The server tokenized every text of the batch: four 16-token texts, plus what it adds to each (BOS).
    extras = {r.prompt_tokens - 4 * 16 for r in records}
    assert len(extras) == 1 and extras.pop() in (0, 4, 8), [r.prompt_tokens for r in records]
    for point in result.summary["points"]:
        assert point["succeeded"] == point["requests"] and point["ttft_s"] == {}
        assert point["endpoint"]["inputs_per_s"] == pytest.approx(4 * point["rps"])
        assert point["endpoint"]["input_tokens_per_s"] > 0


def test_rerank_on_llama_server(rerank_server, tmp_path):
    result, records = _perf(rerank_server, tmp_path, url=f"{rerank_server.base_url}/rerank", api="openai_rerank",
                            dataset="random_rerank", extra_args={"num_documents": 3, "document_length_ratio": 2},
                            parallel=[2], number=[6])
    assert len(records) == 6 and all(r.error is None for r in records), [r.error for r in records]
    assert all(r.inputs == 3 and r.prompt_tokens is not None and r.prompt_tokens >= 3 * (16 + 32) for r in records)
    assert result.summary["points"][0]["endpoint"]["kind"] == "rerank"


def test_responses_api_on_llama_server(tiny_server, tiny_model_dir, tmp_path):
    # EvalScope's --api openai_responses with a chat URL: assay sends to /v1/responses, as EvalScope does.
    result, records = _perf(tiny_server, tmp_path, url=f"{tiny_server.base_url}/chat/completions",
                            api="openai_responses", tokenizer_path=str(tiny_model_dir), parallel=[2], number=[4],
                            max_tokens=8, extra_args={"ignore_eos": True})
    assert result.run_dir.joinpath("run.json").read_text().count("/v1/responses") >= 1
    assert len(records) == 4 and all(r.error is None for r in records), [r.error for r in records]
    for r in records:
        # Usage from response.completed: the server's own counts, not the tokenizer's.
        assert r.token_source == "usage" and r.prompt_tokens and 0 < r.completion_tokens <= 8
        assert r.first_token_ns is not None and r.sent_ns < r.first_token_ns <= r.end_ns
        assert r.chunk_times_us and r.inputs is None
    point = result.summary["points"][0]
    assert "endpoint" not in point and point["ttft_s"]["mean"] > 0 and point["succeeded"] == 4
