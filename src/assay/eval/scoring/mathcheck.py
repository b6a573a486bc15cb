"""Is a predicted math answer equivalent to the gold one?

Cheap normalisation decides the easy cases in-process (``070`` = ``70``, ``1,000`` = ``1000``,
``\\text{70}`` = ``70``, ``10\\%`` = ``10``). Everything else goes to math-verify in a pool of
worker processes (pebble): each check has a hard timeout enforced by killing the worker, so
it works from any thread or event loop (no ``signal`` tricks) and a pathological
expression cannot hang a run.
"""

from __future__ import annotations

import asyncio
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

    def equivalent(self, gold: str, predicted: str) -> tuple[bool, str]:
        """(equal, how) — ``how`` is ``normalized``, ``math-verify`` or ``timeout``."""
        decided = self.quick(gold, predicted)
        if decided is not None:
            return decided, "normalized"
        future = self._get_pool().schedule(_verify_in_worker, args=(gold, predicted), timeout=self.timeout_s)
        try:
            return bool(future.result()), "math-verify"
        except (FutureTimeout, TimeoutError):
            self.timeouts += 1
            return False, "timeout"
        except Exception:  # a crash inside sympy: not equal, and say why
            return False, "checker-error"

    async def equivalent_async(self, gold: str, predicted: str) -> tuple[bool, str]:
        decided = self.quick(gold, predicted)
        if decided is not None:
            return decided, "normalized"
        future = self._get_pool().schedule(_verify_in_worker, args=(gold, predicted), timeout=self.timeout_s)
        try:
            return bool(await asyncio.wrap_future(future)), "math-verify"
        except (FutureTimeout, TimeoutError):
            self.timeouts += 1
            return False, "timeout"
        except Exception:
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
