"""MGSM on synthetic rows in the hub's schema (a config per language): native answer markers, digit grouping."""

from __future__ import annotations

import asyncio
import json

import pytest

from assay import TaskConfig
from assay.eval import load_samples
from assay.eval.benchmarks import get_benchmark
from assay.eval.benchmarks.mgsm import read_number
from assay.eval.judge import Judges
from assay.eval.scoring import MathChecker

ROWS = {  # juletxara/mgsm's columns: question, answer (None in test), answer_number, equation_solution
    "de": [{"question": "Ein Händler verkauft 1234 Äpfel ...", "answer": None, "answer_number": 1234,
            "equation_solution": None}],
    "zh": [{"question": "珍妮特的鸭子每天下16个蛋……", "answer": None, "answer_number": 18, "equation_solution": None}],
    "bn": [{"question": "জ্যানেটের হাঁস ...", "answer": None, "answer_number": 18, "equation_solution": None}],
    "en": [{"question": "Janet's ducks lay 16 eggs ...", "answer": None, "answer_number": 18.0,
            "equation_solution": None}],
}


@pytest.fixture
def samples(tmp_path):
    folder = tmp_path / "mgsm"
    for language, rows in ROWS.items():
        (folder / language).mkdir(parents=True)
        (folder / language / "test.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                                      encoding="utf-8")
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["mgsm"], dataset_hub="local",
                        dataset_dir=str(tmp_path), dataset_args={"mgsm": {"subset_list": list(ROWS)}})
    return {s.subset: s for s in load_samples(config)["mgsm"]}


def test_each_language_is_asked_with_its_own_answer_marker(samples):
    assert samples["de"].messages[0]["content"].endswith("'Antwort: ' followed by the integer answer.")
    assert "'答案: '" in samples["zh"].messages[0]["content"]
    assert samples["de"].gold == "1234" and samples["en"].gold == "18"


@pytest.mark.parametrize(("text", "number"), [
    ("1.234", "1234"), ("1,234", "1234"), ("1 234", "1234"), ("12,5", "12.5"), ("১৮", "18"), ("１８", "18"),
    ("−3", "-3"), ("$42", "42"), ("no number", None),
])
def test_numbers_as_languages_write_them(text, number):
    assert read_number(text) == number


@pytest.mark.parametrize(("language", "answer", "verdict"), [
    # German grouping: a naive float() reads 1.234; the last number of the text is 5.
    ("de", "Er hat 1.000 + 234 = 1.234 Äpfel.\nAntwort: 1.234\n(Probe: 5 Kisten)", "correct"),
    ("de", "Antwort: 1.243", "wrong"),  # near miss: digits swapped
    # The full-width colon; a last-number extractor takes the 2 of "2 元".
    ("zh", "16 - 3 - 4 = 9，9 × 2 = 18\n答案：18（每个蛋 2 元）", "correct"),
    ("zh", "答案：16", "wrong"),
    ("bn", "উত্তর: ১৮", "correct"),  # Bengali digits
    # The marker stated twice: the last one is the answer.
    ("en", "Answer: 9 eggs are left.\nThen 9 * 2 = 18.\nAnswer: **$18**", "correct"),
    ("en", "She makes 9 * 2 = 18 dollars... wait, Answer: 16", "wrong"),
])
def test_extraction_and_metric(samples, language, answer, verdict):
    with MathChecker(workers=1, timeout_s=20) as checker:
        judged = asyncio.run(get_benchmark("mgsm").judge(samples[language], answer, finish_reason="stop",
                                                         judges=Judges(math=checker)))
    assert judged.verdict == verdict, judged


def test_a_cut_off_response_without_a_marker_is_truncated(samples):
    with MathChecker(workers=1, timeout_s=20) as checker:
        judged = asyncio.run(get_benchmark("mgsm").judge(samples["en"], "16 - 3 - 4 = 9, 9 * 2 = 18",
                                                         finish_reason="length", judges=Judges(math=checker)))
    assert judged.verdict == "truncated"
