"""MATH (full) on synthetic rows in the hub's schema: a parquet per subject, gold from the solution's last box."""

from __future__ import annotations

import asyncio

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assay import TaskConfig
from assay.errors import AssayError
from assay.eval import load_samples
from assay.eval.benchmarks import get_benchmark
from assay.eval.judge import Judges
from assay.eval.scoring import MathChecker

ALGEBRA = [  # EleutherAI/hendrycks_math's columns: problem, level, type, solution
    {"problem": "What is $\\frac{1}{2}+\\frac{1}{4}$?", "level": "Level 1", "type": "Algebra",
     "solution": "We have $\\frac{1}{2}=\\boxed{\\frac{2}{4}}$ first, so the sum is $\\boxed{\\frac{3}{4}}$."},
    {"problem": "Solve $x^2=9$ for $x>0$.", "level": "Level 2", "type": "Algebra",
     "solution": "Since $x>0$, $x=\\boxed{3}$."},
]
GEOMETRY = [
    {"problem": "Find the area of a circle of radius 2.", "level": "Level 3", "type": "Geometry",
     "solution": "The area is $\\pi r^2 = \\boxed{4\\pi}$ square units."},
]


def _write(root, rows_by_subject):
    for subject, rows in rows_by_subject.items():
        folder = root / "math_full" / subject
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows), folder / "test-00000-of-00001.parquet")
    return root


def _samples(root, subsets):
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["math_full"], dataset_hub="local",
                        dataset_dir=str(root), dataset_args={"math_full": {"subset_list": subsets}})
    return load_samples(config)["math_full"]


def test_loads_a_config_per_subject_with_gold_from_the_last_box(tmp_path):
    samples = _samples(_write(tmp_path, {"algebra": ALGEBRA, "geometry": GEOMETRY}), ["algebra", "geometry"])
    assert [(s.subset, s.gold) for s in samples] == [("algebra", "\\frac{3}{4}"), ("algebra", "3"),
                                                     ("geometry", "4\\pi")]
    assert samples[1].meta["level"] == "Level 2"
    assert samples[0].messages[0]["content"].endswith("put your final answer within \\boxed{}.")


def test_a_solution_without_a_boxed_answer_is_said(tmp_path):
    rows = [{"problem": "p", "level": "Level 1", "type": "Algebra", "solution": "The answer is 5."}]
    with pytest.raises(AssayError, match=r"lacks the field .*solution"):
        _samples(_write(tmp_path, {"algebra": rows}), ["algebra"])


@pytest.mark.parametrize(("subset", "index", "answer", "verdict"), [
    # The first box is an intermediate step: a first-box extractor answers 2/4.
    ("algebra", 0, "First $\\boxed{\\frac{2}{4}}$, then adding: $\\boxed{0.75}$", "correct"),
    ("algebra", 0, "The sum is $\\boxed{\\frac{3}{5}}$", "wrong"),  # near miss
    # "x = 3 or x = -3, so x = 3": the last number is right; a first-number extractor says 2 (from x^2).
    ("algebra", 1, "From $x^2 = 9$, $x = \\pm 3$; with $x>0$, $\\boxed{x=3}$", "correct"),
    ("algebra", 1, "$\\boxed{\\pm 3}$", "wrong"),
    ("geometry", 0, "Area $= \\boxed{4 \\pi}$ square units", "correct"),
    ("geometry", 0, "Area $= \\boxed{12.57}$", "wrong"),  # a decimal approximation is not the exact answer
])
@pytest.mark.slow
def test_extraction_and_metric(tmp_path, subset, index, answer, verdict):
    samples = _samples(_write(tmp_path, {"algebra": ALGEBRA, "geometry": GEOMETRY}), [subset])
    with MathChecker(workers=1, timeout_s=20) as checker:
        judged = asyncio.run(get_benchmark("math_full").judge(samples[index], answer, finish_reason="stop",
                                                              judges=Judges(math=checker)))
    assert judged.verdict == verdict, judged
