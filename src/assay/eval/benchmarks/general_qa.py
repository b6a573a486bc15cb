"""general_qa: your own question/answer pairs, no code needed.

One JSONL (or CSV) row per item: ``question`` (or ``query``) and ``answer`` (or ``response``).
Judged by an LLM judge when one is configured (``judge_model_args``; strategy ``auto`` or
``llm``), else by exact match after normalisation (case, punctuation, articles and spacing
ignored, as SQuAD does).
"""

from __future__ import annotations

from assay.eval.benchmarks.base import Benchmark, Row, your_own_data
from assay.eval.prompts import QuestionPrompt, question_field
from assay.eval.scorers import ReferenceScorer


def gold(row: Row) -> str:
    for key in ("answer", "response"):
        if row.get(key) is not None:
            return str(row[key]).strip()
    raise KeyError("answer")


BENCHMARK = Benchmark(
    name="general_qa",
    title="your own question/answer data",
    description="Your own question/answer data (JSONL/CSV: question, answer), judged by an LLM or exact match",
    data=your_own_data(),
    prompt=QuestionPrompt(template="{question}", question=question_field("question", "query", "prompt"), gold=gold),
    scorer=ReferenceScorer(),
)
