"""general_qa: your own question/answer pairs, no code needed.

One JSONL (or CSV) row per item: ``question`` (or ``query``) and ``answer`` (or ``response``).
Judged by an LLM judge when one is configured (``judge_model_args``; strategy ``auto`` or
``llm``), else by exact match after normalisation (case, punctuation, articles and spacing
ignored, as SQuAD does).
"""

from __future__ import annotations

import re
import string
from typing import Any

from assay.eval.benchmarks.base import Benchmark, Sample, Verdict


def normalize_answer(text: str) -> str:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


class GeneralQA(Benchmark):
    name = "general_qa"
    description = "Your own question/answer data (JSONL/CSV: question, answer), judged by an LLM or exact match"
    hf_id = "-"
    ms_id = "-"
    local_files = ("{split}.jsonl", "{split}.csv", "{split}.json", "*.jsonl", "*.csv")
    prompt_template = "{question}"

    def question(self, row: dict[str, Any]) -> str:
        for key in ("question", "query", "prompt"):
            if isinstance(row.get(key), str):
                return str(row[key])
        raise KeyError("question")

    def gold(self, row: dict[str, Any]) -> str:
        for key in ("answer", "response"):
            if row.get(key) is not None:
                return str(row[key]).strip()
        raise KeyError("answer")

    async def judge(self, sample: Sample, answer_text: str, *, finish_reason: str | None, checker: Any) -> Verdict:
        if not answer_text.strip():
            return Verdict("truncated" if finish_reason == "length" else "wrong", 0.0, None, "empty")
        llm = getattr(checker, "llm", None)
        if llm is not None and getattr(checker, "strategy", "auto") in ("auto", "llm", "llm_recall"):
            opinion = await llm.judge(sample.question, sample.gold, answer_text)
            info = {"model": llm.model, "raw": opinion.raw, "verdict": opinion.correct, "cached": opinion.cached,
                    "error": opinion.error}
            if opinion.correct is None:  # unparsable or failed: not wrong, not scored
                how = "judge-failed" if opinion.error else "judge-unparsable"
                return Verdict("error", 0.0, answer_text[:200], how, judge=info)
            return Verdict("correct" if opinion.correct else "wrong", float(opinion.correct), answer_text[:200],
                           "judge", judge=info)
        equal = normalize_answer(answer_text) == normalize_answer(sample.gold)
        return Verdict("correct" if equal else "wrong", float(equal), answer_text[:200], "exact-match")


BENCHMARK = GeneralQA()
