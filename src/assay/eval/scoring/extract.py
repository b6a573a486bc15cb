"""Where the answer is in a response.

Reasoning is never searched for the answer: ``reasoning_content`` (vLLM-style servers)
arrives apart, and ``<think>…</think>`` in the text is cut off first. A ``<think>`` that is
never closed means the whole text is reasoning, and there is no answer.

Extraction order for math (documented in docs/eval.md):
  1. the last ``\\boxed{…}`` (or ``\\fbox{…}``), braces balanced;
  2. the last "final answer is X" / "answer: X" phrase, up to the end of its sentence;
  3. an ``Answer: X`` line;
  4. a GSM8K-style ``#### X`` line whose X is a number (``#### Total Female Fishes`` is a
     Markdown heading, not an answer);
  5. benchmark-specific fallbacks (GSM8K: the last number, never for a cut-off answer).
A marker with nothing after it ("the Answer is.") is no answer, not an empty one.

A response cut off by the length limit is searched only up to where a statement last
finished (:func:`finished_part`): "The final answer is \\boxed{12" (of 120) or "the answer is:"
that the cut runs into states nothing yet.
"""

from __future__ import annotations

import re

_THINK_OPEN = re.compile(r"<think>|<thinking>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think>|</thinking>", re.IGNORECASE)
_FINAL_PHRASE = re.compile(
    r"(?:final\s+answer|the\s+answer)\s*(?:is|:|=)\s*:?\s*(.+?)(?:\.\s|\.$|\n|$)", re.IGNORECASE
)
_ANSWER_LINE = re.compile(r"^\s*\**answer\**\s*[:：]\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
# "#### 18", "#### $1,080", "#### -3.5", "#### \\frac{1}{2}"; not "#### Step 2: 18 apples" (a heading).
_HASHES_LINE = re.compile(
    r"^[ \t]*####[ \t]*((?:\*\*|\$|\\\(|\\\[)?[ \t]*[-−+]?(?:\\\$|[$€£¥])?[ \t]*[-−]?(?:\d|\.\d|\\[dt]?frac|\\sqrt).*?)[ \t]*$",
    re.MULTILINE,
)
_SENTENCE_END = re.compile(r"[.!?](?=\s)")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def split_reasoning(text: str, reasoning_content: str | None = None) -> tuple[str | None, str, bool]:
    """(reasoning, answer_text, unclosed) of one response: see :func:`assay.client.channels.split_channels`.

    ``<think>…</think>`` and gpt-oss harmony channels (analysis/commentary are reasoning, final is
    the answer) are split alike; ``unclosed`` (reasoning never closed, or harmony with no final
    channel) means there is no answer to judge.
    """
    from assay.client.channels import split_channels

    return split_channels(text, reasoning_content)


def boxed_spans(text: str) -> list[tuple[int, int, int]]:
    """(start, content start, end) of every complete ``\\boxed{…}`` / ``\\fbox{…}`` (nested braces
    balanced; ``end`` is just past its closing ``}``), in order. An unclosed one is left out."""
    spans = []
    for match in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth, i = 1, match.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            spans.append((match.start(), match.end(), i))
    return spans


def extract_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{…}`` / ``\\fbox{…}`` (nested braces handled), or None."""
    spans = boxed_spans(text)
    best = text[spans[-1][1]: spans[-1][2] - 1].strip() if spans else None
    if best is None:  # "\boxed 5" without braces
        loose = re.findall(r"\\boxed\s+([^\s$]+)", text)
        best = loose[-1] if loose else None
    return best


def extract_final_answer(text: str) -> tuple[str | None, str]:
    """(answer, method): the last boxed answer, else the last 'final answer is' phrase, an
    ``Answer:`` line or a ``####`` line; (None, "no-answer") when none says anything."""
    boxed = extract_boxed(text)
    if boxed:
        return boxed, "boxed"
    for method, pattern in (("phrase", _FINAL_PHRASE), ("answer-line", _ANSWER_LINE), ("hashes", _HASHES_LINE)):
        found = [value for value in (_strip_wrappers(v) for v in pattern.findall(text)) if value]
        if found:
            return found[-1], method
    return None, "no-answer"


def finished_part(text: str) -> str:
    """The start of a response cut off by the length limit, up to where a statement last finished.

    A statement is finished by a line break, a sentence end followed by white space (". ", not
    the "." of "18." that may go on as "18.5") or the ``}`` that closes a ``\\boxed{…}``. What
    follows it is what the cut ran into: an answer there ("is \\boxed{12", "Answer: 1") may be
    unfinished, so it is no answer. Nor is a line break inside display math that the cut left
    open ("The final answer is:\\n\\\\[\\n\\\\bo").
    """
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    end = max(text.rfind("\n") + 1, sentence_ends[-1] if sentence_ends else 0)
    for opener, closer in (("\\[", "\\]"), ("\\(", "\\)")):
        at = text.rfind(opener, 0, end)
        if at >= 0 and text.find(closer, at + len(opener)) < 0:
            end = min(end, at)
    if text.count("$$", 0, end) % 2:
        end = text.rfind("$$", 0, end)
    return text[: max([end, *(box_end for _, _, box_end in boxed_spans(text))])]


def final_boxes(text: str) -> list[str]:
    """Every ``\\boxed{…}`` of the paragraph that holds the last one ("\\boxed{3} and \\boxed{5}")."""
    boxes = [(start, text[inside:end - 1].strip()) for start, inside, end in boxed_spans(text)]
    boxes = [(start, content) for start, content in boxes if content]
    if not boxes:
        return []
    paragraph_start = text.rfind("\n\n", 0, boxes[-1][0])
    return [content for start, content in boxes if start > paragraph_start]


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


def restore_indentation(response: str, answer_text: str) -> str:
    """``answer_text`` with the spaces that began its first line in ``response`` put back.

    Reasoning removal strips the answer; code answered as a bare function body (completion
    style) needs its first line's indentation, so code benchmarks take it from the raw text.
    """
    if not answer_text:
        return answer_text
    at = response.rfind(answer_text)
    if at < 0:
        return answer_text
    start = at
    while start > 0 and response[start - 1] in " \t":
        start -= 1
    return response[start:at] + answer_text
