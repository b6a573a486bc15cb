"""general_arena: your own prompts, the model's answer judged pairwise against a baseline answer.

One JSONL (or CSV) row per prompt: ``question`` (or ``query``/``prompt``) and the baseline's
answer as ``baseline`` (or ``answer``/``response``), e.g. another deployment's or model's answers.
As Arena-Hard judges, an LLM judge compares the two answers twice, with their positions swapped
(position bias cancels out), and labels each comparison ``[[A>>B]]``, ``[[A>B]]``, ``[[A=B]]``,
``[[B>A]]`` or ``[[B>>A]]``. A sample scores 1 for a win, ½ for a tie and 0 for a loss in each
order, averaged: ``AveragePass@1`` is the win rate against the baseline with ties as half;
``wins``/``losses`` are the shares won/lost in both orders. A judge is required (``judge_model_args``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assay.eval.benchmarks.base import Benchmark, Row, Sample, Verdict, your_own_data
from assay.eval.prompts import QuestionPrompt, question_field

if TYPE_CHECKING:
    from assay.eval.judge import Judges

_PAIR = """Compare two AI assistants' answers to the user prompt below, impartially. Work out a good answer \
yourself first, then judge each answer for correctness, helpfulness, relevance and concision; length and the \
order the answers come in must not sway you.

<|User Prompt|>
{{question}}

<|The Start of Assistant A's Answer|>
{first}
<|The End of Assistant A's Answer|>

<|The Start of Assistant B's Answer|>
{second}
<|The End of Assistant B's Answer|>

End with your verdict as exactly one label: [[A>>B]] (A much better), [[A>B]], [[A=B]] (tie), [[B>A]] or \
[[B>>A]] (B much better)."""
MODEL_FIRST = _PAIR.format(first="{answer}", second="{gold}")
BASELINE_FIRST = _PAIR.format(first="{gold}", second="{answer}")
_LABEL = re.compile(r"\[\[\s*(A>>B|A>B|A=B|B>A|B>>A)\s*\]\]")
_SCORE_OF_A = {"A>>B": 1.0, "A>B": 1.0, "A=B": 0.5, "B>A": 0.0, "B>>A": 0.0}


def parse_label(text: str) -> str | None:
    """The last verdict label in the judge's reply (``A>B``, ...), or None."""
    labels = _LABEL.findall(text)
    return labels[-1] if labels else None


def baseline(row: Row) -> str:
    for key in ("baseline", "answer", "response"):
        if row.get(key) not in (None, ""):
            return str(row[key])
    raise KeyError("baseline")


@dataclass(frozen=True)
class PairwiseScorer:
    """The judge compares the answer with the baseline's in both orders; win 1, tie ½, loss 0, averaged."""

    keeps_indentation: bool = False
    judged_by: str = "an LLM judge comparing with the baseline answer in both orders (judge required)"

    async def score(self, sample: Sample, answer_text: str, *, finish_reason: str | None, judges: Judges) -> Verdict:
        if judges.llm is None or judges.strategy == "rule":
            return Verdict("error", 0.0, None, "general_arena needs an LLM judge (judge_model_args)")
        if not answer_text.strip():
            return Verdict("truncated" if finish_reason == "length" else "wrong", 0.0, None, "empty")
        first = await judges.llm.judge(sample.question, sample.gold, answer_text, template=MODEL_FIRST)
        second = await judges.llm.judge(sample.question, sample.gold, answer_text, template=BASELINE_FIRST)
        labels = [parse_label(first.raw) if first.error is None else None,
                  parse_label(second.raw) if second.error is None else None]
        info = {**judges.judge_info(first), "raw": f"{first.raw}\n\n[baseline first]\n{second.raw}", "verdict": labels,
                "cached": first.cached and second.cached, "error": first.error or second.error}
        model_first, baseline_first = labels
        if model_first is None or baseline_first is None:  # unparsable or failed: not a loss, not scored
            return Verdict("error", 0.0, answer_text[:200], "judge-failed" if info["error"] else "judge-unparsable",
                           judge=info)
        scores = (_SCORE_OF_A[model_first], 1.0 - _SCORE_OF_A[baseline_first])  # the model is A, then B
        score = sum(scores) / 2
        return Verdict("correct" if score > 0.5 else "wrong", score, answer_text[:200],
                       f"pairwise/{model_first}/{baseline_first}",
                       scores={"wins": float(min(scores) == 1.0), "losses": float(max(scores) == 0.0)}, judge=info)


BENCHMARK = Benchmark(
    needs_llm_judge=True,
    name="general_arena",
    title="your own prompts against a baseline's answers",
    description="Your own prompts (JSONL/CSV: question, baseline), the answer judged pairwise against the baseline's",
    data=your_own_data(),
    prompt=QuestionPrompt(template="{question}", question=question_field("question", "query", "prompt"),
                          gold=baseline),
    scorer=PairwiseScorer(),
    metrics=("AveragePass@1", "wins", "losses"),
)
