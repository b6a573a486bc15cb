"""Where perf prompts come from.

- ``random``: prompts of an exact token count under the given tokenizer, uniform in
  ``[min_prompt_length, max_prompt_length]``, sharing an exact ``prefix_length``-token
  prefix within a sweep point, and fresh at every point (no KV-cache reuse across points).
- ``line_by_line``: a text file, one prompt per non-empty line.
- ``custom`` / ``openqa``: JSONL, one object per line with ``prompt`` (or ``question`` /
  ``query`` / ``text``), optionally ``max_tokens``.
- ``chat``: JSONL, one conversation per line: ``{"messages": [...]}`` or a bare list.

File datasets are cycled when a sweep point asks for more requests than they hold.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assay.client.openai import ChatOrCompletionRequest
from assay.data.tokenizers import TextTokenizer
from assay.errors import DatasetError, not_utf8

_WORD = re.compile(r" [A-Za-z]{2,14}")
_MIN_WORDS = 16


class RandomPrompts:
    """Makes prompts of exactly N tokens from the tokenizer's own whole-word tokens.

    A vocabulary entry like ``" river"`` that encodes back to itself alone is kept; with
    the pre-tokenizers real models use (split before a space), a string of such words
    encodes to exactly one token per word. Every prompt is re-encoded and checked anyway,
    and a prompt that does not come out exact is drawn again.
    """

    def __init__(self, tokenizer: TextTokenizer, *, max_words: int = 8192) -> None:
        self.tokenizer = tokenizer
        # A tokenizer from assay.perf.prompt_words brings its words, and whether they compose (a string of
        # N of them is N tokens, checked when they were kept): then prompts are exact without re-encoding.
        kept: tuple[list[str], bool] | None = getattr(tokenizer, "prompt_words", None)
        words, self.composes = kept if kept is not None else (find_whole_words(tokenizer, max_words), False)
        if len(words) < _MIN_WORDS:
            raise DatasetError(
                f"tokenizer {tokenizer.name} has only {len(words)} whole-word tokens; it cannot make random "
                "prompts of an exact length (use --dataset line_by_line or another tokenizer)"
            )
        self.words = words

    def make(self, length: int, rng: random.Random, prefix: str = "", prefix_length: int = 0) -> str:
        """A prompt of exactly ``length`` tokens starting with ``prefix`` (``prefix_length`` tokens)."""
        body_length = length - prefix_length
        if body_length < 1:
            raise DatasetError(f"cannot make a {length}-token prompt after a {prefix_length}-token prefix")
        for _ in range(8):
            prompt = prefix + "".join(rng.choices(self.words, k=body_length))
            if self.composes or len(self.tokenizer.encode(prompt)) == length:
                return prompt
        raise DatasetError(
            f"tokenizer {self.tokenizer.name} cannot reach a prompt of exactly {length} tokens "
            "(re-encoding the words changes their count)"
        )


def find_whole_words(tokenizer: TextTokenizer, max_words: int = 8192) -> list[str]:
    """Vocabulary entries like ``" river"`` that encode back to themselves alone (at most ``max_words``)."""
    words: list[str] = []
    size = tokenizer.vocab_size
    # Visit the vocabulary in a fixed scattered order (a stride coprime with its size) and
    # stop at max_words: enough variety, and a 200k vocabulary costs a fraction of a scan.
    stride = next(s for s in (7919, 7907, 7901, 1) if math.gcd(s, size) == 1)
    for step in range(size):
        token_id = (step * stride) % size
        try:
            text = tokenizer.decode([token_id])
        except Exception:  # ids outside the vocabulary proper (gaps, specials)
            continue
        if _WORD.fullmatch(text) and tokenizer.encode(text) == [token_id]:
            words.append(text)
            if len(words) >= max_words:
                break
    return words


def random_requests(maker: RandomPrompts, *, count: int, **options: Any) -> list[ChatOrCompletionRequest]:
    """The ``count`` requests of one sweep point, as a list (the keyword ``options`` of
    :func:`random_request_stream`)."""
    return list(random_request_stream(maker, count=count, **options))


def random_request_stream(
    maker: RandomPrompts,
    *,
    count: int | None,
    min_length: int,
    max_length: int,
    prefix_length: int,
    max_tokens: int,
    seed: int,
    point: int,
) -> Iterator[ChatOrCompletionRequest]:
    """The requests of one sweep point, made one at a time (``count`` None: without end); ``point`` enters
    the seed so each point is fresh."""
    rng = random.Random(f"assay-random-{seed}-{point}")
    prefix = maker.make(prefix_length, rng) if prefix_length > 0 else ""
    made = 0
    while count is None or made < count:
        length = rng.randint(min_length, max_length)
        prompt = maker.make(length, rng, prefix, prefix_length)
        made += 1
        yield ChatOrCompletionRequest(prompt=prompt, max_tokens=max_tokens, prompt_tokens=length)


def cycle_stream(
    requests: list[ChatOrCompletionRequest], count: int | None, max_tokens: int
) -> Iterator[ChatOrCompletionRequest]:
    """A file dataset cycled to ``count`` requests (None: without end); per-line max_tokens wins."""
    made = 0
    while True:
        for request in requests:
            if count is not None and made >= count:
                return
            made += 1
            if request.max_tokens is None:
                request = ChatOrCompletionRequest(
                    prompt=request.prompt, messages=request.messages, max_tokens=max_tokens, extra=request.extra
                )
            yield request


def read_dataset_text(path: str, *, encoding: str = "utf-8") -> str:
    """The text of a dataset file (``dataset_path``): one that is missing, unreadable or not UTF-8
    raises :class:`DatasetError` in one line naming it. Prompt files and traces read through here."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise DatasetError(f"dataset_path: {path} is not a file")
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise not_utf8(path, exc) from None


def jsonl_items(path: str, text: str) -> Iterator[tuple[int, Any]]:
    """(line number, value) of each non-blank line of a JSONL dataset; a line that is not JSON
    raises :class:`DatasetError` naming ``path:line``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
        yield number, value


def load_file_prompts(kind: str, path: str) -> list[ChatOrCompletionRequest]:
    """Read every prompt of a file dataset (not yet cycled to a count)."""
    text = read_dataset_text(path)
    requests: list[ChatOrCompletionRequest] = []
    if kind == "line_by_line":
        requests = [ChatOrCompletionRequest(prompt=line) for line in text.splitlines() if line.strip()]
    else:
        requests = [_request_from_item(kind, item, f"{path}:{number}") for number, item in jsonl_items(path, text)]
    if not requests:
        raise DatasetError(f"dataset_path: {path} holds no prompts")
    return requests


def _request_from_item(kind: str, item: Any, where: str) -> ChatOrCompletionRequest:
    max_tokens = item.get("max_tokens") if isinstance(item, dict) else None
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise DatasetError(f"{where}: max_tokens must be a positive integer")
    messages = item if isinstance(item, list) else item.get("messages") if isinstance(item, dict) else None
    if messages is not None:
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and "content" in m for m in messages
        ):
            raise DatasetError(f"{where}: messages must be a list of {{'role': ..., 'content': ...}} objects")
        return ChatOrCompletionRequest(messages=messages, max_tokens=max_tokens)
    if kind == "chat":
        raise DatasetError(f"{where}: chat datasets need a 'messages' list on every line")
    if isinstance(item, dict):
        for key in ("prompt", "question", "query", "text"):
            if isinstance(item.get(key), str):
                return ChatOrCompletionRequest(prompt=item[key], max_tokens=max_tokens)
    raise DatasetError(f"{where}: expected an object with a 'prompt' (or 'question') string or 'messages'")
