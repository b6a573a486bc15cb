"""AIME 2025: 30 integer answers in two papers (I and II)."""

from __future__ import annotations

from assay.eval.benchmarks.base import Benchmark, DataSource
from assay.eval.prompts import QuestionPrompt
from assay.eval.scorers import MathScorer

BENCHMARK = Benchmark(
    name="aime25",
    title="AIME 2025",
    description="American Invitational Mathematics Examination 2025, papers I and II (integer answers 0-999)",
    data=DataSource(
        hf_id="opencompass/AIME2025", ms_id="opencompass/AIME2025", subsets=("AIME2025-I", "AIME2025-II"),
        subsets_are_configs=True, split="test", files_doc="`aime25/<subset>.jsonl`",
    ),
    prompt=QuestionPrompt(),
    scorer=MathScorer(),
)
