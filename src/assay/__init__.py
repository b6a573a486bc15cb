"""assay: how good is an LLM deployment — speed under load, accuracy on benchmarks, and a viewer.

Public API (imported lazily so ``assay --help`` stays instant)::

    from assay import PerfConfig, run_perf
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from assay.perf import PerfConfig, PerfResult, run_perf

_LAZY = {
    "PerfConfig": "assay.perf",
    "PerfResult": "assay.perf",
    "run_perf": "assay.perf",
}

__all__ = ["PerfConfig", "PerfResult", "__version__", "run_perf"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'assay' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
