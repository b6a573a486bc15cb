"""Reasoning and answer in one response's text: ``<think>`` blocks and gpt-oss harmony channels.

A server that parses neither leaves them in ``content``:

- ``<think>…</think>answer`` (also ``<thinking>``), as Qwen3/DeepSeek-R1 style models write;
- harmony (gpt-oss): ``<|channel|>analysis<|message|>…<|end|><|start|>assistant<|channel|>final
  <|message|>…<|return|>``. ``analysis`` and ``commentary`` (tool preambles and calls, ending in
  ``<|call|>``) are reasoning; ``final`` is the answer. A header may carry more than the channel's
  name (``commentary to=functions.f <|constrain|>json``).

:func:`split_channels` splits a whole text (eval scoring, re-scoring). :class:`AnswerStart` finds,
while a response streams, the piece where the answer begins (perf's first-answer-token mark):
markers may arrive cut across pieces, and it keeps only a few characters between calls.
"""

from __future__ import annotations

import re

HARMONY_MARKERS = ("start", "channel", "message", "end", "return", "call", "constrain")
"""The names of harmony's special tokens as they appear in text: ``<|name|>``."""
REASONING_CHANNELS = frozenset({"analysis", "commentary"})
ANSWER_CHANNEL = "final"

_THINK_OPEN = re.compile(r"<think>|<thinking>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think>|</thinking>", re.IGNORECASE)
_HARMONY_TOKEN = re.compile(r"<\|(start|channel|message|end|return|call|constrain)\|>")
_LONGEST_MARKER = max(len(f"<|{name}|>") for name in HARMONY_MARKERS)


def is_harmony(text: str) -> bool:
    """True when ``text`` holds harmony channel markers."""
    return "<|" in text and ("<|channel|>" in text or "<|message|>" in text)


def split_channels(text: str, reasoning_content: str | None = None) -> tuple[str | None, str, bool]:
    """(reasoning, answer, no_answer) of one response.

    ``reasoning_content`` from the server is reasoning as it stands. ``no_answer`` is True when the
    text opened reasoning that never led to an answer: a ``<think>`` never closed, or harmony
    messages without a ``final`` one (the model was cut off, or ended in a tool call); the answer
    is then empty, never the reasoning's last words.
    """
    text = text or ""
    if is_harmony(text):
        return _split_harmony(text, reasoning_content)
    stripped = _split_stripped_harmony(text, reasoning_content)
    if stripped is not None:
        return stripped
    reasoning_parts = [reasoning_content] if reasoning_content else []
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:
        last = closes[-1]
        reasoning_parts.append(_THINK_OPEN.sub("", text[: last.start()], count=1).strip())
        return _join(reasoning_parts), text[last.end():].strip(), False
    opened = _THINK_OPEN.search(text)
    if opened:
        reasoning_parts.append(text[opened.end():].strip())
        return _join(reasoning_parts), text[: opened.start()].strip(), True
    return _join(reasoning_parts), text.strip(), False


_STRIPPED_START = re.compile(r"\s*analysis(?=\S)")
_STRIPPED_FINAL = "assistantfinal"


def _split_stripped_harmony(text: str, reasoning_content: str | None) -> tuple[str | None, str, bool] | None:
    """Harmony whose special tokens the server dropped (vLLM's default ``skip_special_tokens``):
    ``analysis<reasoning>assistantfinal<answer>``. Taken as harmony only when the text opens with
    ``analysis`` glued to its first word AND holds ``assistantfinal``; anything else (an answer that
    starts "Analysis of …", a cut-off text without the final marker) is left as plain text, since
    nothing in it proves the channels."""
    opened = _STRIPPED_START.match(text)
    if opened is None:
        return None
    final = text.rfind(_STRIPPED_FINAL)
    if final < opened.end():
        return None
    parts = [reasoning_content] if reasoning_content else []
    parts.append(text[opened.end():final].strip())
    return _join(parts), text[final + len(_STRIPPED_FINAL):].strip(), False


def _join(parts: list[str]) -> str | None:
    return "\n".join(p for p in parts if p) or None


def _split_harmony(text: str, reasoning_content: str | None) -> tuple[str | None, str, bool]:
    reasoning: list[str] = [reasoning_content] if reasoning_content else []
    answer: list[str] = []
    state = "outside"  # outside | role | header | body
    header = ""
    channel: str | None = None
    body: list[str] = []
    saw_answer = False

    def close() -> None:
        nonlocal saw_answer
        content = "".join(body).strip()
        if channel in REASONING_CHANNELS:
            reasoning.append(content)
        else:  # "final", or a message without a channel
            saw_answer = True
            answer.append(content)
        body.clear()

    pieces = _HARMONY_TOKEN.split(text)
    # split() with one group alternates text, marker name, text, ...
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            if state == "header":
                header += piece
            elif state == "body":
                body.append(piece)
            continue
        if piece == "constrain" and state == "header":
            header += " "
            continue
        if state == "body":
            close()
        if piece == "start":
            state, channel = "role", None
        elif piece == "channel":
            state, header = "header", ""
        elif piece == "message":
            if state == "header":
                words = header.split()
                channel = words[0] if words else None
            state = "body"
        else:  # end, return, call
            state = "outside"
    if state == "body":  # cut off inside a message
        close()
    return _join(reasoning), "\n".join(a for a in answer if a), not saw_answer


WAIT = 0
"""Not known yet whether the content is plain text or opens reasoning."""
PLAIN = 1
"""Plain content: the answer began with the first piece."""
REASONING = 2
"""Inside reasoning (``<think>`` or a harmony analysis/commentary channel); no answer yet."""
ANSWER = 3
"""The answer begins in this piece."""

_OPENERS = ("<think>", "<thinking>", "<|channel|>", "<|start|>")


class AnswerStart:
    """Where the answer begins in streamed content, fed piece by piece until it says ANSWER or PLAIN.

    Cheap on the common path: content that does not start with ``<`` is PLAIN at once. Only
    while reasoning is open does each piece get scanned, for the closing marker alone.
    """

    __slots__ = ("_carry", "_channel", "_header", "_mode", "_state")

    def __init__(self) -> None:
        self._mode = "start"  # start | think | after_think | harmony
        self._carry = ""
        self._state = "outside"  # harmony: outside | role | header | body
        self._header = ""
        self._channel: str | None = None

    def feed(self, piece: str) -> int:
        """WAIT, PLAIN, REASONING or ANSWER for the content seen up to and with ``piece``."""
        mode = self._mode
        if mode == "start":
            return self._start(piece)
        if mode == "harmony":
            return self._harmony(piece)
        if mode == "think":
            return self._think(piece)
        return ANSWER if piece.strip() else REASONING  # after_think: the first text after </think>

    def _start(self, piece: str) -> int:
        text = self._carry + piece
        head = text.lstrip()
        if not head:
            self._carry = text
            return WAIT
        if head[0] != "<":
            return PLAIN
        lower = head[:12].lower()
        for opener in _OPENERS:
            if lower.startswith(opener):
                self._carry = ""
                if opener.startswith("<|"):
                    self._mode = "harmony"
                    return self._harmony(head)
                self._mode = "think"
                return self._think(head[len(opener):])
        if any(opener.startswith(lower) for opener in _OPENERS):  # a marker cut short: wait for the rest
            self._carry = text
            return WAIT
        return PLAIN

    def _think(self, piece: str) -> int:
        text = self._carry + piece
        closed = _THINK_CLOSE.search(text)
        if closed is None:
            self._carry = text[-11:]  # enough to hold "</thinking" cut short
            return REASONING
        self._carry = ""
        self._mode = "after_think"
        return ANSWER if text[closed.end():].strip() else REASONING

    def _harmony(self, piece: str) -> int:
        text = self._carry + piece
        self._carry = ""
        at = 0
        size = len(text)
        while at < size:
            mark = text.find("<|", at)
            if mark < 0:
                if text.endswith("<"):
                    self._carry = "<"
                    size -= 1
                if self._text(text[at:size]):
                    return ANSWER
                return REASONING
            if self._text(text[at:mark]):
                return ANSWER
            end = text.find("|>", mark + 2)
            if end < 0:
                if size - mark < _LONGEST_MARKER:  # a marker cut short: keep it for the next piece
                    self._carry = text[mark:]
                    return REASONING
                if self._text(text[mark:mark + 2]):
                    return ANSWER
                at = mark + 2
                continue
            name = text[mark + 2:end]
            if name in HARMONY_MARKERS:
                self._marker(name)
            elif self._text(text[mark:end + 2]):
                return ANSWER
            at = end + 2
        return REASONING

    def _text(self, text: str) -> bool:
        """Take text in the current harmony state; True when it is the answer's first."""
        if not text:
            return False
        state = self._state
        if state == "header":
            self._header += text
            return False
        return state == "body" and self._channel not in REASONING_CHANNELS

    def _marker(self, name: str) -> None:
        state = self._state
        if name == "constrain":
            if state == "header":
                self._header += " "
            return
        if name == "start":
            self._state, self._channel = "role", None
        elif name == "channel":
            self._state, self._header = "header", ""
        elif name == "message":
            if state == "header":
                words = self._header.split()
                self._channel = words[0] if words else None
            self._state = "body"
        else:
            self._state = "outside"
