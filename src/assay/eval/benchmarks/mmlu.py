"""MMLU: 57 subjects of four-option questions, grouped into STEM, humanities, social sciences and other."""

from __future__ import annotations

from assay.eval.benchmarks.base import Benchmark, DataSource, Row
from assay.eval.prompts import LETTERS, ChoicePrompt, lettered_example
from assay.eval.scorers import ChoiceScorer

# The grouping of Hendrycks et al. (2021), as used by most harnesses: category -> its subjects.
SUBJECTS_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    "STEM": (
        "abstract_algebra", "anatomy", "astronomy", "college_biology", "college_chemistry",
        "college_computer_science", "college_mathematics", "college_physics", "computer_security",
        "conceptual_physics", "electrical_engineering", "elementary_mathematics", "high_school_biology",
        "high_school_chemistry", "high_school_computer_science", "high_school_mathematics", "high_school_physics",
        "high_school_statistics", "machine_learning",
    ),
    "Humanities": (
        "formal_logic", "high_school_european_history", "high_school_us_history", "high_school_world_history",
        "international_law", "jurisprudence", "logical_fallacies", "moral_disputes", "moral_scenarios", "philosophy",
        "prehistory", "professional_law", "world_religions",
    ),
    "Social Science": (
        "econometrics", "high_school_geography", "high_school_government_and_politics", "high_school_macroeconomics",
        "high_school_microeconomics", "high_school_psychology", "human_sexuality", "professional_psychology",
        "public_relations", "security_studies", "sociology", "us_foreign_policy",
    ),
    "Other": (
        "business_ethics", "clinical_knowledge", "college_medicine", "global_facts", "human_aging", "management",
        "marketing", "medical_genetics", "miscellaneous", "nutrition", "professional_accounting",
        "professional_medicine", "virology",
    ),
}
CATEGORY = {subject: category for category, subjects in SUBJECTS_BY_CATEGORY.items() for subject in subjects}
"""The category of each subject (the report's Cat.0)."""


def question(row: Row) -> str:
    return str(row["question"]).strip()


def options(row: Row) -> tuple[list[str], int]:
    if "choices" in row:
        choices = [str(c) for c in row["choices"]]
    else:  # the original CSV layout: question, A, B, C, D, answer
        choices = [str(row[letter]) for letter in "ABCD"]
    answer = row["answer"]
    index = int(answer) if isinstance(answer, int) or str(answer).isdigit() else LETTERS.index(str(answer).strip())
    return choices, index


official_example = lettered_example(options, question)
"""Hendrycks et al.'s example: the question, ``A. …`` options, ``Answer: X``."""


BENCHMARK = Benchmark(
    name="mmlu",
    title="MMLU",
    description="MMLU: 57 subjects of 4-option multiple choice (Hendrycks et al.), in 4 categories",
    data=DataSource(
        hf_id="cais/mmlu", ms_id="modelscope/mmlu", subsets=tuple(sorted(CATEGORY)), subsets_are_configs=True,
        split="test", few_shot_split="dev", categories=CATEGORY,
        local_files=("{subset}.jsonl", "{subset}/{split}.jsonl", "{subset}/{split}-*.parquet",
                     "data/{subset}/{split}-*.parquet", "{subset}_{split}.csv", "{split}/{subset}_{split}.csv"),
        subsets_doc="57 subjects", files_doc="`mmlu/<subject>.jsonl` or `mmlu/<subject>/test-*.parquet`",
    ),
    prompt=ChoicePrompt(
        options=options, question=question,
        # Hendrycks et al.'s evaluation format: header, examples "question / A. … / Answer: X", then the question.
        official_template=(
            "The following are multiple choice questions (with answers) about {subject}.\n\n"
            "{examples}{question}\n{options}\nAnswer:"
        ),
        official_option_format="{letter}. {option}", official_few_shot_example=official_example,
    ),
    scorer=ChoiceScorer(),
    judged_by="the chosen letter; the report's Cat.0 is the subject's category (STEM, Humanities, Social Science, "
              "Other)",
)
