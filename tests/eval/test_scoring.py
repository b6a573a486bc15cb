"""The scorer table of issue 3: extraction and equivalence, case by case."""

from __future__ import annotations

import pytest

from assay.eval.scoring import MathChecker, extract_final_answer, split_reasoning


@pytest.fixture(scope="module")
def checker():
    with MathChecker(workers=1, timeout_s=20) as c:
        yield c


def score(checker, response: str, gold: str, reasoning: str | None = None) -> bool:
    _reasoning, answer_text, _unclosed = split_reasoning(response, reasoning)
    answer, _method = extract_final_answer(answer_text)
    if answer is None:
        return False
    return checker.equivalent(gold, answer)[0]


@pytest.mark.parametrize(
    ("response", "gold", "expected"),
    [
        (r"So the result is \boxed{070}.", "70", True),
        (r"\boxed{25}", "025", True),
        ("Adding up, the final answer is 70.", "70", True),
        (r"\boxed{\text{70}}", "70", True),
        (r"\boxed{1,000}", "1000", True),
        (r"\boxed{10\%}", "10", True),
        (r"\boxed{\frac{1}{2}}", "0.5", True),
        (r"\boxed{\dfrac{3}{4}}", r"\frac{3}{4}", True),
        (r"\boxed{3/4}", r"\frac{3}{4}", True),
        (r"\boxed{\frac{2}{3}}", r"\frac{3}{4}", False),
        (r"\boxed{[1, 3)}", r"[1,3)", True),
        (r"\boxed{(-\infty, 2]}", r"(-\infty,2]", True),
        (r"\boxed{(1, 3]}", r"[1,3)", False),
        (r"\boxed{2\sqrt{2}}", r"\sqrt{8}", True),
        (r"First \boxed{12}, then corrected: \boxed{13}", "13", True),
        (r"\boxed{\boxed{5}}", "5", True),
        ("I think it is 70 but I am unsure", "70", False),  # no boxed answer, no final-answer phrase
        (r"<think>the answer is \boxed{70}", "70", False),  # unclosed think: all reasoning, no answer
        (r"<think>maybe \boxed{69}</think>The answer is \boxed{70}.", "70", True),
        (r"<think>\boxed{70}</think>I give up.", "70", False),  # boxed only inside reasoning
        (r"\boxed{71}", "70", False),
    ],
)
def test_scorer_table(checker, response, gold, expected):
    assert score(checker, response, gold) is expected


def test_reasoning_content_is_never_searched_for_the_answer(checker):
    assert score(checker, "I did not finish.", "70", reasoning=r"... so \boxed{70}") is False
    assert score(checker, r"\boxed{70}", "70", reasoning=r"... so \boxed{71}") is True


def test_split_reasoning_keeps_both_parts():
    reasoning, answer, unclosed = split_reasoning("<think>a</think>b")
    assert (reasoning, answer, unclosed) == ("a", "b", False)
    reasoning, answer, unclosed = split_reasoning("<think>a and more")
    assert (reasoning, answer, unclosed) == ("a and more", "", True)
    reasoning, answer, unclosed = split_reasoning("plain", "server reasoning")
    assert (reasoning, answer, unclosed) == ("server reasoning", "plain", False)


def test_the_checker_runs_outside_the_main_thread_with_a_hard_timeout():
    import threading

    results = []
    with MathChecker(workers=1, timeout_s=20) as c:
        thread = threading.Thread(target=lambda: results.append(c.equivalent(r"\frac{1}{2}", "0.5")))
        thread.start()
        thread.join()
    assert results == [(True, "math-verify")]


def test_a_check_that_takes_too_long_is_stopped_and_counted(monkeypatch):
    import assay.eval.scoring.mathcheck as module

    with MathChecker(workers=1, timeout_s=0.5) as c:
        future = c._get_pool().schedule(_sleep, args=(30,), timeout=0.5)
        with pytest.raises(TimeoutError):
            future.result()
    assert module  # the pool survived the killed worker and closed cleanly


def _sleep(seconds: float) -> None:
    import time

    time.sleep(seconds)


def _judge(checker, name: str, gold: str, text: str, finish_reason: str = "stop"):
    import asyncio

    from assay.eval.benchmarks import Sample, get_benchmark

    sample = Sample(id="q", subset="main", messages=[], gold=gold, question="?")
    return asyncio.run(get_benchmark(name).judge(sample, text, finish_reason=finish_reason, checker=checker))


GSM8K_CUT = ("Janet's ducks lay 16 eggs per day. She eats 3 for breakfast, so 16 - 3 = 13 remain.\n\n"
             "She bakes muffins with 4, so 13 - 4 = 9 eggs are left to sell. At $2 each she makes")


def test_a_cut_off_answer_without_a_final_marker_is_truncated_whatever_a_fallback_finds(checker):
    cut = _judge(checker, "gsm8k", "18", GSM8K_CUT, "length")
    assert (cut.verdict, cut.score) == ("truncated", 0.0) and cut.method == "last-number/cut-off"
    # The same text that stopped on its own is judged by the fallback (and is wrong: 2 is not 18).
    assert _judge(checker, "gsm8k", "18", GSM8K_CUT, "stop").verdict == "wrong"
    # A final-answer marker before the cut counts.
    marked = GSM8K_CUT.replace("At $2 each she makes", "9 × $2 = $18.\n#### 18\n\nTo double-check, we")
    assert _judge(checker, "gsm8k", "18", marked, "length").verdict == "correct"
    boxed = "So she makes 9 × 2 = \\boxed{18} dollars.\n\nLet me verify the subtraction once more: 16 - 3"
    assert _judge(checker, "gsm8k", "18", boxed, "length").verdict == "correct"


def test_a_marker_with_nothing_after_it_is_no_answer(checker):
    answer, method = extract_final_answer("After all that work, the Answer is.")
    assert (answer, method) == (None, "no-answer")
    verdict = _judge(checker, "math_500", "18", "We simplify step by step.\n\nSo the Answer is.")
    assert (verdict.verdict, verdict.extracted, verdict.method) == ("wrong", None, "no-answer")


@pytest.mark.parametrize(("text", "gold", "verdict"), [
    # Several boxes that together give the answer.
    ("Factoring, (x - 3)(x - 5) = 0.\n\nSo the roots are $\\boxed{3}$ and $\\boxed{5}$.", "3, 5", "correct"),
    ("Factoring, (x - 3)(x - 5) = 0.\n\nSo the roots are $\\boxed{3}$ and $\\boxed{6}$.", "3, 5", "wrong"),
    # An intermediate box in an earlier paragraph does not join the final one.
    ("First, $\\boxed{3}$ is the discriminant's root.\n\nThe answer is $\\boxed{5}$.", "3, 5", "wrong"),
    # A GSM8K-style final line in a math benchmark.
    ("Each box holds 6 and there are 3 boxes, so 6 × 3 = 18.\n#### 18", "18", "correct"),
    ("Each box holds 6 and there are 3 boxes, so 6 × 3 = 18.\n#### 19", "18", "wrong"),
    # Dollars and cents for a whole-dollar gold.
    ("She earns 9 × 2 dollars.\n\nThe final answer is $\\boxed{\\$18.00}$", "18", "correct"),
    ("She earns 9 × 2 dollars.\n\nThe final answer is $\\boxed{\\$18.50}$", "18", "wrong"),
])
def test_answers_a_careful_grader_accepts(checker, text, gold, verdict):
    assert _judge(checker, "math_500", gold, text).verdict == verdict


def test_math_verify_says_nothing_on_stderr():
    import subprocess
    import sys

    code = ("from assay.eval.scoring import MathChecker\n"
            "with MathChecker(workers=1, timeout_s=20) as c:\n"
            "    print(c.equivalent(r'\\frac{1}{2}', r'\\sqrt{0.25}'))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "math-verify" in done.stdout
    assert "Timeout is disabled" not in done.stderr and done.stderr.strip() == ""
