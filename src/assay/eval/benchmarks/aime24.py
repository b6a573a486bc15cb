"""AIME 2024: 30 integer answers (gold answers may carry leading zeros: 025 = 25)."""

from __future__ import annotations

from assay.eval.benchmarks.base import Benchmark


class AIME24(Benchmark):
    name = "aime24"
    description = "American Invitational Mathematics Examination 2024 (integer answers 0-999)"
    hf_id = "HuggingFaceH4/aime_2024"
    ms_id = "HuggingFaceH4/aime_2024"
    split = "train"
    local_files = ("test.jsonl", "{split}.jsonl", "{split}-*.parquet", "data/{split}-*.parquet")


BENCHMARK = AIME24()
