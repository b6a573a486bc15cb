"""LiveCodeBench (code generation, lite): contest problems from LeetCode, AtCoder and Codeforces, judged by their tests.

Rows are ``livecodebench/code_generation_lite`` (a ``release_version`` of it). :func:`window` turns
``start_date``/``end_date`` (``YYYY-MM-DD``, both ends included) into a filter keeping the problems
whose ``contest_date`` falls in the window, as LiveCodeBench scores a model on problems released
after its training cut-off. The prompt is LiveCodeBench's:
the problem, then either its starter code (LeetCode: a ``class Solution`` method) or the instruction to read stdin and write
stdout, with the code in a ```` ```python ```` block.

The tests are the public ones and the private ones together, as LiveCodeBench grades; the private
tests are JSON, or base64 of zlib of a pickle of that JSON. They are decoded by :func:`safe_unpickle`,
an unpickler that resolves no global at all (only str/bytes/numbers/lists/dicts/tuples/sets/bool/None
load), never by ``pickle.loads``: a row that needs anything else is refused with a one-line error
naming it. Each test runs in :func:`assay.eval.sandbox.run_python` with a per-test time limit and
stops at the first failure:

- ``stdin`` tests: the program reads the input on its standard input; its output passes when the
  stripped lines equal the expected ones, or, line by line, when both are the same numbers
  (LiveCodeBench's grader: ``1  2`` and ``1.0 2`` pass for ``1 2``; ``a  b`` fails for ``a b``).
- ``functional`` tests: ``Solution().<func_name>(*args)`` with the input's lines as JSON arguments
  must equal the JSON output (a tuple counts as a list).

Each generation scores 1 (every test passed) or 0; ``AveragePass@1`` and ``pass@k`` come from ``repeats``.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from assay.errors import DatasetError
from assay.eval.benchmarks.base import Benchmark, DataSource, Row, Sample, Verdict
from assay.eval.benchmarks.humaneval import extract_code
from assay.eval.prompts import QuestionPrompt
from assay.eval.scorers import unanswered

if TYPE_CHECKING:
    from assay.eval.judge import Judges

SYSTEM = ("You are an expert Python programmer. You will be given a question (problem specification) and will "
          "generate a correct Python program that matches the specification and passes all tests.")
"""LiveCodeBench's system message for chat models."""
STARTER_FORMAT = ("### Format: You will use the following starter code to write the solution to the problem and "
                  "enclose your code within delimiters.\n```python\n{starter_code}\n```")
STDIN_FORMAT = ("### Format: Read the inputs from stdin solve the problem and write the answer to stdout (do not "
                "directly test on the sample inputs). Enclose your code within delimiters as follows. Ensure that "
                "when the python program runs, it reads the inputs, runs the algorithm and writes output to "
                "STDOUT.\n```python\n# YOUR CODE HERE\n```")
IMPORTS = ("from typing import *\nfrom collections import *\nfrom functools import *\nfrom itertools import *\n"
           "from heapq import *\nfrom bisect import *\nfrom math import *\nimport sys, math, heapq, bisect, "
           "collections, itertools, functools, string, re\n")
"""Put before every program, as LiveCodeBench's runner does (``List``, ``defaultdict``, ... without an import)."""


# ------------------------------------------------------------------ decoding the tests
class _NoGlobals(pickle.Unpickler):
    """Resolves no global, so no class, function or ``__reduce__`` callable can be reached."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refused global {module}.{name}")


def safe_unpickle(data: bytes) -> Any:
    """A pickle of primitive values (str, bytes, numbers, lists, dicts, tuples, sets, bool, None) and nothing
    else: anything that names a global (a class, ``os.system``, ...) raises ``pickle.UnpicklingError``."""
    return _NoGlobals(io.BytesIO(data)).load()


def decode_tests(value: Any, where: str) -> list[dict[str, str]]:
    """The test cases of a row's field: a list, JSON, or base64(zlib(pickle(JSON))) as the hub keeps
    LiveCodeBench's private tests; a one-line DatasetError naming ``where`` when they cannot be read."""
    if isinstance(value, list):
        tests = value
    elif not isinstance(value, str) or not value.strip():
        tests = []
    else:
        try:
            tests = json.loads(value)
        except ValueError:
            try:
                unpickled = safe_unpickle(zlib.decompress(base64.b64decode(value.encode("ascii"), validate=True)))
            except Exception as exc:
                raise DatasetError(f"{where}: refused, not JSON nor a pickle of plain values "
                                   f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
            if isinstance(unpickled, bytes):
                unpickled = unpickled.decode("utf-8", "replace")
            if not isinstance(unpickled, str):
                raise DatasetError(f"{where}: refused, the pickle holds {type(unpickled).__name__}, not JSON text")
            try:
                tests = json.loads(unpickled)
            except ValueError as exc:
                raise DatasetError(f"{where}: the unpickled text is not JSON ({exc})") from None
    if not isinstance(tests, list) or not all(isinstance(t, dict) and "input" in t and "output" in t for t in tests):
        raise DatasetError(f"{where}: test cases are not a list of {{input, output}}")
    return [{"input": str(t["input"]), "output": str(t["output"]), "testtype": str(t.get("testtype", "stdin"))}
            for t in tests]


def func_name(row: Row) -> str:
    """The method LeetCode's tests call (``metadata``'s ``func_name``; empty for stdin problems)."""
    metadata = row.get("metadata") or {}
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata) if metadata.strip() else {}
        except ValueError:
            metadata = {}
    return str(metadata.get("func_name") or "") if isinstance(metadata, dict) else ""


def in_window(row: Row, start_date: str | None, end_date: str | None) -> bool:
    """Whether the row's ``contest_date`` (ISO date or date-time) lies in ``[start_date, end_date]`` (days)."""
    day = str(row.get("contest_date") or "")[:10]
    return (not start_date or day >= str(start_date)[:10]) and (not end_date or day <= str(end_date)[:10])


def in_run_window(row: Row, args: Mapping[str, Any]) -> bool:
    """The benchmark's row filter: the run's ``dataset_args`` window (every row when it gives none)."""
    return in_window(row, args.get("start_date"), args.get("end_date"))


def window(args: Mapping[str, Any]) -> Callable[[Row], bool] | None:
    """The row filter of a run's ``dataset_args`` (``start_date``/``end_date``); None when neither is given."""
    start, end = args.get("start_date"), args.get("end_date")
    if not start and not end:
        return None
    return lambda row: in_window(row, start, end)


# ------------------------------------------------------------------ prompt
def question(row: Row) -> str:
    """LiveCodeBench's user prompt: the question, then its format (starter code, or stdin/stdout)."""
    starter = str(row.get("starter_code") or "")
    fmt = STARTER_FORMAT.format(starter_code=starter) if starter.strip() else STDIN_FORMAT
    return (f"### Question:\n{row['question_content']}\n\n{fmt}\n\n"
            "### Answer: (use the provided format with backticks)\n\n")


def meta(row: Row) -> dict[str, Any]:
    where = f"live_code_bench: row {row.get('question_id', '?')}"
    tests = decode_tests(row["public_test_cases"], f"{where} public_test_cases")
    tests += decode_tests(row.get("private_test_cases"), f"{where} private_test_cases")
    return {"question_id": str(row.get("question_id", "")), "platform": str(row.get("platform", "")),
            "contest_date": str(row.get("contest_date", "")), "difficulty": str(row.get("difficulty", "")),
            "func_name": func_name(row), "tests": tests}


# ------------------------------------------------------------------ judging
_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)```", re.S)
_READS_INPUT = re.compile(r"\binput\s*\(|sys\.stdin|open\(\s*0\b|fileinput")


def extract_program(text: str, functional: bool) -> str:
    """The solution's code: the last fenced block that defines ``class Solution`` (functional) or reads the
    input (stdin), not a usage demo or sample input shown after it; else HumanEval's extraction."""
    wanted = re.compile(r"^\s*class\s+Solution\b", re.M) if functional else _READS_INPUT
    matching = [body for _lang, body in _FENCE.findall(text) if wanted.search(body)]
    if matching:
        return matching[-1]
    return extract_code(text)[0]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def _numbers(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(token) for token in line.split()]
    except InvalidOperation:
        return None


def same_output(printed: str, expected: str) -> bool:
    """LiveCodeBench's stdout check: as many stripped lines, each equal, or both the same numbers."""
    got, want = _lines(printed), _lines(expected)
    if len(got) != len(want):
        return False
    for a, b in zip(got, want):
        if a == b:
            continue
        numbers_a, numbers_b = _numbers(a), _numbers(b)
        if numbers_a is None or numbers_b is None or numbers_a != numbers_b:
            return False
    return True


def functional_program(code: str, name: str, test: dict[str, str]) -> str:
    """The code, then one call of ``Solution().<name>`` on the test's JSON arguments, checked against its output."""
    return (f"{IMPORTS}\n{code}\n\nimport json as _json\n"
            f"_args = [_json.loads(_line) for _line in {test['input'].strip()!r}.split(chr(10))]\n"
            f"_expected = _json.loads({test['output']!r})\n"
            f"_got = Solution().{name}(*_args)\n"
            "_got = list(_got) if isinstance(_got, tuple) else _got\n"
            "assert _got == _expected, 'wrong answer'\n")


@dataclass
class TestCaseScorer:
    """Every test of the problem, one sandbox run each (stdin/stdout or a ``Solution`` call), first failure ends it."""

    timeout_s: float = 6.0
    """Per test, as LiveCodeBench's default."""
    memory_mb: int = 1024
    keeps_indentation: bool = False
    judged_by: str = ("the problem's public and private tests, each run in `assay.eval.sandbox` with a time "
                      "limit: stdout lines compared as LiveCodeBench does, or `Solution().<method>(...)` "
                      "checked; `pass@k` with `repeats`")

    async def score(self, sample: Sample, answer_text: str, *, finish_reason: str | None, judges: Judges) -> Verdict:
        from assay.eval.sandbox import OUTPUT_CAP, run_python

        name = sample.meta["func_name"]
        code = extract_program(answer_text, bool(name)) if answer_text.strip() else ""
        if not code.strip():
            return unanswered(None, "none", finish_reason)
        tests = sample.meta["tests"]
        if not tests:
            return Verdict("error", 0.0, code[:200], "no tests")
        for number, test in enumerate(tests):
            if test["testtype"] == "functional" and name:
                result = await run_python(functional_program(code, name, test), timeout_s=self.timeout_s,
                                          memory_mb=self.memory_mb)
                passed, why = result.passed, result.reason
                if result.reason == "error:AssertionError" and "wrong answer" in result.stderr_tail:
                    why = "wrong-answer"
            else:
                # All of an output that may match is kept (the default keeps 64 KiB); longer is wrong anyway.
                cap = OUTPUT_CAP + 2 * len(test["output"].encode())
                result = await run_python(f"{IMPORTS}\n{code}", timeout_s=self.timeout_s, memory_mb=self.memory_mb,
                                          stdin=test["input"], stdout_cap=cap)
                passed = result.passed and same_output(result.stdout_tail, test["output"])
                why = result.reason if not result.passed else "wrong-answer"
            if not passed:
                return Verdict("wrong", 0.0, code[:200], f"test {number + 1}/{len(tests)}: {why}")
        return Verdict("correct", 1.0, code[:200], f"sandbox:passed {len(tests)} tests")


BENCHMARK = Benchmark(
    name="live_code_bench",
    title="LiveCodeBench",
    description="contest problems (LeetCode, AtCoder, Codeforces) by release date, judged by their public and "
                "private tests in a sandbox (stdin/stdout and functional)",
    data=DataSource(
        hf_id="livecodebench/code_generation_lite", ms_id="livecodebench/code_generation_lite", split="test",
        hub_config="release_latest", keep_row=in_run_window, own_args=("start_date", "end_date"),
        local_files=("{split}.jsonl", "{split}-*.parquet"),
        files_doc="`live_code_bench/test.jsonl` (the hub's `test*.jsonl` of the release, concatenated)",
    ),
    prompt=QuestionPrompt(
        template=SYSTEM + "\n\n{question}",  # the system message's words first: one user message, as elsewhere
        question=question,
        gold=lambda row: "",
        sample_id=lambda row, index, subset: str(row.get("question_id") or f"{subset}/{index}"),
        meta=meta,
    ),
    scorer=TestCaseScorer(),
)
