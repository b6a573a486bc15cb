"""BeyondAIME: ByteDance Seed's 100 problems past AIME difficulty, each with one integer answer (Seed1.5-Thinking)."""

from __future__ import annotations

from assay.eval.benchmarks.base import Benchmark, DataSource
from assay.eval.prompts import QuestionPrompt
from assay.eval.scorers import MathScorer

BENCHMARK = Benchmark(
    name="beyond_aime",
    title="BeyondAIME",
    description="BeyondAIME (ByteDance Seed): 100 olympiad-style problems harder than AIME, integer answers",
    data=DataSource(
        hf_id="ByteDance-Seed/BeyondAIME", ms_id="-", split="test",
        local_files=("{split}.jsonl", "data/{split}-*.parquet", "{split}-*.parquet"),
        files_doc="`beyond_aime/test.jsonl` or `beyond_aime/data/test-*.parquet` (the hub's one split)",
    ),
    prompt=QuestionPrompt(),
    scorer=MathScorer(),
)
