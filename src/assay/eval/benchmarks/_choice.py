"""Shared machinery of multiple-choice benchmarks: lettered options, letter extraction, judging."""

from __future__ import annotations

import random
import string
from typing import Any, ClassVar

from assay.eval.benchmarks.base import Benchmark, Sample, Verdict

LETTERS = string.ascii_uppercase


def format_options(options: list[str]) -> str:
    return "\n".join(f"{LETTERS[i]}) {option}" for i, option in enumerate(options))


class MultipleChoiceBenchmark(Benchmark):
    """Options are lettered A, B, C, ...; the gold is a letter; the verdict compares letters."""

    prompt_template: ClassVar[str] = (
        "Answer the following multiple choice question. The last line of your response should be of the "
        "following format: 'ANSWER: $LETTER' (without quotes) where LETTER is one of {letters}. "
        "Think step by step before answering.\n\n{question}\n\n{options}"
    )
    shuffle: ClassVar[bool] = False
    """True: the options are put in a seeded random order for every repeat (the order is recorded)."""

    def options(self, row: dict[str, Any]) -> tuple[list[str], int]:
        """(options, index of the correct one) of a row."""
        raise NotImplementedError

    def to_sample(
        self, row: dict[str, Any], index: int, subset: str, template: str | None, few_shot: list[dict[str, Any]]
    ) -> Sample:
        options, correct = self.options(row)
        prefix = self.few_shot_prefix(few_shot) if few_shot else ""
        return self._sample(self.sample_id(row, index, subset), subset, self.question(row), options, correct,
                            template or self.prompt_template, prefix, order=list(range(len(options))))

    def _sample(self, sample_id: str, subset: str, question: str, options: list[str], correct: int,
                template: str, prefix: str, order: list[int]) -> Sample:
        shown = [options[i] for i in order]
        gold = LETTERS[order.index(correct)]
        letters = LETTERS[: len(options)]
        prompt = prefix + template.format(
            question=question, options=format_options(shown), letters=letters, subject=subset
        )
        meta = {"options": options, "correct": correct, "order": order, "letters": letters,
                "template": template, "prefix": prefix}
        return Sample(id=sample_id, subset=subset, messages=[{"role": "user", "content": prompt}], gold=gold,
                      question=question, meta=meta)

    def for_repeat(self, sample: Sample, repeat: int, seed: int | None) -> Sample:
        if not self.shuffle:
            return sample
        options, correct = sample.meta["options"], sample.meta["correct"]
        order = list(range(len(options)))
        random.Random(f"{seed}-{sample.id}-{repeat}").shuffle(order)
        return self._sample(sample.id, sample.subset, sample.question, options, correct, sample.meta["template"],
                            sample.meta["prefix"], order)

    async def judge(self, sample: Sample, answer_text: str, *, finish_reason: str | None, checker: Any) -> Verdict:
        from assay.eval.scoring.choice import extract_choice

        letters = sample.meta.get("letters") or LETTERS[:4]
        letter, method = extract_choice(answer_text, letters) if answer_text else (None, "none")
        if letter is None:
            return Verdict("truncated" if finish_reason == "length" else "wrong", 0.0, None, method)
        correct = letter == sample.gold
        return Verdict("correct" if correct else "wrong", float(correct), letter, method)
