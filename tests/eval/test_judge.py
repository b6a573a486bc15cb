"""LLM-as-judge: strict parsing, caching, unparsable verdicts, recall on math, and a real engine as judge."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from assay import TaskConfig
from assay.errors import ConfigError
from assay.eval import rescore, run_eval
from assay.eval.judge import parse_verdict
from assay.eval.records import SampleJournal
from tests.scripted_server import ScriptedServer


@pytest.mark.parametrize(("text", "verdict"), [
    ("CORRECT", True), ("incorrect", False), ("The answer matches.\n**CORRECT**", True), ("INCORRECT.", False),
    ("Correct!", True), ("", None), ("It is correct", None), ("CORRECT\nbut maybe not", None),
    ("CORRECT or INCORRECT", None),
])
def test_verdicts_are_parsed_strictly(text, verdict):
    assert parse_verdict(text) is verdict


def test_judge_configuration_is_validated():
    base = {"model": "m", "api_url": "http://127.0.0.1:1/v1", "datasets": ["general_qa"]}
    with pytest.raises(ConfigError, match="judge_strategy"):
        TaskConfig(**base, judge_strategy="vibes")
    with pytest.raises(ConfigError, match="needs a judge"):
        TaskConfig(**base, judge_strategy="llm")
    with pytest.raises(ConfigError, match="unknown key"):
        TaskConfig(**base, judge_model_args={"api_url": "http://x/v1", "model_id": "j", "temperature": 0})
    config = TaskConfig(**base, judge_model_args={"api_url": "http://x/v1", "model_id": "j", "api_key": "sk-judge-1"})
    assert "sk-judge-1" not in json.dumps(config.to_public_dict())


def _qa_data(tmp_path, rows):
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return str(path)


@pytest.mark.slow
def test_general_qa_judged_cached_and_unparsable_recorded_as_such(tmp_path):
    def judge_behaviour(question, attempt):
        if "Answer to grade:\nParis" in question:
            return web.json_response({"choices": [{"message": {"content": "Reasoning...\nCORRECT"}}]})
        if "Answer to grade:\nLyon" in question:
            return web.json_response({"choices": [{"message": {"content": "INCORRECT"}}]})
        return web.json_response({"choices": [{"message": {"content": "I am not sure, maybe."}}]})

    def model_behaviour(question, attempt):
        answer = {"Capital of France?": "Paris", "Largest city of France?": "Lyon"}.get(question, "Dunno")
        return web.json_response({"choices": [{"message": {"content": answer}, "finish_reason": "stop"}]})

    rows = [{"question": "Capital of France?", "answer": "Paris"},
            {"question": "Largest city of France?", "answer": "Paris"},
            {"question": "Capital of Mars?", "answer": "none"}]
    with ScriptedServer(model_behaviour) as model, ScriptedServer(judge_behaviour) as judge_server:
        config = dict(model="m", api_url=model.url, datasets=["general_qa"],
                      dataset_args={"general_qa": {"local_path": _qa_data(tmp_path, rows)}},
                      judge_model_args={"api_url": judge_server.url, "model_id": "judge"},
                      work_dir=str(tmp_path / "out"), quiet=True)
        result = run_eval(TaskConfig(**config))
        judged_once = sum(judge_server.attempts.values())
        records = {r.messages[0]["content"]: r for r in SampleJournal(result.run_dir).read().values()}
        assert records["Capital of France?"].verdict == "correct"
        assert records["Largest city of France?"].verdict == "wrong"
        unsure = records["Capital of Mars?"]
        assert unsure.verdict == "error" and unsure.method == "judge-unparsable"  # not wrong: left out
        assert unsure.judge["raw"] == "I am not sure, maybe." and unsure.judge["verdict"] is None
        overall = result.reports["general_qa"]["overall"]
        assert overall["AveragePass@1"] == 0.5 and overall["errors"] == 1
        # Rescoring reads the judge cache: no judge request for what was already judged.
        rescore(result.run_dir)
        assert sum(judge_server.attempts.values()) == judged_once
        cached = {r.messages[0]["content"]: r.judge["cached"] for r in SampleJournal(result.run_dir).read().values()
                  if r.judge}
        assert cached["Capital of France?"] is True


def test_general_qa_without_a_judge_uses_exact_match(tmp_path):
    def model_behaviour(question, attempt):
        return web.json_response({"choices": [{"message": {"content": "The Paris."}, "finish_reason": "stop"}]})

    with ScriptedServer(model_behaviour) as model:
        result = run_eval(TaskConfig(
            model="m", api_url=model.url, datasets=["general_qa"], quiet=True, work_dir=str(tmp_path / "out"),
            dataset_args={"general_qa": {"local_path": _qa_data(tmp_path, [{"query": "Q?", "response": "paris"}])}},
        ))
    assert result.reports["general_qa"]["overall"]["AveragePass@1"] == 1.0


@pytest.mark.slow
def test_llm_recall_turns_only_rejected_math_answers_into_correct(tmp_path):
    folder = tmp_path / "data" / "gsm8k"
    folder.mkdir(parents=True)
    (folder / "test.jsonl").write_text(json.dumps({"question": "q1", "answer": "x #### 12"}) + "\n")

    def model_behaviour(question, attempt):
        return web.json_response({"choices": [{"message": {"content": r"It is \boxed{twelve}"}, "finish_reason": "stop"}]})

    def judge_behaviour(question, attempt):
        return web.json_response({"choices": [{"message": {"content": "CORRECT"}}]})

    with ScriptedServer(model_behaviour) as model, ScriptedServer(judge_behaviour) as judge_server:
        result = run_eval(TaskConfig(
            model="m", api_url=model.url, datasets=["gsm8k"], dataset_hub="local", dataset_dir=str(tmp_path / "data"),
            judge_strategy="llm_recall", judge_model_args={"api_url": judge_server.url, "model_id": "j"},
            quiet=True, work_dir=str(tmp_path / "out"),
        ))
    record = next(iter(SampleJournal(result.run_dir).read().values()))
    assert record.verdict == "correct" and record.method.endswith("/judge-recall")
    assert record.judge["raw"] == "CORRECT"
