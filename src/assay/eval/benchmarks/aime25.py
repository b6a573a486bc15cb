"""AIME 2025: 30 integer answers in two papers (I and II)."""

from __future__ import annotations

from assay.eval.benchmarks.base import Benchmark


class AIME25(Benchmark):
    name = "aime25"
    description = "American Invitational Mathematics Examination 2025, papers I and II (integer answers 0-999)"
    hf_id = "opencompass/AIME2025"
    ms_id = "opencompass/AIME2025"
    subsets = ("AIME2025-I", "AIME2025-II")
    subsets_are_configs = True
    split = "test"


BENCHMARK = AIME25()
