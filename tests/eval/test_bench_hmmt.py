"""HMMT February 2025 on synthetic rows in the hub's schema (MathArena's parquet): load, prompt, extract, score."""

from __future__ import annotations

import asyncio

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assay import TaskConfig
from assay.eval import load_samples
from assay.eval.benchmarks import get_benchmark
from assay.eval.judge import Judges
from assay.eval.scoring import MathChecker

ROWS = [  # MathArena's columns: problem_idx, problem, answer, problem_type
    {"problem_idx": 1, "problem": "Compute the sum of the positive divisors of 9! whose units digit is 1.",
     "answer": "103", "problem_type": ["Number Theory"]},
    {"problem_idx": 2, "problem": "Find the ratio of the areas.", "answer": "\\frac{9\\sqrt{23}}{23}",
     "problem_type": ["Geometry"]},
    {"problem_idx": 3, "problem": "Find the smallest possible value of xyz.", "answer": "\\frac{1}{576}",
     "problem_type": ["Algebra"]},
]


@pytest.fixture
def data_dir(tmp_path):
    folder = tmp_path / "hmmt_feb_2025" / "data"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(ROWS), folder / "train-00000-of-00001.parquet")
    return tmp_path


def _samples(data_dir, **args):
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["hmmt_feb_2025"],
                        dataset_hub="local", dataset_dir=str(data_dir), **args)
    return load_samples(config)["hmmt_feb_2025"]


def test_loads_the_hub_layout_with_problem_numbers_as_ids(data_dir):
    samples = _samples(data_dir)
    assert [s.id for s in samples] == ["1", "2", "3"]
    assert samples[1].gold == "\\frac{9\\sqrt{23}}{23}"
    content = samples[0].messages[0]["content"]
    assert content.startswith("Compute the sum") and content.endswith("within \\boxed{}.")
    official = _samples(data_dir, prompt_style="official")[0].messages[0]["content"]
    assert official.startswith("Problem:\nCompute the sum") and "\\boxed{}" in official


@pytest.mark.parametrize(("index", "answer", "verdict"), [
    # An intermediate box, then the final one: a first-box (or first-number) extractor says 9.
    (0, "The divisors of 9! ending in 1 are 1, 21, 81. Wait: \\boxed{9} is not it.\n\nSo the sum is \\boxed{103}.",
     "correct"),
    (0, "1 + 21 + 81 = 103, and 103 is prime... the answer is \\boxed{102}", "wrong"),  # near miss, stays wrong
    # The same value rationalised differently: a string comparison calls it wrong.
    (1, "The ratio is \\boxed{\\dfrac{9}{\\sqrt{23}}}.", "correct"),
    (1, "The ratio is \\boxed{\\frac{9\\sqrt{23}}{24}}.", "wrong"),
    # The last number in the text is 576 (not the answer); the boxed fraction is.
    (2, "So xyz = \\boxed{2^{-6} \\cdot 3^{-2}}, since 2^6 3^2 = 576", "correct"),
    (2, "xyz is at least 1/576 but I did not finish", "wrong"),  # no stated answer: the fallback is not trusted
])
@pytest.mark.slow
def test_extraction_and_metric(data_dir, index, answer, verdict):
    sample = _samples(data_dir)[index]
    benchmark = get_benchmark("hmmt_feb_2025")
    with MathChecker(workers=1, timeout_s=20) as checker:
        judged = asyncio.run(benchmark.judge(sample, answer, finish_reason="stop", judges=Judges(math=checker)))
    assert judged.verdict == verdict, judged


def test_cut_off_without_a_boxed_answer_is_truncated(data_dir):
    sample = _samples(data_dir)[0]
    with MathChecker(workers=1, timeout_s=20) as checker:
        judged = asyncio.run(get_benchmark("hmmt_feb_2025").judge(sample, "The divisors are 1, 21, 81 and 103",
                                                                  finish_reason="length",
                                                                  judges=Judges(math=checker)))
    assert judged.verdict == "truncated"
