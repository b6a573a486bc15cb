"""DROP: discrete reasoning over paragraphs (counting, sorting, arithmetic over a passage).

Scored as the paper defines it (Dua et al., 2019, ``drop_eval.py``): each answer is a bag of
spans, normalised token by token (case, punctuation and articles ignored, numbers read as
numbers: ``1,000`` is ``1000.0``); exact match needs the same bag; F1 aligns predicted and gold
spans one to one (the best assignment) and is 0 for a span whose gold numbers the prediction does
not contain; the best over the gold answers counts. The hub's schema (``answers_spans``) lists
every accepted answer as its own entry, so each entry is scored as one alternative answer.
"""

from __future__ import annotations

import itertools
import re
import string
from typing import Any

from assay.eval.benchmarks.base import Benchmark, DataSource, Row
from assay.eval.prompts import QuestionPrompt, id_field
from assay.eval.scorers import BestAnswerScorer

TEMPLATE = ("Read the passage and answer the question. Think step by step, then write a line of the form "
            "\"Answer: $ANSWER\" at the end of your response (several answers separated by \" | \").\n\n{question}")
_ANSWER_LINE = re.compile(r"^[\s*_#>-]*answer[\s*_]*[:：]\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.IGNORECASE)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _normalize_token(token: str) -> str:
    token = token.lower()
    if not _is_number(token):
        token = "".join(ch for ch in token if ch not in string.punctuation)
    if _is_number(token):
        token = str(float(token))
    return " ".join(_ARTICLES.sub(" ", token).split())


def normalize(span: str) -> str:
    """One span as DROP normalises it: tokens split at spaces and hyphens, each normalised."""
    parts = (_normalize_token(token) for token in re.split(" |-", span))
    return " ".join(part for part in parts if part.strip()).strip()


def _bags(spans: list[str]) -> tuple[tuple[str, ...], list[set[str]]]:
    normalized = tuple(normalize(span) for span in spans)
    return normalized, [set(span.split()) for span in normalized]


def _span_f1(predicted: set[str], gold: set[str]) -> float:
    common = len(gold & predicted)
    precision = common / len(predicted) if predicted else 1.0
    recall = common / len(gold) if gold else 1.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _numbers_agree(gold: set[str], predicted: set[str]) -> bool:
    gold_numbers = {token for token in gold if _is_number(token)}
    return not gold_numbers or bool(gold_numbers & {token for token in predicted if _is_number(token)})


def drop_metrics(predicted: list[str], gold: list[str]) -> tuple[float, float]:
    """(exact match, F1) of predicted spans against one gold answer's spans, as drop_eval.py defines them."""
    predicted_spans, predicted_bags = _bags(predicted)
    gold_spans, gold_bags = _bags(gold)
    exact = float(set(predicted_spans) == set(gold_spans) and len(predicted_spans) == len(gold_spans))
    scores = [[_span_f1(p, g) if _numbers_agree(g, p) else 0.0 for p in predicted_bags] for g in gold_bags]
    # The best one-to-one assignment of gold to predicted spans (bags are small: every pairing is tried).
    small, large = (len(gold_bags), len(predicted_bags))
    best = 0.0
    if small <= large:
        for chosen in itertools.permutations(range(large), small):
            best = max(best, sum(scores[g][p] for g, p in enumerate(chosen)))
    else:
        for chosen in itertools.permutations(range(small), large):
            best = max(best, sum(scores[g][p] for p, g in enumerate(chosen)))
    f1 = best / max(len(gold_bags), len(predicted_bags), 1)
    return exact, round(f1, 2)


def gold_answers(row: Row) -> list[list[str]]:
    """The accepted answers of a row, each a list of spans (the hub's ``answers_spans.spans``, one each)."""
    spans = row["answers_spans"]["spans"] if isinstance(row.get("answers_spans"), dict) else row["answers_spans"]
    return [[str(span)] for span in dict.fromkeys(spans) if str(span).strip()]


def extract(answer_text: str) -> tuple[list[str] | None, str]:
    """(spans, method): the last ``Answer:`` line split at ``|``, else the only non-empty line."""
    lines = _ANSWER_LINE.findall(answer_text)
    if lines and lines[-1].strip():
        return [span.strip() for span in lines[-1].split("|") if span.strip()], "answer-line"
    rest = [line.strip() for line in answer_text.splitlines() if line.strip()]
    if len(rest) == 1:
        return [span.strip() for span in rest[0].split("|") if span.strip()], "whole"
    return None, "no-answer"


def question(row: Row) -> str:
    """The passage and the question in one text (what is sent, and what a judge reads)."""
    return f"Passage: {row['passage']}\n\nQuestion: {row['question']}"


def gold(row: Row) -> str:
    """The first accepted answer, its spans joined by ``|`` (all of them are in ``meta``)."""
    answers = gold_answers(row)
    if not answers:
        raise KeyError("answers_spans (with an answer)")
    return " | ".join(answers[0])


def extract_joined(answer_text: str) -> tuple[str | None, str]:
    """(spans joined by `` | ``, method): :func:`extract` as one answer (None: none found)."""
    spans, how = extract(answer_text)
    return (" | ".join(spans) if spans else None), how


def best_metrics(found: str, answer: Any) -> tuple[float, float]:
    """(exact match, F1) of the joined spans found against one accepted answer (a list of spans)."""
    gold = [str(span) for span in answer] if isinstance(answer, list) else [str(answer)]
    return drop_metrics([span.strip() for span in found.split("|")], gold)


BENCHMARK = Benchmark(
    name="drop",
    title="DROP",
    description="Discrete Reasoning Over Paragraphs: 9,535 validation questions (numbers, spans, dates)",
    data=DataSource(
        hf_id="ucinlp/drop", ms_id="-", split="validation",
        local_files=("{split}.jsonl", "data/{split}-*.parquet", "{split}-*.parquet"),
        files_doc="`drop/validation.jsonl` or `drop/data/validation-*.parquet`",
    ),
    prompt=QuestionPrompt(template=TEMPLATE, question=question, gold=gold, sample_id=id_field("query_id"),
                          meta=lambda row: {"answers": gold_answers(row)}),
    scorer=BestAnswerScorer(
        extract=extract_joined, metrics=best_metrics, accepted="answers", compared_by="drop",
        judged_by="DROP's exact match and number-aware bag-of-words F1, best over the accepted answers",
    ),
    metrics=("AveragePass@1", "F1"),
)
