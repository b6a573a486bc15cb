"""Prompt builders: how a benchmark's row becomes the sample sent (question, options, few-shot examples).

:class:`QuestionPrompt` fills a template with the question (math, code, your own Q&A);
:class:`ChoicePrompt` letters the options (A, B, C, ...), may shuffle them per repeat, and keeps
the order in the sample so the scorer reads the letter back. A benchmark picks one and gives it
the functions that read its rows; a benchmark with its own prompt logic defines its own class
(it only has to satisfy :class:`~assay.eval.benchmarks.base.Prompt`).
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assay.eval.benchmarks.base import Row, Sample

LETTERS = string.ascii_uppercase
MATH_TEMPLATE = "{question}\nPlease reason step by step, and put your final answer within \\boxed{{}}."
"""The DeepSeek-R1 and Qwen model cards' prompt for math sets."""
CHOICE_TEMPLATE = (
    "Answer the following multiple choice question. The last line of your response should be of the "
    "following format: 'ANSWER: $LETTER' (without quotes) where LETTER is one of {letters}. "
    "Think step by step before answering.\n\n{question}\n\n{options}"
)
"""simple-evals' multiple-choice template."""


# ------------------------------------------------------------------ reading rows
def question_field(*keys: str) -> Callable[[Row], str]:
    """A reader of a row's question: the first of ``keys`` that holds text (KeyError ``question`` if none)."""

    def read(row: Row) -> str:
        for key in keys:
            if isinstance(row.get(key), str):
                return str(row[key])
        raise KeyError("question")

    return read


read_question = question_field("question", "problem", "Question")
"""The question of a row: its ``question``, ``problem`` or ``Question`` text."""


def read_answer(row: Row) -> str:
    """The reference answer of a row: its ``answer``, stripped."""
    return str(row["answer"]).strip()


def id_field(*keys: str) -> Callable[[Row, int, str], str]:
    """A reader of a row's sample id: the first of ``keys`` that holds one, else ``subset/index``."""

    def read(row: Row, index: int, subset: str) -> str:
        for key in keys:
            if row.get(key) not in (None, ""):
                return str(row[key])
        return f"{subset}/{index}"

    return read


read_id = id_field("id", "unique_id", "ID")
"""A row's ``id``/``unique_id``/``ID``, else ``subset/index``."""


def format_options(options: list[str], option_format: str = "{letter}) {option}") -> str:
    return "\n".join(option_format.format(letter=LETTERS[i], option=option) for i, option in enumerate(options))


def lettered_example(options: Callable[[Row], tuple[list[str], int]], question: Callable[[Row], str], *,
                     answer_label: str = "Answer: ", question_label: str = "") -> Callable[[Row], str]:
    """A few-shot example as the reference prompts of MMLU, ARC, C-Eval and CMMLU show one: the
    question (after ``question_label``), the options as ``A. …`` lines, then ``answer_label`` and the letter."""

    def example(row: Row) -> str:
        choices, correct = options(row)
        shown = format_options(choices, "{letter}. {option}")
        return f"{question_label}{question(row)}\n{shown}\n{answer_label}{LETTERS[correct]}\n\n"

    return example


# ------------------------------------------------------------------ free-form questions
@dataclass(frozen=True)
class QuestionPrompt:
    """The question in a template; few-shot examples (question, then answer) before it."""

    template: str = MATH_TEMPLATE
    official_template: str | None = None
    """The benchmark's reference prompt, sent with ``prompt_style="official"``; None: the default is it."""
    question: Callable[[Row], str] = read_question
    gold: Callable[[Row], str] = read_answer
    sample_id: Callable[[Row, int, str], str] = read_id
    meta: Callable[[Row], dict[str, Any]] | None = None
    """What the scorer needs from the row beyond the gold answer (tests, entry point)."""
    few_shot_example: Callable[[Row], str] | None = None
    """One few-shot example as text (None: ``question\\ngold\\n\\n``)."""

    def template_for(self, template: str | None, style: str) -> str:
        """The prompt template: the user's, else the official one when asked for, else the default."""
        if template:
            return template
        return self.official_template if style == "official" and self.official_template else self.template

    def example(self, row: Row) -> str:
        if self.few_shot_example is not None:
            return self.few_shot_example(row)
        return f"{self.question(row)}\n{self.gold(row)}\n\n"

    def to_sample(self, row: Row, index: int, subset: str, template: str | None, few_shot: list[Row],
                  style: str = "default") -> Sample:
        question = self.question(row)
        prompt = self.template_for(template, style).format(question=question)
        if few_shot:
            prompt = "".join(self.example(e) for e in few_shot) + prompt
        return Sample(
            id=self.sample_id(row, index, subset), subset=subset, question=question,
            messages=[{"role": "user", "content": prompt}], gold=self.gold(row),
            meta=self.meta(row) if self.meta is not None else {},
        )

    def for_repeat(self, sample: Sample, repeat: int, seed: int | None) -> Sample:
        return sample


# ------------------------------------------------------------------ multiple choice
@dataclass(frozen=True)
class ChoicePrompt:
    """Options lettered A, B, C, ...; the gold is a letter; the order shown is kept in ``meta``."""

    options: Callable[[Row], tuple[list[str], int]]
    """(options, index of the correct one) of a row."""
    question: Callable[[Row], str] = read_question
    sample_id: Callable[[Row, int, str], str] = read_id
    template: str = CHOICE_TEMPLATE
    shuffle: bool = False
    """True: the options are put in a seeded random order for every repeat (the order is recorded)."""
    option_format: str = "{letter}) {option}"
    few_shot_example: Callable[[Row], str] | None = None
    """One few-shot example as text (None: ``question\\nanswer\\n\\n``, the row's ``answer`` as it is)."""
    official_template: str | None = None
    """The benchmark's reference prompt (``prompt_style="official"``); None: the default is the reference.
    ``{examples}`` in a template places the few-shot examples (else they come first)."""
    official_option_format: str = "{letter}) {option}"
    official_options: Callable[[Row], tuple[list[str], int]] | None = None
    """The options as the reference prompt shows them (None: as ``options``)."""
    official_few_shot_example: Callable[[Row], str] | None = None
    """A few-shot example as the reference prompt shows it (None: as ``few_shot_example``)."""

    def _example(self, row: Row) -> str:
        if self.few_shot_example is not None:
            return self.few_shot_example(row)
        return f"{self.question(row)}\n{read_answer(row)}\n\n"

    def to_sample(self, row: Row, index: int, subset: str, template: str | None, few_shot: list[Row],
                  style: str = "default") -> Sample:
        official = style == "official" and self.official_template is not None
        read_options = self.official_options if official and self.official_options is not None else self.options
        options, correct = read_options(row)
        example = self.official_few_shot_example if official and self.official_few_shot_example else self._example
        prefix = "".join(example(e) for e in few_shot) if few_shot else ""
        chosen = template or (self.official_template if official and self.official_template else self.template)
        option_format = self.official_option_format if official else self.option_format
        return self._sample(self.sample_id(row, index, subset), subset, self.question(row), options, correct,
                            chosen, prefix, order=list(range(len(options))), option_format=option_format)

    def _sample(self, sample_id: str, subset: str, question: str, options: list[str], correct: int,
                template: str, prefix: str, order: list[int], option_format: str = "{letter}) {option}") -> Sample:
        shown = [options[i] for i in order]
        gold = LETTERS[order.index(correct)]
        letters = LETTERS[: len(options)]
        fields = {"question": question, "options": format_options(shown, option_format), "letters": letters,
                  "subject": subset.replace("_", " ")}
        if "{examples}" in template:
            prompt = template.format(examples=prefix, **fields)
        else:
            prompt = prefix + template.format(**fields)
        meta = {"options": options, "correct": correct, "order": order, "letters": letters,
                "template": template, "prefix": prefix, "option_format": option_format}
        return Sample(id=sample_id, subset=subset, messages=[{"role": "user", "content": prompt}], gold=gold,
                      question=question, meta=meta)

    def for_repeat(self, sample: Sample, repeat: int, seed: int | None) -> Sample:
        if not self.shuffle:
            return sample
        options, correct = sample.meta["options"], sample.meta["correct"]
        order = list(range(len(options)))
        random.Random(f"{seed}-{sample.id}-{repeat}").shuffle(order)
        return self._sample(sample.id, sample.subset, sample.question, options, correct, sample.meta["template"],
                            sample.meta["prefix"], order, sample.meta.get("option_format", self.option_format))
