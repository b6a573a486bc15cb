"""GSM8K: grade-school math word problems; the gold answer follows '#### '."""

from __future__ import annotations

from assay.eval.benchmarks.base import Benchmark, DataSource, Row
from assay.eval.prompts import QuestionPrompt, read_question
from assay.eval.scorers import MathScorer


def gold(row: Row) -> str:
    return str(row["answer"]).split("####")[-1].strip().replace(",", "")


def few_shot_example(row: Row) -> str:
    """A chain-of-thought exemplar: the reasoning, then the answer boxed as asked."""
    reasoning = str(row["answer"]).split("####")[0].strip()
    return f"Question: {read_question(row)}\nAnswer: {reasoning} The answer is \\boxed{{{gold(row)}}}.\n\n"


def extract(answer_text: str) -> tuple[str | None, str]:
    """The stated final answer as a number ("The answer is 18 dollars." -> 18), else the last number
    (a fallback: not an answer when the response was cut off)."""
    from assay.eval.scoring import extract_final_answer, last_number

    answer, method = extract_final_answer(answer_text)
    if answer is not None:
        if method in ("phrase", "answer-line", "hashes"):
            answer = last_number(answer) or answer
        return answer, method
    number = last_number(answer_text)
    return (number, "last-number") if number is not None else (None, "no-answer")


BENCHMARK = Benchmark(
    name="gsm8k",
    title="GSM8K",
    description="8.5K grade-school math word problems (1319 in test), numeric answers",
    data=DataSource(
        hf_id="openai/gsm8k", ms_id="AI-ModelScope/gsm8k", subsets=("main",), hub_config="main", split="test",
        few_shot_split="train",
        local_files=("{split}.jsonl", "main/{split}.jsonl", "{split}-*.parquet", "main/{split}-*.parquet"),
        files_doc="`gsm8k/test.jsonl` or `gsm8k/main/test.jsonl`; `train.jsonl` for few-shot",
    ),
    prompt=QuestionPrompt(gold=gold, few_shot_example=few_shot_example),
    scorer=MathScorer(extract=extract),
)
