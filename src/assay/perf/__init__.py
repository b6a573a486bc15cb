"""``assay perf``: load and speed tests of an OpenAI-compatible server.

Public surface: :class:`PerfConfig`, :func:`run_perf`, :class:`PerfResult`,
:class:`SuccessRateError` (a sweep point below ``min_success_rate``; carries the result), and
:func:`report_run` to re-print a stored run's report.

Imported lazily: ``assay perf --help`` needs only :mod:`assay.perf.config`, not the client and the runner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assay.perf.config import PerfConfig
    from assay.perf.runner import PerfResult, SuccessRateError, run_perf
    from assay.perf.stored import report_run

_LAZY = {
    "PerfConfig": "assay.perf.config",
    "PerfResult": "assay.perf.runner",
    "SuccessRateError": "assay.perf.runner",
    "run_perf": "assay.perf.runner",
    "report_run": "assay.perf.stored",
}

__all__ = ["PerfConfig", "PerfResult", "SuccessRateError", "report_run", "run_perf"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'assay.perf' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
