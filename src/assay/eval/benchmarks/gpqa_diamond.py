"""GPQA Diamond: 198 graduate-level four-option questions; options shuffled per repeat by a seeded RNG.

Its authors ask that the questions not be republished in plain text, so no copy ships here:
it loads from the hub (gated: accept the terms on Hugging Face first) or a local folder.
"""

from __future__ import annotations

from assay.eval.benchmarks.base import Benchmark, DataSource, Row
from assay.eval.prompts import ChoicePrompt, id_field
from assay.eval.scorers import ChoiceScorer


def question(row: Row) -> str:
    return str(row["Question"]).strip()


def options(row: Row) -> tuple[list[str], int]:
    # The hub keeps the correct answer first; the prompt's shuffle puts it into place per repeat.
    choices = [row["Correct Answer"], row["Incorrect Answer 1"], row["Incorrect Answer 2"], row["Incorrect Answer 3"]]
    return [str(o).strip() for o in choices], 0



BENCHMARK = Benchmark(
    name="gpqa_diamond",
    title="GPQA-Diamond",
    description="GPQA Diamond: 198 'Google-proof' graduate science questions, 4 options shuffled per repeat",
    data=DataSource(
        hf_id="Idavidrein/gpqa", ms_id="AI-ModelScope/gpqa_diamond", hub_config="gpqa_diamond", split="train",
        local_files=("gpqa_diamond.csv", "gpqa_diamond.jsonl", "{split}.jsonl", "{split}-*.parquet", "{split}.csv"),
        files_doc="`gpqa_diamond/gpqa_diamond.csv` (the hub's columns)",
    ),
    prompt=ChoicePrompt(options=options, question=question, sample_id=id_field("Record ID"), shuffle=True),
    scorer=ChoiceScorer(),
    judged_by="the chosen letter, asked as `ANSWER: X`; the options in a seeded order for every repeat (recorded "
              "per sample and repeat)",
)
