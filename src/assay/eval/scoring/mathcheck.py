"""Is a predicted math answer equivalent to the gold one?

Cheap normalisation decides the easy cases in-process (``070`` = ``70``, ``1,000`` = ``1000``,
``\\text{70}`` = ``70``, ``10\\%`` = ``10``), and a number stated with its unit or in a sentence
for a numeric gold (``120 ml``, ``€77``, ``Seth is 16 years old``: :func:`stated_number`).
Everything else goes to math-verify in a pool of
worker processes (pebble): each check has a hard timeout enforced by killing the worker, so
it works from any thread or event loop (no ``signal`` tricks) and a pathological
expression cannot hang a run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

_TEXT = re.compile(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}")
_SPACES = re.compile(r"\s+|\\[,;:! ]|\\quad|\\qquad")


def normalize_simple(answer: str) -> str:
    """A canonical form for plain answers; math-verify handles the rest."""
    value = answer.strip().strip("$").strip()
    value = value.replace("\\$", "")  # a currency sign is not part of the value: \$18.00 = 18
    value = _TEXT.sub(r"\1", value)
    value = _SPACES.sub("", value)
    value = value.replace("\\%", "").replace("%", "").replace("^\\circ", "").replace("^{\\circ}", "")
    value = value.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\left", "").replace("\\right", "")
    value = value.rstrip(".")
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", value):
        value = value.replace(",", "")
    if re.fullmatch(r"-?\d+", value):
        value = str(int(value))  # 070 -> 70, -0 -> 0
    elif re.fullmatch(r"-?\d*\.\d+", value):
        value = repr(float(value)).rstrip("0").rstrip(".") if "e" not in repr(float(value)) else value
    return value


_NUMERIC = re.compile(r"-?\d+(?:\.\d+)?")
_UNIT_POWER = re.compile(r"(?<=[^\W\d_])\^\{?[23]\}?")  # ft^2, cm^{3}: part of the unit, not a number
_FRAC = re.compile(r"\\[dt]?frac\{(\d+)\}\{(\d+)\}")
_MARKUP = re.compile(r"\\(?:text|textbf|textit|textrm|mathrm|mbox)\s*\{([^{}]*)\}")
_LATEX_SPACE = re.compile(r"\\[,;:! ]|\\quad|\\qquad|~")
_CURRENCY = re.compile(r"\\\$|\\euro\b|[$€£¥]")
_WORD_NUMBER = re.compile(r"(?<![\d.])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|(?<![\d.])-?\d+(?:\.\d+)?(?:/\d+)?(?![\d])")
# What may surround the number: words (units, a sentence), spaces and punctuation; no operator or command.
_WORDS_ONLY = re.compile(r"(?:[^\W\d_]|[\s/.,:;'’!?°()\-])*")


def stated_number(answer: str) -> float | None:
    """The one number of an answer that states it with a unit or in a sentence, else None.

    ``120 ml``, ``5 centimeters``, ``72Mb/hour``, ``68 ft^2``, ``€77``, ``Seth is 16 years old``,
    ``16 \\text{ years}``, ``1/2 cup`` (a simple fraction is one number). None for anything that is
    math (``2x``, ``x = 16``, ``16\\pi``: an operator, a command or only one-letter names: math-verify
    decides) and for a plain number (normalisation decides). Several different numbers
    (``16 or 17``, ``2:00 pm``) give ``nan``: no single number is stated, so it equals no gold.
    """
    text = answer.strip().strip("$").strip()
    previous = None
    while previous != text:
        previous, text = text, _MARKUP.sub(r"\1", text)
    text = _FRAC.sub(r"\1/\2", _LATEX_SPACE.sub(" ", text))
    had_currency = _CURRENCY.search(text) is not None
    text = _UNIT_POWER.sub("", _CURRENCY.sub(" ", text)).replace("\\%", "%")
    numbers = _WORD_NUMBER.findall(text)
    if not numbers:
        return None
    rest = _WORD_NUMBER.sub(" ", text)
    words = re.findall(r"[^\W\d_]+", rest)
    if not _WORDS_ONLY.fullmatch(rest) or not (had_currency or any(len(w) > 1 for w in words)):
        return None  # math (an operator, a command, one-letter names) or a plain number: not for this rule
    values = set()
    for number in numbers:
        whole, _, below = number.replace(",", "").partition("/")
        values.add(float(whole) / float(below) if below and float(below) else float(whole))
    return values.pop() if len(values) == 1 else float("nan")


def _drop_timeout_notice(record: logging.LogRecord) -> bool:
    # math-verify warns once per process that its own timeout is off: the pool's timeout is on.
    return not str(record.msg).startswith("Timeout is disabled")


def _verify_in_worker(gold: str, predicted: str) -> bool:
    """Runs in a worker process: math-verify without its signal-based timeouts."""
    for name in ("math_verify.grader", "math_verify.parser"):
        logger = logging.getLogger(name)
        if _drop_timeout_notice not in logger.filters:
            logger.addFilter(_drop_timeout_notice)
    from math_verify import parse, verify

    gold_parsed = parse(_as_latex(gold), parsing_timeout=None)  # type: ignore[arg-type]
    predicted_parsed = parse(_as_latex(predicted), parsing_timeout=None)  # type: ignore[arg-type]
    if not gold_parsed or not predicted_parsed:
        return False
    return bool(verify(gold_parsed, predicted_parsed, timeout_seconds=None))


def _as_latex(answer: str) -> str:
    answer = answer.strip()
    if "\\boxed" in answer or answer.startswith("$"):
        return answer
    return f"${answer}$"


class MathChecker:
    """Equivalence checks, fast in-process or in a worker pool with a per-check timeout."""

    def __init__(self, workers: int = 2, timeout_s: float = 10.0) -> None:
        self.workers = workers
        self.timeout_s = timeout_s
        self._pool: Any = None
        self.timeouts = 0

    def _get_pool(self) -> Any:
        if self._pool is None:
            from pebble import ProcessPool

            self._pool = ProcessPool(max_workers=self.workers)
        return self._pool

    def quick(self, gold: str, predicted: str) -> bool | None:
        """True/False when normalisation decides; None when math-verify must."""
        a, b = normalize_simple(gold), normalize_simple(predicted)
        if a == b:
            return True
        numeric = re.compile(r"-?\d+(\.\d+)?")
        if numeric.fullmatch(a) and numeric.fullmatch(b):
            return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
        return None

    def in_words(self, gold: str, predicted: str) -> bool | None:
        """For a numeric gold, whether the one number stated with a unit or in a sentence is it
        (:func:`stated_number`); None when that rule does not apply."""
        value = normalize_simple(gold)
        if not _NUMERIC.fullmatch(value):
            return None
        stated = stated_number(predicted)
        if stated is None:
            return None
        return abs(float(value) - stated) <= 1e-9 * max(1.0, abs(float(value)))  # nan equals nothing

    def by_rules(self, gold: str, predicted: str) -> tuple[bool, str] | None:
        """(equal, how) when a rule decides without sympy (``normalized``, ``number-in-words``);
        None when math-verify must."""
        decided = self.quick(gold, predicted)
        if decided is not None:
            return decided, "normalized"
        decided = self.in_words(gold, predicted)
        if decided is not None:
            return decided, "number-in-words"
        return None

    def equivalent(self, gold: str, predicted: str) -> tuple[bool, str]:
        """(equal, how) — ``how`` is ``normalized``, ``number-in-words``, ``math-verify`` or ``timeout``."""
        ruled = self.by_rules(gold, predicted)
        if ruled is not None:
            return ruled
        return self._verified(self._schedule(gold, predicted))

    async def equivalent_async(self, gold: str, predicted: str) -> tuple[bool, str]:
        """:meth:`equivalent` without blocking the event loop while math-verify runs."""
        ruled = self.by_rules(gold, predicted)
        if ruled is not None:
            return ruled
        future = self._schedule(gold, predicted)
        with contextlib.suppress(Exception):  # its outcome, a failure included, is read by _verified
            await asyncio.wrap_future(future)
        return self._verified(future)

    def _schedule(self, gold: str, predicted: str) -> Any:
        """math-verify's check, started in a worker process with the hard timeout."""
        return self._get_pool().schedule(_verify_in_worker, args=(gold, predicted), timeout=self.timeout_s)

    def _verified(self, future: Any) -> tuple[bool, str]:
        """(equal, how) from math-verify's worker: waits for it; a timeout or a crash is not equal."""
        try:
            return bool(future.result()), "math-verify"
        except (FutureTimeout, TimeoutError):
            self.timeouts += 1
            return False, "timeout"
        except Exception:  # a crash inside sympy: not equal, and say why
            return False, "checker-error"

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> MathChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
