"""The benchmark registry: every module in this package that defines ``BENCHMARK`` (a :class:`Benchmark`).

Adding a benchmark is one module here plus its test: the registry, ``assay benchmarks``, the tables
of docs/eval.md and the README's list (``python -m assay.eval.docs``) all come from it.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from assay.errors import ConfigError
from assay.eval.benchmarks.base import Benchmark, DataSource, Prompt, Sample, Scorer, Verdict

__all__ = ["Benchmark", "DataSource", "Prompt", "Sample", "Scorer", "Verdict", "all_benchmarks", "get_benchmark"]


@lru_cache(maxsize=1)
def all_benchmarks() -> dict[str, Benchmark]:
    found: dict[str, Benchmark] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name == "base" or module.name.startswith("_"):  # the building blocks, not a benchmark
            continue
        benchmark = getattr(importlib.import_module(f"{__name__}.{module.name}"), "BENCHMARK", None)
        if isinstance(benchmark, Benchmark):
            found[benchmark.name] = benchmark
    return dict(sorted(found.items()))


def get_benchmark(name: str) -> Benchmark:
    """The benchmark called ``name``; a one-line ConfigError with the closest name otherwise."""
    benchmarks = all_benchmarks()
    if name not in benchmarks:
        import difflib

        close = difflib.get_close_matches(name, benchmarks, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"datasets: unknown benchmark {name!r}{hint}; known: {', '.join(benchmarks)}")
    return benchmarks[name]
