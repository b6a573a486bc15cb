"""``assay eval``: benchmark accuracy of a model behind an OpenAI-compatible service.

Public surface: :class:`TaskConfig`, :func:`run_task` (EvalScope-compatible),
:func:`run_eval` (returns the run directory too) and :func:`rescore`.
"""

from assay.eval.config import TaskConfig
from assay.eval.runner import EvalResult, rescore, run_eval, run_task

__all__ = ["EvalResult", "TaskConfig", "rescore", "run_eval", "run_task"]
