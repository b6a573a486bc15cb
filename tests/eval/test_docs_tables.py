"""The benchmark tables in docs/eval.md and the README's list are the registry's, and every benchmark is whole."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest

from assay.eval.benchmarks import Benchmark, all_benchmarks
from assay.eval.docs import PARTS, README, render, stale

REPO = Path(__file__).resolve().parents[2]


def test_the_docs_say_what_the_registry_holds():
    assert stale(REPO) == [], "run: python -m assay.eval.docs"


def test_a_benchmark_missing_from_the_docs_is_found():
    extra = dataclasses.replace(all_benchmarks()["gsm8k"], name="gsm8k_twin", title="GSM8K twin")
    benchmarks = {**all_benchmarks(), "gsm8k_twin": extra}
    for relative, parts in PARTS.items():
        text = (REPO / relative).read_text(encoding="utf-8")
        new, missing = render(text, parts, benchmarks)
        assert not missing and new != text
        assert ("GSM8K twin" if relative == README else "`gsm8k_twin`") in new


@pytest.mark.parametrize("name", sorted(all_benchmarks()))
def test_every_benchmark_is_a_whole_composition(name):
    benchmark = all_benchmarks()[name]
    assert isinstance(benchmark, Benchmark) and benchmark.name == name
    assert benchmark.title and benchmark.description and benchmark.data.subsets
    assert benchmark.metrics[0] == "AveragePass@1"
    assert "{question}" in benchmark.prompt.template
    assert inspect.iscoroutinefunction(benchmark.scorer.score)
    assert (benchmark.judged_by or benchmark.scorer.judged_by).strip()
    info = benchmark.describe()
    assert info["name"] == name and info["subsets"] == list(benchmark.data.subsets)
    assert set(info["categories"]) == set(benchmark.data.subsets)
