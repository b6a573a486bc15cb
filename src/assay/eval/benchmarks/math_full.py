"""MATH (full): the 5000 test problems of Hendrycks et al. (2021), one subset per subject.

The original ``hendrycks/competition_math`` was taken off the hub; ``EleutherAI/hendrycks_math``
(what lm-evaluation-harness reads) has the same rows with one config per subject. The gold answer
is the last ``\\boxed{}`` of the reference ``solution``, as the paper's grader takes it.
ModelScope's copy (``modelscope/competition_math``) is one table, not a config per subject, so
it is not this benchmark's hub id: with ModelScope, download it and point ``local_path`` at it.
"""

from __future__ import annotations

from assay.eval.benchmarks.base import Benchmark, DataSource, Row
from assay.eval.prompts import QuestionPrompt
from assay.eval.scorers import MathScorer

SUBJECTS = ("algebra", "counting_and_probability", "geometry", "intermediate_algebra", "number_theory",
            "prealgebra", "precalculus")


def gold(row: Row) -> str:
    """The last boxed answer of the reference solution (KeyError ``solution`` when it has none)."""
    from assay.eval.scoring.extract import extract_boxed

    answer = extract_boxed(str(row["solution"]))
    if not answer:
        raise KeyError("solution (with a \\boxed{} answer)")
    return answer


def meta(row: Row) -> dict[str, str]:
    """The difficulty level (``Level 1`` … ``Level 5``) kept with each sample."""
    return {"level": str(row.get("level", ""))}


BENCHMARK = Benchmark(
    name="math_full",
    title="MATH",
    description="The 5000 MATH test problems (7 subjects, levels 1-5), gold from the solution's last `\\boxed{}`",
    data=DataSource(
        hf_id="EleutherAI/hendrycks_math", ms_id="-", subsets=SUBJECTS, subsets_are_configs=True, split="test",
        local_files=("{subset}/{split}.jsonl", "{subset}/{split}-*.parquet", "{subset}.jsonl"),
        subsets_doc="7 subjects (hub configs): " + ", ".join(f"`{s}`" for s in SUBJECTS),
        files_doc="`math_full/<subject>/test.jsonl` or `math_full/<subject>/test-*.parquet`",
    ),
    prompt=QuestionPrompt(gold=gold, meta=meta),
    scorer=MathScorer(),
)
