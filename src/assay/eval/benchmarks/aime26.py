"""AIME 2026: the 30 problems of AIME I and II 2026 (integer answers 0-999), as MathArena publishes them."""

from __future__ import annotations

from pathlib import Path

from assay.eval.benchmarks.base import Benchmark, DataSource, Row
from assay.eval.prompts import QuestionPrompt
from assay.eval.scorers import MathScorer

EVALSCOPE_TEMPLATE = (
    "\nSolve the following math problem step by step. Put your answer inside \\boxed{{}}.\n\n{question}\n\n"
    "Remember to put your answer inside \\boxed{{}}."
)
"""The prompt EvalScope's aime26 sends (``prompt_style="official"``)."""
LOCAL_FILES = ("{split}.jsonl", "test.jsonl", "data/{split}-*.parquet", "{split}-*.parquet", "data/test-*.parquet")


def sample_id(row: Row, index: int, subset: str) -> str:
    """The problem's number (MathArena's ``problem_idx``: 1-15 paper I, 16-30 paper II), else the row's id."""
    for key in ("problem_idx", "id"):
        if row.get(key) not in (None, ""):
            return str(row[key])
    return str(index + 1)


def read_rows(folder: Path | None, hub: str, dataset_id: str, subset: str | None) -> list[Row]:
    """The rows from a local folder, or the hub's one split: ``train`` on Hugging Face, ``test`` on ModelScope."""
    from assay.data.benchmark_data import find_local_file, load_from_hub
    from assay.data.benchmark_data import read_rows as read_file

    if folder is not None:
        path = folder if folder.is_file() else find_local_file(folder, LOCAL_FILES, subset="default", split="train",
                                                               config=None)
        return read_file(path)
    return load_from_hub(hub, dataset_id, config=None, split="test" if hub == "modelscope" else "train")


BENCHMARK = Benchmark(
    name="aime26",
    title="AIME 2026",
    description="American Invitational Mathematics Examination 2026, papers I and II (integer answers 0-999)",
    data=DataSource(
        hf_id="MathArena/aime_2026", ms_id="evalscope/aime26", split="train", local_files=LOCAL_FILES,
        read_rows=read_rows,
        files_doc="`aime26/train.jsonl` or `aime26/data/train-*.parquet` (MathArena's split; `test.jsonl` too)",
    ),
    prompt=QuestionPrompt(official_template=EVALSCOPE_TEMPLATE, sample_id=sample_id),
    scorer=MathScorer(),
)
