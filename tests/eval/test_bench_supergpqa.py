"""SuperGPQA on synthetic rows in the hub's schema: up to 10 options, ``answer_letter``, field and discipline."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest

from assay import TaskConfig
from assay.eval import load_samples
from assay.eval.benchmarks import get_benchmark

TEN = ["0.5 m", "1 m", "1.5 m", "2 m", "2.5 m", "3 m", "3.5 m", "4 m", "4.5 m", "5 m"]
ROWS = [
    {"uuid": "u-physics-1", "question": "A ball falls for 1 s from rest (g = 10 m/s^2). How far does it fall?",
     "options": TEN, "answer": "5 m", "answer_letter": "J", "discipline": "Science", "field": "Physics",
     "subfield": "Classical Mechanics", "difficulty": "easy", "is_calculation": True},
    {"uuid": "u-physics-2", "question": "Which quantity is a vector?", "options": ["mass", "speed", "velocity", "time"],
     "answer": "velocity", "answer_letter": "C", "discipline": "Science", "field": "Physics",
     "subfield": "Classical Mechanics", "difficulty": "easy", "is_calculation": False},
    {"uuid": "u-law-1", "question": "Which body makes statutes?", "options": ["a court", "a legislature", "a jury",
                                                                           "a notary", "a sheriff"],
     "answer": "a legislature", "answer_letter": "B", "discipline": "Law", "field": "Law",
     "subfield": "Legal Theory and Legal History", "difficulty": "middle", "is_calculation": False},
]


def _write(root, rows=ROWS):
    folder = root / "supergpqa"
    folder.mkdir(exist_ok=True)
    (folder / "SuperGPQA-all.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def _samples(root, **kwargs):
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["supergpqa"], dataset_hub="local",
                        dataset_dir=str(root), **kwargs)
    return load_samples(config)["supergpqa"]


def _verdict(sample, text, finish_reason="stop"):
    return asyncio.run(get_benchmark("supergpqa").judge(sample, text, finish_reason=finish_reason))


def test_fields_are_subsets_and_disciplines_their_categories(tmp_path):
    _write(tmp_path)
    samples = _samples(tmp_path)
    assert Counter(s.subset for s in samples) == {"Physics": 2, "Law": 1}
    assert [s.id for s in samples] == ["u-physics-1", "u-physics-2", "u-law-1"]
    assert [s.gold for s in samples] == ["J", "C", "B"]
    assert samples[0].meta["letters"] == "ABCDEFGHIJ" and "J) 5 m" in samples[0].messages[0]["content"]
    data = get_benchmark("supergpqa").data
    assert len(data.subsets) == 72 and len(set(data.categories.values())) == 13
    assert data.category_of("Physics") == "Science" and data.category_of("Psychology") == "Education"


def test_extraction_where_a_naive_reader_goes_wrong(tmp_path):
    _write(tmp_path)
    fall, vector, _ = _samples(tmp_path)
    # "I" the pronoun is a letter too (options go up to J): a first-capital reader takes I.
    text = "I think d = g t^2 / 2 = 5 m.\n\nAnswer: J"
    assert (_verdict(fall, text).verdict, _verdict(fall, text).extracted) == ("correct", "J")
    # An option's text, not its letter.
    assert _verdict(fall, "d = 5 m.\n\nThe answer is (5 m).").extracted == "J"
    # A letter beyond the row's options is no answer, never a guess.
    assert _verdict(vector, "Answer: J").method == "out-of-range:J"
    # Near misses: the right value with no stated choice; a value no option has.
    assert _verdict(fall, "So it falls 5 metres.").verdict == "wrong"
    assert _verdict(fall, "The answer is (5.5 m).").verdict == "wrong"
    assert _verdict(vector, "Speed has no direction; velocity does.\nAnswer: (C)").verdict == "correct"


def test_official_prompt_is_the_authors_zero_shot_one(tmp_path):
    _write(tmp_path)
    official = _samples(tmp_path, prompt_style="official")[0].messages[0]["content"]
    assert official.startswith("Answer the following multiple choice question. There is only one correct answer.")
    assert "one of A, B, C, D, E, F, G, H, I, or J.\n\nA ball falls" in official and official.endswith("J) 5 m")


def test_a_letter_beyond_the_options_is_said_in_one_line(tmp_path, monkeypatch):
    from assay.errors import AssayError, DatasetError

    _write(tmp_path, [dict(ROWS[1], answer_letter="F")])
    with pytest.raises(AssayError, match="answer_letter") as info:
        _samples(tmp_path)
    assert "\n" not in str(info.value)
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(DatasetError, match="m-a-p/SuperGPQA"):
        load_samples(TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["supergpqa"], limit=1))
