"""Multi-turn sessions (``--multi-turn``): where conversations come from, and how each turn is built.

A session is a conversation sent one turn at a time: turn k carries every message of turns 0..k-1,
with the server's OWN answers to them (what it streamed back, not a dataset's reference answers), then
turn k's new user message(s). So a server's prefix cache can serve everything but the newest turn.

Sources, under EvalScope's dataset names so that its commands run unchanged:

- ``random_multi_turn`` (or ``random`` with ``--multi-turn`` / ``--turns``): assay makes each turn's user
  message of an exact token count, uniform in ``[--min-prompt-length, --max-prompt-length]`` (EvalScope's
  ``--multi-turn-args`` ``first_turn_length`` / ``subsequent_turn_length`` override the first and the later
  turns), a turn count of ``--turns`` or uniform in ``[--min-turns, --max-turns]``, and each turn's
  ``max_tokens`` uniform in ``[--min-tokens, --max-tokens]`` (with ``--min-tokens``, sent as that turn's
  ``min_tokens`` too, so that its answer has exactly that length);
- ``custom_multi_turn`` (and ``chat`` with ``--multi-turn``): JSONL, one conversation per line, a list of
  ``{"role", "content"}`` messages (or ``{"messages": [...]}``); assistant messages only mark where a turn
  ends (their content is replaced by the server's answers), the other messages before one are that turn's;
- ``share_gpt_zh_multi_turn`` / ``share_gpt_en_multi_turn``: ShareGPT JSONL as ModelScope's ``swift/sharegpt``
  holds it, ``{"conversation": [{"human": ..., "assistant": ...}, ...]}``; each ``human`` is a turn.

``--max-turns`` cuts longer file conversations; ``--min-turns`` skips shorter ones.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.client.openai import ChatOrCompletionRequest
from assay.errors import ConfigError, DatasetError

if TYPE_CHECKING:
    from assay.perf.config import PerfConfig
    from assay.perf.datasets import RandomPrompts

RANDOM_SOURCES = ("random", "random_multi_turn")
"""Datasets whose sessions assay makes itself (a tokenizer makes each turn's prompt exact)."""
FILE_SOURCES = ("custom_multi_turn", "chat", "share_gpt_zh_multi_turn", "share_gpt_en_multi_turn")
"""Datasets whose sessions are read from ``--dataset-path``."""
_MULTI_TURN_ARGS = ("first_turn_length", "subsequent_turn_length", "chars_per_token", "num_workers")

Message = dict[str, Any]


@dataclass(frozen=True)
class Turn:
    """What one turn adds to its conversation, and how long its answer may be."""

    messages: tuple[Message, ...]
    """The turn's new messages (a user message; a file's turn may carry a system message first)."""
    max_tokens: int | None = None
    prompt_tokens: int | None = None
    """Tokens of the new messages as assay made them (random sessions), under the run's tokenizer."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Request-body fields of this turn alone (``min_tokens`` of a random session's turn)."""


@dataclass(frozen=True)
class Session:
    """One conversation to send turn by turn (picklable: ``--workers`` hands sessions to processes)."""

    turns: tuple[Turn, ...]
    number: int = -1
    """The session's number in the run (records' ``session``), given as it is taken to be sent."""
    first_index: int = 0
    """Record index of turn 0; turn k's record has index ``first_index + k`` (a run reserves one per turn)."""

    def request(self, turn: int, history: list[Message]) -> ChatOrCompletionRequest:
        """Turn ``turn``'s request: ``history`` (every earlier message, with the server's answers) + its own.

        Only turn 0's prompt length is known beforehand (later ones hold the server's answers): the others
        name none, so the prompt-length check compares turn 0 alone.
        """
        own = self.turns[turn]
        return ChatOrCompletionRequest(messages=[*history, *own.messages], max_tokens=own.max_tokens,
                                       prompt_tokens=own.prompt_tokens if turn == 0 else None, extra=own.extra)


def is_multi_turn(config: PerfConfig) -> bool:
    """Whether ``config`` sends sessions: ``--multi-turn``, ``--turns``, or a ``*_multi_turn`` dataset."""
    return config.multi_turn or config.turns is not None or config.dataset.endswith("_multi_turn")


def check_session_config(config: PerfConfig) -> None:
    """Refuse, in one line, a multi-turn run that cannot be done as asked (called by ``PerfConfig.validate``)."""
    if not is_multi_turn(config):
        for name in ("min_turns", "max_turns", "multi_turn_args"):
            if getattr(config, name) is not None:
                raise ConfigError(f"{name}: only for multi-turn sessions; add --multi-turn")
        if config.think_time_s:
            raise ConfigError("think_time_s: only for multi-turn sessions; add --multi-turn")
        return
    if config.dataset not in RANDOM_SOURCES + FILE_SOURCES:
        raise ConfigError(f"dataset: multi-turn sessions come from {', '.join(RANDOM_SOURCES + FILE_SOURCES)}; "
                          f"got {config.dataset!r}")
    if config.prompt is not None:
        raise ConfigError("prompt: one prompt in every request is not a conversation; leave out --prompt or --multi-turn")
    if config.slo_search is not None:
        raise ConfigError("slo_search: not with multi-turn sessions yet; sweep --parallel or --rate instead")
    if config.think_time_s < 0:
        raise ConfigError(f"think_time_s: must be >= 0 seconds, got {config.think_time_s}")
    if config.turns is not None:
        if config.turns < 1:
            raise ConfigError(f"turns: must be >= 1, got {config.turns}")
        if config.min_turns is not None or config.max_turns is not None:
            raise ConfigError("turns: give --turns N (every session N turns) or --min-turns/--max-turns, not both")
    if config.min_turns is not None and config.min_turns < 1:
        raise ConfigError(f"min_turns: must be >= 1, got {config.min_turns}")
    if config.max_turns is not None and config.max_turns < (config.min_turns or 1):
        raise ConfigError(f"max_turns ({config.max_turns}) must be >= min_turns ({config.min_turns or 1})")
    if config.dataset in RANDOM_SOURCES:
        if config.turns is None and config.max_turns is None:
            raise ConfigError(f"max_turns: {config.dataset} multi-turn sessions need --turns N or --max-turns "
                              "(each session's turn count is uniform in [--min-turns, --max-turns])")
        turn_lengths(config)
    elif config.turns is not None:
        raise ConfigError("turns: only for sessions assay makes (--dataset random_multi_turn); a file's "
                          "conversations keep their turns (cut them with --max-turns)")
    elif config.multi_turn_args is not None:
        raise ConfigError("multi_turn_args: only for sessions assay makes (--dataset random_multi_turn)")


def session_notes(config: PerfConfig) -> list[str]:
    """What assay does differently from EvalScope with the multi-turn arguments given (said once at the start)."""
    if not is_multi_turn(config):
        return []
    from assay.client.openai import endpoint_kind

    lines = []
    if config.urls and endpoint_kind(config.urls[0]) == "completions":
        lines.append("--multi-turn to /v1/completions: each turn's messages, the server's answers included, are "
                     "joined into one prompt; use a /v1/chat/completions URL to keep the roles")
    if config.rate is not None:
        lines.append("--multi-turn with --rate: sessions start at the rate (open loop) and send their turns one "
                     "after another; EvalScope refuses open loop and waits a random gap before each turn instead")
    if config.multi_turn_args is not None:
        unused = [key for key in ("chars_per_token", "num_workers") if key in json.loads(config.multi_turn_args)]
        if unused:
            lines.append(f"--multi-turn-args: {', '.join(unused)} not used (assay makes each turn's prompt to the "
                         "token with the tokenizer, in this process)")
    return lines


def turn_range(config: PerfConfig) -> tuple[int, int]:
    """The fewest and most turns a random session has."""
    if config.turns is not None:
        return config.turns, config.turns
    assert config.max_turns is not None
    return config.min_turns or 1, config.max_turns


def turn_lengths(config: PerfConfig) -> tuple[tuple[int, int], tuple[int, int]]:
    """Token-length ranges of a random session's first turn and of each later turn's new message:
    ``--min/--max-prompt-length``, or ``--multi-turn-args`` ``first_turn_length`` / ``subsequent_turn_length``
    (an int or ``[min, max]``, as in EvalScope)."""
    default = (config.min_prompt_length, config.max_prompt_length)
    if config.multi_turn_args is None:
        return default, default
    try:
        args = json.loads(config.multi_turn_args)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"multi_turn_args: not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(args, dict):
        raise ConfigError('multi_turn_args: a JSON object, e.g. \'{"first_turn_length": 1024, '
                          '"subsequent_turn_length": 128}\'')
    unknown = sorted(set(args) - set(_MULTI_TURN_ARGS))
    if unknown:
        raise ConfigError(f"multi_turn_args: unknown key(s) {', '.join(unknown)}; known: {', '.join(_MULTI_TURN_ARGS)}")
    first = _length_range(args.get("first_turn_length"), "first_turn_length", default)
    later = _length_range(args.get("subsequent_turn_length"), "subsequent_turn_length", default)
    if config.prefix_length and config.prefix_length >= first[0]:
        raise ConfigError(f"prefix_length ({config.prefix_length}) must be smaller than the first turn's "
                          f"shortest prompt ({first[0]} tokens)")
    return first, later


def _length_range(value: Any, name: str, default: tuple[int, int]) -> tuple[int, int]:
    if value is None:
        return default
    low, high = (value, value) if isinstance(value, int) and not isinstance(value, bool) else (
        tuple(value) if isinstance(value, list) and len(value) == 2 else (None, None))
    if not (isinstance(low, int) and isinstance(high, int)) or not 1 <= low <= high:
        raise ConfigError(f"multi_turn_args: {name} must be a token count >= 1 or [min, max], got {value!r}")
    return low, high


def random_sessions(maker: RandomPrompts, config: PerfConfig, *, count: int | None, point: int) -> Iterator[Session]:
    """Sessions assay makes, one at a time (``count`` None: without end); ``point`` enters the seed, so that
    no sweep point finds another's conversations in the server's cache."""
    rng = random.Random(f"assay-sessions-{config.seed}-{point}")
    low_turns, high_turns = turn_range(config)
    first, later = turn_lengths(config)
    prefix = maker.make(config.prefix_length, rng) if config.prefix_length > 0 else ""
    shortest_output = max(1, config.min_tokens) if config.min_tokens is not None else config.max_tokens
    made = 0
    while count is None or made < count:
        turns = []
        for k in range(rng.randint(low_turns, high_turns)):
            low, high = first if k == 0 else later
            length = rng.randint(low, high)
            text = maker.make(length, rng, prefix, config.prefix_length) if k == 0 and prefix else maker.make(length, rng)
            max_tokens = rng.randint(shortest_output, config.max_tokens)
            extra = {"min_tokens": max_tokens} if config.min_tokens is not None else {}
            turns.append(Turn(messages=({"role": "user", "content": text},), max_tokens=max_tokens,
                              prompt_tokens=length, extra=extra))
        made += 1
        yield Session(turns=tuple(turns))


def read_sessions(config: PerfConfig) -> list[Session]:
    """Every conversation of a file dataset (``--dataset-path``), as sessions not yet numbered."""
    from assay.perf.datasets import jsonl_items, read_dataset_text

    path = _conversations_file(config)
    sessions: list[Session] = []
    for number, item in jsonl_items(path, read_dataset_text(path)):
        where = f"{path}:{number}"
        turns = (_share_gpt_turns(item, where) if config.dataset.startswith("share_gpt")
                 else _message_turns(item, where))
        if config.max_turns is not None:
            turns = turns[: config.max_turns]
        if not turns or len(turns) < (config.min_turns or 1):
            continue
        sessions.append(Session(turns=tuple(Turn(messages=tuple(m), max_tokens=config.max_tokens) for m in turns)))
    if not sessions:
        fewest = f" of at least {config.min_turns} turns" if config.min_turns else ""
        raise DatasetError(f"dataset_path: {path} holds no conversations{fewest}")
    return sessions


def _conversations_file(config: PerfConfig) -> str:
    """The file of conversations: ``--dataset-path``; for ShareGPT, the file in a folder laid out as ModelScope's
    ``swift/sharegpt``, or without a path that file from the hub (``--data-source``), as EvalScope reads it."""
    if not config.dataset.startswith("share_gpt"):
        assert config.dataset_path is not None
        return config.dataset_path
    from assay.perf.dataset_hub import HUB_DATASETS, download_file

    hub_dataset = HUB_DATASETS[config.dataset.removesuffix("_multi_turn")]
    assert hub_dataset.file is not None
    if config.dataset_path is None:
        if config.data_source == "local":
            raise DatasetError("data_source: 'local' reads --dataset-path; give it (a file, or a folder in the hub's "
                               "layout)")
        return str(download_file(config.data_source or "modelscope", hub_dataset))
    folder = Path(config.dataset_path).expanduser()
    return str(folder / hub_dataset.file) if folder.is_dir() else config.dataset_path


def _message_turns(item: Any, where: str) -> list[list[Message]]:
    """A list of messages split into turns: an assistant message ends a turn (its content is not sent)."""
    messages = item.get("messages") if isinstance(item, dict) else item
    if not isinstance(messages, list) or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and "content" in m for m in messages):
        raise DatasetError(f"{where}: a conversation is a list of {{'role': ..., 'content': ...}} messages "
                           "(or {'messages': [...]})")
    turns: list[list[Message]] = []
    current: list[Message] = []
    for message in messages:
        if message["role"] == "assistant":
            if current:
                turns.append(current)
            current = []
        else:
            current.append({"role": message["role"], "content": message["content"]})
    if current:
        turns.append(current)
    return turns


def _share_gpt_turns(item: Any, where: str) -> list[list[Message]]:
    """``{"conversation": [{"human": ..., "assistant": ...}, ...]}``: each non-empty ``human`` is a turn."""
    conversation = item.get("conversation") if isinstance(item, dict) else None
    if not isinstance(conversation, list) or not all(isinstance(entry, dict) for entry in conversation):
        raise DatasetError(f"{where}: a ShareGPT line is {{'conversation': [{{'human': ..., 'assistant': ...}}, ...]}}")
    humans = [str(entry.get("human") or "").strip() for entry in conversation]
    return [[{"role": "user", "content": human}] for human in humans if human]


def cycle_sessions(sessions: list[Session], count: int | None) -> Iterator[Session]:
    """A file's conversations cycled to ``count`` sessions (None: without end)."""
    made = 0
    while True:
        for session in sessions:
            if count is not None and made >= count:
                return
            made += 1
            yield session


def numbered(session: Session, number: int, first_index: int) -> Session:
    """``session`` as the run sends it: its number and the record index of its first turn."""
    return replace(session, number=number, first_index=first_index)




class SessionSource:
    """A run's sessions: made by assay (random) or read once from the dataset file, numbered as they are taken."""

    def __init__(self, config: PerfConfig, tokenizer: Any) -> None:
        self.config = config
        self.next_number = 0
        self.maker: RandomPrompts | None = None
        self.conversations: list[Session] = []
        if config.dataset in RANDOM_SOURCES:
            from assay.perf.datasets import RandomPrompts

            self.maker = RandomPrompts(tokenizer)
        else:
            self.conversations = read_sessions(config)

    def sessions(self, point: int, count: int | None) -> Iterator[Session]:
        """The sessions of sweep point ``point`` (``count`` None: without end)."""
        if self.maker is not None:
            return random_sessions(self.maker, self.config, count=count, point=point)
        return cycle_sessions(self.conversations, count)

    def number(self, session: Session, first_index: int) -> tuple[int, Session]:
        """(its number, ``session`` as sent): the next session number, and its turns' first record index."""
        number = self.next_number
        self.next_number += 1
        return number, numbered(session, number, first_index)


__all__ = ["FILE_SOURCES", "RANDOM_SOURCES", "Session", "SessionSource", "Turn", "check_session_config",
           "cycle_sessions", "is_multi_turn", "numbered", "random_sessions", "read_sessions", "session_notes",
           "turn_lengths", "turn_range"]
