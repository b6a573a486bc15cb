"""Retries, Retry-After and error accounting, against a real HTTP server scripted per request."""

from __future__ import annotations

import json
import time

import pytest
from aiohttp import web

from assay import TaskConfig
from assay.errors import ConfigError, ServerError
from assay.eval import run_eval
from assay.eval.records import SampleJournal
from tests.conftest import SHARED
from tests.scripted_server import ScriptedServer

DATASETS = str(SHARED / "datasets")


def _data(tmp_path, questions):
    folder = tmp_path / "data" / "gsm8k"
    folder.mkdir(parents=True)
    with open(folder / "test.jsonl", "w") as handle:
        for question, answer in questions:
            handle.write(json.dumps({"question": question, "answer": f"work #### {answer}"}) + "\n")
    return str(tmp_path / "data")


@pytest.mark.slow
def test_retryable_failures_are_retried_honouring_retry_after_and_final_failures_are_errors(tmp_path):
    def behaviour(question, attempt):
        if question.startswith("q429") and attempt == 1:
            return web.json_response({"error": {"message": "slow down"}}, status=429, headers={"Retry-After": "1"})
        if question.startswith("q503") and attempt <= 2:
            return web.json_response({"error": {"message": "overloaded"}}, status=503)
        if question.startswith("qdead"):
            return web.json_response({"error": {"message": "engine died"}}, status=500)
        if question.startswith("qbad"):
            return web.json_response({"error": {"message": "prompt too long"}}, status=400)
        return None

    questions = [("q429 GOLD=1", "1"), ("q503 GOLD=2", "2"), ("qdead GOLD=3", "3"), ("qbad GOLD=4", "4"),
                 ("qok GOLD=5", "5"), ("qwrong GOLD=9", "6")]
    with ScriptedServer(behaviour) as server:
        result = run_eval(TaskConfig(
            model="m", api_url=server.url, datasets=["gsm8k"], dataset_hub="local",
            dataset_dir=_data(tmp_path, questions), eval_batch_size=3, retries=3, work_dir=str(tmp_path / "out"),
            quiet=True,
        ))
        attempts = dict(server.attempts)
        times = dict(server.times)
    records = {r.sample_id: r for r in SampleJournal(result.run_dir).read().values()}
    by_question = {r.messages[0]["content"].split("\n")[0]: r for r in records.values()}
    assert attempts["q429 GOLD=1\nPlease reason step by step, and put your final answer within \\boxed{}."] == 2
    t429 = next(v for k, v in times.items() if k.startswith("q429"))
    assert t429[1] - t429[0] >= 0.95  # Retry-After: 1 was honoured
    assert by_question["q429 GOLD=1"].verdict == "correct" and by_question["q429 GOLD=1"].attempts == 2
    assert by_question["q503 GOLD=2"].verdict == "correct" and by_question["q503 GOLD=2"].attempts == 3
    dead = by_question["qdead GOLD=3"]
    assert dead.verdict == "error" and dead.attempts == 4 and "HTTP 500" in dead.error  # 1 + 3 retries
    bad = by_question["qbad GOLD=4"]
    assert bad.verdict == "error" and bad.attempts == 1 and "HTTP 400" in bad.error  # a 4xx is not retried
    assert by_question["qok GOLD=5"].verdict == "correct"
    assert by_question["qwrong GOLD=9"].verdict == "wrong"
    overall = result.reports["gsm8k"]["overall"]
    # Errors leave the denominator and are counted; they are never scored as wrong.
    assert overall["errors"] == 2 and overall["scored_samples"] == 4
    assert overall["AveragePass@1"] == pytest.approx(3 / 4)


def test_a_refused_service_fails_fast_with_one_line(tmp_path):
    def behaviour(question, attempt):
        return None

    with ScriptedServer(behaviour) as server, pytest.raises(ServerError, match="HTTP 404"):
        run_eval(TaskConfig(model="m", api_url=server.url.replace("/v1", "/v9"), datasets=["gsm8k"],
                            dataset_hub="local", dataset_dir=_data(tmp_path, [("q", "1")]), quiet=True,
                            work_dir=str(tmp_path / "out")))


def test_task_config_names_bad_fields():
    base = {"model": "m", "api_url": "http://127.0.0.1:1/v1", "datasets": ["aime25"]}
    cases = [
        ({"eval_batch_sise": 4}, "unknown field 'eval_batch_sise' (did you mean 'eval_batch_size'?)"),
        ({"eval_batch_size": "4"}, "eval_batch_size: expected int"),
        ({"datasets": ["gsm8kk"]}, "unknown benchmark 'gsm8kk' (did you mean 'gsm8k'?)"),
        ({"dataset_hub": "github"}, "dataset_hub: must be one of"),
        ({"generation_config": {"max_token": 10}}, "generation_config: unknown key 'max_token' (did you mean 'max_tokens'?)"),
        ({"generation_config": {"temperature": "hot"}}, "generation_config.temperature: expected int/float"),
        ({"dataset_args": {"aime25": {"subset_list": ["AIME2025-III"]}}}, "unknown subset 'AIME2025-III'"),
        ({"repeats": 0}, "repeats: must be >= 1"),
        ({"limit": 1.5}, "limit:"),
        ({"api_url": "127.0.0.1:8801"}, "api_url: must start with http"),
    ]
    for change, message in cases:
        with pytest.raises(ConfigError) as info:
            TaskConfig(**{**base, **change})
        assert message in str(info.value), (change, str(info.value))


def test_hub_loading_goes_through_the_real_client_and_fails_cleanly_offline(tmp_path, monkeypatch):
    from assay.errors import DatasetError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(DatasetError) as info:
        run_eval(TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["aime25"], quiet=True,
                            work_dir=str(tmp_path)))
    message = str(info.value)
    assert "opencompass/AIME2025" in message and "Hugging Face" in message and "\n" not in message


def test_an_unreachable_service_fails_fast(tmp_path):
    from assay.engines.llama_server import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"
    started = time.monotonic()
    with pytest.raises(ServerError, match="cannot reach the service"):
        run_eval(TaskConfig(model="m", api_url=url, datasets=["gsm8k"], dataset_hub="local",
                            dataset_dir=_data(tmp_path, [("q", "1")]), quiet=True, work_dir=str(tmp_path / "out")))
    assert time.monotonic() - started < 10


@pytest.mark.slow
def test_eval_api_keys_reach_no_file(tmp_path, capfd):
    key, judge_key = "sk-assay-EVAL-RECOGNISABLE-91c2", "sk-assay-JUDGE-RECOGNISABLE-4d7e"

    def behaviour(question, attempt):
        return None

    with ScriptedServer(behaviour) as server:
        run_eval(TaskConfig(model="m", api_url=server.url, api_key=key, datasets=["gsm8k"], dataset_hub="local",
                            dataset_dir=_data(tmp_path, [("q GOLD=1", "1")]), work_dir=str(tmp_path / "out"),
                            judge_strategy="llm_recall",
                            judge_model_args={"api_url": server.url, "model_id": "j", "api_key": judge_key}))
    out, err = capfd.readouterr()
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert len(files) >= 4
    for text in [out, err, *(p.read_text(errors="replace") for p in files)]:
        assert key not in text and judge_key not in text
