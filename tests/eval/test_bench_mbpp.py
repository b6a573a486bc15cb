"""MBPP (sanitized) on synthetic rows in the hub's schema (the `sanitized` config's parquet): load, prompt,
extract, run the asserts in the sandbox, score."""

from __future__ import annotations

import asyncio

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assay import TaskConfig
from assay.eval import load_samples
from assay.eval.benchmarks import get_benchmark
from assay.eval.benchmarks.mbpp import build_program, entry_point

ROWS = [  # the sanitized config's columns: source_file, task_id, prompt, code, test_imports, test_list
    {"source_file": "Benchmark Questions Verification V2.ipynb", "task_id": 2,
     "prompt": "Write a function to find the shared elements from the given two lists.",
     "code": "def similar_elements(test_tup1, test_tup2):\n  res = tuple(set(test_tup1) & set(test_tup2))\n  return (res)",
     "test_imports": [],
     "test_list": ["assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))",
                   "assert set(similar_elements((1, 2, 3, 4),(5, 4, 3, 7))) == set((3, 4))",
                   "assert set(similar_elements((11, 12, 14, 13),(17, 15, 14, 13))) == set((13, 14))"]},
    {"source_file": "Benchmark Questions Verification V2.ipynb", "task_id": 4,
     "prompt": "Write a function to find the n largest integers from a given list of numbers, returned in descending "
               "order.",
     "code": "import heapq as hq\ndef heap_queue_largest(nums,n):\n  largest_nums = hq.nlargest(n, nums)\n"
             "  return largest_nums",
     "test_imports": [],
     "test_list": ["assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],3)==[85, 75, 65]",
                   "assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],2)==[85, 75]"]},
    {"source_file": "Benchmark Questions Verification V2.ipynb", "task_id": 7,
     "prompt": "Write a function to find all words which are at least 4 characters long in a string.",
     "code": "import re\ndef find_char_long(text):\n  return (re.findall(r\"\\b\\w{4,}\\b\", text))",
     "test_imports": ["import math"],
     "test_list": ["assert set(find_char_long('Please move back to stream')) == set(['Please', 'move', 'back', "
                   "'stream'])", "assert math.isclose(len(find_char_long('Jing Eco and Tech')), 2)"]},
]


@pytest.fixture
def data_dir(tmp_path):
    folder = tmp_path / "mbpp" / "sanitized"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(ROWS), folder / "test-00000-of-00001.parquet")
    return tmp_path


def _samples(data_dir, **args):
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["mbpp"], dataset_hub="local",
                        dataset_dir=str(data_dir), **args)
    return load_samples(config)["mbpp"]


def _judge(sample, answer, finish_reason="stop"):
    return asyncio.run(get_benchmark("mbpp").judge(sample, answer, finish_reason=finish_reason))


def test_loads_the_hub_layout_and_shows_the_tests_as_the_paper_does(data_dir):
    samples = _samples(data_dir)
    assert [s.id for s in samples] == ["2", "4", "7"]
    assert [s.meta["entry_point"] for s in samples] == ["similar_elements", "heap_queue_largest", "find_char_long"]
    assert samples[2].meta["test_imports"] == ["import math"]
    content = samples[0].messages[0]["content"]
    assert content.startswith("You are an expert Python programmer, and here is your task: Write a function to find "
                              "the shared elements")
    assert "Your code should pass these tests:\n\nassert set(similar_elements((3, 4, 5, 6)" in content
    assert all(test in content for test in ROWS[0]["test_list"]) and content.endswith("```python code block.")
    official = _samples(data_dir, prompt_style="official")[0].messages[0]["content"]
    assert official.endswith(ROWS[0]["test_list"][-1]) and "```" not in official


def test_every_reference_solution_passes_its_asserts(data_dir):
    samples = _samples(data_dir)
    verdicts = [_judge(s, f"```python\n{s.gold}\n```") for s in samples]
    assert [(v.verdict, v.method) for v in verdicts] == [("correct", "sandbox:passed")] * 3
    assert _judge(samples[2], samples[2].gold).verdict == "correct"  # unfenced: the raw text is the code


SOLUTION = "def heap_queue_largest(nums, n):\n    return sorted(nums, reverse=True)[:n]\n"


@pytest.mark.parametrize(("answer", "verdict"), [
    # Prose, the solution, then a usage demo in a second python block: the last block (what a naive extractor
    # takes) defines nothing, and run alone it fails.
    (f"Here is my solution:\n\n```python\n{SOLUTION}```\n\nExample usage:\n\n```python\n"
     "print(heap_queue_largest([1, 5, 3], 2))  # [5, 3]\n```", "correct"),
    # A demo under __main__ inside the block runs harmlessly before the asserts.
    (f"```python\n{SOLUTION}\nif __name__ == '__main__':\n    print(heap_queue_largest([4, 1], 1))\n```", "correct"),
    # The function under another name than the asserts call: wrong.
    ("```python\ndef largest(nums, n):\n    return sorted(nums, reverse=True)[:n]\n```", "wrong"),
    # Near miss: ascending order fails the first assert.
    ("```python\ndef heap_queue_largest(nums, n):\n    return sorted(nums)[-n:]\n```", "wrong"),
    # Cheating: leaving before the asserts run is a failure.
    ("```python\nimport sys\ndef heap_queue_largest(nums, n):\n    return []\nsys.exit(0)\n```", "wrong"),
])
def test_extraction_and_metric(data_dir, answer, verdict):
    sample = _samples(data_dir)[1]
    assert _judge(sample, answer).verdict == verdict


def test_test_imports_come_before_the_code_and_empty_answers_score_zero(data_dir):
    samples = _samples(data_dir)
    program = build_program("def f():\n    return 1\n", ["import math"], ["assert f() == 1"])
    assert program.startswith("import math\n") and program.endswith("assert f() == 1\n")
    # Without the row's test_imports the second assert (math.isclose) would fail: they are run.
    answer = "```python\nimport re\ndef find_char_long(text):\n    return re.findall(r'\\b\\w{4,}\\b', text)\n```"
    assert _judge(samples[2], answer).verdict == "correct"
    assert (_judge(samples[0], "").verdict, _judge(samples[0], "", "length").verdict) == ("wrong", "truncated")


def test_entry_point_is_the_function_the_solution_defines_not_a_builtin():
    assert entry_point(ROWS[0]) == "similar_elements"  # not `set`
    assert entry_point({"test_list": ["assert is_not_prime(2) == False"], "code": ""}) == "is_not_prime"
