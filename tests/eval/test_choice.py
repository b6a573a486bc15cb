"""Multiple choice: letter extraction, MMLU-Pro from the shared copy, GPQA and MMLU on synthetic hub rows."""

from __future__ import annotations

import asyncio
import csv
import json
from collections import Counter

import pytest

from assay import TaskConfig
from assay.eval import load_samples
from assay.eval.benchmarks import get_benchmark
from assay.eval.scoring.choice import extract_choice
from tests.conftest import SHARED

DATASETS = SHARED / "datasets"


@pytest.mark.parametrize(("text", "letter"), [
    ("Let me think... The answer is (C).", "C"),
    ("the answer is C", "C"),
    ("**C**", "C"),
    ("I pick:\nC) 42", "C"),
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
    assert extract_choice("The answer is (E)", "ABCD") == (None, "out-of-range:E")
    assert extract_choice("I cannot decide between them.", "ABCD") == (None, "no-answer")


# Answers as models write them (several paragraphs); each class of issue 13 point 1.
WRAPPED = [
    ("To find the wavelength we use λ = h/p.\n\np = 2.0 × 10⁻²⁴ kg·m/s, so λ = 3.3 × 10⁻¹⁰ m.\n\n"
     "Comparing with the options, the answer is \\( C \\).", "C"),
    ("We need the option whose units match.\n\n1. Option A is in joules.\n2. Option C is in watts.\n\n"
     "Therefore the correct choice is:\n\n\\(\\text{C. 42 W}\\)", "C"),
    ("Integrating by parts twice gives the same integral back, so we solve for it.\n\n"
     "$$\\boxed{\\text{C}}$$", "C"),
    ("Let's weigh the evidence.\n\n- A ignores friction.\n- B double-counts the normal force.\n\n"
     "Final answer: **(C)**", "C"),
    ("Reviewing each statement:\n\nA. True for ideal gases only.\nB. False.\nC. Partly true.\n\n"
     "The answer is: **D. All of the above are partly true**", "D"),
    ("The answer is (B).\n\nHere's the detailed solution:\n\n1. Compute the current: I = V/R = 2 A.\n"
     "2. Power: P = I²R = 20 W, which matches option B.", "B"),
    ("The answer is (A).\n\nOn reflection the pressure must include the gauge reading, so 15.42 psia "
     "is closest, and the answer is (E).", "E"),
    ("Options A through C all neglect the reactive power.\n\nThus, (D) is the correct answer.", "D"),
    ("Moderate intellectual disability allows supervised unskilled work.  The answer that best fits this "
     "description is (G).", "G"),
    ("v = 3.3 m/s after rounding.\n\nThe answer is not among the choices, but the closest is (C).", "C"),
    ("The closest option is (B) (a) 125 volts, (b) 20 amp, but the question asks for the closest answer, "
     "which would be F, as 124.8 is closer to 125 than 135.", "F"),
]


@pytest.mark.parametrize(("text", "letter"), WRAPPED)
def test_a_stated_final_choice_is_read_through_its_wrappers(text, letter):
    assert extract_choice(text, "ABCDEFGHIJ")[0] == letter


NO_ANSWER = [
    # "option:" then a list: nothing was chosen (the old patterns read "option:\n\nA" as A).
    ("Let's analyse each option:\n\nA. Mitochondria produce ATP, which is correct but incomplete.\n\n"
     "B. The nucleus stores DNA.", "ABCD", "no-answer"),
    ("Let's analyse each option:\n\nA.", "ABCD", "no-answer"),
    # An out-of-range letter is no answer, even though a listed option could be found.
    ("Checking the options in turn:\n\n(A) too small\n(B) too large\n\nThe answer is (G).", "ABCDE",
     "out-of-range:G"),
    # A refusal, with a letter named only as the closest hypothetical.
    ("R = V²/P = 450 Ω, which is not an option.\n\nThe answer is (None of the above). The closest answer "
     "would be (G), but it's still significantly off.", "ABCDEFGHI", "no-answer"),
    # Working that never states a choice, cut off in a loop.
    ("We try n = 73, and get F = 811.93, which is still too small. We try n = 74, and get F = 862.41, "
     "which is still too small. We try n = 75, and", "ABCDEFGHIJ", "no-answer"),
    # A model that also answers the few-shot examples, then gives a non-option for its own question.
    ("The answer is (A).\n\nThe answer is (D).\n\nThe answer is (G).\n\nThe answer is (No calculable answer "
     "provided with the given information).  The premium tables are not given.", "ABCDEFGHIJ", "no-answer"),
    # Five letters for one question is no choice.
    ("The three pillars are prevent, react and rebuild. The answer is (E), (F), (G), (D), and (H).", "ABCDEFGH",
     "no-answer"),
    # The instruction echoed, not followed.
    ("I'll finish with 'ANSWER: $LETTER' once I know.\n\nThe mass is 4 kg.", "ABCD", "no-answer"),
]


@pytest.mark.parametrize(("text", "letters", "method"), NO_ANSWER)
def test_no_stated_choice_is_no_answer_never_a_guess(text, letters, method):
    assert extract_choice(text, letters) == (None, method)


def test_a_final_answer_given_as_an_options_text_is_that_option():
    options = ["15", "–9", "-15", "12"]
    text = "The answer is (B).\n\nThe answer is (H).\n\nThe answer is (-9)."  # example answers, then its own
    assert extract_choice(text, "ABCD", options) == ("B", "option-text")
    assert extract_choice("So 4 + 8 gives us the total.\n\nFinal answer: 12", "ABCD", options) == ("D", "option-text")
    assert extract_choice("So the total is 13.\n\nThe answer is (13).", "ABCD", options) == (None, "no-answer")
    assert extract_choice("The answer is 13.", "ABCD", options) == (None, "no-answer")  # no option says 13


def test_no_answer_and_cut_off_answers_in_the_verdict():
    benchmark = get_benchmark("general_mcq")
    sample = benchmark.to_sample({"question": "2+2?", "choices": ["3", "4", "5", "6"], "answer": 1}, 0, "default",
                                 None, [])

    def verdict(text, finish_reason="stop"):
        return asyncio.run(benchmark.judge(sample, text, finish_reason=finish_reason))

    listed = "Let's analyse each option:\n\nA. 3 is too small.\nB. 4 is right"
    assert (verdict(listed).verdict, verdict(listed).extracted, verdict(listed).method) == ("wrong", None, "no-answer")
    assert verdict(listed, "length").verdict == "truncated"  # cut off before a choice: truncated, not guessed
    stated = "The answer is (B).\n\nBecause 2 + 2 = 4, and we can check it by counting on"
    assert verdict(stated, "length").verdict == "correct"  # a stated choice counts even if the tail was cut
    assert verdict("The answer is (G).").method == "out-of-range:G"
    by_text = verdict("Two pairs make four.\n\nThe answer is (4).")  # the option's text, not its letter
    assert (by_text.verdict, by_text.extracted, by_text.method) == ("correct", "B", "option-text")


def _samples(name, **kwargs):
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=[name], dataset_hub="local", **kwargs)
    return load_samples(config)[name]


@pytest.mark.slow
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
    verdict = asyncio.run(benchmark.judge(sample, f"Thinking...\nANSWER: {sample.gold}", finish_reason="stop"))
    assert verdict.verdict == "correct" and verdict.extracted == sample.gold
    wrong = next(letter for letter in "ABCD" if letter != sample.gold)
    assert asyncio.run(benchmark.judge(sample, f"ANSWER: {wrong}", finish_reason="stop")).score == 0
    cut = asyncio.run(benchmark.judge(sample, "Let me think about", finish_reason="length"))
    assert cut.verdict == "truncated"
    from assay.errors import DatasetError

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(DatasetError, match="Idavidrein/gpqa"):
        load_samples(TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["gpqa_diamond"]))


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
    assert benchmark.data.category_of("anatomy") == "STEM" and benchmark.data.category_of("philosophy") == "Humanities"
    assert set(benchmark.describe()["categories"].values()) == {"STEM", "Humanities", "Social Science", "Other"}


def test_general_mcq_from_a_users_file(tmp_path):
    data = tmp_path / "mine.jsonl"
    data.write_text(json.dumps({"question": "2+2?", "A": "3", "B": "4", "C": "5", "answer": "B"}) + "\n"
                    + json.dumps({"question": "Sky?", "choices": ["blue", "green"], "answer": 0}) + "\n")
    samples = _samples("general_mcq", dataset_args={"general_mcq": {"local_path": str(data)}})
    assert [s.gold for s in samples] == ["B", "A"]
    assert "one of ABC" in samples[0].messages[0]["content"] and "B) 4" in samples[0].messages[0]["content"]


@pytest.mark.slow
def test_mmlu_pro_key_is_the_answer_letter_and_the_official_prompt_is_tiger_labs():
    samples = {s.id: s for s in _samples("mmlu_pro", dataset_dir=str(DATASETS),
                                          dataset_args={"mmlu_pro": {"subset_list": ["chemistry"]}})}
    assert samples["3983"].gold == "C"  # its answer_index (1) points at B: the published key is the letter
    default = _samples("mmlu_pro", dataset_dir=str(DATASETS), limit=1,
                       dataset_args={"mmlu_pro": {"few_shot_num": 5, "subset_list": ["law"]}})[0]
    official = _samples("mmlu_pro", dataset_dir=str(DATASETS), limit=1, prompt_style="official",
                        dataset_args={"mmlu_pro": {"few_shot_num": 5, "subset_list": ["law"]}})[0]
    text = official.messages[0]["content"]
    assert text.startswith("The following are multiple choice questions (with answers) about law. Think step by step")
    assert text.count("Question: ") == 6 and text.endswith("Answer: Let's think step by step.\n\n")
    assert "N/A" not in text and "Options: A. " in text  # padding options dropped, TIGER-Lab's option format
    assert "N/A" in default.messages[0]["content"]  # assay's default keeps them (law examples are padded)
    assert official.gold == default.gold
    per_benchmark = _samples("mmlu_pro", dataset_dir=str(DATASETS), limit=1,
                             dataset_args={"mmlu_pro": {"subset_list": ["law"], "prompt_style": "official"}})[0]
    assert per_benchmark.messages == _samples("mmlu_pro", dataset_dir=str(DATASETS), limit=1, prompt_style="official",
                                              dataset_args={"mmlu_pro": {"subset_list": ["law"]}})[0].messages
    from assay.errors import ConfigError

    with pytest.raises(ConfigError, match="prompt_style: one of default, official"):
        _samples("mmlu_pro", dataset_dir=str(DATASETS), prompt_style="tiger")


def test_mmlu_official_prompt_is_hendrycks_format(tmp_path):
    folder = tmp_path / "mmlu" / "college_physics"
    folder.mkdir(parents=True)
    (folder / "test.jsonl").write_text(json.dumps({"question": "Unit of force?", "choices": ["N", "J", "W", "Pa"],
                                                   "answer": 0}) + "\n")
    [sample] = _samples("mmlu", dataset_dir=str(tmp_path), prompt_style="official",
                        dataset_args={"mmlu": {"subset_list": ["college_physics"]}})
    assert sample.messages[0]["content"] == (
        "The following are multiple choice questions (with answers) about college physics.\n\n"
        "Unit of force?\nA. N\nB. J\nC. W\nD. Pa\nAnswer:")
    assert asyncio.run(get_benchmark("mmlu").judge(sample, " A", finish_reason="stop")).score == 1.0
