"""assay: how good is an LLM deployment — speed under load, accuracy on benchmarks, and a viewer.

Public API (imported lazily so ``assay --help`` stays instant)::

    from assay import PerfConfig, PerfResult, run_perf, report_run   # load tests; re-print a stored run
    from assay import TaskConfig, EvalType, run_eval, EvalResult, rescore  # benchmarks; re-judge a stored run
    from assay import run_task                                        # EvalScope's name: reports as dicts

Everything else is internal. The package is typed (``py.typed``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
"""The one place the version is written: pyproject.toml reads it from here (hatch's dynamic version)."""

MINIMUM_PYTHON = (3, 11)
"""The oldest Python assay runs on (``asyncio.Runner`` drives the perf client and the simulator).
pyproject's requires-python, mypy's python_version and ruff's target-version say the same (tested)."""

if sys.version_info < MINIMUM_PYTHON:  # pip refuses to install there; this catches a source checkout
    raise SystemExit(f"assay: needs Python {'.'.join(map(str, MINIMUM_PYTHON))} or newer; this is Python "
                     f"{sys.version.split()[0]} ({sys.executable})")

if TYPE_CHECKING:
    from assay.constants import EvalType
    from assay.eval import EvalResult, TaskConfig, rescore, run_eval, run_task
    from assay.perf import PerfConfig, PerfResult, report_run, run_perf

_LAZY = {
    "PerfConfig": "assay.perf",
    "PerfResult": "assay.perf",
    "run_perf": "assay.perf",
    "report_run": "assay.perf",
    "TaskConfig": "assay.eval",
    "run_task": "assay.eval",
    "run_eval": "assay.eval",
    "EvalResult": "assay.eval",
    "rescore": "assay.eval",
    "EvalType": "assay.constants",
}

__all__ = [
    "EvalResult",
    "EvalType",
    "PerfConfig",
    "PerfResult",
    "TaskConfig",
    "__version__",
    "report_run",
    "rescore",
    "run_eval",
    "run_perf",
    "run_task",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'assay' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
