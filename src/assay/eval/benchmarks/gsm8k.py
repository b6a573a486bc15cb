"""GSM8K: grade-school math word problems; the gold answer follows '#### '."""

from __future__ import annotations

from typing import Any

from assay.eval.benchmarks.base import Benchmark


class GSM8K(Benchmark):
    name = "gsm8k"
    description = "8.5K grade-school math word problems (1319 in test), numeric answers"
    hf_id = "openai/gsm8k"
    ms_id = "AI-ModelScope/gsm8k"
    subsets = ("main",)
    hub_config = "main"
    split = "test"
    few_shot_split = "train"
    local_files = ("{split}.jsonl", "main/{split}.jsonl", "{split}-*.parquet", "main/{split}-*.parquet")

    def gold(self, row: dict[str, Any]) -> str:
        return str(row["answer"]).split("####")[-1].strip().replace(",", "")

    def few_shot_prefix(self, examples: list[dict[str, Any]]) -> str:
        # Chain-of-thought exemplars: the reasoning, then the answer boxed as asked.
        parts = []
        for example in examples:
            reasoning = str(example["answer"]).split("####")[0].strip()
            parts.append(f"Question: {self.question(example)}\nAnswer: {reasoning} The answer is \\boxed{{{self.gold(example)}}}.\n\n")
        return "".join(parts)

    def extract(self, answer_text: str) -> tuple[str | None, str]:
        from assay.eval.scoring import extract_final_answer, last_number

        answer, method = extract_final_answer(answer_text)
        if answer is not None:
            if method in ("phrase", "answer-line", "hashes"):  # "The answer is 18 dollars." -> 18
                answer = last_number(answer) or answer
            return answer, method
        number = last_number(answer_text)  # a fallback: not an answer when the response was cut off
        return (number, "last-number") if number is not None else (None, "no-answer")


BENCHMARK = GSM8K()
