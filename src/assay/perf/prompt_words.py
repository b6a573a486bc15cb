"""What random prompts need from a tokenizer, kept between runs so that a run starts without loading it.

Building a tokenizer is most of a load test's start-up: tiktoken's ``o200k_base`` takes ~0.3–0.5 s
to build its tables, a large ``tokenizer.json`` as long, and finding the whole-word tokens that
random prompts are made of takes a vocabulary scan on top. None of it changes while the tokenizer's
files do not, so the first run with a tokenizer keeps these facts in assay's cache
(``<cache>/prompt-words/``, the cache being ``$ASSAY_CACHE`` or ``~/.cache/assay``), keyed by the
tiktoken name or by the tokenizer files' paths, sizes and modification times:

- the whole-word tokens (``" river"``, ``" stone"`` …), each checked to encode to itself alone;
- whether the tokenizer *composes* them: a string of those words encodes to exactly one token per
  word, the same ids as each word alone (checked on every kept word in one long string, and on
  prompts of several lengths). Then a prompt of N words has exactly N tokens by construction and is
  not re-encoded; otherwise every prompt is re-encoded and checked, as before;
- the special tokens the tokenizer adds, and what its chat template adds around a message.

Later runs read these facts (a few milliseconds) and build the tokenizer only if something needs it
(counting output tokens for a server that sends no ``usage``), when it first does. The server's own
count of every prompt stays in the report's prompt-length check, so a wrong fact would show there.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assay.data.tokenizers import TIKTOKEN_NAMES, TextTokenizer

FORMAT = 1
"""Bump when what is kept, or how it is found, changes: older entries are then ignored."""
_CONFIG_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja",
                 "chat_template.json")


@dataclass
class TokenizerFacts:
    """What a random-prompt run needs from its tokenizer before (and after) its requests."""

    name: str
    vocab_size: int
    words: list[str]
    composes: bool
    special_tokens: list[str]
    chat_template_overhead: list[Any] | None
    """``[extra tokens, description]`` as :func:`assay.data.tokenizers.chat_template_overhead` gives it."""


class CachedTokenizer:
    """A :class:`TextTokenizer` whose facts were kept from an earlier run; the real one is built on first use."""

    def __init__(self, spec: str, hub: str, facts: TokenizerFacts, real: TextTokenizer | None = None) -> None:
        self.spec = spec
        self.hub = hub
        self.facts = facts
        self.name = facts.name
        self._real = real

    def real(self) -> TextTokenizer:
        if self._real is None:
            from assay.data.tokenizers import load_tokenizer

            self._real = load_tokenizer(self.spec, hub=self.hub)
        return self._real

    @property
    def loaded(self) -> bool:
        """Whether the real tokenizer has been built (a test and the start-up benchmark look)."""
        return self._real is not None

    def encode(self, text: str) -> list[int]:
        return self.real().encode(text)

    def decode(self, ids: Sequence[int]) -> str:
        return self.real().decode(ids)

    @property
    def vocab_size(self) -> int:
        return self.facts.vocab_size

    def added_special_tokens(self) -> list[str]:
        return list(self.facts.special_tokens)

    def known_chat_template_overhead(self) -> tuple[int, str] | None:
        found = self.facts.chat_template_overhead
        return None if found is None else (int(found[0]), str(found[1]))

    @property
    def prompt_words(self) -> tuple[list[str], bool]:
        """The whole-word tokens and whether they compose (see :class:`assay.perf.datasets.RandomPrompts`)."""
        return self.facts.words, self.facts.composes


def cache_dir() -> Path:
    base = os.environ.get("ASSAY_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "assay")
    return Path(base) / "prompt-words"


def cache_key(spec: str) -> str | None:
    """A key that changes whenever the tokenizer could (None: not cheaply known, e.g. a hub id: not kept)."""
    path = Path(os.path.expanduser(spec))
    if path.exists():
        files = [path] if path.is_file() else [path / name for name in _CONFIG_FILES] + sorted(path.glob("*.gguf"))
        if path.is_file():
            files += [path.with_name(name) for name in _CONFIG_FILES[1:]]
        stamps = []
        for file in files:
            try:
                info = file.stat()
            except OSError:
                continue
            stamps.append([str(file.resolve()), info.st_size, info.st_mtime_ns])
        material: Any = ["files", stamps]
    elif spec.split(":", 1)[0] in TIKTOKEN_NAMES:
        material = ["tiktoken", spec]
    else:
        return None
    return hashlib.sha256(json.dumps([FORMAT, material]).encode()).hexdigest()[:32]


def _read(key: str) -> TokenizerFacts | None:
    try:
        data = json.loads((cache_dir() / f"{key}.json").read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            return None
        facts = TokenizerFacts(**data["facts"])
    except (OSError, ValueError, TypeError, KeyError):
        return None  # absent, torn or from another version: measured again
    return facts if len(facts.words) >= 16 else None


def _write(key: str, spec: str, facts: TokenizerFacts) -> None:
    """Keep the facts (best effort: a read-only or full cache only costs the next run its start-up)."""
    folder = cache_dir()
    staging = folder / f".{key}.{os.getpid()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staging.write_text(json.dumps({"format": FORMAT, "tokenizer": spec, "facts": asdict(facts)}),
                           encoding="utf-8")
        os.replace(staging, folder / f"{key}.json")
    except OSError:
        try:
            staging.unlink()
        except OSError:
            pass


def composes(tokenizer: TextTokenizer, words: list[str], seed: int = 0) -> bool:
    """Whether strings of ``words`` encode to one token per word, each word's own id (see the module doc)."""
    ids = {}
    for word in words:
        found = tokenizer.encode(word)
        if len(found) != 1:
            return False
        ids[word] = found[0]
    rng = random.Random(f"assay-composes-{seed}")
    samples = [words, *(rng.choices(words, k=length) for length in (1, 2, 3, 16, 255, 1024, 4096))]
    return all(tokenizer.encode("".join(sample)) == [ids[w] for w in sample] for sample in samples)


def measure(tokenizer: TextTokenizer) -> TokenizerFacts:
    """The facts of a loaded tokenizer (a vocabulary scan: what every run paid before they were kept)."""
    from assay.data.tokenizers import chat_template_overhead
    from assay.perf.datasets import find_whole_words

    words = find_whole_words(tokenizer)
    overhead = chat_template_overhead(tokenizer)
    return TokenizerFacts(
        name=tokenizer.name, vocab_size=tokenizer.vocab_size, words=words,
        composes=len(words) >= 16 and composes(tokenizer, words), special_tokens=tokenizer.added_special_tokens(),
        chat_template_overhead=None if overhead is None else [overhead[0], overhead[1]],
    )


def open_tokenizer(spec: str, *, hub: str = "auto") -> TextTokenizer:
    """The tokenizer of a random-prompt run: from kept facts when there are some, else loaded and measured."""
    key = cache_key(spec)
    facts = _read(key) if key is not None else None
    if facts is not None:
        return CachedTokenizer(spec, hub, facts)
    from assay.data.tokenizers import load_tokenizer

    real = load_tokenizer(spec, hub=hub)
    facts = measure(real)
    if key is not None and len(facts.words) >= 16:
        _write(key, spec, facts)
    return CachedTokenizer(spec, hub, facts, real=real)
