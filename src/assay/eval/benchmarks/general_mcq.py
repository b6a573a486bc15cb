"""general_mcq: your own multiple-choice questions, no code needed.

One JSONL (or CSV) row per question: ``question``, the options as a ``choices`` list or as
columns ``A``, ``B``, ``C``, ... , and ``answer`` as a letter or a 0-based index. Point
``dataset_args={"general_mcq": {"local_path": "my.jsonl"}}`` (or a folder with ``test.jsonl``)
at it.
"""

from __future__ import annotations

from assay.eval.benchmarks.base import Benchmark, Row, your_own_data
from assay.eval.prompts import LETTERS, ChoicePrompt
from assay.eval.scorers import ChoiceScorer


def options(row: Row) -> tuple[list[str], int]:
    if isinstance(row.get("choices"), list):
        choices = [str(c) for c in row["choices"]]
    else:
        choices = [str(row[letter]) for letter in LETTERS if row.get(letter) not in (None, "")]
    if len(choices) < 2:
        raise KeyError("choices (a list, or columns A, B, ...)")
    answer = row["answer"]
    if isinstance(answer, int) or str(answer).strip().isdigit():
        index = int(answer)
    else:
        index = LETTERS.index(str(answer).strip().upper()[:1])
    if not 0 <= index < len(choices):
        raise KeyError(f"answer (out of range: {answer!r})")
    return choices, index


BENCHMARK = Benchmark(
    name="general_mcq",
    title="your own multiple-choice data",
    description="Your own multiple-choice data (JSONL/CSV: question, choices or A/B/C/D, answer)",
    data=your_own_data(),
    prompt=ChoicePrompt(options=options),
    scorer=ChoiceScorer(),
)
