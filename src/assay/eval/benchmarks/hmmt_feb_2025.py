"""HMMT February 2025: the 30 answer-graded problems of the Harvard-MIT Mathematics Tournament, as MathArena publishes them."""

from __future__ import annotations

from assay.eval.benchmarks.base import Benchmark, DataSource, Row
from assay.eval.prompts import QuestionPrompt
from assay.eval.scorers import MathScorer

OFFICIAL_TEMPLATE = "Problem:\n{question}\n\nPlease reason step by step, and put your final answer within \\boxed{{}}.\n"
"""The prompt EvalScope's hmmt25 sends (MathArena's instruction with a ``Problem:`` header)."""


def sample_id(row: Row, index: int, subset: str) -> str:
    """The problem's number in the paper (``problem_idx``), as MathArena's leaderboard names it."""
    return str(row.get("problem_idx", index + 1))


BENCHMARK = Benchmark(
    name="hmmt_feb_2025",
    title="HMMT February 2025",
    description="Harvard-MIT Mathematics Tournament February 2025 (MathArena): 30 problems, LaTeX answers",
    data=DataSource(
        hf_id="MathArena/hmmt_feb_2025", ms_id="evalscope/hmmt_feb_2025", split="train",
        local_files=("{split}.jsonl", "data/{split}-*.parquet", "{split}-*.parquet"),
        files_doc="`hmmt_feb_2025/train.jsonl` or `hmmt_feb_2025/data/train-*.parquet` (the hub's one split)",
    ),
    prompt=QuestionPrompt(official_template=OFFICIAL_TEMPLATE, sample_id=sample_id),
    scorer=MathScorer(),
)
