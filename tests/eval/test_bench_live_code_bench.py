"""LiveCodeBench on synthetic rows in the hub's schema (code_generation_lite's JSONL): load, decode the private tests
safely, prompt, extract, run stdin/stdout and functional tests in the sandbox, score."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import pickle
import zlib

import pytest

from assay import TaskConfig
from assay.errors import AssayError
from assay.eval import load_samples
from assay.eval.benchmarks import get_benchmark
from assay.eval.benchmarks.live_code_bench import (
    decode_tests,
    extract_program,
    in_window,
    safe_unpickle,
    same_output,
    window,
)
from assay.eval.sandbox import run_python


def _private(tests: list[dict[str, str]]) -> str:
    """As the hub keeps private tests: base64(zlib(pickle(JSON text)))."""
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


SUM_TESTS = [{"input": "3\n1 2 3\n", "output": "6\n", "testtype": "stdin"}]
SUM_PRIVATE = [{"input": "2\n10 -4\n", "output": "6\n", "testtype": "stdin"},
               {"input": "1\n7\n", "output": "7\n", "testtype": "stdin"}]
PAIR_TESTS = [{"input": "2 3\n", "output": "5 6\n", "testtype": "stdin"}]
TWO_SUM_TESTS = [{"input": "[2, 7, 11, 15]\n9", "output": "[0, 1]", "testtype": "functional"}]
TWO_SUM_PRIVATE = [{"input": "[3, 2, 4]\n6\n", "output": "[1, 2]", "testtype": "functional"}]

ROWS = [  # code_generation_lite's columns (metadata and the public tests are JSON text)
    {"question_title": "Sum", "question_content": "Given N and N integers, print their sum.", "platform": "atcoder",
     "question_id": "abc001_a", "contest_id": "abc001", "contest_date": "2024-09-01T00:00:00",
     "starter_code": "", "difficulty": "easy", "public_test_cases": json.dumps(SUM_TESTS),
     "private_test_cases": _private(SUM_PRIVATE), "metadata": "{}"},
    {"question_title": "Pair", "question_content": "Given a and b, print a+b and a*b on one line.",
     "platform": "codeforces", "question_id": "1999A", "contest_id": "1999", "contest_date": "2024-10-15T00:00:00",
     "starter_code": "", "difficulty": "easy", "public_test_cases": json.dumps(PAIR_TESTS),
     "private_test_cases": json.dumps([]), "metadata": "{}"},
    {"question_title": "Two Sum", "question_content": "Return the indices of the two numbers adding to target.",
     "platform": "leetcode", "question_id": "1", "contest_id": "weekly-contest-1",
     "contest_date": "2025-02-01T00:00:00",
     "starter_code": "class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n        ",
     "difficulty": "easy", "public_test_cases": json.dumps(TWO_SUM_TESTS),
     "private_test_cases": _private(TWO_SUM_PRIVATE), "metadata": json.dumps({"func_name": "twoSum"})},
]


def _write(folder, rows):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))


@pytest.fixture
def data_dir(tmp_path):
    _write(tmp_path / "live_code_bench", ROWS)
    return tmp_path


def _samples(data_dir, **args):
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["live_code_bench"],
                        dataset_hub="local", dataset_dir=str(data_dir), **args)
    return {s.id: s for s in load_samples(config)["live_code_bench"]}


def _judge(sample, answer, finish_reason="stop"):
    return asyncio.run(get_benchmark("live_code_bench").judge(sample, answer, finish_reason=finish_reason))


def test_loads_the_hub_layout_with_public_and_private_tests(data_dir):
    samples = _samples(data_dir)
    assert list(samples) == ["abc001_a", "1999A", "1"]
    assert samples["abc001_a"].meta["tests"] == SUM_TESTS + SUM_PRIVATE  # private tests decoded
    assert samples["1"].meta["func_name"] == "twoSum" and samples["1"].meta["tests"] == TWO_SUM_TESTS + TWO_SUM_PRIVATE
    stdin_prompt = samples["abc001_a"].messages[0]["content"]
    assert stdin_prompt.startswith("You are an expert Python programmer.")
    assert "### Question:\nGiven N and N integers" in stdin_prompt and "Read the inputs from stdin" in stdin_prompt
    leetcode_prompt = samples["1"].messages[0]["content"]
    assert "starter code" in leetcode_prompt and "def twoSum(self, nums: List[int]" in leetcode_prompt
    assert "stdin" not in leetcode_prompt


def test_the_release_date_window_keeps_the_problems_inside_it():
    assert [in_window(r, "2024-10-01", "2025-01-31") for r in ROWS] == [False, True, False]
    assert [in_window(r, "2024-10-15", None) for r in ROWS] == [False, True, True]  # both ends included
    assert [in_window(r, None, "2024-10-15") for r in ROWS] == [True, True, False]
    keep = window({"start_date": "2025-01-01"})
    assert keep is not None and [keep(r) for r in ROWS] == [False, False, True]
    assert window({}) is None


SUM_CODE = "n = int(input())\nprint(sum(map(int, input().split())))\n"


@pytest.mark.parametrize(("answer", "verdict"), [
    # Prose, the solution, then the sample input in a second block: a naive last-block extractor runs the input.
    (f"Read N, then the numbers.\n\n```python\n{SUM_CODE}```\n\nSample input:\n\n```python\n3\n1 2 3\n```",
     "correct"),
    # The solution, then a usage demo that calls nothing from stdin: the block that reads the input is taken.
    (f"```python\n{SUM_CODE}```\n\nTo test it:\n\n```python\nprint(sum([1, 2, 3]))  # 6\n```", "correct"),
    # A __main__ block reading the input with sys.stdin, and open(0) elsewhere: both read the real stdin.
    ("```python\nimport sys\ndef main():\n    data = sys.stdin.read().split()\n    print(sum(map(int, data[1:])))\n"
     "if __name__ == '__main__':\n    main()\n```", "correct"),
    ("```python\ndata = open(0).read().split()\nprint(sum(map(int, data[1:])))\n```", "correct"),
    # Right on the public test, wrong on a private one (it ignores negative numbers): wrong.
    ("```python\ninput()\nprint(sum(x for x in map(int, input().split()) if x > 0))\n```", "wrong"),
    # A solution that passes the public test only by printing its answer.
    ("```python\nprint(6)\n```", "wrong"),
])
def test_stdin_extraction_and_metric(data_dir, answer, verdict):
    judged = _judge(_samples(data_dir)["abc001_a"], answer)
    assert judged.verdict == verdict, judged


@pytest.mark.parametrize(("printed", "verdict"), [
    ("a, b = map(int, input().split())\nprint(a + b, a * b)", "correct"),
    ("a, b = map(int, input().split())\nprint(f'  {a + b}   {a * b}  ')\nprint()", "correct"),  # spaces, blank end
    ("a, b = map(int, input().split())\nprint(f'{a + b:.1f} {a * b}')", "correct"),  # 5.0 is the number 5
    ("a, b = map(int, input().split())\nprint(a + b)\nprint(a * b)", "wrong"),  # two lines, not one
    ("a, b = map(int, input().split())\nprint(a + b, a * b, 0)", "wrong"),
])
def test_stdout_is_compared_as_livecodebench_does(data_dir, printed, verdict):
    assert _judge(_samples(data_dir)["1999A"], f"```python\n{printed}\n```").verdict == verdict


def test_same_output_accepts_spacing_and_numbers_but_not_words():
    assert same_output("1  2\n", "1 2")
    assert same_output("1.50 2", "1.5 2.0")
    assert not same_output("a  b", "a b")  # not numbers: the line must match exactly after strip
    assert not same_output("Yes", "yes")


TWO_SUM = ("class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n"
           "        seen = {}\n        for i, x in enumerate(nums):\n            if target - x in seen:\n"
           "                return [seen[target - x], i]\n            seen[x] = i\n")


@pytest.mark.parametrize(("answer", "verdict"), [
    (f"Use a hash map.\n\n```python\n{TWO_SUM}```\n\nExample:\n\n```python\n"
     "print(Solution().twoSum([2, 7], 9))\n```", "correct"),  # the demo block after it is not the solution
    (f"```python\n{TWO_SUM.replace('[seen[target - x], i]', '(seen[target - x], i)')}```", "correct"),  # a tuple
    (f"```python\n{TWO_SUM.replace('[seen[target - x], i]', '[i, seen[target - x]]')}```", "wrong"),  # near miss
    ("```python\nclass Solution:\n    def two_sum(self, nums, target):\n        return [0, 1]\n```", "wrong"),
])
def test_functional_extraction_and_metric(data_dir, answer, verdict):
    judged = _judge(_samples(data_dir)["1"], answer)
    assert judged.verdict == verdict, judged


def test_a_runaway_program_hits_the_per_test_time_limit(data_dir):
    scorer = get_benchmark("live_code_bench").scorer
    old = scorer.timeout_s
    scorer.timeout_s = 1.0
    try:
        judged = _judge(_samples(data_dir)["abc001_a"], "```python\nwhile True:\n    pass\n```")
    finally:
        scorer.timeout_s = old
    assert (judged.verdict, judged.method) == ("wrong", "test 1/3: timeout")
    empty = _samples(data_dir)["abc001_a"]
    assert (_judge(empty, "").verdict, _judge(empty, "", "length").verdict) == ("wrong", "truncated")


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch /tmp/assay-lcb-pwned",))


def test_a_malicious_pickle_is_refused_and_nothing_runs(tmp_path):
    marker = "/tmp/assay-lcb-pwned"
    if os.path.exists(marker):
        os.remove(marker)
    blob = base64.b64encode(zlib.compress(pickle.dumps(_Exploit()))).decode()
    with pytest.raises(pickle.UnpicklingError, match="refused global"):
        safe_unpickle(zlib.decompress(base64.b64decode(blob)))
    with pytest.raises(AssayError, match="row evil private_test_cases: refused") as refused:
        decode_tests(blob, "live_code_bench: row evil private_test_cases")
    assert "\n" not in str(refused.value)
    # Through loading: the row is named and the run stops with one line; nothing was executed.
    row = dict(ROWS[0], question_id="evil", private_test_cases=blob)
    _write(tmp_path / "live_code_bench", [row])
    with pytest.raises(AssayError, match="row evil private_test_cases: refused"):
        _samples(tmp_path)
    assert not os.path.exists(marker)
    # A pickle of a non-text value (a plain list) is refused too: the hub's blobs hold JSON text.
    listed = base64.b64encode(zlib.compress(pickle.dumps([1, 2]))).decode()
    with pytest.raises(AssayError, match="holds list, not JSON text"):
        decode_tests(listed, "row x")


def test_a_valid_blob_and_plain_json_decode():
    assert decode_tests(_private(SUM_PRIVATE), "row") == SUM_PRIVATE
    assert decode_tests(json.dumps(SUM_TESTS), "row") == SUM_TESTS
    assert safe_unpickle(pickle.dumps({"a": [1, 2.5, None, True, b"x", (3,)]})) == {"a": [1, 2.5, None, True, b"x",
                                                                                     (3,)]}
    assert extract_program("```python\nprint(1)\n```", functional=False) == "print(1)\n"


def test_the_sandbox_passes_stdin_to_the_program():
    result = asyncio.run(run_python("import sys\nprint(sys.stdin.read().upper(), end='')", stdin="abc\ndef\n"))
    assert result.passed and result.stdout_tail == "ABC\nDEF\n"
    assert asyncio.run(run_python("input()")).reason == "error:EOFError"  # no stdin given: /dev/null


def test_an_output_longer_than_the_sandbox_default_is_compared_whole(tmp_path):
    count = 30000  # about 170 KB of output, beyond the 64 KiB the sandbox keeps by default
    tests = [{"input": f"{count}\n", "output": "\n".join(str(i) for i in range(count)) + "\n", "testtype": "stdin"}]
    row = dict(ROWS[1], question_id="big", public_test_cases=json.dumps(tests))
    _write(tmp_path / "live_code_bench", [row])
    sample = _samples(tmp_path)["big"]
    right = "```python\nprint('\\n'.join(map(str, range(int(input())))))\n```"
    assert _judge(sample, right).verdict == "correct"
    assert _judge(sample, right.replace("range(int(input()))", "range(1, int(input()))")).verdict == "wrong"


def test_a_run_scores_only_the_problems_in_its_window(data_dir):
    window_args = {"live_code_bench": {"start_date": "2024-10-01", "end_date": "2025-01-31"}}
    inside = _samples(data_dir, dataset_args=window_args)
    assert len(inside) == 1 and len(_samples(data_dir)) == len(ROWS)


def test_a_window_for_a_benchmark_without_dates_is_refused():
    from assay import TaskConfig
    from assay.errors import ConfigError

    with pytest.raises(ConfigError, match=r"dataset_args.gsm8k.start_date: gsm8k has no use for it"):
        TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["gsm8k"],
                   dataset_args={"gsm8k": {"start_date": "2025-01-01"}})
