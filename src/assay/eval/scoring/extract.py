"""Where the answer is in a response.

Reasoning is never searched for the answer: ``reasoning_content`` (vLLM-style servers)
arrives apart, and ``<think>…</think>`` in the text is cut off first. A ``<think>`` that is
never closed means the whole text is reasoning, and there is no answer.

Extraction order for math (documented in docs/eval.md):
  1. the last ``\\boxed{…}`` (or ``\\fbox{…}``), braces balanced;
  2. the last "final answer is X" / "answer: X" phrase, up to the end of its sentence;
  3. benchmark-specific fallbacks (GSM8K: ``#### X``, then the last number).
"""

from __future__ import annotations

import re

_THINK_OPEN = re.compile(r"<think>|<thinking>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think>|</thinking>", re.IGNORECASE)
_FINAL_PHRASE = re.compile(
    r"(?:final\s+answer|the\s+answer)\s*(?:is|:|=)\s*:?\s*(.+?)(?:\.\s|\.$|\n|$)", re.IGNORECASE
)
_ANSWER_LINE = re.compile(r"^\s*\**answer\**\s*[:：]\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def split_reasoning(text: str, reasoning_content: str | None = None) -> tuple[str | None, str, bool]:
    """(reasoning, answer_text, unclosed_think) of one response.

    ``reasoning_content`` from the server is reasoning as it stands. In the text, everything
    up to the last ``</think>`` is reasoning; an opened but never closed ``<think>`` makes
    the rest of the text reasoning too (the model was cut off or never finished thinking).
    """
    reasoning_parts = [reasoning_content] if reasoning_content else []
    answer = text or ""
    closes = list(_THINK_CLOSE.finditer(answer))
    if closes:
        last = closes[-1]
        inner = _THINK_OPEN.sub("", answer[: last.start()], count=1)
        reasoning_parts.append(inner.strip())
        answer = answer[last.end():]
        return "\n".join(p for p in reasoning_parts if p) or None, answer.strip(), False
    opened = _THINK_OPEN.search(answer)
    if opened:
        reasoning_parts.append(answer[opened.end():].strip())
        return "\n".join(p for p in reasoning_parts if p) or None, answer[: opened.start()].strip(), True
    return "\n".join(reasoning_parts) or None, answer.strip(), False


def extract_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{…}`` / ``\\fbox{…}`` (nested braces handled), or None."""
    best: str | None = None
    for match in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth, i = 1, match.end()
        while i < len(text) and depth:
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
            i += 1
        if depth == 0:
            best = text[match.end(): i - 1].strip()
    if best is None:  # "\boxed 5" without braces
        loose = re.findall(r"\\boxed\s+([^\s$]+)", text)
        best = loose[-1] if loose else None
    return best


def extract_final_answer(text: str) -> tuple[str | None, str]:
    """(answer, method): the last boxed answer, else the last 'final answer is' phrase."""
    boxed = extract_boxed(text)
    if boxed is not None:
        return boxed, "boxed"
    phrases = _FINAL_PHRASE.findall(text)
    if phrases:
        return _strip_wrappers(phrases[-1]), "phrase"
    lines = _ANSWER_LINE.findall(text)
    if lines:
        return _strip_wrappers(lines[-1]), "answer-line"
    return None, "none"


def last_number(text: str) -> str | None:
    """The last number in the text, thousands separators removed."""
    numbers = _NUMBER.findall(text)
    if not numbers:
        return None
    return numbers[-1].replace(",", "").rstrip(".")


def _strip_wrappers(value: str) -> str:
    value = value.strip().strip("*").strip()
    if value.startswith("$") and value.endswith("$") and len(value) > 1:
        value = value.strip("$").strip()
    return value.rstrip(".").strip()
