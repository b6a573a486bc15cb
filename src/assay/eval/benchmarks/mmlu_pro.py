"""MMLU-Pro: 12,032 ten-option questions in 14 categories; zero-shot or 5-shot chain of thought.

The key is the row's ``answer`` letter, as TIGER-Lab and EvalScope score it: one test row
(question 3983) has an ``answer_index`` that points elsewhere.
"""

from __future__ import annotations

import ast
from typing import Any

from assay.eval.benchmarks._choice import LETTERS, MultipleChoiceBenchmark, format_options

CATEGORIES = ("biology", "business", "chemistry", "computer science", "economics", "engineering", "health",
              "history", "law", "math", "other", "philosophy", "physics", "psychology")


class MMLUPro(MultipleChoiceBenchmark):
    name = "mmlu_pro"
    description = "MMLU-Pro: harder 10-option multiple choice across 14 categories (TIGER-Lab)"
    hf_id = "TIGER-Lab/MMLU-Pro"
    ms_id = "modelscope/MMLU-Pro"
    subsets = CATEGORIES
    split = "test"
    few_shot_split = "validation"
    local_files = ("{split}-*.parquet", "{split}.jsonl", "data/{split}-*.parquet")
    # TIGER-Lab's chain-of-thought prompt, ending the way its answer extraction expects.
    prompt_template = (
        "The following are multiple choice questions (with answers) about {subject}. Think step by step and "
        'then finish your answer with "the answer is (X)" where X is the correct letter choice.\n\n'
        "Question: {question}\nOptions:\n{options}\nAnswer: Let's think step by step."
    )
    # TIGER-Lab's evaluate_from_api.py (TIGER-AI-Lab/MMLU-Pro@f418b11): the header first, then the
    # examples, options as "A. …" after "Options: ", "N/A" padding options dropped.
    official_template = (
        "The following are multiple choice questions (with answers) about {subject}. Think step by step and then "
        'output the answer in the format of "The answer is (X)" at the end.\n\n'
        "{examples}Question: {question}\nOptions: {options}\nAnswer: Let's think step by step.\n\n"
    )
    official_option_format = "{letter}. {option}"

    def subset_of(self, row: dict[str, Any]) -> str:
        return str(row["category"])

    def options(self, row: dict[str, Any]) -> tuple[list[str], int]:
        options = row["options"]
        if isinstance(options, str):  # some exports store the list as its Python text
            options = ast.literal_eval(options)
        answer = str(row.get("answer") or "").strip()
        index = LETTERS.index(answer) if len(answer) == 1 and answer in LETTERS else int(row["answer_index"])
        return [str(o) for o in options], index

    def official_options(self, row: dict[str, Any]) -> tuple[list[str], int]:
        options, correct = self.options(row)
        kept = [i for i, option in enumerate(options) if option != "N/A" or i == correct]
        return [options[i] for i in kept], kept.index(correct)

    def official_few_shot_prefix(self, examples: list[dict[str, Any]]) -> str:
        parts = []
        for example in examples:
            options, _ = self.official_options(example)
            cot = str(example.get("cot_content") or "") or "Let's think step by step."
            cot = cot[3:] if cot.startswith("A: ") else cot
            shown = "".join(f"{LETTERS[i]}. {option}\n" for i, option in enumerate(options))
            parts.append(f"Question: {example['question']}\nOptions: {shown}Answer: {cot}\n\n")
        return "".join(parts)

    def sample_id(self, row: dict[str, Any], index: int, subset: str) -> str:
        return str(row.get("question_id", f"{subset}/{index}"))

    def few_shot_prefix(self, examples: list[dict[str, Any]]) -> str:
        parts = []
        for example in examples:
            options, _ = self.options(example)
            cot = str(example.get("cot_content") or "").replace("A: Let's think step by step.", "").strip()
            parts.append(f"Question: {example['question']}\nOptions:\n{format_options(options)}\n"
                         f"Answer: Let's think step by step. {cot}\n\n")
        return "".join(parts)

    def few_shot_for(self, pool: list[dict[str, Any]], subset: str, count: int) -> list[dict[str, Any]]:
        """The validation examples of the same category, as TIGER-Lab's 5-shot CoT does."""
        return [row for row in pool if row.get("category") == subset][:count]


BENCHMARK = MMLUPro()

__all__ = ["BENCHMARK", "LETTERS"]
