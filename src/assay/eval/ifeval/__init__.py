"""IFEval (Zhou et al., 2023): verifiable instructions, checked in-process with no downloads.

:mod:`.instructions` holds the 25 checkers and the strict/loose evaluation of a response;
:mod:`.text` the word, sentence and language measures they use.
"""

from __future__ import annotations

from assay.eval.ifeval.instructions import (
    INSTRUCTIONS,
    Evaluation,
    check,
    clean_kwargs,
    evaluate,
    follows,
    loose_variants,
    validate,
)

__all__ = ["INSTRUCTIONS", "Evaluation", "check", "clean_kwargs", "evaluate", "follows", "loose_variants", "validate"]
