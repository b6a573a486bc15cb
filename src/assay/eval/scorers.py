"""Scorers: how the answer part of a response (reasoning removed) is judged into a :class:`Verdict`.

Each satisfies :class:`~assay.eval.benchmarks.base.Scorer`: ``score(sample, answer_text,
finish_reason=..., judges=...)`` with the run's :class:`~assay.eval.judge.Judges` (math checker,
LLM judge, strategy). Scorers that only one benchmark uses live in its module (HumanEval's unit
tests, IFEval's instruction checks).

A response with no answer that was cut off by the length limit is ``truncated``, never ``wrong``;
math reads a cut-off response only up to where it last finished a statement
(:func:`assay.eval.scoring.extract.finished_part`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assay.eval.benchmarks.base import Sample, Verdict

if TYPE_CHECKING:
    from assay.eval.judge import Judges


def extract_math_answer(answer_text: str) -> tuple[str | None, str]:
    """(answer, method): the last ``\\boxed{}``, then the documented fallbacks."""
    from assay.eval.scoring import extract_final_answer

    return extract_final_answer(answer_text)


def _no_answer(finish_reason: str | None) -> str:
    return "truncated" if finish_reason == "length" else "wrong"


def unanswered(found: str | None, how: str, finish_reason: str | None) -> Verdict:
    """The verdict of a response with nothing to score: no answer ``found`` is ``truncated`` when the
    length limit cut the response, else ``wrong``; an answer found only by a fallback in a cut-off
    response is ``truncated`` too (``<how>/cut-off``), never scored: it stopped before stating one."""
    if found is None:
        return Verdict(_no_answer(finish_reason), 0.0, None, how)
    return Verdict("truncated", 0.0, found, f"{how}/cut-off")


@dataclass(frozen=True)
class MathScorer:
    """Extract the final answer, then compare it with the gold answer (normalisation, then math-verify).

    With ``judge_strategy="llm_recall"`` the LLM judge gives a second opinion on what the rules
    rejected (it may only turn wrong into correct).
    """

    extract: Callable[[str], tuple[str | None, str]] = extract_math_answer
    """(answer, method) from the answer part of a response."""
    final_answer_methods: tuple[str, ...] = ("boxed", "phrase", "answer-line", "hashes")
    """Extraction methods that find a stated final answer; any other (a fallback) does not count in a
    response cut off by the length limit."""
    keeps_indentation: bool = False
    judged_by: str = "last `\\boxed{}` (then documented fallbacks) and math-verify"

    async def score(self, sample: Sample, answer_text: str, *, finish_reason: str | None, judges: Judges) -> Verdict:
        from assay.eval.scoring.extract import final_boxes, finished_part

        # Cut off by the length limit: only what the response finished stating counts, so an answer the
        # cut runs into ("The final answer is \boxed{12" of 120, "the answer is:") is not read as one.
        cut_off = finish_reason == "length"
        text = finished_part(answer_text) if cut_off else answer_text
        extracted, how = self.extract(text) if text.strip() else (None, "no-answer")
        if cut_off and how not in self.final_answer_methods:
            # Cut off before any finished final answer: whatever a fallback found is not an answer.
            unfinished, stated = self.extract(answer_text) if answer_text.strip() else (None, "no-answer")
            if unfinished is not None and stated in self.final_answer_methods:
                return Verdict("truncated", 0.0, unfinished, f"{stated}/unfinished")
            if extracted is not None:
                return Verdict("truncated", 0.0, extracted, f"{how}/cut-off")
        if extracted is None:
            return Verdict(_no_answer(finish_reason), 0.0, None, how)
        equal, check = await judges.equivalent(sample.gold, extracted)
        if not equal and how == "boxed":
            # "the roots are \boxed{3} and \boxed{5}" for "3, 5": the boxes of the final paragraph together.
            boxes = final_boxes(text)
            if len(boxes) > 1 and len(boxes) == len(sample.gold.split(",")):
                joined = ", ".join(boxes)
                equal, check = await judges.equivalent(sample.gold, joined)
                if equal:
                    extracted, how = joined, "boxes"
        if not equal and judges.strategy == "llm_recall" and judges.llm is not None:
            # A second opinion on what the rules rejected: the judge may only turn wrong into correct.
            opinion = await judges.llm.judge(sample.question, sample.gold, answer_text)
            info = judges.judge_info(opinion)
            if opinion.correct:
                return Verdict("correct", 1.0, extracted, f"{how}/{check}/judge-recall", judge=info)
            return Verdict("wrong", 0.0, extracted, f"{how}/{check}/judge-agreed", judge=info)
        return Verdict("correct" if equal else "wrong", float(equal), extracted, f"{how}/{check}")


def extract_stated_choice(text: str, letters: str, options: list[str] | None = None) -> tuple[str | None, str]:
    """(letter, method): the last stated choice (:func:`assay.eval.scoring.choice.extract_choice`)."""
    from assay.eval.scoring.choice import extract_choice

    return extract_choice(text, letters, options)


@dataclass(frozen=True)
class ChoiceScorer:
    """The stated final choice (a letter, read through LaTeX and Markdown) against the gold letter.

    ``extract`` reads the choice; benchmarks whose answers are stated otherwise give their own
    (C-Eval and CMMLU read Chinese, MMLU-Redux a JSON ``"answer"`` field) and keep the rest.
    """

    extract: Callable[[str, str, list[str] | None], tuple[str | None, str]] = extract_stated_choice
    """(letter, method) from the answer text, the option letters and the options in the order shown."""
    keeps_indentation: bool = False
    judged_by: str = "the chosen letter"

    async def score(self, sample: Sample, answer_text: str, *, finish_reason: str | None, judges: Judges) -> Verdict:
        from assay.eval.prompts import LETTERS

        letters = sample.meta.get("letters") or LETTERS[:4]
        options, order = sample.meta.get("options"), sample.meta.get("order")
        shown = [options[i] for i in order] if options and order else None
        letter, method = self.extract(answer_text, letters, shown) if answer_text.strip() else (None, "no-answer")
        if letter is None:  # no stated choice: never guessed; cut off by the length limit, it is truncated
            return Verdict(_no_answer(finish_reason), 0.0, None, method)
        correct = letter == sample.gold
        return Verdict("correct" if correct else "wrong", float(correct), letter, method)


@dataclass(frozen=True)
class BestAnswerScorer:
    """Exact match (primary) and F1 of the stated answer, each the best over the accepted answers
    (DROP's spans, TriviaQA's aliases). Cut off by the length limit, only an ``Answer:`` line counts."""

    extract: Callable[[str], tuple[str | None, str]]
    """(answer, method) from the response; the method ``answer-line`` is a stated answer."""
    metrics: Callable[[str, Any], tuple[float, float]]
    """(exact match, F1) of the answer against one accepted answer."""
    accepted: str
    """The ``Sample.meta`` key of the accepted answers (missing: the gold answer alone)."""
    compared_by: str
    """How the answer was compared, the verdict method's second part (``exact-match``, ``drop``)."""
    judged_by: str
    keeps_indentation: bool = False

    async def score(self, sample: Sample, answer_text: str, *, finish_reason: str | None, judges: Judges) -> Verdict:
        found, how = self.extract(answer_text)
        if found is None or (finish_reason == "length" and how != "answer-line"):  # cut off before the answer line
            return unanswered(found, how, finish_reason)
        results = [self.metrics(found, answer) for answer in sample.meta.get(self.accepted) or [sample.gold]]
        exact, f1 = max(r[0] for r in results), max(r[1] for r in results)
        return Verdict("correct" if exact else "wrong", float(exact), found, f"{how}/{self.compared_by}",
                       scores={"F1": f1})


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: case, punctuation, articles and spacing ignored."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class ReferenceScorer:
    """A free-form answer against the reference: an LLM judge when one is configured (strategy
    ``auto``, ``llm`` or ``llm_recall``), else exact match after :func:`normalize_answer`.

    A judge reply that cannot be parsed (or a failed judge request) is ``error``: left out of the
    score, never counted wrong.
    """

    keeps_indentation: bool = False
    judged_by: str = "an LLM judge when configured, else normalised exact match"

    async def score(self, sample: Sample, answer_text: str, *, finish_reason: str | None, judges: Judges) -> Verdict:
        if not answer_text.strip():
            return Verdict(_no_answer(finish_reason), 0.0, None, "empty")
        if judges.llm is not None and judges.strategy in ("auto", "llm", "llm_recall"):
            opinion = await judges.llm.judge(sample.question, sample.gold, answer_text)
            info = judges.judge_info(opinion)
            if opinion.correct is None:  # unparsable or failed: not wrong, not scored
                how = "judge-failed" if opinion.error else "judge-unparsable"
                return Verdict("error", 0.0, answer_text[:200], how, judge=info)
            return Verdict("correct" if opinion.correct else "wrong", float(opinion.correct), answer_text[:200],
                           "judge", judge=info)
        equal = normalize_answer(answer_text) == normalize_answer(sample.gold)
        return Verdict("correct" if equal else "wrong", float(equal), answer_text[:200], "exact-match")


@dataclass(frozen=True)
class ToolCallScorer:
    """Function calls judged by ``judge``: the calls the server parsed (``tool_calls``), else the ones the model
    wrote in its text for a server without a tool parser (the verdict's method then starts ``text/<format>``).

    Judging reaches it through ``score_calls`` with the record's tool calls; ``score`` alone reads the text.
    """

    judge: Callable[[Sample, list[Any], str, str | None], Verdict]
    """(sample, calls (:class:`~assay.eval.scoring.tool_calls.Call`), where they came from, finish reason) → verdict."""
    judged_by: str
    keeps_indentation: bool = False

    async def score(self, sample: Sample, answer_text: str, *, finish_reason: str | None, judges: Judges) -> Verdict:
        return await self.score_calls(sample, None, answer_text, finish_reason=finish_reason, judges=judges)

    async def score_calls(self, sample: Sample, tool_calls: list[dict[str, Any]] | None, answer_text: str, *,
                          finish_reason: str | None, judges: Judges, response: str = "") -> Verdict:
        """``response``: the whole text as sent (gpt-oss harmony calls sit in a channel that is reasoning)."""
        from assay.eval.scoring.tool_calls import decode_calls

        calls, where = decode_calls(tool_calls, answer_text, response)
        return self.judge(sample, calls, where, finish_reason)
