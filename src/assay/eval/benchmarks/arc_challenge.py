"""ARC-Challenge: 1,172 grade-school science questions that retrieval and co-occurrence methods got wrong.

Rows are the hub's (``allenai/ai2_arc``, config ``ARC-Challenge``): ``choices: {text, label}``
and ``answerKey``. Labels are ``A``-``E`` on most rows and ``1``-``4`` on some, with three to
five options; assay shows every row's options lettered A, B, C, ... in the hub's order and
finds the gold letter by the position of ``answerKey`` among the labels.
"""

from __future__ import annotations

from assay.eval.benchmarks.base import Benchmark, DataSource, Row
from assay.eval.prompts import ChoicePrompt, id_field, lettered_example
from assay.eval.scorers import ChoiceScorer


def question(row: Row) -> str:
    return str(row["question"]).strip()


def options(row: Row) -> tuple[list[str], int]:
    choices = row["choices"]
    texts, labels = [str(t) for t in choices["text"]], [str(label).strip() for label in choices["label"]]
    key = str(row["answerKey"]).strip()
    if key not in labels:
        raise KeyError(f"answerKey (not one of the labels {labels}: {key!r})")
    return texts, labels.index(key)


official_example = lettered_example(options, question, question_label="Question: ")
"""A few-shot example as the ``Question: … / Answer: X`` prompt shows it."""



BENCHMARK = Benchmark(
    name="arc_challenge",
    title="ARC-Challenge",
    description="ARC-Challenge: 1,172 grade-school science questions with 3-5 options (Clark et al., AI2)",
    data=DataSource(
        hf_id="allenai/ai2_arc", ms_id="modelscope/ai2_arc", hub_config="ARC-Challenge", split="test",
        few_shot_split="train",
        local_files=("ARC-Challenge/{split}-*.parquet", "{split}-*.parquet", "{split}.jsonl",
                     "ARC-Challenge-{split}.jsonl", "ARC-Challenge/ARC-Challenge-{split}.jsonl"),
        files_doc="`arc_challenge/ARC-Challenge/test-*.parquet` (the hub's layout) or `test.jsonl`",
    ),
    prompt=ChoicePrompt(options=options, question=question, sample_id=id_field("id"), few_shot_example=official_example),
    scorer=ChoiceScorer(),
    judged_by="the chosen letter (options lettered A, B, ... whatever the hub's labels); no reference generative "
              "prompt exists (the paper scored retrieval systems), so both styles use simple-evals' template",
)
