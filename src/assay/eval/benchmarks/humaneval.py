"""HumanEval: 164 Python functions to complete, judged by running their unit tests in a sandbox.

The prompt shows the function's signature and docstring and asks for the whole function in a
```` ```python ```` block. Judging takes the last ```` ```python ```` (else the last ```` ``` ````)
block of the answer, or the raw text if it has none. If that code defines the entry point
(``def <entry_point>(``), it is used as the function, after the lines of the original prompt
before the ``def`` (its imports and helper functions); otherwise it is taken as the body that
continues the prompt. The program is that code, the problem's ``check`` function and
``check(<entry_point>)``, run by :func:`assay.eval.sandbox.run_python` (time and memory limits,
no network, a throw-away directory). Each generation scores 1 or 0; ``AveragePass@1`` and
``pass@k`` come from ``repeats``.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from typing import Any

from assay.eval.benchmarks.base import Benchmark, Sample, Verdict

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)```", re.S)
_OPEN_FENCE = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n", re.I)


def extract_code(text: str) -> tuple[str, str]:
    """(code, how): the last python block, else the last fenced block, else an unclosed block, else the text."""
    blocks = _FENCE.findall(text)
    python = [body for lang, body in blocks if lang.lower() in ("python", "python3", "py")]
    if python:
        return python[-1], "fenced-python"
    if blocks:
        return blocks[-1][1], "fenced"
    opened = list(_OPEN_FENCE.finditer(text))
    if opened:  # cut off before the closing fence
        return text[opened[-1].end():], "unclosed-fence"
    return text, "raw"


def build_program(prompt: str, code: str, entry_point: str, test: str) -> str:
    """The program run in the sandbox for one answer."""
    defines = re.compile(rf"^def\s+{re.escape(entry_point)}\s*\(", re.M)
    if not defines.search(code) and defines.search(textwrap.dedent(code)):
        code = textwrap.dedent(code)
    if defines.search(code):
        found = defines.search(prompt)
        preamble = prompt[: found.start()] if found else ""
        solution = preamble + "\n" + code
    else:
        solution = prompt + code
    return f"{solution}\n\n{test}\n\ncheck({entry_point})\n"


class HumanEval(Benchmark):
    name = "humaneval"
    description = "164 hand-written Python programming problems, judged by their unit tests in a sandbox"
    hf_id = "openai/openai_humaneval"
    ms_id = "opencompass/humaneval"
    subsets = ("default",)
    split = "test"
    local_files = ("HumanEval.jsonl.gz", "{split}.jsonl", "{split}-*.parquet")
    prompt_template = (
        "Complete the following Python function. Return the whole function in a ```python code block.\n\n"
        "```python\n{question}```"
    )
    timeout_s: float = 10.0
    memory_mb: int = 1024

    def question(self, row: dict[str, Any]) -> str:
        return str(row["prompt"])

    def gold(self, row: dict[str, Any]) -> str:
        return str(row["canonical_solution"])

    def sample_id(self, row: dict[str, Any], index: int, subset: str) -> str:
        return str(row["task_id"])

    def to_sample(
        self, row: dict[str, Any], index: int, subset: str, template: str | None, few_shot: list[dict[str, Any]]
    ) -> Sample:
        sample = super().to_sample(row, index, subset, template, few_shot)
        meta = {"task_id": str(row["task_id"]), "prompt": str(row["prompt"]), "test": str(row["test"]),
                "entry_point": str(row["entry_point"])}
        return dataclasses.replace(sample, meta=meta)

    async def judge(self, sample: Sample, answer_text: str, *, finish_reason: str | None, checker: Any) -> Verdict:
        from assay.eval.sandbox import run_python

        code, _how = extract_code(answer_text) if answer_text.strip() else ("", "none")
        if not code.strip():
            return Verdict("truncated" if finish_reason == "length" else "wrong", 0.0, None, "none")
        meta = sample.meta
        program = build_program(meta["prompt"], code, meta["entry_point"], meta["test"])
        result = await run_python(program, timeout_s=self.timeout_s, memory_mb=self.memory_mb)
        return Verdict("correct" if result.passed else "wrong", float(result.passed), code[:200],
                       f"sandbox:{result.reason}")


BENCHMARK = HumanEval()
