"""TriviaQA (rc.nocontext): trivia questions without their evidence documents; any alias counts.

The metrics are the paper's (Joshi et al., 2017, ``triviaqa_evaluation.py``): exact match and
token F1 of the answer against each alias of the gold answer, the best alias kept, after the
paper's normalisation (case, underscores, punctuation including curly quotes, articles and
spacing ignored). The answer is read from the last ``Answer:`` line (else the stated
``the answer is …``, a ``\\boxed{}``, or the response's last line).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import Any

from assay.eval.benchmarks.base import Benchmark, DataSource, Row
from assay.eval.prompts import QuestionPrompt, id_field
from assay.eval.scorers import BestAnswerScorer

TEMPLATE = ("Answer the following trivia question. Think briefly if you need to, then give the short answer "
            "(a name, a number, a few words) on the last line in the form 'Answer: <answer>'.\n\n"
            "Question: {question}")
OFFICIAL_TEMPLATE = "Question: {question}\nAnswer:"
"""lm-evaluation-harness's triviaqa prompt (the answer is the completion's first line)."""
_PUNCTUATION = set(string.punctuation + "‘’´`")
_ANSWER_LINE = re.compile(r"^[\s*_#>-]*(?:final\s+)?answer[\s*_]*[:：]\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_PHRASE = re.compile(r"\bthe (?:final |correct )?answer is[:\s]+(.+?)(?:\.\s|\.?$)", re.IGNORECASE | re.MULTILINE)


def normalize(text: str) -> str:
    """TriviaQA's normalisation: lower case, ``_`` and punctuation made spaces, articles dropped, spacing collapsed."""
    text = text.replace("_", " ").lower()
    text = "".join(" " if ch in _PUNCTUATION else ch for ch in text)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def token_f1(predicted: str, gold: str) -> float:
    """The paper's token F1 of two normalised strings (bag of words)."""
    predicted_tokens, gold_tokens = normalize(predicted).split(), normalize(gold).split()
    common = sum((Counter(predicted_tokens) & Counter(gold_tokens)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted_tokens), common / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def extract(answer_text: str) -> tuple[str | None, str]:
    """(answer, method): the last ``Answer:`` line, else the last "the answer is …", else the last
    ``\\boxed{}``, else the only or last non-empty line."""
    from assay.eval.scoring.extract import extract_boxed

    lines = _ANSWER_LINE.findall(answer_text)
    if lines and lines[-1].strip():
        return lines[-1].strip(), "answer-line"
    phrases = _PHRASE.findall(answer_text)
    if phrases:
        return phrases[-1].strip(), "phrase"
    boxed = extract_boxed(answer_text)
    if boxed:
        return boxed, "boxed"
    rest = [line.strip() for line in answer_text.splitlines() if line.strip()]
    if not rest:
        return None, "no-answer"
    return rest[-1], "whole" if len(rest) == 1 else "last-line"


def aliases(row: Row) -> list[str]:
    """Every accepted form of the answer: the hub's ``answer.aliases`` (and its ``value``)."""
    answer = row["answer"]
    if isinstance(answer, dict):
        found = [str(answer.get("value", "")), *(str(a) for a in answer.get("aliases") or [])]
    else:
        found = [str(answer)]
    return list(dict.fromkeys(a for a in found if a.strip()))


def gold(row: Row) -> str:
    """The answer's value (the first alias; every alias is in ``meta``)."""
    accepted = aliases(row)
    if not accepted:
        raise KeyError("answer (with an alias)")
    return accepted[0]


def few_shot_example(row: Row) -> str:
    return f"Question: {row['question']}\nAnswer: {aliases(row)[0]}\n\n"


def alias_metrics(found: str, alias: Any) -> tuple[float, float]:
    """(exact match, token F1) of the answer found against one alias, after TriviaQA's normalisation."""
    return float(normalize(found) == normalize(str(alias))), token_f1(found, str(alias))


BENCHMARK = Benchmark(
    name="triviaqa",
    title="TriviaQA",
    description="TriviaQA rc.nocontext validation: 17,944 trivia questions without evidence, any alias counts",
    data=DataSource(
        hf_id="mandarjoshi/trivia_qa", ms_id="-", hub_config="rc.nocontext", split="validation",
        few_shot_split="train",
        local_files=("{split}.jsonl", "rc.nocontext/{split}-*.parquet", "{split}-*.parquet"),
        files_doc="`triviaqa/validation.jsonl` or `triviaqa/rc.nocontext/validation-*.parquet`",
    ),
    prompt=QuestionPrompt(
        template=TEMPLATE, official_template=OFFICIAL_TEMPLATE, question=lambda row: str(row["question"]), gold=gold,
        sample_id=id_field("question_id"), meta=lambda row: {"aliases": aliases(row)}, few_shot_example=few_shot_example,
    ),
    scorer=BestAnswerScorer(
        extract=extract, metrics=alias_metrics, accepted="aliases", compared_by="exact-match",
        judged_by="exact match with any alias after TriviaQA's normalisation (and token F1)",
    ),
    metrics=("AveragePass@1", "F1"),
    judged_by="exact match (primary) and token F1 with the best alias, after TriviaQA's normalisation",
)
