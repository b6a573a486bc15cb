"""HLE (text-only) on synthetic rows in the hub's schema, judged by a scripted judge (a real local HTTP server)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from aiohttp import web

from assay import TaskConfig
from assay.errors import AssayError
from assay.eval import load_samples, run_eval
from assay.eval.records import SampleJournal
from tests.scripted_server import ScriptedServer


def _row(row_id, question, answer, answer_type, category, image=""):
    return {"id": row_id, "question": question, "image": image, "image_preview": None, "answer": answer,
            "answer_type": answer_type, "author_name": "x", "rationale": "r", "rationale_image": None,
            "raw_subject": "s", "category": category, "canary": "c"}


ROWS = [  # cais/hle's columns
    _row("h1", "Compute the number of labelled trees on 5 vertices.", "125", "exactMatch", "Math"),
    _row("h2", "Which gas is most abundant?\nAnswer Choices:\nA. O2\nB. N2\nC. Ar", "B", "multipleChoice", "Chemistry"),
    _row("h3", "What does the figure show?", "A cat", "exactMatch", "Other", image="data:image/png;base64,AAAA"),
    _row("h4", "Name the rule.", "Bayes' rule", "exactMatch", "Statistics"),  # unknown category: Other
]
MODEL_SAYS = {  # by question start; the first answer's last number is not its final answer
    "Compute": "Explanation: Cayley: 5^3 = 125, not 5^4 = 625.\nAnswer: 125\nConfidence: 90%",
    "Which": "Explanation: nitrogen is 78%.\nAnswer: B. N2\nConfidence: 95%",
    "Name": "Explanation: it relates P(A|B) to P(B|A).\nAnswer: the chain rule\nConfidence: 40%",
}


@pytest.fixture
def data_dir(tmp_path):
    folder = tmp_path / "hle" / "data"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(ROWS), folder / "test-00000-of-00001.parquet")
    return tmp_path


def test_text_only_rows_by_category(data_dir):
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["hle"], dataset_hub="local",
                        dataset_dir=str(data_dir))
    samples = {s.id: s for s in load_samples(config)["hle"]}
    assert sorted(samples) == ["h1", "h2", "h4"]  # the row with an image is left out
    assert (samples["h2"].subset, samples["h4"].subset) == ("Chemistry", "Other")
    assert samples["h2"].meta["answer_type"] == "multipleChoice"
    assert "Confidence: <your confidence" in samples["h1"].messages[0]["content"]


def _model(question, attempt):
    answer = next(text for start, text in MODEL_SAYS.items() if question.startswith(start))
    return web.json_response({"choices": [{"message": {"content": answer}, "finish_reason": "stop"}]})


def _judge(prompt, attempt):
    response = prompt.split("Response: ")[1].split("\n\nCorrect answer:")[0]
    verdict = "INCORRECT" if "chain rule" in response else "The final answer matches.\nCORRECT"
    return web.json_response({"choices": [{"message": {"content": verdict}}]})


def test_judged_with_hles_rules(data_dir, tmp_path):
    with ScriptedServer(_model) as model, ScriptedServer(_judge) as judge:
        result = run_eval(TaskConfig(
            model="m", api_url=model.url, datasets=["hle"], dataset_hub="local", dataset_dir=str(data_dir),
            judge_model_args={"api_url": judge.url, "model_id": "judge"}, work_dir=str(tmp_path / "out"), quiet=True,
        ))
        prompts = list(judge.attempts)
        asked = list(model.attempts)
    assert not any(q.startswith("What does the figure") for q in asked)
    assert len(prompts) == 3 and all("Do not solve the question yourself." in p for p in prompts)
    records = {r.sample_id: r for r in SampleJournal(result.run_dir).read().values()}
    assert (records["h1"].verdict, records["h2"].verdict, records["h4"].verdict) == ("correct", "correct", "wrong")
    report = result.reports["hle"]
    assert report["overall"]["AveragePass@1"] == pytest.approx(2 / 3)
    assert report["subsets"]["Math"]["AveragePass@1"] == 1.0 and report["subsets"]["Other"]["AveragePass@1"] == 0.0


def test_without_a_judge_the_run_says_so(data_dir, tmp_path):
    # Refused before any request is spent: the model never sees one, and no run directory is made.
    with ScriptedServer(_model) as model:
        with pytest.raises(AssayError, match="hle needs an LLM judge"):
            run_eval(TaskConfig(model="m", api_url=model.url, datasets=["hle"], dataset_hub="local",
                                dataset_dir=str(data_dir), work_dir=str(tmp_path / "out"), quiet=True))
        assert model.attempts == {} and not (tmp_path / "out").exists()
        with pytest.raises(AssayError, match=r"hle needs an LLM judge .*judge_strategy other than 'rule'"):
            run_eval(TaskConfig(model="m", api_url=model.url, datasets=["hle"], judge_strategy="rule",
                                judge_model_args={"model_id": "j", "api_url": model.url}, dataset_hub="local",
                                dataset_dir=str(data_dir), work_dir=str(tmp_path / "out"), quiet=True))
        assert model.attempts == {}
