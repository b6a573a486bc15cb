"""DROP on synthetic rows in the hub's schema (ucinlp/drop parquet): EM and F1 as drop_eval.py defines them."""

from __future__ import annotations

import asyncio

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assay import TaskConfig
from assay.eval import load_samples
from assay.eval.benchmarks import get_benchmark
from assay.eval.benchmarks.drop import drop_metrics, normalize
from assay.eval.judge import Judges

PASSAGE = ("The Packers scored first on a 24-yard pass. The Bears answered with two field goals of 42 and 31 "
           "yards. Attendance was 1,000 above the previous game.")
ROWS = [  # ucinlp/drop's columns: section_id, query_id, passage, question, answers_spans {spans, types}
    {"section_id": "nfl_1", "query_id": "q1", "passage": PASSAGE, "question": "How many field goals did the Bears kick?",
     "answers_spans": {"spans": ["2", "2"], "types": ["number", "number"]}},
    {"section_id": "nfl_1", "query_id": "q2", "passage": PASSAGE, "question": "Who scored first?",
     "answers_spans": {"spans": ["Packers", "the Packers"], "types": ["span", "span"]}},
    {"section_id": "nfl_1", "query_id": "q3", "passage": PASSAGE, "question": "How long was the longest field goal?",
     "answers_spans": {"spans": ["42-yard", "42"], "types": ["span", "number"]}},
]


@pytest.fixture
def samples(tmp_path):
    folder = tmp_path / "drop" / "data"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(ROWS), folder / "validation-00000-of-00001.parquet")
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["drop"], dataset_hub="local",
                        dataset_dir=str(tmp_path))
    return {s.id: s for s in load_samples(config)["drop"]}


def test_loads_passage_question_and_every_accepted_answer(samples):
    assert list(samples) == ["q1", "q2", "q3"]
    content = samples["q2"].messages[0]["content"]
    assert "Passage: The Packers scored first" in content and content.endswith("Question: Who scored first?")
    assert samples["q1"].meta["answers"] == [["2"]]  # duplicates of one answer kept once
    assert samples["q3"].meta["answers"] == [["42-yard"], ["42"]]


def test_the_metric_is_drop_evals():
    assert normalize("The 1,000 fans") == "1000.0 fans" and normalize("42-yard") == "42.0 yard"
    assert drop_metrics(["Packers"], ["the Packers"]) == (1.0, 1.0)
    assert drop_metrics(["3 touchdowns"], ["3"]) == (0.0, 0.67)  # the number is there: partial F1
    assert drop_metrics(["24 yards"], ["42 yards"]) == (0.0, 0.0)  # wrong number: F1 0, not 0.5
    # Spans are aligned one to one: order does not matter, a missing span costs half.
    assert drop_metrics(["Bears", "Packers"], ["Packers", "Bears"]) == (1.0, 1.0)
    assert drop_metrics(["Packers"], ["Packers", "Bears"]) == (0.0, 0.5)


@pytest.mark.parametrize(("sample_id", "answer", "verdict", "f1"), [
    # Numbers in the reasoning (42, 31, 24): the last Answer: line is the answer.
    ("q1", "The Bears kicked a 42-yard and a 31-yard field goal: 2 of them.\nAnswer: 2", "correct", 1.0),
    ("q1", "Answer: two", "wrong", 0.0),  # DROP does not read number words
    ("q1", "Answer: 2.0", "correct", 1.0),  # numbers compared as numbers
    ("q2", "Answer: **The Packers**", "correct", 1.0),
    ("q2", "Answer: Packers and Bears", "wrong", 0.5),
    ("q3", "Answer: 42 yards", "wrong", 0.67),  # "42-yard" and "42 yards" differ by a token
    ("q3", "Answer: 42", "correct", 1.0),
    ("q3", "Answer: 31", "wrong", 0.0),
])
def test_extraction_and_metrics(samples, sample_id, answer, verdict, f1):
    judged = asyncio.run(get_benchmark("drop").judge(samples[sample_id], answer, finish_reason="stop", judges=Judges()))
    assert (judged.verdict, judged.scores["F1"]) == (verdict, f1), judged


def test_reasoning_without_an_answer_line_is_no_answer(samples):
    judged = asyncio.run(get_benchmark("drop").judge(samples["q1"], "They kicked 42\nand 31 yard goals", finish_reason="stop",
                                                     judges=Judges()))
    assert judged.verdict == "wrong" and judged.extracted is None


def test_a_run_reports_exact_match_and_f1(tmp_path):
    from aiohttp import web

    from assay.eval import run_eval
    from tests.scripted_server import ScriptedServer

    folder = tmp_path / "data" / "drop" / "data"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(ROWS), folder / "validation-00000-of-00001.parquet")
    says = {"How many field goals": "Answer: 2", "Who scored first": "Answer: Packers and Bears",
            "How long was the longest": "Answer: 42 yards"}

    def model(prompt, attempt):
        answer = next(text for start, text in says.items() if f"Question: {start}" in prompt)
        return web.json_response({"choices": [{"message": {"content": answer}, "finish_reason": "stop"}]})

    with ScriptedServer(model) as server:
        result = run_eval(TaskConfig(model="m", api_url=server.url, datasets=["drop"], dataset_hub="local",
                                     dataset_dir=str(tmp_path / "data"), work_dir=str(tmp_path / "out"), quiet=True))
    report = result.reports["drop"]
    assert report["metrics"][:2] == ["AveragePass@1", "F1"]
    assert report["overall"]["AveragePass@1"] == pytest.approx(1 / 3)
    assert report["overall"]["F1"] == pytest.approx((1.0 + 0.5 + 0.67) / 3)
