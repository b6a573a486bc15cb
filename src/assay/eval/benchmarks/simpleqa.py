"""SimpleQA: 4,326 short fact-seeking questions, graded by an LLM judge as correct, incorrect or not attempted.

The metrics are OpenAI's (Wei et al., 2024): ``AveragePass@1`` is "overall correct" (correct over
all questions), ``correct_given_attempted`` is correct over the questions the model answered,
``not_attempted`` the share it declined, and ``F-score`` their harmonic mean of overall correct and
correct given attempted, which is 2·correct / (questions + attempted): each sample scores its
correctness with weight 2 when attempted and 1 when not, so the report's weighted mean is exactly
that F-score. Not attempted counts as "no answer" (never a guess). A judge is required
(``judge_model_args``); without one every sample is an error and the run says so.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assay.eval.benchmarks.base import Benchmark, DataSource, Row, Sample, Verdict
from assay.eval.prompts import QuestionPrompt

if TYPE_CHECKING:
    from assay.eval.judge import Judges

GRADER_TEMPLATE = """You grade answers to short factual questions against the gold target. Grade the predicted answer:

A (CORRECT): it states the gold target's meaning, fully, and nothing contradicting it. Case, spelling slips in \
names, added context and hedging ("I think it is X") are fine when the final answer is the gold target. A number \
must match to the last significant figure of the gold target. Leaving out what the question itself already \
says is fine.
B (INCORRECT): it states an answer that contradicts the gold target, or lists several candidates, even hedged.
C (NOT_ATTEMPTED): it gives no answer that could be right or wrong: a refusal, "I don't know", or a partial \
answer that neither states nor contradicts the gold target.

Question: {question}
Gold target: {gold}
Predicted answer: {answer}

Reply with the letter only, A, B or C, on the last line."""
"""The grades and rules of OpenAI's SimpleQA grader, in assay's words."""
GRADES = {"A": "correct", "B": "incorrect", "C": "not_attempted",
          "CORRECT": "correct", "INCORRECT": "incorrect", "NOT ATTEMPTED": "not_attempted"}
_GRADE = re.compile(r"^[\s*_`\"'(\[]*(NOT[ _]ATTEMPTED|INCORRECT|CORRECT|A|B|C)[\s*_`\"'.:)\]]*$", re.IGNORECASE)


def parse_grade(text: str) -> str | None:
    """``correct``, ``incorrect`` or ``not_attempted`` from the judge's last non-empty line; None otherwise."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    match = _GRADE.match(lines[-1].strip()) if lines else None
    if match is None:
        return None
    return GRADES[match.group(1).upper().replace("_", " ")]


def topic(row: Row) -> dict[str, str]:
    """The row's topic and answer type, from the ``metadata`` text (a Python literal: read as data only)."""
    metadata = row.get("metadata")
    if isinstance(metadata, str):
        try:
            metadata = ast.literal_eval(metadata)
        except (ValueError, SyntaxError):
            metadata = None
    if not isinstance(metadata, dict):
        return {}
    return {key: str(metadata[key]) for key in ("topic", "answer_type") if key in metadata}


@dataclass(frozen=True)
class GradeScorer:
    """The judge grades each answer correct / incorrect / not attempted with the SimpleQA grader."""

    keeps_indentation: bool = False
    judged_by: str = "an LLM judge's grade: correct / incorrect / not attempted (judge required)"

    async def score(self, sample: Sample, answer_text: str, *, finish_reason: str | None, judges: Judges) -> Verdict:
        if judges.llm is None or judges.strategy == "rule":
            return Verdict("error", 0.0, None, "simpleqa needs an LLM judge (judge_model_args)")
        if not answer_text.strip():
            if finish_reason == "length":
                return Verdict("truncated", 0.0, None, "empty")
            return Verdict("wrong", 0.0, None, "empty/not-attempted", scores=_scores("not_attempted"))
        opinion = await judges.llm.judge(sample.question, sample.gold, answer_text, template=GRADER_TEMPLATE)
        info = judges.judge_info(opinion)
        grade = parse_grade(opinion.raw) if opinion.error is None else None
        info["verdict"] = grade
        if grade is None:  # unparsable or failed: not wrong, not scored
            return Verdict("error", 0.0, answer_text[:200], "judge-failed" if opinion.error else "judge-unparsable",
                           judge=info)
        if grade == "not_attempted":
            return Verdict("wrong", 0.0, None, "judge/not-attempted", scores=_scores(grade), judge=info)
        correct = grade == "correct"
        return Verdict("correct" if correct else "wrong", float(correct), answer_text[:200], f"judge/{grade}",
                       scores=_scores(grade), judge=info)


def _scores(grade: str) -> dict[str, float]:
    """The per-answer parts of OpenAI's metrics (weights make the report's means the paper's ratios)."""
    correct, attempted = float(grade == "correct"), float(grade != "not_attempted")
    return {"F-score": correct, "F-score__weight": 1.0 + attempted,
            "correct_given_attempted": correct, "correct_given_attempted__weight": attempted,
            "not_attempted": 1.0 - attempted}


BENCHMARK = Benchmark(
    needs_llm_judge=True,
    name="simpleqa",
    title="SimpleQA",
    description="SimpleQA: 4,326 short fact-seeking questions, graded correct / incorrect / not attempted by a judge",
    data=DataSource(
        hf_id="basicv8vc/SimpleQA", ms_id="AI-ModelScope/SimpleQA", split="test",
        local_files=("simple_qa_test_set.csv", "{split}.jsonl", "{split}.csv", "{split}-*.parquet"),
        files_doc="`simpleqa/simple_qa_test_set.csv` (the hub's file) or `simpleqa/test.jsonl`",
    ),
    prompt=QuestionPrompt(template="{question}", question=lambda row: str(row["problem"]), meta=topic),
    scorer=GradeScorer(),
    metrics=("AveragePass@1", "F-score", "correct_given_attempted", "not_attempted"),
)
