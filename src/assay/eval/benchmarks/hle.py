"""HLE (Humanity's Last Exam), text-only: the questions without an image, graded by an LLM judge.

As the paper does (Phan et al., 2025), the model answers in a fixed format (explanation, answer,
confidence) and a judge decides whether the final answer matches the reference, for exact-answer
and multiple-choice questions alike; the accuracy is the share judged correct. A judge is required
(``judge_model_args``); without one every sample is an error and the run says so. The calibration
error is not computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from assay.eval.benchmarks.base import Benchmark, DataSource, Row, Sample, Verdict
from assay.eval.prompts import QuestionPrompt

if TYPE_CHECKING:
    from assay.eval.judge import Judges

CATEGORIES = ("Biology/Medicine", "Chemistry", "Computer Science/AI", "Engineering", "Humanities/Social Science",
              "Math", "Other", "Physics")
TEMPLATE = ("{question}\n\nGive your response in this format:\nExplanation: <why you chose your answer>\n"
            "Answer: <your final answer, exactly and concisely>\nConfidence: <your confidence in it, 0% to 100%>")
"""The question, then the response format HLE asks for (explanation, answer, confidence)."""
JUDGE_TEMPLATE = """Judge whether the response below answers the question with the correct final answer.

Question: {question}

Response: {answer}

Correct answer: {gold}

Take the final answer the response gives (its "Answer:" line, or what it concludes). It is correct only if it is \
the correct answer or equivalent to it (a different form of the same expression, the same option, a number within \
a small rounding margin); an answer that is ambiguous, incomplete, lists several candidates or differs in \
substance is incorrect. Do not solve the question yourself.

Reply with exactly one word on the last line: CORRECT or INCORRECT."""
"""HLE's judging rules (final answer only, equivalence, no re-solving), in assay's words."""


def subset(row: Row) -> str:
    """The row's category for a text-only question; ``with image`` (not a subset: left out) otherwise."""
    if str(row.get("image") or "").strip():
        return "with image"
    category = str(row.get("category") or "Other")
    return category if category in CATEGORIES else "Other"


def meta(row: Row) -> dict[str, str]:
    return {"answer_type": str(row.get("answer_type", "")), "raw_subject": str(row.get("raw_subject", ""))}


@dataclass(frozen=True)
class HleJudgeScorer:
    """The LLM judge decides, with HLE's judging rules, whether the final answer is the reference."""

    keeps_indentation: bool = False
    judged_by: str = "an LLM judge with HLE's rules: final answer equivalent to the reference (judge required)"

    async def score(self, sample: Sample, answer_text: str, *, finish_reason: str | None, judges: Judges) -> Verdict:
        if judges.llm is None or judges.strategy == "rule":
            return Verdict("error", 0.0, None, "hle needs an LLM judge (judge_model_args)")
        if not answer_text.strip():
            return Verdict("truncated" if finish_reason == "length" else "wrong", 0.0, None, "empty")
        opinion = await judges.llm.judge(sample.question, sample.gold, answer_text, template=JUDGE_TEMPLATE)
        info = judges.judge_info(opinion)
        if opinion.correct is None:  # unparsable or failed: not wrong, not scored
            return Verdict("error", 0.0, answer_text[:200], "judge-failed" if opinion.error else "judge-unparsable",
                           judge=info)
        return Verdict("correct" if opinion.correct else "wrong", float(opinion.correct), answer_text[:200], "judge",
                       judge=info)


BENCHMARK = Benchmark(
    needs_llm_judge=True,
    name="hle",
    title="HLE (text-only)",
    description="Humanity's Last Exam, the questions without an image (exact answer or multiple choice), judged",
    data=DataSource(
        hf_id="cais/hle", ms_id="cais/hle", subsets=CATEGORIES, split="test", subset_field=subset,
        local_files=("{split}.jsonl", "data/{split}-*.parquet", "{split}-*.parquet"),
        subsets_doc="8 categories (field `category`); rows with an `image` are left out",
        files_doc="`hle/test.jsonl` or `hle/data/test-*.parquet`",
    ),
    prompt=QuestionPrompt(template=TEMPLATE, meta=meta),
    scorer=HleJudgeScorer(),
)
