"""MMLU-Pro: 12,032 ten-option questions in 14 categories; zero-shot or 5-shot chain of thought.

The key is the row's ``answer`` letter, as TIGER-Lab and EvalScope score it: one test row
(question 3983) has an ``answer_index`` that points elsewhere.
"""

from __future__ import annotations

import ast

from assay.eval.benchmarks.base import Benchmark, DataSource, Row, row_field
from assay.eval.prompts import LETTERS, ChoicePrompt, format_options, id_field
from assay.eval.scorers import ChoiceScorer

CATEGORIES = ("biology", "business", "chemistry", "computer science", "economics", "engineering", "health",
              "history", "law", "math", "other", "philosophy", "physics", "psychology")


def options(row: Row) -> tuple[list[str], int]:
    choices = row["options"]
    if isinstance(choices, str):  # some exports store the list as its Python text
        choices = ast.literal_eval(choices)
    answer = str(row.get("answer") or "").strip()
    index = LETTERS.index(answer) if len(answer) == 1 and answer in LETTERS else int(row["answer_index"])
    return [str(o) for o in choices], index


def official_options(row: Row) -> tuple[list[str], int]:
    """The options as TIGER-Lab shows them: "N/A" padding options dropped."""
    choices, correct = options(row)
    kept = [i for i, option in enumerate(choices) if option != "N/A" or i == correct]
    return [choices[i] for i in kept], kept.index(correct)


def example(row: Row) -> str:
    choices, _ = options(row)
    cot = str(row.get("cot_content") or "").replace("A: Let's think step by step.", "").strip()
    return (f"Question: {row['question']}\nOptions:\n{format_options(choices)}\n"
            f"Answer: Let's think step by step. {cot}\n\n")


def official_example(row: Row) -> str:
    choices, _ = official_options(row)
    cot = str(row.get("cot_content") or "") or "Let's think step by step."
    cot = cot[3:] if cot.startswith("A: ") else cot
    shown = "".join(f"{LETTERS[i]}. {option}\n" for i, option in enumerate(choices))
    return f"Question: {row['question']}\nOptions: {shown}Answer: {cot}\n\n"


BENCHMARK = Benchmark(
    name="mmlu_pro",
    title="MMLU-Pro",
    description="MMLU-Pro: harder 10-option multiple choice across 14 categories (TIGER-Lab)",
    data=DataSource(
        hf_id="TIGER-Lab/MMLU-Pro", ms_id="modelscope/MMLU-Pro", subsets=CATEGORIES, split="test",
        few_shot_split="validation", local_files=("{split}-*.parquet", "{split}.jsonl", "data/{split}-*.parquet"),
        subset_field=row_field("category"), few_shot_same_subset=True,  # TIGER-Lab's 5-shot CoT: examples of the same category
        subsets_doc="14 categories (field `category`)",
        files_doc="`mmlu_pro/test-*.parquet`, `validation-*.parquet` for few-shot",
    ),
    prompt=ChoicePrompt(
        options=options, sample_id=id_field("question_id"), few_shot_example=example,
        # TIGER-Lab's chain-of-thought prompt, ending the way its answer extraction expects.
        template=(
            "The following are multiple choice questions (with answers) about {subject}. Think step by step and "
            'then finish your answer with "the answer is (X)" where X is the correct letter choice.\n\n'
            "Question: {question}\nOptions:\n{options}\nAnswer: Let's think step by step."
        ),
        # TIGER-Lab's evaluate_from_api.py (TIGER-AI-Lab/MMLU-Pro@f418b11): the header first, then the
        # examples, options as "A. …" after "Options: ", "N/A" padding options dropped.
        official_template=(
            "The following are multiple choice questions (with answers) about {subject}. Think step by step and then "
            'output the answer in the format of "The answer is (X)" at the end.\n\n'
            "{examples}Question: {question}\nOptions: {options}\nAnswer: Let's think step by step.\n\n"
        ),
        official_option_format="{letter}. {option}", official_options=official_options,
        official_few_shot_example=official_example,
    ),
    scorer=ChoiceScorer(),
    judged_by="the chosen letter; zero-shot or 5-shot CoT from its validation split (`few_shot_num: 5`, same "
              "category)",
)
