"""LLM-as-judge: a second model decides whether a response matches the reference answer.

Configured with ``judge_model_args`` (its own ``api_url``, ``model_id``, ``api_key``,
``prompt_template``, ``generation_config``) and ``judge_strategy``:

- ``auto`` (default): benchmarks that need a judge (``general_qa``) use it when configured;
- ``llm``: ``general_qa`` always asks the judge (an error if none is configured);
- ``llm_recall``: also a second opinion on math answers the rules rejected.

The verdict is parsed strictly: the judge's last non-empty line must be ``CORRECT`` or
``INCORRECT`` (case, markdown and punctuation aside). Anything else is recorded as
*unparsable*, with the judge's raw text, and the generation is left out of the score like a
failed request, never counted wrong. Verdicts are cached per (judge model, prompt) in
``judge_cache.jsonl`` of the run, so a resume or a rescore asks again only what is new.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.errors import ConfigError
from assay.store.rundir import LineAppender

STRATEGIES = ("auto", "rule", "llm", "llm_recall")
CACHE_FILE = "judge_cache.jsonl"
DEFAULT_TEMPLATE = (
    "You are grading an answer against a reference answer.\n\n"
    "Question:\n{question}\n\nReference answer:\n{gold}\n\nAnswer to grade:\n{answer}\n\n"
    "Is the answer to grade correct, i.e. does it state the same final answer as the reference? "
    "Reply with exactly one word on the last line: CORRECT or INCORRECT."
)
_ARG_KEYS = {"api_url", "model_id", "model", "api_key", "prompt_template", "generation_config"}
_VERDICT = re.compile(r"^[\s*_`\"'.:!(\[]*(CORRECT|INCORRECT)[\s*_`\"'.:!)\]]*$", re.IGNORECASE)


@dataclass
class JudgeVerdict:
    correct: bool | None
    """None: the judge's reply could not be parsed (or the judge request failed)."""
    raw: str
    cached: bool
    error: str | None = None


def validate_judge_args(args: dict[str, Any] | None, strategy: str) -> None:
    if strategy not in STRATEGIES:
        raise ConfigError(f"judge_strategy: one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if not args:
        if strategy in ("llm", "llm_recall"):
            raise ConfigError(f"judge_model_args: judge_strategy {strategy!r} needs a judge (api_url, model_id)")
        return
    unknown = set(args) - _ARG_KEYS
    if unknown:
        raise ConfigError(f"judge_model_args: unknown key(s) {sorted(unknown)}; known: {sorted(_ARG_KEYS)}")
    if not str(args.get("api_url", "")).startswith(("http://", "https://")):
        raise ConfigError("judge_model_args.api_url: the judge service's base URL, e.g. http://127.0.0.1:8802/v1")
    if not (args.get("model_id") or args.get("model")):
        raise ConfigError("judge_model_args.model_id: the judge's served model name")
    template = args.get("prompt_template")
    if template is not None and not all(f"{{{key}}}" in template for key in ("answer",)):
        raise ConfigError("judge_model_args.prompt_template: must contain {answer} (and may use {question}, {gold})")


def parse_verdict(text: str) -> bool | None:
    """True for CORRECT, False for INCORRECT on the last non-empty line; None otherwise."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    match = _VERDICT.match(lines[-1].strip())
    if not match:
        return None
    return match.group(1).upper() == "CORRECT"


class LLMJudge:
    """Asks the judge model, through assay's own client, with an on-disk cache."""

    def __init__(self, args: dict[str, Any], cache_dir: Path | None) -> None:
        self.args = args
        self.model = str(args.get("model_id") or args.get("model"))
        self.template = str(args.get("prompt_template") or DEFAULT_TEMPLATE)
        self.generation = dict(args.get("generation_config") or {"temperature": 0.0, "max_tokens": 256})
        self.cache_path = cache_dir / CACHE_FILE if cache_dir is not None else None
        self._cache: dict[str, str] = {}
        self._cache_file: LineAppender | None = None
        self._client: Any = None
        self.requests = 0
        if self.cache_path is not None and self.cache_path.exists():
            for line in self.cache_path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                    self._cache[entry["key"]] = entry["raw"]
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line

    async def __aenter__(self) -> LLMJudge:
        from assay.client.openai import OpenAIClient

        base = str(self.args["api_url"]).rstrip("/")
        url = base if base.endswith("/chat/completions") else f"{base}/chat/completions"
        key = self.args.get("api_key")
        if not key or key == "***":  # masked in a stored run: take it from the environment
            key = os.environ.get("ASSAY_JUDGE_API_KEY")
        self._client = OpenAIClient(url, self.model, api_key=key, stream=False, temperature=None,
                                    total_timeout_s=600.0)
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.__aexit__(*exc)
            self._client = None
        if self._cache_file is not None:
            cache_file, self._cache_file = self._cache_file, None
            cache_file.close()

    def prompt(self, question: str, gold: str, answer: str) -> str:
        return self.template.format(question=question, gold=gold, answer=answer)

    async def judge(self, question: str, gold: str, answer: str) -> JudgeVerdict:
        from assay.client.openai import ChatOrCompletionRequest

        prompt = self.prompt(question, gold, answer)
        key = hashlib.sha256(f"{self.model}\n{prompt}".encode()).hexdigest()
        if key in self._cache:
            raw = self._cache[key]
            return JudgeVerdict(parse_verdict(raw), raw, cached=True)
        generation = dict(self.generation)
        max_tokens = generation.pop("max_tokens", None)
        request = ChatOrCompletionRequest(messages=[{"role": "user", "content": prompt}], max_tokens=max_tokens,
                                          extra=generation)
        self.requests += 1
        completion = await self._client.complete(request)
        if completion.error is not None:
            return JudgeVerdict(None, "", cached=False, error=f"judge request failed: {completion.error}")
        raw = completion.answer
        self._cache[key] = raw
        if self.cache_path is not None:  # whole lines only; a write error stops the run (StorageError)
            if self._cache_file is None:
                self._cache_file = LineAppender(self.cache_path)
            self._cache_file.append((json.dumps({"key": key, "model": self.model, "raw": raw}) + "\n").encode())
        return JudgeVerdict(parse_verdict(raw), raw, cached=False)


class Judges:
    """What benchmarks judge with: the math checker and, when configured, an LLM judge."""

    def __init__(self, math: Any, llm: LLMJudge | None, strategy: str) -> None:
        self.math = math
        self.llm = llm
        self.strategy = strategy

    async def equivalent_async(self, gold: str, predicted: str) -> tuple[bool, str]:
        return await self.math.equivalent_async(gold, predicted)
