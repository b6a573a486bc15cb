"""Scoring: separate reasoning from the answer, extract the final answer, decide equivalence."""

from assay.eval.scoring.extract import (
    extract_boxed,
    extract_final_answer,
    last_number,
    split_reasoning,
)
from assay.eval.scoring.mathcheck import MathChecker, normalize_simple

__all__ = [
    "MathChecker",
    "extract_boxed",
    "extract_final_answer",
    "last_number",
    "normalize_simple",
    "split_reasoning",
]
