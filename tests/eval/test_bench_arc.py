"""ARC-Challenge on synthetic rows in the hub's schema (parquet, ``choices: {text, label}``, ``answerKey``)."""

from __future__ import annotations

import asyncio

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assay import TaskConfig
from assay.eval import load_samples
from assay.eval.benchmarks import get_benchmark

ROWS = [
    # Labels A-D, the key is the last option.
    {"id": "Mercury_7001", "question": "Which process turns water vapor into liquid on a cold glass?",
     "choices": {"text": ["evaporation", "melting", "freezing", "condensation"], "label": ["A", "B", "C", "D"]},
     "answerKey": "D"},
    # Labels 1-4: the key "3" is shown as C.
    {"id": "NYSEDREGENTS_2015_8_3", "question": "Which tool measures mass?",
     "choices": {"text": ["ruler", "thermometer", "balance", "graduated cylinder"], "label": ["1", "2", "3", "4"]},
     "answerKey": "3"},
    # Five options, the key is the fifth.
    {"id": "MCAS_2004_9_5", "question": "Which is a renewable resource?",
     "choices": {"text": ["coal", "oil", "natural gas", "uranium", "wind"], "label": ["A", "B", "C", "D", "E"]},
     "answerKey": "E"},
    # Three options.
    {"id": "TIMSS_2003_4_2", "question": "What do plants need to make food?",
     "choices": {"text": ["sunlight", "sand", "salt"], "label": ["A", "B", "C"]}, "answerKey": "A"},
]


def _write_hub_layout(root, rows=ROWS):
    folder = root / "arc_challenge" / "ARC-Challenge"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), folder / "test-00000-of-00001.parquet")


def _samples(root, **kwargs):
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["arc_challenge"], dataset_hub="local",
                        dataset_dir=str(root), **kwargs)
    return load_samples(config)["arc_challenge"]


def _verdict(sample, text, finish_reason="stop"):
    return asyncio.run(get_benchmark("arc_challenge").judge(sample, text, finish_reason=finish_reason))


def test_loads_the_hubs_parquet_and_letters_every_rows_options(tmp_path):
    _write_hub_layout(tmp_path)
    samples = _samples(tmp_path)
    assert [s.id for s in samples] == [r["id"] for r in ROWS]
    assert [s.gold for s in samples] == ["D", "C", "E", "A"]
    assert [s.meta["letters"] for s in samples] == ["ABCD", "ABCD", "ABCDE", "ABC"]
    numeric = samples[1].messages[0]["content"]
    assert "C) balance" in numeric and "3) balance" not in numeric  # hub labels 1-4 are shown as letters
    assert "E) wind" in samples[2].messages[0]["content"] and "one of ABCDE" in samples[2].messages[0]["content"]


def test_extraction_where_a_naive_reader_goes_wrong(tmp_path):
    _write_hub_layout(tmp_path)
    condensation, balance, wind, _ = _samples(tmp_path)
    # Every option discussed first: a first-letter reader takes A.
    walk = ("A. Evaporation goes from liquid to gas, the wrong way.\nB. Melting is solid to liquid.\n"
            "C. Freezing is liquid to solid.\n\nThe answer is (D).")
    assert (_verdict(condensation, walk).verdict, _verdict(condensation, walk).extracted) == ("correct", "D")
    # The option's text quoted without its letter.
    by_text = _verdict(condensation, "Vapor cools on the glass and becomes liquid.\n\nThe answer is (condensation).")
    assert (by_text.verdict, by_text.extracted, by_text.method) == ("correct", "D", "option-text")
    # The hub's label "3" is not the letter shown: "Answer: 3" states no option.
    assert _verdict(balance, "A balance compares masses.\n\nAnswer: 3").verdict == "wrong"
    assert _verdict(balance, "ANSWER: C").verdict == "correct"
    # The fifth option is a real choice on a five-option row, out of range on a three-option one.
    assert _verdict(wind, "Wind is replenished naturally.\nANSWER: E").verdict == "correct"
    three = _samples(tmp_path)[3]
    out = _verdict(three, "ANSWER: E")
    assert (out.verdict, out.extracted, out.method) == ("wrong", None, "out-of-range:E")
    # Near misses that stay wrong or truncated.
    assert _verdict(condensation, "The answer is (C).").verdict == "wrong"
    assert _verdict(condensation, "Let's analyse each option:\n\nA. evaporation", "length").verdict == "truncated"


def test_a_key_that_is_no_label_is_said_in_one_line(tmp_path):
    from assay.errors import AssayError

    bad = [dict(ROWS[0], answerKey="F")]
    _write_hub_layout(tmp_path, bad)
    with pytest.raises(AssayError, match=r"lacks the field.*answerKey") as info:
        _samples(tmp_path)
    assert "\n" not in str(info.value)


@pytest.mark.slow
def test_hub_ids_and_config(tmp_path, monkeypatch):
    from assay.errors import DatasetError

    data = get_benchmark("arc_challenge").data
    assert (data.hf_id, data.ms_id, data.hub_config, data.split) == ("allenai/ai2_arc", "modelscope/ai2_arc",
                                                                     "ARC-Challenge", "test")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(DatasetError, match=r"allenai/ai2_arc.*config ARC-Challenge"):
        load_samples(TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["arc_challenge"], limit=1))
