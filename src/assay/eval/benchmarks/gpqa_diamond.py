"""GPQA Diamond: 198 graduate-level four-option questions; options shuffled per repeat by a seeded RNG.

Its authors ask that the questions not be republished in plain text, so no copy ships here:
it loads from the hub (gated: accept the terms on Hugging Face first) or a local folder.
"""

from __future__ import annotations

from typing import Any

from assay.eval.benchmarks._choice import MultipleChoiceBenchmark


class GPQADiamond(MultipleChoiceBenchmark):
    name = "gpqa_diamond"
    description = "GPQA Diamond: 198 'Google-proof' graduate science questions, 4 options shuffled per repeat"
    hf_id = "Idavidrein/gpqa"
    ms_id = "AI-ModelScope/gpqa_diamond"
    hub_config = "gpqa_diamond"
    split = "train"
    shuffle = True
    local_files = ("gpqa_diamond.csv", "gpqa_diamond.jsonl", "{split}.jsonl", "{split}-*.parquet", "{split}.csv")

    def question(self, row: dict[str, Any]) -> str:
        return str(row["Question"]).strip()

    def options(self, row: dict[str, Any]) -> tuple[list[str], int]:
        # The hub keeps the correct answer first; for_repeat() shuffles it into place.
        options = [row["Correct Answer"], row["Incorrect Answer 1"], row["Incorrect Answer 2"], row["Incorrect Answer 3"]]
        return [str(o).strip() for o in options], 0

    def sample_id(self, row: dict[str, Any], index: int, subset: str) -> str:
        return str(row.get("Record ID") or f"{subset}/{index}")


BENCHMARK = GPQADiamond()
