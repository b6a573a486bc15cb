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
@pytest.mark.slow
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


@pytest.mark.slow
def test_the_checker_runs_outside_the_main_thread_with_a_hard_timeout():
    import threading

    results = []
    with MathChecker(workers=1, timeout_s=20) as c:
        thread = threading.Thread(target=lambda: results.append(c.equivalent(r"\frac{1}{2}", "0.5")))
        thread.start()
        thread.join()
    assert results == [(True, "math-verify")]


@pytest.mark.slow
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
    from assay.eval.judge import Judges

    sample = Sample(id="q", subset="main", messages=[], gold=gold, question="?")
    return asyncio.run(get_benchmark(name).judge(sample, text, finish_reason=finish_reason,
                                             judges=Judges(math=checker)))


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


@pytest.mark.slow
def test_math_verify_says_nothing_on_stderr():
    import subprocess
    import sys

    code = ("from assay.eval.scoring import MathChecker\n"
            "with MathChecker(workers=1, timeout_s=20) as c:\n"
            "    print(c.equivalent(r'\\frac{1}{2}', r'\\sqrt{0.25}'))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "math-verify" in done.stdout
    assert "Timeout is disabled" not in done.stderr and done.stderr.strip() == ""


# Issue 13 point 4: a response cut off by the length limit is judged only on what it finished stating.
# Working in the style of published GSM8K answers (gold 120 unless said), cut where a server's max_tokens cut it.
MILK = ("Each batch of pancakes needs 40 ml of milk, and Maria makes 3 batches for the party.\n\n"
        "So she needs 3 × 40 = 120 ml of milk in total.\n\n")


@pytest.mark.parametrize(("text", "gold"), [
    # The final box is cut before "}": the digits so far are not the answer (120, not 12) ...
    (MILK + "The final answer is \\boxed{12", "120"),
    # ... even when they happen to equal the gold (the answer may have gone on as 6210).
    ("She sold 207 cups on each of the 3 days, so 207 × 3 = 621 cups.\n\nThe final answer is \\boxed{621", "621"),
    (MILK + "Therefore, the final answer is:", "120"),
    (MILK + "The final answer is: \\[ \\bo", "120"),
    # A line break inside display math the cut left open finishes nothing.
    (MILK + "The final answer is: \n\\[\n\\bo", "120"),
    (MILK + "So the answer is \\bo", "120"),
    (MILK + "Answer: \\boxe", "120"),
    # A phrase answer the cut ends: "120." may have gone on as "120.5".
    (MILK + "The answer is 120.", "120"),
    # A Markdown heading is not a "#### answer" line; the cut is in the working after it.
    ("#### Step 1: Male fishes\nThere are 15 fishes and a third of them are male: 15 / 3 = 5.\n\n"
     "#### Total Female Fishes\nThe female fishes are 15 - 5 = 10, and each of them", "10"),
])
def test_an_answer_the_cut_runs_into_is_truncated(checker, text, gold):
    for benchmark in ("gsm8k", "math_500"):
        verdict = _judge(checker, benchmark, gold, text, "length")
        assert (verdict.verdict, verdict.score) == ("truncated", 0.0), (benchmark, verdict)


def test_a_cut_answer_that_finished_its_statement_is_scored(checker):
    # A closed box counts even as the very last thing before the cut.
    assert _judge(checker, "gsm8k", "120", MILK + "The final answer is \\boxed{120}", "length").verdict == "correct"
    assert _judge(checker, "gsm8k", "120", MILK + "The final answer is \\boxed{12}", "length").verdict == "wrong"
    # A phrase answer ended by ". " or a line break, then the cut in a double-check.
    checked = MILK + "The answer is 120. Let me double-check: 3 × 40 = 12"
    assert _judge(checker, "gsm8k", "120", checked, "length").verdict == "correct"
    assert _judge(checker, "gsm8k", "120", MILK + "Answer: 120\n\nTo verify, 40 + 40 + 4", "length").verdict == "correct"
    assert _judge(checker, "gsm8k", "120", MILK + "#### 120\n\nTo verify, 40 + 40 + 4", "length").verdict == "correct"
    # The last finished statement counts, not the one the cut runs into.
    restated = MILK + "The answer is 120.\n\nWait, let me recount the batches. The final answer is \\boxed{13"
    verdict = _judge(checker, "gsm8k", "120", restated, "length")
    assert (verdict.verdict, verdict.method) == ("correct", "phrase/normalized")


def test_what_the_cut_ran_into_is_shown_and_a_normal_stop_keeps_todays_reading(checker):
    cut = _judge(checker, "gsm8k", "120", MILK + "The final answer is \\boxed{12", "length")
    assert (cut.verdict, cut.extracted, cut.method) == ("truncated", "12", "phrase/unfinished")
    # The same text that stopped on its own (no length limit) is read as before: 12 is wrong.
    stopped = _judge(checker, "gsm8k", "120", MILK + "The final answer is \\boxed{12", "stop")
    assert (stopped.verdict, stopped.extracted) == ("wrong", "12")
    assert _judge(checker, "math_500", "120", MILK + "The answer is 120", "stop").verdict == "correct"


@pytest.mark.parametrize(("line", "answer"), [
    ("#### 18", "18"),
    ("#### $1,080", "$1,080"),
    ("#### -3.5", "-3.5"),
    ("#### \\frac{1}{2}", "\\frac{1}{2}"),
    ("#### Total Female Fishes", None),
    ("#### Step 2: 18 apples", None),
    ("#### **Step 3**", None),
])
def test_a_hashes_line_is_an_answer_only_when_it_holds_a_number(line, answer):
    text = f"She picks 6 apples on each of 3 days.\n\n{line}\nThat is 6 × 3 apples."
    found, method = extract_final_answer(text)
    assert (found if method == "hashes" else None) == answer


def test_a_markdown_heading_is_not_read_as_the_answer(checker):
    text = ("#### Step 1: Male fishes\nThere are 15 fishes and a third of them are male: 15 / 3 = 5.\n\n"
            "#### Total Female Fishes\nSo there are 15 - 5 = 10 female fishes.")
    verdict = _judge(checker, "gsm8k", "10", text)
    assert (verdict.verdict, verdict.extracted, verdict.method) == ("correct", "10", "last-number/normalized")
    # A real "#### answer" line after the headings still wins over the last number.
    assert _judge(checker, "gsm8k", "10", text + "\n#### 10\nCheck: 10 + 5 = 15.").verdict == "correct"
    assert _judge(checker, "math_500", "1080", "Nine crates at $120 each.\n#### $1,080").verdict == "correct"


# Issue 13 point 5: a number stated with its unit or in a sentence inside the box, for a numeric gold.
@pytest.mark.parametrize(("box", "gold", "verdict"), [
    ("120 ml", "120", "correct"),
    ("5 centimeters", "5", "correct"),
    ("360 girls", "360", "correct"),
    ("€77", "77", "correct"),
    ("68 ft^2", "68", "correct"),
    ("72Mb/hour", "72", "correct"),
    ("Seth is 16 years old", "16", "correct"),
    ("10 miles per hour", "10", "correct"),
    ("16 \\text{ years}", "16", "correct"),
    ("1,080 dollars", "1080", "correct"),
    ("1/2 cup", "0.5", "correct"),
    ("x = 16", "16", "correct"),
    # Near misses: another number, two numbers, a time, an expression.
    ("120 ml", "12", "wrong"),
    ("Seth is 17 years old", "16", "wrong"),
    ("16 or 17", "16", "wrong"),
    ("16 years and 2 months", "16", "wrong"),
    ("2:00 pm", "2", "wrong"),
    ("2:00 \\, \\text{pm}", "2", "wrong"),
    ("2x", "2", "wrong"),
    ("16\\pi", "16", "wrong"),
])
@pytest.mark.slow
def test_a_number_with_its_unit_or_in_a_sentence(checker, box, gold, verdict):
    text = f"First we add the parts, then we check the total against the question.\n\nThe answer is \\boxed{{{box}}}."
    for benchmark in ("gsm8k", "math_500"):
        assert _judge(checker, benchmark, gold, text).verdict == verdict, benchmark


def test_the_closing_sentence_without_a_box_is_read_by_its_last_number_a_documented_limit(checker):
    # docs/eval.md: no general rule tells the amount from a duration after it; EvalScope reads 1 too.
    text = ("She teaches 33 classes of 15 students, 495 students in all, at $15.00 each: 495 × 15 = 7425.\n\n"
            "Therefore, Judy makes $7425.00 in 1 week.")
    verdict = _judge(checker, "gsm8k", "7425", text)
    assert (verdict.verdict, verdict.extracted, verdict.method) == ("wrong", "1", "last-number/normalized")
