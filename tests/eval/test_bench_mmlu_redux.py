"""MMLU-Redux 2.0 on synthetic rows in the hub's schema (per-subject configs, ``error_type``)."""

from __future__ import annotations

import asyncio

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assay import TaskConfig
from assay.eval import load_samples
from assay.eval.benchmarks import get_benchmark
from assay.eval.benchmarks.mmlu_redux import ERROR_TYPES, kept

ROWS = [
    {"question": "What is the order of the group Z_4 x Z_2?", "choices": ["2", "4", "6", "8"], "answer": 3,
     "error_type": "ok", "source": "", "correct_answer": None, "potential_reason": ""},
    {"question": "Which of these is a field?", "choices": ["Z", "Z_6", "Q", "Z_8"], "answer": 2,
     "error_type": "ok", "source": "", "correct_answer": None, "potential_reason": ""},
    {"question": "Find the degree of Q(sqrt 2) over Q.", "choices": ["0", "4", "2", "6"], "answer": 1,
     "error_type": "wrong_groundtruth", "source": "", "correct_answer": "C", "potential_reason": "degree is 2"},
    {"question": "Is every group of order 4 cyclic?", "choices": ["yes", "no", "only Z_4", "never"], "answer": 0,
     "error_type": "bad_question_clarity", "source": "", "correct_answer": None, "potential_reason": ""},
]


def _write(root):
    folder = root / "mmlu_redux" / "abstract_algebra"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(ROWS), folder / "test-00000-of-00001.parquet")


def _samples(root, **kwargs):
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["mmlu_redux"], dataset_hub="local",
                        dataset_dir=str(root), dataset_args={"mmlu_redux": {"subset_list": ["abstract_algebra"]}},
                        **kwargs)
    return load_samples(config)["mmlu_redux"]


def test_the_rule_keeps_only_rows_the_annotators_found_correct():
    assert [kept(r) for r in ROWS] == [True, True, False, False]
    assert all(not kept({"error_type": e}) for e in ERROR_TYPES if e != "ok") and not kept({})


def test_only_rows_found_correct_are_scored(tmp_path):
    _write(tmp_path)
    samples = _samples(tmp_path)
    assert [s.question for s in samples] == [ROWS[0]["question"], ROWS[1]["question"]]
    assert not any("degree" in s.question or "cyclic" in s.question for s in samples)


def test_loads_the_hubs_per_subject_parquet(tmp_path):
    _write(tmp_path)
    samples = _samples(tmp_path)
    assert [s.gold for s in samples[:2]] == ["D", "C"]  # the key is the last option, then the third
    benchmark = get_benchmark("mmlu_redux")
    assert (benchmark.data.hf_id, benchmark.data.ms_id) == ("edinburgh-dawg/mmlu-redux-2.0",
                                                            "AI-ModelScope/mmlu-redux-2.0")
    assert len(benchmark.subsets) == 57 and benchmark.data.category_of("abstract_algebra") == "STEM"


def test_extraction_where_a_naive_reader_goes_wrong(tmp_path):
    _write(tmp_path)
    order, field = _samples(tmp_path)[:2]

    def verdict(sample, text, finish_reason="stop"):
        return asyncio.run(get_benchmark("mmlu_redux").judge(sample, text, finish_reason=finish_reason))

    # The option values are numbers: "8" quoted without its letter is option D, "2" would be A.
    assert verdict(order, "|Z_4 x Z_2| = 4 * 2.\n\nThe answer is (8).").extracted == "D"
    assert verdict(order, "|Z_4 x Z_2| = 4 * 2 = 8, which is choice (D).").verdict == "correct"
    # A wrapped letter after a walk through the options.
    assert verdict(field, "Z has no inverses; Z_6 has zero divisors.\n\nFinal answer: $\\boxed{\\text{C}}$").score == 1
    # Near misses: the value with no stated choice, and a number that is no option.
    assert verdict(order, "The order is 8.").verdict == "wrong"
    assert verdict(order, "The answer is (16).").verdict == "wrong"


def test_hub_path(tmp_path, monkeypatch):
    from assay.errors import DatasetError

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(DatasetError, match=r"edinburgh-dawg/mmlu-redux-2.0.*config abstract_algebra"):
        load_samples(TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["mmlu_redux"], limit=1,
                                dataset_args={"mmlu_redux": {"subset_list": ["abstract_algebra"]}}))


def test_official_prompt_is_zero_evals_and_its_json_answer_is_read(tmp_path):
    _write(tmp_path)
    official = _samples(tmp_path, prompt_style="official")[0]
    assert official.messages[0]["content"] == (
        "\n## Question: \n\nWhat is the order of the group Z_4 x Z_2?\n\n## Choices:\n\n"
        "- (A) 2\n- (B) 4\n- (C) 6\n- (D) 8\n\n\n## Instruction \n\n"
        "Please answer this question by first reasoning and then selecting the correct choice. \n"
        "Present your reasoning and solution in the following json format. \n"
        'Please show your choice in the `answer` field with only the choice letter, e.g.,`"answer": "C"`.\n\n'
        '```json\n{\n    "reasoning": "___",\n    "answer": "___" \n}\n```\n')

    def verdict(text, finish_reason="stop"):
        return asyncio.run(get_benchmark("mmlu_redux").judge(official, text, finish_reason=finish_reason))

    # The reasoning names other letters first; the JSON field is the choice.
    reply = '```json\n{\n    "reasoning": "A and B are too small; C is 6, not 4*2.",\n    "answer": "D"\n}\n```'
    assert (verdict(reply).verdict, verdict(reply).method) == ("correct", "json-answer")
    assert verdict('{"reasoning": "4*2", "answer": "(D) 8"}').verdict == "correct"
    assert verdict('{"reasoning": "...", "answer": "C"}').verdict == "wrong"
    # Near misses: the template echoed, two letters, a letter beyond the options.
    assert verdict('{"reasoning": "___", "answer": "___"}').method == "no-answer"
    assert verdict('{"reasoning": "unsure", "answer": "C and D"}').method == "no-answer"
    assert verdict('{"reasoning": "?", "answer": "E"}').method == "out-of-range:E"
    assert verdict('{"reasoning": "4*2 = 8", "answer": "', "length").verdict == "truncated"  # cut inside the JSON
    # A choice stated after the JSON is the last word; text without JSON is read as usual.
    assert verdict('{"reasoning": "x", "answer": "C"}\n\nCorrection: the answer is (D).').verdict == "correct"
    assert verdict("4 * 2 = 8.\nANSWER: D").verdict == "correct"
