"""HumanEval: 164 Python functions to complete, judged by running their unit tests in a sandbox.

The prompt shows the function's signature and docstring and asks for the whole function in a
```` ```python ```` block (``prompt_style="official"``: the bare prompt, completed). Judging reads
the answer with its first line's indentation kept and takes the fenced block that defines the
entry point, else the last ```` ```python ```` (else ```` ``` ````) block, else the raw text. If that
code defines the entry point (``def <entry_point>(``), it is used as the function, after the
lines of the original prompt before the ``def`` (its imports and helper functions); otherwise it
is the body that continues the prompt, as the original harness joins them. The program is that code, the problem's ``check`` function and
``check(<entry_point>)``, run by :func:`assay.eval.sandbox.run_python` (time and memory limits,
no network, a throw-away directory). Each generation scores 1 or 0; ``AveragePass@1`` and
``pass@k`` come from ``repeats``.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assay.eval.benchmarks.base import Benchmark, DataSource, Row, Sample, Verdict
from assay.eval.prompts import QuestionPrompt
from assay.eval.scorers import unanswered

if TYPE_CHECKING:
    from assay.eval.judge import Judges

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)```", re.S)
_OPEN_FENCE = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n", re.I)


def extract_code(text: str, entry_point: str | None = None) -> tuple[str, str]:
    """(code, how): the last block that defines the entry point, else the last python block, else the
    last fenced block, else an unclosed block, else the text as it stands (a completion-style body)."""
    blocks = _FENCE.findall(text)
    if entry_point:
        defines = re.compile(rf"^[ \t]*def\s+{re.escape(entry_point)}\s*\(", re.M)
        defining = [body for _lang, body in blocks if defines.search(body)]
        if defining:  # the function, not a usage example shown after it
            return defining[-1], "fenced-function"
    python = [body for lang, body in blocks if lang.lower() in ("python", "python3", "py")]
    if python:
        return python[-1], "fenced-python"
    if blocks:
        return blocks[-1][1], "fenced"
    opened = list(_OPEN_FENCE.finditer(text))
    if opened:  # cut off before the closing fence
        return text[opened[-1].end():], "unclosed-fence"
    return text, "raw"


def compiles(source: str) -> bool:
    """Whether Python compiles the source (a candidate program, before it is run)."""
    try:
        compile(source, "<answer>", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


def _body_candidates(code: str) -> list[str]:
    """A function body as sent, then repaired: a first line that lost its indentation, or a body at column 0."""
    candidates = [code]
    lines = code.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return candidates
    indents = [len(line) - len(line.lstrip()) for line in lines[first + 1:] if line.strip()]
    if not lines[first][:1].isspace():
        later = min((n for n in indents if n > 0), default=4)
        candidates.append("\n".join([*lines[:first], " " * later + lines[first], *lines[first + 1:]]))
        candidates.append(textwrap.indent(code, "    "))
    return candidates


def build_program(prompt: str, code: str, entry_point: str, test: str) -> str:
    """The program run in the sandbox for one answer.

    Code defining the entry point replaces the prompt's function (the prompt's imports and helpers
    before it are kept). Anything else is a body joined to the prompt, as the original harness
    does (``prompt + completion``); a body that lost its indentation is re-indented when that is
    what makes it compile.
    """
    defines = re.compile(rf"^def\s+{re.escape(entry_point)}\s*\(", re.M)
    if not defines.search(code) and defines.search(textwrap.dedent(code)):
        code = textwrap.dedent(code)
    if defines.search(code):
        found = defines.search(prompt)
        preamble = prompt[: found.start()] if found else ""
        solution = preamble + "\n" + code
    else:
        candidates = [prompt + body for body in _body_candidates(code)]
        solution = next((c for c in candidates if compiles(c)), candidates[0])
    return f"{solution}\n\n{test}\n\ncheck({entry_point})\n"


def meta(row: Row) -> dict[str, Any]:
    """What the scorer needs: the prompt (joined to a body), the tests and the function's name."""
    return {"task_id": str(row["task_id"]), "prompt": str(row["prompt"]), "test": str(row["test"]),
            "entry_point": str(row["entry_point"])}


def check_program(sample: Sample, code: str) -> str:
    """HumanEval's program: the answer's function (completed from the prompt), then ``check(entry_point)``."""
    return build_program(sample.meta["prompt"], code, sample.meta["entry_point"], sample.meta["test"])


@dataclass
class UnitTestScorer:
    """The answer's code, made into a program with the problem's tests, run in
    :func:`assay.eval.sandbox.run_python`: 1 when the program exits cleanly within the limits, else 0.

    ``program`` builds it (default: HumanEval's ``check``; MBPP gives its asserts)."""

    program: Callable[[Sample, str], str] = check_program
    """The program run: from the sample and the answer's code."""
    timeout_s: float = 10.0
    memory_mb: int = 1024
    keeps_indentation: bool = True
    judged_by: str = ("the problem's tests, run in `assay.eval.sandbox` (time and memory limits, no network, pid "
                      "namespace, throw-away directory, an audit hook refusing files outside it, sockets and "
                      "processes); `pass@k` with `repeats`")

    async def score(self, sample: Sample, answer_text: str, *, finish_reason: str | None, judges: Judges) -> Verdict:
        from assay.eval.sandbox import run_python

        code, _how = extract_code(answer_text, sample.meta["entry_point"] or None) if answer_text.strip() else ("", "")
        if not code.strip():
            return unanswered(None, "none", finish_reason)
        result = await run_python(self.program(sample, code), timeout_s=self.timeout_s, memory_mb=self.memory_mb)
        return Verdict("correct" if result.passed else "wrong", float(result.passed), code[:200],
                       f"sandbox:{result.reason}")


BENCHMARK = Benchmark(
    name="humaneval",
    title="HumanEval",
    description="164 hand-written Python programming problems, judged by their unit tests in a sandbox",
    data=DataSource(
        hf_id="openai/openai_humaneval", ms_id="opencompass/humaneval", split="test",
        local_files=("HumanEval.jsonl.gz", "{split}.jsonl", "{split}-*.parquet"),
        files_doc="`humaneval/HumanEval.jsonl.gz`",
    ),
    prompt=QuestionPrompt(
        template=(
            "Complete the following Python function. Return the whole function in a ```python code block.\n\n"
            "```python\n{question}```"
        ),
        # The Codex paper's set-up: the prompt itself, continued by the model (completion style).
        official_template="{question}",
        question=lambda row: str(row["prompt"]),
        gold=lambda row: str(row["canonical_solution"]),
        sample_id=lambda row, index, subset: str(row["task_id"]),
        meta=meta,
    ),
    scorer=UnitTestScorer(),
)
