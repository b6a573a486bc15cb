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
