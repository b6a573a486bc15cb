"""MATH-500: the 500-problem test subset of MATH used by PRM800K, one subset per difficulty level."""

from __future__ import annotations

from assay.eval.benchmarks.base import Benchmark, DataSource, Row
from assay.eval.prompts import QuestionPrompt
from assay.eval.scorers import MathScorer


def level(row: Row) -> str:
    return f"Level {row['level']}"


BENCHMARK = Benchmark(
    name="math_500",
    title="MATH-500",
    description="500 competition math problems from MATH (levels 1-5), free-form LaTeX answers",
    data=DataSource(
        hf_id="HuggingFaceH4/MATH-500", ms_id="AI-ModelScope/MATH-500",
        subsets=("Level 1", "Level 2", "Level 3", "Level 4", "Level 5"), split="test",
        local_files=("{split}.jsonl", "{split}-*.parquet"), subset_field=level,
        subsets_doc="`Level 1` … `Level 5` (field `level`)", files_doc="`math_500/test.jsonl`",
    ),
    prompt=QuestionPrompt(),
    scorer=MathScorer(),
)
