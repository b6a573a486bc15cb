"""MATH-500: the 500-problem test subset of MATH used by PRM800K, one subset per difficulty level."""

from __future__ import annotations

from typing import Any

from assay.eval.benchmarks.base import Benchmark


class MATH500(Benchmark):
    name = "math_500"
    description = "500 competition math problems from MATH (levels 1-5), free-form LaTeX answers"
    hf_id = "HuggingFaceH4/MATH-500"
    ms_id = "AI-ModelScope/MATH-500"
    subsets = ("Level 1", "Level 2", "Level 3", "Level 4", "Level 5")
    split = "test"
    local_files = ("{split}.jsonl", "{split}-*.parquet")

    def subset_of(self, row: dict[str, Any]) -> str:
        return f"Level {row['level']}"


BENCHMARK = MATH500()
