"""BBH on synthetic rows in the hub's schema (lukaemon/bbh: a parquet per task, `input`, `target`)."""

from __future__ import annotations

import asyncio

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assay import TaskConfig
from assay.eval import load_samples
from assay.eval.benchmarks import get_benchmark
from assay.eval.benchmarks.bbh import TASKS
from assay.eval.judge import Judges

ROWS = {
    "date_understanding": [{"input": "Today is 9/7/2019. What is the date tomorrow in MM/DD/YYYY?\nOptions:\n"
                                     "(A) 09/08/2019\n(B) 09/06/2019\n(C) 10/08/2019", "target": "(A)"}],
    "boolean_expressions": [{"input": "not ( True ) and ( True ) is", "target": "False"}],
    "dyck_languages": [{"input": "Complete the rest of the sequence: [ { [", "target": "] } ]"}],
    "causal_judgement": [{"input": "Did the fire cause the damage?", "target": "Yes"}],
    "object_counting": [{"input": "I have a piano, a flute, and four trombones. How many instruments?",
                         "target": "6"}],
}


@pytest.fixture
def samples(tmp_path):
    for task, rows in ROWS.items():
        folder = tmp_path / "bbh" / task
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows), folder / "test-00000-of-00001.parquet")
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["bbh"], dataset_hub="local",
                        dataset_dir=str(tmp_path), dataset_args={"bbh": {"subset_list": list(ROWS)}})
    return {s.subset: s for s in load_samples(config)["bbh"]}


def test_27_tasks_and_the_hub_layout(samples, tmp_path):
    assert len(TASKS) == 27
    assert samples["date_understanding"].gold == "(A)"
    content = samples["boolean_expressions"].messages[0]["content"]
    assert content.startswith("not ( True ) and ( True ) is") and "So the answer is X." in content
    assert get_benchmark("bbh").data.category_of("dyck_languages") == "free form"
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["bbh"], dataset_hub="local",
                        dataset_dir=str(tmp_path), prompt_style="official",
                        dataset_args={"bbh": {"subset_list": ["object_counting"]}})
    official = load_samples(config)["bbh"][0].messages[0]["content"]
    assert official.startswith("Q: I have a piano") and official.endswith("A: Let's think step by step.")


@pytest.mark.parametrize(("task", "answer", "verdict"), [
    # Options discussed before the answer: a first-letter extractor takes (B).
    ("date_understanding", "(B) is yesterday, (C) is a month on. So the answer is (A).", "correct"),
    ("date_understanding", "So the answer is **A**.", "correct"),
    ("date_understanding", "So the answer is (C) 10/08/2019.", "wrong"),
    ("date_understanding", "The answer is probably tomorrow.", "wrong"),  # no option after the marker
    # "True" appears in the reasoning; the answer is the last marker's.
    ("boolean_expressions", "not True is False; False and True is False. So the answer is False.", "correct"),
    ("boolean_expressions", "The answer is True? No: the answer is False", "correct"),
    ("boolean_expressions", "So the answer is True.", "wrong"),
    ("dyck_languages", "Close in reverse order. So the answer is ] }  ].", "correct"),
    ("dyck_languages", "So the answer is ] ] }.", "wrong"),  # near miss: order matters
    ("causal_judgement", "So the answer is: **Yes**, the fire caused it.", "correct"),
    ("causal_judgement", "So the answer is not clear.", "wrong"),
    ("object_counting", "1 piano + 1 flute + 4 trombones. So the answer is 6.", "correct"),
    ("object_counting", "So the answer is 5.", "wrong"),
])
def test_extraction_and_metric(samples, task, answer, verdict):
    judged = asyncio.run(get_benchmark("bbh").judge(samples[task], answer, finish_reason="stop", judges=Judges()))
    assert judged.verdict == verdict, judged


def test_no_marker_cut_off_is_truncated_and_never_guessed(samples):
    bbh = get_benchmark("bbh")
    cut = asyncio.run(bbh.judge(samples["object_counting"], "1 piano + 1 flute + 4 trombones = 6",
                                finish_reason="length", judges=Judges()))
    assert cut.verdict == "truncated" and cut.extracted is None
    stopped = asyncio.run(bbh.judge(samples["object_counting"], "6", finish_reason="stop", judges=Judges()))
    assert stopped.verdict == "wrong" and stopped.extracted is None
