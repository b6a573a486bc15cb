"""Where perf prompts come from (EvalScope's ``--dataset`` names, so its commands run unchanged).

- ``random``: prompts of an exact token count under the given tokenizer, uniform in
  ``[min_prompt_length, max_prompt_length]``, sharing an exact ``prefix_length``-token
  prefix within a sweep point, and fresh at every point (no KV-cache reuse across points).
- ``random_vl``: ``random`` text and ``--image-num`` random images (:mod:`assay.perf.images`) in one
  chat message.
- ``speed_benchmark`` / ``speed_benchmark_long``: EvalScope's fixed ladder of prompt lengths, one sweep
  point per length.
- ``line_by_line``: a text file, one prompt per non-empty line; a line that is a JSON list is chat
  messages, a JSON object with ``messages`` or ``prompt`` a request body of its own.
- ``custom`` / ``openqa``: JSONL, one object per line with ``prompt`` (or ``question`` /
  ``query`` / ``text``), optionally ``max_tokens``; ``custom`` also takes plain text lines.
- ``chat``: JSONL, one conversation per line: ``{"messages": [...]}`` or a bare list.
- ``share_gpt_zh`` / ``share_gpt_en``, ``openqa``, ``longalpaca``, ``flickr8k``: from ``--dataset-path``
  (a file, or a folder in the hub's layout) or else from the hub (:mod:`assay.perf.dataset_hub`).

File datasets are cycled when a sweep point asks for more requests than they hold.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.client.openai import ChatOrCompletionRequest
from assay.data.tokenizers import TextTokenizer
from assay.errors import ConfigError, DatasetError, not_utf8

if TYPE_CHECKING:
    from assay.perf.config import PerfConfig, PointSpec

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
    if kind == "line_by_line":
        requests = [_request_from_line(line.strip(), f"{path}:{number}")
                    for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    elif kind == "custom":  # EvalScope's custom files are plain text, one prompt a line; assay's are JSONL
        requests = [_request_from_item(kind, item, f"{path}:{number}") if isinstance(item, (dict, list))
                    else ChatOrCompletionRequest(prompt=line.strip())
                    for number, line, item in _lines_or_json(text)]
    else:
        requests = [_request_from_item(kind, item, f"{path}:{number}") for number, item in jsonl_items(path, text)]
    if not requests:
        raise DatasetError(f"dataset_path: {path} holds no prompts")
    return requests


def load_dataset_requests(config: PerfConfig) -> list[ChatOrCompletionRequest]:
    """Every request of a file or hub dataset (``--dataset-path`` first, else the hub), not yet cycled."""
    from assay.perf import dataset_hub

    name, path = config.dataset, config.dataset_path
    if name in dataset_hub.HUB_DATASETS:
        return dataset_hub.load_requests(name, path, config.data_source)
    assert path is not None
    return load_file_prompts(name, path)


def sharegpt_messages(conversation: Any, where: str) -> list[dict[str, Any]]:
    """A ShareGPT conversation (``[{"human": …, "assistant": …}, …]``, the layout of ModelScope's
    ``swift/sharegpt``) as chat messages up to its last human turn, as EvalScope sends it: the earlier
    turns with the dataset's answers, then the last question. Empty human turns are left out."""
    if not isinstance(conversation, list):
        raise DatasetError(f"{where}: 'conversation' must be a list of {{'human': ..., 'assistant': ...}} turns")
    messages: list[dict[str, Any]] = []
    for turn in conversation:
        if not isinstance(turn, dict):
            raise DatasetError(f"{where}: each turn of 'conversation' must be an object with 'human' and 'assistant'")
        human, assistant = str(turn.get("human") or "").strip(), str(turn.get("assistant") or "").strip()
        if not human:
            continue
        messages.append({"role": "user", "content": human})
        if assistant:
            messages.append({"role": "assistant", "content": assistant})
    if messages and messages[-1]["role"] == "assistant":
        messages.pop()
    return messages


def _lines_or_json(text: str) -> Iterator[tuple[int, str, Any]]:
    """(line number, line, its JSON value or None when it is not JSON) of each non-blank line."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            value = None
        yield number, line, value


_OWN_BODY_KEYS = ("stream", "stream_options")
"""Keys a line's own request body may not set: whether and how to stream is --stream's."""


def _request_from_line(line: str, where: str) -> ChatOrCompletionRequest:
    """One line of a ``line_by_line`` file, as EvalScope reads it: plain text is the prompt, a JSON list the
    chat messages, a JSON object with ``messages`` or ``prompt`` a request body whose other fields win over
    the command line's."""
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return ChatOrCompletionRequest(prompt=line)
    if isinstance(value, list):
        return _request_from_item("chat", value, where)
    if not isinstance(value, dict):
        return ChatOrCompletionRequest(prompt=line)
    if "messages" not in value and not isinstance(value.get("prompt"), str):
        raise DatasetError(f"{where}: a JSON object line is a request body: give it 'messages' or 'prompt'")
    request = _request_from_item("custom", {k: value[k] for k in ("messages", "prompt", "max_tokens") if k in value},
                                 where)
    extra = {k: v for k, v in value.items() if k not in ("messages", "prompt", "max_tokens", *_OWN_BODY_KEYS)}
    return ChatOrCompletionRequest(prompt=request.prompt, messages=request.messages, max_tokens=request.max_tokens,
                                   extra=extra)


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
                return ChatOrCompletionRequest(prompt=item[key].strip() if kind == "openqa" else item[key],
                                               max_tokens=max_tokens)
    raise DatasetError(f"{where}: expected an object with a 'prompt' (or 'question') string or 'messages'")


class RandomImageRequests:
    """``random_vl``: each request is one chat message of random text of an exact token length (as
    ``random`` makes it) and ``--image-num`` random images of the size and format asked for, as data URLs.

    The text's length is the text's alone (the server adds the images' tokens), so the request carries no
    expected prompt length to check the server's count against.
    """

    def __init__(self, config: PerfConfig, maker: RandomPrompts) -> None:
        from assay.perf.images import image_spec, pillow

        pillow()  # a missing Pillow is one line before anything is sent
        self.config = config
        self.maker = maker
        self.spec = image_spec(config.image_width, config.image_height, config.image_format, config.image_num)

    points: list[PointSpec] | None = None
    """The config's own sweep."""

    def requests(self, point: int, count: int | None) -> Iterator[ChatOrCompletionRequest]:
        from assay.perf.images import data_url, image_message, random_image

        config = self.config
        rng = random.Random(f"assay-random-vl-{config.seed}-{point}")
        texts = random_request_stream(
            self.maker, count=count, min_length=config.min_prompt_length, max_length=config.max_prompt_length,
            prefix_length=config.prefix_length, max_tokens=config.max_tokens, seed=config.seed, point=point,
        )
        for text in texts:
            urls = [data_url(random_image(self.spec, rng)) for _ in range(self.spec.count)]
            yield ChatOrCompletionRequest(messages=[image_message(text.prompt or "", urls)], max_tokens=config.max_tokens)


SPEED_LADDERS = {"speed_benchmark": (1, 6144, 14336, 30720), "speed_benchmark_long": (63488, 129024)}
"""EvalScope's speed benchmark: its prompt lengths (Qwen's speed benchmark report)."""
SPEED_FILLER = "熵"
"""EvalScope's prompt for the ladder: this character repeated (one token per character in Qwen's tokenizers)."""


class SpeedLadder:
    """``speed_benchmark``: one closed-loop sweep point per length of EvalScope's ladder, each sending
    ``--number`` ÷ (lengths) requests (EvalScope's ``--number 8``: 2 per length).

    With a tokenizer every prompt is fresh random text of exactly that many tokens (the server's prefix
    cache cannot shorten the second request of a length); without one, EvalScope's repeated character.
    """

    def __init__(self, config: PerfConfig, maker: RandomPrompts | None) -> None:
        from assay.perf.config import PointSpec

        self.config = config
        self.maker = maker
        self.lengths = SPEED_LADDERS[config.dataset]
        assert config.parallel is not None and config.number is not None
        each = max(1, config.number[0] // len(self.lengths))
        self.points = [PointSpec(i, config.parallel[0], each, None, None) for i in range(len(self.lengths))]

    def requests(self, point: int, count: int | None) -> Iterator[ChatOrCompletionRequest]:
        length = self.lengths[max(point, 0)]  # the warm-up (point -1): the first length
        rng = random.Random(f"assay-speed-{self.config.seed}-{point}")
        made = 0
        while count is None or made < count:
            made += 1
            if self.maker is None:
                yield ChatOrCompletionRequest(prompt=SPEED_FILLER * length, max_tokens=self.config.max_tokens)
            else:
                yield ChatOrCompletionRequest(prompt=self.maker.make(length, rng), max_tokens=self.config.max_tokens,
                                              prompt_tokens=length)


def generated_dataset(config: PerfConfig, tokenizer: TextTokenizer | None) -> RandomImageRequests | SpeedLadder:
    """The request maker of a dataset made on the spot from the tokenizer's words (not ``random`` itself)."""
    maker = RandomPrompts(tokenizer) if tokenizer is not None else None
    if config.dataset == "random_vl":
        assert maker is not None
        return RandomImageRequests(config, maker)
    return SpeedLadder(config, maker)


def check_dataset_config(config: PerfConfig) -> None:
    """What the datasets beyond ``random``, ``trace`` and plain files take from the other options
    (``PerfConfig.validate`` calls this)."""
    from assay.client import endpoint_kind
    from assay.perf.dataset_hub import HUB_DATASETS

    name = config.dataset
    urls = [config.url] if isinstance(config.url, str) else list(config.url or [])
    if name in ("random_vl", "flickr8k"):
        from assay.perf.images import image_spec

        image_spec(config.image_width, config.image_height, config.image_format, config.image_num)
        if not urls or any(endpoint_kind(url) != "chat" for url in urls):  # --engine alone serves completions
            raise ConfigError(f"url: --dataset {name} sends images in chat messages; use a /v1/chat/completions URL "
                              "(with --engine too: its path picks the endpoint)")
    if name in SPEED_LADDERS:
        if config.rate is not None or config.duration is not None or config.slo_search is not None:
            raise ConfigError(f"dataset: {name} is a fixed ladder of closed-loop points (one per prompt length); "
                              "leave out --rate, --duration and --slo-search")
        if config.parallel is not None and len(config.parallel) != 1:
            raise ConfigError(f"parallel: {name} runs each length at one concurrency; give one --parallel value")
    if name in HUB_DATASETS and config.dataset_path is not None and not Path(config.dataset_path).expanduser().exists():
        raise ConfigError(f"dataset_path: {config.dataset_path} does not exist")
