"""TriviaQA on synthetic rows in the hub's schema (rc.nocontext parquet, answer struct with aliases)."""

from __future__ import annotations

import asyncio

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assay import TaskConfig
from assay.eval import load_samples
from assay.eval.benchmarks import get_benchmark
from assay.eval.benchmarks.triviaqa import normalize, token_f1
from assay.eval.judge import Judges


def _answer(value, aliases):
    return {"aliases": aliases, "normalized_aliases": [normalize(a) for a in aliases],
            "matched_wiki_entity_name": "", "normalized_matched_wiki_entity_name": "", "normalized_value": normalize(value),
            "type": "WikipediaEntity", "value": value}


ROWS = [  # mandarjoshi/trivia_qa's columns (entity_pages/search_results empty in rc.nocontext)
    {"question": "Which Liverpool band released 'Abbey Road'?", "question_id": "tc_1", "question_source": "x",
     "answer": _answer("The Beatles", ["The Beatles", "Beatles", "The Fab Four"])},
    {"question": "Which band recorded 'Highway to Hell'?", "question_id": "tc_2", "question_source": "x",
     "answer": _answer("AC/DC", ["AC/DC", "AC-DC", "Acca Dacca"])},
    {"question": "In which city is the Louvre?", "question_id": "tc_3", "question_source": "x",
     "answer": _answer("Paris", ["Paris", "Paris, France", "City of Light"])},
]


@pytest.fixture
def samples(tmp_path):
    folder = tmp_path / "triviaqa" / "rc.nocontext"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(ROWS), folder / "validation-00000-of-00001.parquet")
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["triviaqa"], dataset_hub="local",
                        dataset_dir=str(tmp_path))
    return {s.id: s for s in load_samples(config)["triviaqa"]}


def test_loads_with_every_alias(samples):
    assert list(samples) == ["tc_1", "tc_2", "tc_3"]
    assert samples["tc_1"].gold == "The Beatles" and samples["tc_1"].meta["aliases"][2] == "The Fab Four"
    assert samples["tc_1"].messages[0]["content"].endswith("Question: Which Liverpool band released 'Abbey Road'?")


def test_normalisation_is_the_papers():
    assert normalize("The  Beatles!") == "beatles" and normalize("AC/DC") == "ac dc" == normalize("AC-DC")
    assert normalize("‘Paris’") == "paris" and normalize("new_york") == "new york"
    assert token_f1("The Beatles and Wings", "Beatles") == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))


@pytest.mark.parametrize(("sample_id", "answer", "verdict", "f1"), [
    # Reasoning first: the whole text is not the answer, the last Answer: line is.
    ("tc_1", "Many would guess Wings, but Abbey Road is a Beatles album.\nAnswer: **the Beatles**", "correct", 1.0),
    ("tc_1", "Answer: The Fab Four.", "correct", 1.0),  # another alias
    ("tc_1", "Answer: Beatle", "wrong", 0.0),  # near miss
    ("tc_1", "Answer: The Beatles and Wings", "wrong", 0.5),  # more than the answer: not exact, partial F1
    ("tc_2", "I think the answer is AC-DC.", "correct", 1.0),
    ("tc_2", "Answer: ACDC", "wrong", 0.0),  # punctuation is a space, not nothing
    # An earlier "Answer:" line is superseded by the last one.
    ("tc_3", "Answer: Lyon\nNo wait, the Louvre is in the capital.\nAnswer: Paris", "correct", 1.0),
    ("tc_3", "Paris, France", "correct", 1.0),  # a bare answer, and an alias
])
def test_extraction_and_metrics(samples, sample_id, answer, verdict, f1):
    judged = asyncio.run(get_benchmark("triviaqa").judge(samples[sample_id], answer, finish_reason="stop",
                                                         judges=Judges()))
    assert (judged.verdict, judged.scores["F1"]) == (verdict, pytest.approx(f1)), judged


def test_cut_off_before_the_answer_line_is_truncated(samples):
    judged = asyncio.run(get_benchmark("triviaqa").judge(samples["tc_3"], "The Louvre is in Paris", finish_reason="length",
                                                         judges=Judges()))
    assert judged.verdict == "truncated"


def test_official_prompt_with_few_shot_examples_from_train(samples, tmp_path):
    folder = tmp_path / "triviaqa" / "rc.nocontext"
    pq.write_table(pa.Table.from_pylist(ROWS[1:]), folder / "train-00000-of-00001.parquet")
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["triviaqa"], dataset_hub="local",
                        dataset_dir=str(tmp_path), prompt_style="official", limit=1,
                        dataset_args={"triviaqa": {"few_shot_num": 2}})
    content = load_samples(config)["triviaqa"][0].messages[0]["content"]
    assert content == ("Question: Which band recorded 'Highway to Hell'?\nAnswer: AC/DC\n\n"
                       "Question: In which city is the Louvre?\nAnswer: Paris\n\n"
                       "Question: Which Liverpool band released 'Abbey Road'?\nAnswer:")
    bare = asyncio.run(get_benchmark("triviaqa").judge(samples["tc_1"], " The Beatles", finish_reason="stop",
                                                       judges=Judges()))
    assert bare.verdict == "correct" and bare.method == "whole/exact-match"
