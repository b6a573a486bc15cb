"""What a benchmark is: where its data lives, how a row becomes a prompt, how an answer is judged.

A benchmark module defines one :class:`Benchmark` subclass instance named ``BENCHMARK``;
the registry finds it (adding a benchmark is one new module plus its test).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Sample:
    """One benchmark item, ready to send."""

    id: str
    subset: str
    messages: list[dict[str, str]]
    gold: str
    question: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """How one response was judged."""

    verdict: str
    """``correct``, ``wrong``, ``truncated`` (cut off by the length limit with no answer) or ``error``."""
    score: float
    extracted: str | None
    method: str
    """How the answer was found and compared (``boxed/normalized``, ``phrase/math-verify``, ...)."""
    scores: dict[str, float] = field(default_factory=dict)
    """Further metrics of this generation, named as in ``Benchmark.metrics[1:]``."""
    judge: dict[str, Any] | None = None
    """What an LLM judge said, when one was asked."""


class Benchmark:
    """Base class. Subclasses set the class attributes and may override the hooks."""

    name: ClassVar[str]
    description: ClassVar[str]
    hf_id: ClassVar[str]
    ms_id: ClassVar[str]
    subsets: ClassVar[tuple[str, ...]] = ("default",)
    split: ClassVar[str] = "test"
    few_shot_split: ClassVar[str | None] = None
    subsets_are_configs: ClassVar[bool] = False
    """True: each subset is a hub config (AIME 2025 I/II). False: one config, subsets from a field."""
    hub_config: ClassVar[str | None] = None
    metrics: ClassVar[tuple[str, ...]] = ("AveragePass@1",)
    """The first is the primary score (``Verdict.score``); the others come from ``Verdict.scores``."""
    prompt_template: ClassVar[str] = "{question}\nPlease reason step by step, and put your final answer within \\boxed{{}}."
    official_template: ClassVar[str | None] = None
    """The benchmark's reference prompt, sent with ``prompt_style="official"``; None: the default is it."""
    keeps_indentation: ClassVar[bool] = False
    """True: the answer is judged with the indentation its first line had (code answered as a body)."""
    local_files: ClassVar[tuple[str, ...]] = ("{subset}.jsonl", "{split}.jsonl", "{config}/{split}.jsonl", "{split}-*.parquet")
    """Where the rows sit in a local folder, tried in order ({subset}, {split}, {config} filled in)."""

    def subset_of(self, row: dict[str, Any]) -> str:
        """The subset a row belongs to, when subsets come from a field."""
        return self.subsets[0]

    def question(self, row: dict[str, Any]) -> str:
        for key in ("question", "problem", "Question"):
            if isinstance(row.get(key), str):
                return str(row[key])
        raise KeyError("question")

    def gold(self, row: dict[str, Any]) -> str:
        return str(row["answer"]).strip()

    def sample_id(self, row: dict[str, Any], index: int, subset: str) -> str:
        for key in ("id", "unique_id", "ID"):
            if row.get(key) not in (None, ""):
                return str(row[key])
        return f"{subset}/{index}"

    def template_for(self, template: str | None, style: str) -> str:
        """The prompt template: the user's, else the official one when asked for, else assay's default."""
        if template:
            return template
        return self.official_template if style == "official" and self.official_template else self.prompt_template

    def to_sample(
        self, row: dict[str, Any], index: int, subset: str, template: str | None, few_shot: list[dict[str, Any]],
        style: str = "default",
    ) -> Sample:
        question = self.question(row)
        prompt = self.template_for(template, style).format(question=question)
        if few_shot:
            prompt = self.few_shot_prefix(few_shot) + prompt
        return Sample(
            id=self.sample_id(row, index, subset), subset=subset, question=question,
            messages=[{"role": "user", "content": prompt}], gold=self.gold(row),
        )

    def for_repeat(self, sample: Sample, repeat: int, seed: int | None) -> Sample:
        """The sample as sent for one repeat (multiple choice may shuffle its options per repeat)."""
        return sample

    def few_shot_for(self, pool: list[dict[str, Any]], subset: str, count: int) -> list[dict[str, Any]]:
        """The few-shot examples for samples of ``subset`` (default: the first ``count`` of the pool)."""
        return pool[:count]

    def category_of(self, subset: str) -> str:
        """The group a subset belongs to (the report's Cat.0 column)."""
        return "default"

    def few_shot_prefix(self, examples: list[dict[str, Any]]) -> str:
        return "".join(f"{self.question(e)}\n{self.gold(e)}\n\n" for e in examples)

    final_answer_methods: ClassVar[tuple[str, ...]] = ("boxed", "phrase", "answer-line", "hashes")
    """Extraction methods that find a stated final answer; any other (a fallback) does not count in a
    response cut off by the length limit."""

    def extract(self, answer_text: str) -> tuple[str | None, str]:
        """(answer, method) from the answer part of a response (reasoning already removed)."""
        from assay.eval.scoring import extract_final_answer

        return extract_final_answer(answer_text)

    async def judge(self, sample: Sample, answer_text: str, *, finish_reason: str | None, checker: Any) -> Verdict:
        """Judge the answer part of one response (reasoning already removed).

        The default is math: extract the final answer, then compare it with the gold answer
        (``checker`` is a :class:`~assay.eval.scoring.MathChecker`). A response with no answer
        that hit the length limit is ``truncated``.
        """
        extracted, how = self.extract(answer_text) if answer_text.strip() else (None, "no-answer")
        if extracted is None:
            return Verdict("truncated" if finish_reason == "length" else "wrong", 0.0, None, how)
        if finish_reason == "length" and how not in self.final_answer_methods:
            # Cut off before any final-answer marker: whatever a fallback found is not an answer.
            return Verdict("truncated", 0.0, extracted, f"{how}/cut-off")
        equal, check = await checker.equivalent_async(sample.gold, extracted)
        if not equal and how == "boxed":
            # "the roots are \boxed{3} and \boxed{5}" for "3, 5": the boxes of the final paragraph together.
            from assay.eval.scoring.extract import final_boxes

            boxes = final_boxes(answer_text)
            if len(boxes) > 1 and len(boxes) == len(sample.gold.split(",")):
                joined = ", ".join(boxes)
                equal, check = await checker.equivalent_async(sample.gold, joined)
                if equal:
                    extracted, how = joined, "boxes"
        if not equal and getattr(checker, "strategy", "auto") == "llm_recall" and checker.llm is not None:
            # A second opinion on what the rules rejected: the judge may only turn wrong into correct.
            opinion = await checker.llm.judge(sample.question, sample.gold, answer_text)
            info = {"model": checker.llm.model, "raw": opinion.raw, "verdict": opinion.correct,
                    "cached": opinion.cached, "error": opinion.error}
            if opinion.correct:
                return Verdict("correct", 1.0, extracted, f"{how}/{check}/judge-recall", judge=info)
            return Verdict("wrong", 0.0, extracted, f"{how}/{check}/judge-agreed", judge=info)
        return Verdict("correct" if equal else "wrong", float(equal), extracted, f"{how}/{check}")

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name, "description": self.description, "subsets": list(self.subsets),
            "metrics": list(self.metrics), "huggingface": self.hf_id, "modelscope": self.ms_id,
            "categories": {subset: self.category_of(subset) for subset in self.subsets},
        }
