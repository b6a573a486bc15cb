"""Multiple choice: letter extraction, MMLU-Pro from the shared copy, GPQA and MMLU on synthetic hub rows."""

from __future__ import annotations

import asyncio
import csv
import json
from collections import Counter

import pytest

from assay import TaskConfig
from assay.eval.benchmarks import get_benchmark
from assay.eval.runner import _EvalRun
from assay.eval.scoring.choice import extract_choice
from tests.conftest import SHARED

DATASETS = SHARED / "datasets"


@pytest.mark.parametrize(("text", "letter"), [
    ("Let me think... The answer is (C).", "C"),
    ("the answer is C", "C"),
    ("**C**", "C"),
    ("I pick\nC) 42", "C"),
    ("Reasoning about (A) and (B)...\nANSWER: D", "D"),
    ("Answer: B", "B"),
    (r"So \boxed{B}.", "B"),
    ("Final answer: **(A)**", "A"),
    ("The correct option is B.", "B"),
    ("A is wrong, B is wrong.\nThe answer is (J)", "J"),
])
def test_letter_extraction(text, letter):
    assert extract_choice(text, "ABCDEFGHIJ")[0] == letter


def test_letters_outside_the_options_and_no_answer():
    assert extract_choice("The answer is (E)", "ABCD") == (None, "none")
    assert extract_choice("I cannot decide between them.", "ABCD") == (None, "none")


def _samples(name, **kwargs):
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=[name], dataset_hub="local", **kwargs)
    return _EvalRun(config, console=None).load_samples()[name]


def test_mmlu_pro_loads_its_14_categories_and_5_shot_cot_from_validation():
    samples = _samples("mmlu_pro", dataset_dir=str(DATASETS))
    counts = Counter(s.subset for s in samples)
    assert len(counts) == 14 and sum(counts.values()) == 12032 and counts["math"] == 1351
    first = samples[0]
    assert first.gold in "ABCDEFGHIJ" and "Options:\nA) " in first.messages[0]["content"]
    assert 'the answer is (X)' in first.messages[0]["content"]
    few = _samples("mmlu_pro", dataset_dir=str(DATASETS), limit=1,
                   dataset_args={"mmlu_pro": {"few_shot_num": 5, "subset_list": ["law"]}})
    prompt = few[0].messages[0]["content"]
    assert prompt.count("Answer: Let's think step by step.") == 6  # 5 examples + the question
    assert few[0].subset == "law"


GPQA_ROWS = [
    {"Record ID": f"rec{i}", "Question": f"Synthetic question {i}?", "Correct Answer": f"right {i}",
     "Incorrect Answer 1": f"wrong a{i}", "Incorrect Answer 2": f"wrong b{i}", "Incorrect Answer 3": f"wrong c{i}"}
    for i in range(6)
]


def test_gpqa_shuffles_per_repeat_with_a_seed_and_records_the_order(tmp_path):
    folder = tmp_path / "gpqa_diamond"
    folder.mkdir()
    with open(folder / "gpqa_diamond.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(GPQA_ROWS[0]))
        writer.writeheader()
        writer.writerows(GPQA_ROWS)
    samples = _samples("gpqa_diamond", dataset_dir=str(tmp_path))
    benchmark = get_benchmark("gpqa_diamond")
    assert len(samples) == 6 and samples[0].id == "rec0"
    orders = set()
    for sample in samples:
        for repeat in range(4):
            shown = benchmark.for_repeat(sample, repeat, seed=42)
            again = benchmark.for_repeat(sample, repeat, seed=42)
            assert shown.messages == again.messages  # seeded: the same every time
            letter = shown.gold
            line = next(x for x in shown.messages[0]["content"].splitlines() if x.startswith(f"{letter}) "))
            assert line == f"{letter}) right {sample.id[3:]}"  # the gold letter points at the correct answer
            orders.add(tuple(shown.meta["order"]))
    assert len(orders) > 4  # the correct answer really moves around


def test_gpqa_judge_and_hub_path(monkeypatch, tmp_path):
    benchmark = get_benchmark("gpqa_diamond")
    folder = tmp_path / "gpqa_diamond"
    folder.mkdir()
    (folder / "gpqa_diamond.jsonl").write_text("\n".join(json.dumps(r) for r in GPQA_ROWS))
    sample = benchmark.for_repeat(_samples("gpqa_diamond", dataset_dir=str(tmp_path))[0], 1, seed=1)
    verdict = asyncio.run(benchmark.judge(sample, f"Thinking...\nANSWER: {sample.gold}", finish_reason="stop",
                                          checker=None))
    assert verdict.verdict == "correct" and verdict.extracted == sample.gold
    wrong = next(letter for letter in "ABCD" if letter != sample.gold)
    assert asyncio.run(benchmark.judge(sample, f"ANSWER: {wrong}", finish_reason="stop", checker=None)).score == 0
    cut = asyncio.run(benchmark.judge(sample, "Let me think about", finish_reason="length", checker=None))
    assert cut.verdict == "truncated"
    from assay.errors import DatasetError

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(DatasetError, match="Idavidrein/gpqa"):
        _EvalRun(TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["gpqa_diamond"]),
                 console=None).load_samples()


def test_mmlu_subjects_and_categories_on_synthetic_rows(tmp_path):
    folder = tmp_path / "mmlu"
    for subject in ("anatomy", "philosophy"):
        (folder / subject).mkdir(parents=True)
        rows = [{"question": f"{subject} q{i}", "choices": ["w", "x", "y", "z"], "answer": i % 4} for i in range(4)]
        (folder / subject / "test.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    samples = _samples("mmlu", dataset_dir=str(tmp_path),
                       dataset_args={"mmlu": {"subset_list": ["anatomy", "philosophy"]}})
    assert [s.gold for s in samples] == ["A", "B", "C", "D"] * 2
    benchmark = get_benchmark("mmlu")
    assert len(benchmark.subsets) == 57
    assert benchmark.category_of("anatomy") == "STEM" and benchmark.category_of("philosophy") == "Humanities"
    assert set(benchmark.describe()["categories"].values()) == {"STEM", "Humanities", "Social Science", "Other"}


def test_general_mcq_from_a_users_file(tmp_path):
    data = tmp_path / "mine.jsonl"
    data.write_text(json.dumps({"question": "2+2?", "A": "3", "B": "4", "C": "5", "answer": "B"}) + "\n"
                    + json.dumps({"question": "Sky?", "choices": ["blue", "green"], "answer": 0}) + "\n")
    samples = _samples("general_mcq", dataset_args={"general_mcq": {"local_path": str(data)}})
    assert [s.gold for s in samples] == ["B", "A"]
    assert "one of ABC" in samples[0].messages[0]["content"] and "B) 4" in samples[0].messages[0]["content"]
