"""HellaSwag: choose the most plausible ending of an ActivityNet or WikiHow context; 10,042 validation rows.

The test split's labels are hidden, so harnesses score ``validation`` (as here). The context is
``activity_label: ctx_a Ctx_b`` and the endings are the hub's, cleaned the way lm-evaluation-harness
cleans them: the WikiHow ``[title]`` marker becomes a sentence end, any other ``[...]`` marker
(``[header]``, ``[step]``, ``[substeps]``) is removed, and doubled spaces are closed up
(then the text is stripped: it is shown on a line of its own, not appended to the context).
"""

from __future__ import annotations

import re

from assay.eval.benchmarks.base import Benchmark, DataSource, Row
from assay.eval.prompts import ChoicePrompt
from assay.eval.scorers import ChoiceScorer

_MARKER = re.compile(r"\[[^\]]*\]")


def clean(text: str) -> str:
    """The text with WikiHow's bracketed markers removed (``" [title]"`` ends a sentence), as
    lm-evaluation-harness cleans it; then stripped, since the text is shown on a line of its own."""
    text = text.strip().replace(" [title]", ". ")
    return _MARKER.sub("", text).replace("  ", " ").strip()


def question(row: Row) -> str:
    ctx_b = str(row.get("ctx_b") or "")
    context = f"{row['ctx_a']} {ctx_b[:1].upper()}{ctx_b[1:]}" if "ctx_a" in row else str(row["ctx"])
    return clean(f"{row['activity_label']}: {context}")


def options(row: Row) -> tuple[list[str], int]:
    label = str(row["label"]).strip()
    if not label.isdigit():
        raise KeyError("label (the test split's labels are hidden: use the validation split)")
    endings = [clean(str(ending)) for ending in row["endings"]]
    return endings, int(label)


def sample_id(row: Row, index: int, subset: str) -> str:
    return str(row["ind"]) if row.get("ind") not in (None, "") else f"{subset}/{index}"


TEMPLATE = (
    "Choose the most plausible continuation of the text. The last line of your response should be of the "
    "following format: 'ANSWER: $LETTER' (without quotes) where LETTER is one of {letters}. "
    "Think step by step before answering.\n\n{question}\n\n{options}"
)

BENCHMARK = Benchmark(
    name="hellaswag",
    title="HellaSwag",
    description="HellaSwag: commonsense sentence completion, 4 endings (Zellers et al.); the validation split",
    data=DataSource(
        hf_id="Rowan/hellaswag", ms_id="modelscope/hellaswag", split="validation", few_shot_split="train",
        local_files=("{split}.jsonl", "hellaswag_{split}.jsonl", "hellaswag_val.jsonl", "data/{split}-*.parquet", "{split}-*.parquet",
                     "default/{split}/*.parquet"),
        files_doc="`hellaswag/validation.jsonl` or `hellaswag_val.jsonl`-style rows (`ctx_a`, `ctx_b`, `endings`, "
                  "`label`)",
    ),
    prompt=ChoicePrompt(options=options, question=question, sample_id=sample_id, template=TEMPLATE),
    scorer=ChoiceScorer(),
    judged_by="the chosen letter; the context and endings cleaned as lm-evaluation-harness does; no reference "
              "generative prompt exists (the paper scored endings by likelihood)",
)
