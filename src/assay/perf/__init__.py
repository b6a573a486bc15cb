"""``assay perf``: load and speed tests of an OpenAI-compatible server.

Public surface: :class:`PerfConfig`, :func:`run_perf`, :class:`PerfResult`,
:class:`SuccessRateError` (a sweep point below ``min_success_rate``; carries the result), and
:func:`report_run` to re-print a stored run's report.
"""

from assay.perf.config import PerfConfig
from assay.perf.runner import PerfResult, SuccessRateError, run_perf
from assay.perf.stored import report_run

__all__ = ["PerfConfig", "PerfResult", "SuccessRateError", "report_run", "run_perf"]
