"""general_mcq: your own multiple-choice questions, no code needed.

One JSONL (or CSV) row per question: ``question``, the options as a ``choices`` list or as
columns ``A``, ``B``, ``C``, ... , and ``answer`` as a letter or a 0-based index. Point
``dataset_args={"general_mcq": {"local_path": "my.jsonl"}}`` (or a folder with ``test.jsonl``)
at it.
"""

from __future__ import annotations

from typing import Any

from assay.eval.benchmarks._choice import LETTERS, MultipleChoiceBenchmark


class GeneralMCQ(MultipleChoiceBenchmark):
    name = "general_mcq"
    description = "Your own multiple-choice data (JSONL/CSV: question, choices or A/B/C/D, answer)"
    hf_id = "-"
    ms_id = "-"
    local_files = ("{split}.jsonl", "{split}.csv", "{split}.json", "*.jsonl", "*.csv")

    def options(self, row: dict[str, Any]) -> tuple[list[str], int]:
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


BENCHMARK = GeneralMCQ()
