"""BBH (BIG-Bench Hard): 27 hard BIG-Bench tasks, one subset per task, exact match after "the answer is".

The paper's setting is 3-shot chain of thought with the exemplars of its repository
(``cot-prompts/<task>.txt``); they are not on the hub with the data, so the default here is
zero-shot chain of thought that asks for the paper's closing sentence ("So the answer is (B).").
Pass the exemplars yourself with ``prompt_template`` to reproduce the 3-shot numbers. The answer
is what follows the last "the answer is": an option letter for the multiple-choice tasks, else
the exact target (a word, a number, a bracket sequence), case and a closing period aside.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assay.eval.benchmarks.base import Benchmark, DataSource, Row, Sample, Verdict
from assay.eval.prompts import QuestionPrompt

if TYPE_CHECKING:
    from assay.eval.judge import Judges

MULTIPLE_CHOICE = (
    "date_understanding", "disambiguation_qa", "geometric_shapes", "hyperbaton", "logical_deduction_five_objects",
    "logical_deduction_seven_objects", "logical_deduction_three_objects", "movie_recommendation",
    "penguins_in_a_table", "reasoning_about_colored_objects", "ruin_names", "salient_translation_error_detection",
    "snarks", "temporal_sequences", "tracking_shuffled_objects_five_objects",
    "tracking_shuffled_objects_seven_objects", "tracking_shuffled_objects_three_objects",
)
FREE_FORM = (
    "boolean_expressions", "causal_judgement", "dyck_languages", "formal_fallacies", "multistep_arithmetic_two",
    "navigate", "object_counting", "sports_understanding", "web_of_lies", "word_sorting",
)
TASKS = tuple(sorted(MULTIPLE_CHOICE + FREE_FORM))
TEMPLATE = ("{question}\n\nThink step by step, then end with the sentence \"So the answer is X.\", where X is "
            "the answer exactly as the question asks for it (an option such as (A), or a word, number or sequence).")
OFFICIAL_TEMPLATE = "Q: {question}\nA: Let's think step by step."
"""The paper's question format (its 3-shot exemplars, when you add them, come before it)."""
_MARKER = re.compile(r"the answer is\s*[:：]?\s*", re.IGNORECASE)
_OPTION = re.compile(r"^[\s*_`\"'$]*\(?([A-R])\)?(?![A-Za-z])")
_WORD_TARGETS = {"yes", "no", "true", "false", "valid", "invalid"}


def extract(answer_text: str, multiple_choice: bool) -> tuple[str | None, str]:
    """(answer, method): what follows the last "the answer is" (to the end of its line); an option
    ``(X)`` for the multiple-choice tasks."""
    markers = list(_MARKER.finditer(answer_text))
    if not markers:
        return None, "no-answer"
    rest = answer_text[markers[-1].end():].split("\n", 1)[0]
    if multiple_choice:
        option = _OPTION.match(rest)
        return (f"({option.group(1)})", "phrase/option") if option else (None, "phrase/no-option")
    answer = rest.strip().strip("*_`$\"' ").rstrip(".").strip("*_`\"' ")
    return (answer, "phrase") if answer else (None, "no-answer")


def _same(extracted: str, target: str) -> bool:
    """Exact match, case and spacing aside; a yes/no/true/false/valid/invalid target compares the first word."""
    target = " ".join(target.split()).lower()
    extracted = " ".join(extracted.split()).lower()
    if target in _WORD_TARGETS:
        first = re.match(r"[a-z]+", extracted)
        return first is not None and first.group(0) == target
    return extracted == target


def gold(row: Row) -> str:
    return str(row["target"]).strip()


@dataclass(frozen=True)
class BbhScorer:
    """The answer after the last "the answer is" against the task's target."""

    keeps_indentation: bool = False
    judged_by: str = "exact match of what follows the last \"the answer is\" (the option letter for choice tasks)"

    async def score(self, sample: Sample, answer_text: str, *, finish_reason: str | None, judges: Judges) -> Verdict:
        multiple_choice = sample.subset in MULTIPLE_CHOICE or bool(re.fullmatch(r"\([A-R]\)", sample.gold))
        extracted, how = extract(answer_text, multiple_choice)
        if extracted is None:
            return Verdict("truncated" if finish_reason == "length" else "wrong", 0.0, None, how)
        correct = _same(extracted, sample.gold)
        return Verdict("correct" if correct else "wrong", float(correct), extracted, f"{how}/exact-match")


BENCHMARK = Benchmark(
    name="bbh",
    title="BBH",
    description="BIG-Bench Hard: 27 reasoning tasks (6,511 questions), zero-shot chain of thought by default",
    data=DataSource(
        hf_id="lukaemon/bbh", ms_id="-", subsets=TASKS, subsets_are_configs=True, split="test",
        categories={**dict.fromkeys(MULTIPLE_CHOICE, "multiple choice"), **dict.fromkeys(FREE_FORM, "free form")},
        local_files=("{subset}.jsonl", "{subset}/{split}.jsonl", "{subset}/{split}-*.parquet"),
        subsets_doc="27 tasks (hub configs), grouped as multiple choice / free form",
        files_doc="`bbh/<task>.jsonl` or `bbh/<task>/test-*.parquet` (fields `input`, `target`)",
    ),
    prompt=QuestionPrompt(template=TEMPLATE, official_template=OFFICIAL_TEMPLATE,
                          question=lambda row: str(row["input"]), gold=gold),
    scorer=BbhScorer(),
)
