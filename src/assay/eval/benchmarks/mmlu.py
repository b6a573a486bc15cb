"""MMLU: 57 subjects of four-option questions, grouped into STEM, humanities, social sciences and other."""

from __future__ import annotations

from typing import Any

from assay.eval.benchmarks._choice import LETTERS, MultipleChoiceBenchmark

# The grouping of Hendrycks et al. (2021), as used by most harnesses.
CATEGORY = {
    "abstract_algebra": "STEM", "anatomy": "STEM", "astronomy": "STEM", "college_biology": "STEM",
    "college_chemistry": "STEM", "college_computer_science": "STEM", "college_mathematics": "STEM",
    "college_physics": "STEM", "computer_security": "STEM", "conceptual_physics": "STEM",
    "electrical_engineering": "STEM", "elementary_mathematics": "STEM", "high_school_biology": "STEM",
    "high_school_chemistry": "STEM", "high_school_computer_science": "STEM", "high_school_mathematics": "STEM",
    "high_school_physics": "STEM", "high_school_statistics": "STEM", "machine_learning": "STEM",
    "formal_logic": "Humanities", "high_school_european_history": "Humanities",
    "high_school_us_history": "Humanities", "high_school_world_history": "Humanities",
    "international_law": "Humanities", "jurisprudence": "Humanities", "logical_fallacies": "Humanities",
    "moral_disputes": "Humanities", "moral_scenarios": "Humanities", "philosophy": "Humanities",
    "prehistory": "Humanities", "professional_law": "Humanities", "world_religions": "Humanities",
    "econometrics": "Social Science", "high_school_geography": "Social Science",
    "high_school_government_and_politics": "Social Science", "high_school_macroeconomics": "Social Science",
    "high_school_microeconomics": "Social Science", "high_school_psychology": "Social Science",
    "human_sexuality": "Social Science", "professional_psychology": "Social Science",
    "public_relations": "Social Science", "security_studies": "Social Science", "sociology": "Social Science",
    "us_foreign_policy": "Social Science",
    "business_ethics": "Other", "clinical_knowledge": "Other", "college_medicine": "Other",
    "global_facts": "Other", "human_aging": "Other", "management": "Other", "marketing": "Other",
    "medical_genetics": "Other", "miscellaneous": "Other", "nutrition": "Other",
    "professional_accounting": "Other", "professional_medicine": "Other", "virology": "Other",
}


class MMLU(MultipleChoiceBenchmark):
    name = "mmlu"
    description = "MMLU: 57 subjects of 4-option multiple choice (Hendrycks et al.), in 4 categories"
    hf_id = "cais/mmlu"
    ms_id = "modelscope/mmlu"
    subsets = tuple(sorted(CATEGORY))
    subsets_are_configs = True
    split = "test"
    few_shot_split = "dev"
    local_files = ("{subset}.jsonl", "{subset}/{split}.jsonl", "{subset}/{split}-*.parquet",
                   "data/{subset}/{split}-*.parquet", "{subset}_{split}.csv", "{split}/{subset}_{split}.csv")

    # Hendrycks et al.'s evaluation format: header, examples "question / A. … / Answer: X", then the question.
    official_template = (
        "The following are multiple choice questions (with answers) about {subject}.\n\n"
        "{examples}{question}\n{options}\nAnswer:"
    )
    official_option_format = "{letter}. {option}"

    def official_few_shot_prefix(self, examples: list[dict[str, Any]]) -> str:
        parts = []
        for example in examples:
            options, correct = self.options(example)
            shown = "\n".join(f"{LETTERS[i]}. {option}" for i, option in enumerate(options))
            parts.append(f"{self.question(example)}\n{shown}\nAnswer: {LETTERS[correct]}\n\n")
        return "".join(parts)

    def category_of(self, subset: str) -> str:
        return CATEGORY.get(subset, "Other")

    def options(self, row: dict[str, Any]) -> tuple[list[str], int]:
        if "choices" in row:
            choices = [str(c) for c in row["choices"]]
        else:  # the original CSV layout: question, A, B, C, D, answer
            choices = [str(row[letter]) for letter in "ABCD"]
        answer = row["answer"]
        index = int(answer) if isinstance(answer, int) or str(answer).isdigit() else LETTERS.index(str(answer).strip())
        return choices, index

    def question(self, row: dict[str, Any]) -> str:
        return str(row["question"]).strip()


BENCHMARK = MMLU()
