"""MBPP (sanitized): 427 crowd-sourced Python problems (257 in the test split), judged by their asserts in a sandbox.

The prompt is the paper's (Austin et al., 2021): the task, then "Your code should pass these
tests:" with the problem's three asserts, so the model learns the function's name and signature
from them; the default asks for the code in a ```` ```python ```` block, ``prompt_style="official"``
sends the paper's sentence alone. Judging takes the fenced block that defines the function the
asserts call (HumanEval's extraction: a usage demo after the solution is not taken for it), else the
last python block, else the raw text; the program is the row's ``test_imports``, that code and the
asserts, run by :func:`assay.eval.sandbox.run_python`. Each generation scores 1 or 0;
``AveragePass@1`` and ``pass@k`` come from ``repeats``.
"""

from __future__ import annotations

import re
from typing import Any

from assay.eval.benchmarks.base import Benchmark, DataSource, Row, Sample
from assay.eval.benchmarks.humaneval import UnitTestScorer
from assay.eval.prompts import QuestionPrompt

_DEFINED = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(", re.M)
_CALLED = re.compile(r"([A-Za-z_]\w*)\s*\(")


def tests_of(row: Row) -> list[str]:
    """The row's asserts (``test_list``), as lines of code."""
    return [str(test).strip() for test in row["test_list"]]


def question(row: Row) -> str:
    """The task and its asserts, as the paper shows them."""
    return f"{str(row['prompt']).strip()} Your code should pass these tests:\n\n" + "\n".join(tests_of(row))


def entry_point(row: Row) -> str:
    """The function the asserts call: a function the reference solution defines and the first assert calls
    (``assert set(similar_elements(...))``: ``similar_elements``, not ``set``), else the first call."""
    first = tests_of(row)[0] if tests_of(row) else ""
    called = [name for name in _CALLED.findall(first) if name != "assert"]
    defined = set(_DEFINED.findall(str(row.get("code") or "")))
    return next((name for name in called if name in defined), called[0] if called else "")


def meta(row: Row) -> dict[str, Any]:
    """What the scorer needs: the asserts, their imports and the function they call."""
    return {"task_id": str(row["task_id"]), "test_list": tests_of(row),
            "test_imports": [str(line) for line in row.get("test_imports") or []], "entry_point": entry_point(row)}


def build_program(code: str, test_imports: list[str], tests: list[str]) -> str:
    """The program run in the sandbox: the test imports, the answer's code, then every assert."""
    return "\n".join([*test_imports, "", code, "", *tests, ""])


def assert_program(sample: Sample, code: str) -> str:
    """MBPP's program: the problem's test imports, the answer's code, then its asserts."""
    return build_program(code, sample.meta["test_imports"], sample.meta["test_list"])


BENCHMARK = Benchmark(
    name="mbpp",
    title="MBPP (sanitized)",
    description="Mostly Basic Python Problems, the hand-verified (sanitized) test split, judged by their asserts "
                "in a sandbox",
    data=DataSource(
        hf_id="google-research-datasets/mbpp", ms_id="google-research-datasets/mbpp", split="test",
        hub_config="sanitized",
        local_files=("{config}/{split}-*.parquet", "{config}/{split}.jsonl", "{split}.jsonl", "{split}-*.parquet",
                     "sanitized-mbpp.json"),
        files_doc="`mbpp/sanitized/test-*.parquet`",
    ),
    prompt=QuestionPrompt(
        template=("You are an expert Python programmer, and here is your task: {question}\n\n"
                  "Write the function in a ```python code block."),
        # The paper's prompt, zero-shot.
        official_template="You are an expert Python programmer, and here is your task: {question}",
        question=question,
        gold=lambda row: str(row["code"]),
        sample_id=lambda row, index, subset: str(row["task_id"]),
        meta=meta,
    ),
    scorer=UnitTestScorer(
        program=assert_program,
        judged_by="the problem's asserts (with its `test_imports`), run in `assay.eval.sandbox` (time and memory "
                  "limits, no network, a throw-away directory); `pass@k` with `repeats`",
    ),
)
