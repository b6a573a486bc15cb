"""Which option a multiple-choice answer picked.

Tried in order, the last match of each pattern winning (models restate options on the way):
  1. an ``ANSWER: X`` line (the format the prompts ask for);
  2. "the answer is (X)" / "answer: X" / "the correct option is X";
  3. ``\\boxed{X}``;
  4. a bold letter ``**X**`` or ``**(X)**``;
  5. a line that is just the letter, ``X``, ``(X)``, ``X)`` or ``X.`` (possibly followed by the
     option text).
A letter outside the options never counts.
"""

from __future__ import annotations

import re

_PATTERNS = [
    ("answer-line", r"(?im)^\s*\**\s*answer\s*\**\s*[:：]\s*\**\s*\(?([A-Z])\)?(?![A-Za-z])"),
    ("answer-is", r"(?i)(?:the\s+)?(?:correct\s+|final\s+|best\s+)?(?:answer|option|choice)\s*(?:is|:)\s*"
                  r"(?:option\s+|choice\s+)?[*(\[]*\s*([A-Z])\s*[*)\]]*(?![A-Za-z])"),
    ("boxed", r"\\boxed\{\s*(?:\\text\{)?\s*\(?([A-Z])\)?\s*\}?\s*\}"),
    ("bold", r"\*\*\s*\(?([A-Z])\)?\s*[.):]?\s*\*\*"),
    ("letter-line", r"(?m)^\s*\(?([A-Z])(?:\)|\.|:|\s*$)"),
]


def extract_choice(text: str, letters: str) -> tuple[str | None, str]:
    """(letter, method), or (None, "none") when no pattern finds an allowed letter."""
    for method, pattern in _PATTERNS:
        found = [m for m in re.findall(pattern, text) if m in letters]
        if found:
            return found[-1], method
    return None, "none"
