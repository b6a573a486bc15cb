"""AIME 2024: 30 integer answers (gold answers may carry leading zeros: 025 = 25)."""

from __future__ import annotations

from assay.eval.benchmarks.base import Benchmark, DataSource
from assay.eval.prompts import QuestionPrompt
from assay.eval.scorers import MathScorer

BENCHMARK = Benchmark(
    name="aime24",
    title="AIME 2024",
    description="American Invitational Mathematics Examination 2024 (integer answers 0-999)",
    data=DataSource(
        hf_id="HuggingFaceH4/aime_2024", ms_id="HuggingFaceH4/aime_2024", split="train",
        local_files=("test.jsonl", "{split}.jsonl", "{split}-*.parquet", "data/{split}-*.parquet"),
        files_doc="`aime24/test.jsonl` (or `train.jsonl`, parquet)",
    ),
    prompt=QuestionPrompt(),
    scorer=MathScorer(),
)
