"""numpy for the perf package, imported without a BLAS thread pool.

assay does no linear algebra, but numpy's OpenBLAS starts a thread per core when numpy is imported,
and those threads spin for a while: CPU that a load test counts as the client's, taken from the
event loop on a small machine, during the sweep points that follow. The variable is set only for
the import (OpenBLAS reads it then), so processes assay starts later do not inherit it.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType


def numpy() -> ModuleType:
    """The numpy module (imported here the first time, with ``OPENBLAS_NUM_THREADS=1`` unless set)."""
    if "numpy" not in sys.modules:
        preset = "OPENBLAS_NUM_THREADS" in os.environ
        if not preset:
            os.environ["OPENBLAS_NUM_THREADS"] = "1"
        try:
            import numpy  # noqa: F401
        finally:
            if not preset:
                del os.environ["OPENBLAS_NUM_THREADS"]
    return sys.modules["numpy"]
