"""SimpleQA against a scripted judge (a real local HTTP server): grades, OpenAI's F-score, no judge said."""

from __future__ import annotations

import csv

import pytest
from aiohttp import web

from assay import TaskConfig
from assay.errors import AssayError
from assay.eval import load_samples, rescore, run_eval
from assay.eval.benchmarks.simpleqa import parse_grade
from assay.eval.records import SampleJournal
from tests.scripted_server import ScriptedServer

ROWS = [  # basicv8vc/SimpleQA's simple_qa_test_set.csv: metadata (a Python literal), problem, answer
    ("{'topic': 'Science and technology', 'answer_type': 'Person', 'urls': ['https://x']}",
     "Who received the IEEE Frank Rosenblatt Award in 2010?", "Michio Sugeno"),
    ("{'topic': 'Geography', 'answer_type': 'Number', 'urls': []}", "How tall is Mount Kosciuszko in metres?", "2228"),
    ("{'topic': 'Art', 'answer_type': 'Date', 'urls': []}", "In what year was the painting finished?", "1889"),
    ("{'topic': 'Music', 'answer_type': 'Person', 'urls': []}", "Who produced the album?", "Rick Rubin"),
    ("{'topic': 'Sports', 'answer_type': 'Other', 'urls': []}", "Which club won the 1931 cup?", "Celtic"),
]
MODEL_SAYS = {
    "Who received the IEEE Frank Rosenblatt Award in 2010?": "I believe it was Michio Sugeno.",
    "How tall is Mount Kosciuszko in metres?": "About 2,228 m.",
    "In what year was the painting finished?": "It was finished in 1890.",
    "Who produced the album?": "I don't know who produced it.",
    "Which club won the 1931 cup?": "Celtic, I think.",
}
JUDGE_SAYS = {  # the grade the scripted judge gives each answer (the last one is unparsable)
    "I believe it was Michio Sugeno.": "The answer names the gold target.\nA",
    "About 2,228 m.": "**A**",
    "It was finished in 1890.": "B",
    "I don't know who produced it.": "NOT_ATTEMPTED",
    "Celtic, I think.": "Probably right but hard to say",
}


@pytest.fixture
def data_dir(tmp_path):
    folder = tmp_path / "simpleqa"
    folder.mkdir()
    with (folder / "simple_qa_test_set.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["metadata", "problem", "answer"])
        writer.writerows(ROWS)
    return tmp_path


@pytest.mark.parametrize(("text", "grade"), [
    ("A", "correct"), ("reasoning...\nB", "incorrect"), ("C.", "not_attempted"), ("**NOT_ATTEMPTED**", "not_attempted"),
    ("not attempted", "not_attempted"), ("Incorrect", "incorrect"), ("A or B", None), ("", None), ("A\nmaybe", None),
])
def test_grades_are_parsed_strictly(text, grade):
    assert parse_grade(text) == grade


def test_loads_the_hub_csv_with_topic(data_dir):
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["simpleqa"], dataset_hub="local",
                        dataset_dir=str(data_dir))
    samples = load_samples(config)["simpleqa"]
    assert [s.gold for s in samples] == ["Michio Sugeno", "2228", "1889", "Rick Rubin", "Celtic"]
    assert samples[0].messages[0]["content"] == "Who received the IEEE Frank Rosenblatt Award in 2010?"
    assert samples[1].meta == {"topic": "Geography", "answer_type": "Number"}


def _model(question, attempt):
    return web.json_response({"choices": [{"message": {"content": MODEL_SAYS[question]}, "finish_reason": "stop"}]})


def _judge(prompt, attempt):
    answer = prompt.split("Predicted answer: ")[1].split("\n")[0]
    return web.json_response({"choices": [{"message": {"content": JUDGE_SAYS[answer]}}]})


@pytest.mark.slow
def test_graded_by_the_judge_with_openais_metrics(data_dir, tmp_path):
    with ScriptedServer(_model) as model, ScriptedServer(_judge) as judge:
        result = run_eval(TaskConfig(
            model="m", api_url=model.url, datasets=["simpleqa"], dataset_hub="local", dataset_dir=str(data_dir),
            judge_model_args={"api_url": judge.url, "model_id": "judge"}, work_dir=str(tmp_path / "out"), quiet=True,
        ))
        prompts = list(judge.attempts)
        asked = sum(judge.attempts.values())
        again = rescore(result.run_dir)  # the judge cache answers: no new judge request, the same report
        assert sum(judge.attempts.values()) == asked
    assert again.reports["simpleqa"]["overall"] == result.reports["simpleqa"]["overall"]
    assert all("Gold target: " in p and "A, B or C" in p for p in prompts)  # SimpleQA's grader, not the default
    records = {r.gold: r for r in SampleJournal(result.run_dir).read().values()}
    assert records["Michio Sugeno"].verdict == "correct" and records["2228"].verdict == "correct"
    assert records["1889"].verdict == "wrong" and records["1889"].method == "judge/incorrect"
    declined = records["Rick Rubin"]
    assert declined.verdict == "wrong" and declined.extracted is None and declined.method == "judge/not-attempted"
    unsure = records["Celtic"]
    assert unsure.verdict == "error" and unsure.method == "judge-unparsable"  # left out, never wrong
    overall = result.reports["simpleqa"]["overall"]
    # 4 graded: 2 correct, 1 incorrect, 1 not attempted -> correct 0.5, given attempted 2/3, F = 2*2/(4+3).
    assert overall["AveragePass@1"] == pytest.approx(0.5)
    assert overall["correct_given_attempted"] == pytest.approx(2 / 3)
    assert overall["F-score"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert overall["not_attempted"] == pytest.approx(0.25)
    assert overall["no_answer"] == 1 and overall["errors"] == 1


def test_without_a_judge_the_run_says_so(data_dir, tmp_path):
    # Refused before any request is spent: the model never sees one, and no run directory is made.
    with ScriptedServer(_model) as model:
        with pytest.raises(AssayError, match="simpleqa needs an LLM judge"):
            run_eval(TaskConfig(model="m", api_url=model.url, datasets=["simpleqa"], dataset_hub="local",
                                dataset_dir=str(data_dir), work_dir=str(tmp_path / "out"), quiet=True))
        assert model.attempts == {} and not (tmp_path / "out").exists()
        with pytest.raises(AssayError, match=r"simpleqa needs an LLM judge .*judge_strategy other than 'rule'"):
            run_eval(TaskConfig(model="m", api_url=model.url, datasets=["simpleqa"], judge_strategy="rule",
                                judge_model_args={"model_id": "j", "api_url": model.url}, dataset_hub="local",
                                dataset_dir=str(data_dir), work_dir=str(tmp_path / "out"), quiet=True))
        assert model.attempts == {}
