"""HumanEval: the canonical solutions pass in the sandbox, empty answers do not, answers are extracted."""

from __future__ import annotations

import asyncio
import time

import pytest

from assay import TaskConfig
from assay.eval import load_samples
from assay.eval.benchmarks import get_benchmark
from assay.eval.benchmarks.humaneval import build_program, extract_code
from tests.conftest import SHARED


@pytest.fixture(scope="module")
def samples():
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["humaneval"], dataset_hub="local",
                        dataset_dir=str(SHARED / "datasets"))
    return load_samples(config)["humaneval"]


def _judge_all(samples, answers, *, finish_reason="stop", concurrency=8):
    benchmark = get_benchmark("humaneval")

    async def judge_all():
        gate = asyncio.Semaphore(concurrency)

        async def one(sample, answer):
            async with gate:
                return await benchmark.judge(sample, answer, finish_reason=finish_reason)

        return await asyncio.gather(*(one(s, a) for s, a in zip(samples, answers)))

    return asyncio.run(judge_all())


def test_loads_164_samples_locally(samples):
    assert len(samples) == 164
    assert len({s.id for s in samples}) == 164 and samples[0].id == "HumanEval/0"
    first = samples[0]
    assert set(first.meta) == {"task_id", "prompt", "test", "entry_point"}
    assert first.meta["entry_point"] == "has_close_elements"
    content = first.messages[0]["content"]
    assert content.startswith("Complete the following Python function.") and first.meta["prompt"] in content
    assert content.endswith("```")


@pytest.mark.slow
def test_every_canonical_solution_scores_one(samples):
    started = time.perf_counter()
    verdicts = _judge_all(samples, [s.meta["prompt"] + s.gold for s in samples])
    failed = {s.id: v.method for s, v in zip(samples, verdicts) if v.score != 1.0}
    assert not failed
    assert all(v.verdict == "correct" and v.method == "sandbox:passed" for v in verdicts)
    assert sum(v.score for v in verdicts) / len(verdicts) == 1.0  # pass@1
    assert time.perf_counter() - started < 60


@pytest.mark.slow
def test_canonical_bodies_pass_as_continuations(samples):
    chosen = samples[::16]
    assert all(v.score == 1.0 for v in _judge_all(chosen, [s.gold for s in chosen]))


@pytest.mark.slow
def test_empty_and_useless_completions_score_zero(samples):
    chosen = samples[:5]
    for verdict in _judge_all(chosen, [""] * 5):
        assert (verdict.verdict, verdict.score) == ("wrong", 0.0)
    for verdict in _judge_all(chosen, [""] * 5, finish_reason="length"):
        assert (verdict.verdict, verdict.score) == ("truncated", 0.0)
    for verdict in _judge_all(chosen, ["    pass\n"] * 5):
        assert (verdict.verdict, verdict.score) == ("wrong", 0.0)
        assert verdict.method.startswith("sandbox:error:")


def test_a_fenced_full_function_is_extracted_and_passes(samples):
    sample = next(s for s in samples if s.id == "HumanEval/2")  # truncate_number
    answer = ("Here is the function:\n\n```python\ndef truncate_number(number: float) -> float:\n"
              "    return number % 1.0\n```\n\nIt keeps the decimal part.")
    [verdict] = _judge_all([sample], [answer])
    assert verdict.verdict == "correct" and verdict.score == 1.0
    assert verdict.extracted and verdict.extracted.startswith("def truncate_number")
    wrong = answer.replace("number % 1.0", "number")
    assert _judge_all([sample], [wrong])[0].score == 0.0


def test_a_full_function_keeps_the_prompts_imports_and_helpers(samples):
    sample = next(s for s in samples if s.id == "HumanEval/0")  # uses List from typing
    answer = ("```python\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
              "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n```")
    assert _judge_all([sample], [answer])[0].score == 1.0


@pytest.mark.slow
def test_cheating_and_runaway_answers_fail(samples):
    sample = samples[0]
    answers = ["    import sys\n    sys.exit(0)\n", "    while True:\n        pass\n",
               "    return open('/etc/passwd').read()\n"]
    benchmark = get_benchmark("humaneval")
    old = benchmark.scorer.timeout_s
    benchmark.scorer.timeout_s = 2.0
    try:
        verdicts = _judge_all([sample] * 3, answers)
    finally:
        benchmark.scorer.timeout_s = old
    assert [v.score for v in verdicts] == [0.0, 0.0, 0.0]
    assert [v.method for v in verdicts][:2] == ["sandbox:exited-early", "sandbox:timeout"]


def test_extract_code():
    assert extract_code("a\n```python\nx = 1\n```\nb\n```py\ny = 2\n```\n") == ("y = 2\n", "fenced-python")
    assert extract_code("```\nz = 3\n```") == ("z = 3\n", "fenced")
    assert extract_code("```python\ndef f():\n    return") == ("def f():\n    return", "unclosed-fence")
    assert extract_code("    return 1\n") == ("    return 1\n", "raw")
    program = build_program("import math\n\ndef f(x):\n    '''doc'''\n", "    def f(x):\n        return x\n", "f",
                            "def check(c):\n    assert c(1) == 1\n")
    assert program.startswith("import math\n\n\ndef f(x):\n    return x\n")  # dedented, after the prompt's imports
    assert program.endswith("check(f)\n")


def _judge_response(sample, response, finish_reason="stop"):
    """Through the runner's judge, as a stored response is judged: reasoning split, then the benchmark."""
    from assay.eval.judge import Judges
    from assay.eval.judging import judge_record, stored_record
    from assay.eval.records import SampleRecord

    stored = SampleRecord(key="k", benchmark="humaneval", subset=sample.subset, sample_id=sample.id, repeat=0,
                          messages=sample.messages, gold=sample.gold, response=response, finish_reason=finish_reason,
                          verdict="wrong")
    record = stored_record("humaneval", sample, 0, stored)
    return asyncio.run(judge_record(get_benchmark("humaneval"), sample, record, Judges()))


@pytest.mark.slow
def test_a_bare_function_body_keeps_its_indentation_and_joins_the_prompt(samples):
    sample = next(s for s in samples if s.id == "HumanEval/0")
    body = ("    for i, a in enumerate(numbers):\n        for b in numbers[i + 1:]:\n"
            "            if abs(a - b) < threshold:\n                return True\n    return False\n")
    record = _judge_response(sample, body)
    assert record.verdict == "correct" and record.answer_text.startswith("    for i")
    # The canonical bodies of a spread of problems, sent as a completion-style server returns them.
    chosen = samples[1::20]
    records = [_judge_response(s, s.gold) for s in chosen]
    assert [r.verdict for r in records] == ["correct"] * len(chosen)
    # Reasoning before the body is removed and the body still keeps its indentation.
    assert _judge_response(sample, "<think>nested loops will do</think>" + body).verdict == "correct"
    # A near miss stays wrong: the body returns the opposite.
    assert _judge_response(sample, body.replace("return True", "return False")).verdict == "wrong"


@pytest.mark.slow
def test_a_body_that_lost_its_first_indent_is_repaired_only_when_it_compiles(samples):
    sample = next(s for s in samples if s.id == "HumanEval/2")  # truncate_number
    assert _judge_all([sample], ["return number % 1.0\n"])[0].score == 1.0
    assert _judge_all([sample], ["result = number % 1.0\n    return result\n"])[0].score == 1.0
    assert _judge_all([sample], ["return number // 1.0\n"])[0].score == 0.0


def test_full_function_answers_with_prose_or_a_demo_keep_passing(samples):
    sample = next(s for s in samples if s.id == "HumanEval/2")
    demo = ("Sure! Here is the implementation:\n\n```python\ndef truncate_number(number: float) -> float:\n"
            "    return number - int(number)\n\n\nif __name__ == \"__main__\":\n    print(truncate_number(3.5))\n```\n\n"
            "The function subtracts the integer part.")
    assert _judge_response(sample, demo).verdict == "correct"
    usage_after = ("```python\ndef truncate_number(number: float) -> float:\n    return number % 1.0\n```\n\n"
                   "Example usage:\n\n```python\nprint(truncate_number(3.5))  # 0.5\n```")
    assert _judge_response(sample, usage_after).verdict == "correct"  # the block defining the function counts


def test_the_official_prompt_is_the_bare_function_to_complete():
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["humaneval"], dataset_hub="local",
                        dataset_dir=str(SHARED / "datasets"), prompt_style="official", limit=1)
    [sample] = load_samples(config)["humaneval"]
    assert sample.messages[0]["content"] == sample.meta["prompt"]
