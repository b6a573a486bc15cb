"""``assay eval``: benchmark accuracy of a model behind an OpenAI-compatible service.

Public surface: :class:`TaskConfig`, :func:`run_task` (EvalScope-compatible: returns the reports
as dicts), :func:`run_eval` and :func:`rescore` (return an :class:`EvalResult`: the run directory
and its scores), :func:`load_samples` (a run's samples, as they would be sent), :func:`compare_runs`
(two runs of the same samples compared: did a deployment change accuracy), :func:`run_under_load`
(the same samples at several concurrencies: does accuracy hold under load).
"""

from assay.constants import EvalType
from assay.eval.compare import Comparison, compare_runs
from assay.eval.config import TaskConfig
from assay.eval.datasets import load_samples
from assay.eval.report import EvalResult
from assay.eval.rescoring import rescore
from assay.eval.runner import run_eval, run_task
from assay.eval.under_load import UnderLoadResult, run_under_load

__all__ = ["Comparison", "EvalResult", "EvalType", "TaskConfig", "UnderLoadResult", "compare_runs", "load_samples",
           "rescore", "run_eval", "run_task", "run_under_load"]
