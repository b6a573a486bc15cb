"""Shared machinery of multiple-choice benchmarks: lettered options, letter extraction, judging."""

from __future__ import annotations

import random
import string
from typing import Any, ClassVar

from assay.eval.benchmarks.base import Benchmark, Sample, Verdict

LETTERS = string.ascii_uppercase


def format_options(options: list[str], option_format: str = "{letter}) {option}") -> str:
    return "\n".join(option_format.format(letter=LETTERS[i], option=option) for i, option in enumerate(options))


class MultipleChoiceBenchmark(Benchmark):
    """Options are lettered A, B, C, ...; the gold is a letter; the verdict compares letters."""

    prompt_template: ClassVar[str] = (
        "Answer the following multiple choice question. The last line of your response should be of the "
        "following format: 'ANSWER: $LETTER' (without quotes) where LETTER is one of {letters}. "
        "Think step by step before answering.\n\n{question}\n\n{options}"
    )
    shuffle: ClassVar[bool] = False
    """True: the options are put in a seeded random order for every repeat (the order is recorded)."""
    option_format: ClassVar[str] = "{letter}) {option}"
    official_template: ClassVar[str | None] = None
    """The benchmark's reference prompt (``prompt_style="official"``); None: the default is the reference.
    ``{examples}`` in a template places the few-shot examples (else they come first)."""
    official_option_format: ClassVar[str] = "{letter}) {option}"

    def options(self, row: dict[str, Any]) -> tuple[list[str], int]:
        """(options, index of the correct one) of a row."""
        raise NotImplementedError

    def to_sample(
        self, row: dict[str, Any], index: int, subset: str, template: str | None, few_shot: list[dict[str, Any]],
        style: str = "default",
    ) -> Sample:
        official = style == "official" and self.official_template is not None
        options, correct = self.official_options(row) if official else self.options(row)
        prefix = (self.official_few_shot_prefix(few_shot) if official else self.few_shot_prefix(few_shot)) if few_shot else ""
        chosen = template or (self.official_template if official and self.official_template else self.prompt_template)
        option_format = self.official_option_format if official else self.option_format
        return self._sample(self.sample_id(row, index, subset), subset, self.question(row), options, correct,
                            chosen, prefix, order=list(range(len(options))), option_format=option_format)

    def official_options(self, row: dict[str, Any]) -> tuple[list[str], int]:
        """(options, index of the correct one) as the reference prompt shows them."""
        return self.options(row)

    def official_few_shot_prefix(self, examples: list[dict[str, Any]]) -> str:
        return self.few_shot_prefix(examples)

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

    async def judge(self, sample: Sample, answer_text: str, *, finish_reason: str | None, checker: Any) -> Verdict:
        from assay.eval.scoring.choice import extract_choice

        letters = sample.meta.get("letters") or LETTERS[:4]
        options, order = sample.meta.get("options"), sample.meta.get("order")
        shown = [options[i] for i in order] if options and order else None
        letter, method = extract_choice(answer_text, letters, shown) if answer_text.strip() else (None, "no-answer")
        if letter is None:  # no stated choice: never guessed; cut off by the length limit, it is truncated
            return Verdict("truncated" if finish_reason == "length" else "wrong", 0.0, None, method)
        correct = letter == sample.gold
        return Verdict("correct" if correct else "wrong", float(correct), letter, method)
