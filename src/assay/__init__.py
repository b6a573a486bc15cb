"""assay: how good is an LLM deployment — speed under load, accuracy on benchmarks, and a viewer.

Public API (imported lazily so ``assay --help`` stays instant)::

    from assay import PerfConfig, run_perf
    from assay import TaskConfig, run_task, EvalType
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

MINIMUM_PYTHON = (3, 11)
"""The oldest Python assay runs on (``asyncio.Runner`` drives the perf client and the simulator).
pyproject's requires-python, mypy's python_version and ruff's target-version say the same (tested)."""

if sys.version_info < MINIMUM_PYTHON:  # pip refuses to install there; this catches a source checkout
    raise SystemExit(f"assay: needs Python {'.'.join(map(str, MINIMUM_PYTHON))} or newer; this is Python "
                     f"{sys.version.split()[0]} ({sys.executable})")

if TYPE_CHECKING:
    from assay.constants import EvalType
    from assay.eval import TaskConfig, run_task
    from assay.perf import PerfConfig, PerfResult, run_perf

_LAZY = {
    "PerfConfig": "assay.perf",
    "PerfResult": "assay.perf",
    "run_perf": "assay.perf",
    "TaskConfig": "assay.eval",
    "run_task": "assay.eval",
    "EvalType": "assay.constants",
}

__all__ = ["EvalType", "PerfConfig", "PerfResult", "TaskConfig", "__version__", "run_perf", "run_task"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'assay' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
