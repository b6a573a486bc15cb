"""Scoring: separate reasoning from the answer, extract the final answer, decide equivalence."""

from assay.eval.scoring.extract import (
    extract_boxed,
    extract_final_answer,
    finished_part,
    last_number,
    split_reasoning,
)
from assay.eval.scoring.mathcheck import MathChecker, normalize_simple, stated_number

__all__ = [
    "MathChecker",
    "extract_boxed",
    "extract_final_answer",
    "finished_part",
    "last_number",
    "normalize_simple",
    "split_reasoning",
    "stated_number",
]
