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

Scorers get the run's :class:`Judges` (the math checker, the LLM judge, the strategy), typed.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from assay.errors import AssayError, ConfigError
from assay.store import JsonlWriter, read_jsonl

if TYPE_CHECKING:
    from assay.client import OpenAIClient
    from assay.eval.scoring.mathcheck import MathChecker

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


class CachedVerdict(msgspec.Struct, kw_only=True):
    """A line of ``judge_cache.jsonl``: the judge's raw reply to one prompt (``key``: its hash with the model)."""

    key: str
    model: str = ""
    raw: str


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
        self._cache_file: JsonlWriter | None = None
        self._client: OpenAIClient | None = None
        self.requests = 0
        if self.cache_path is not None:
            entries, _torn = read_jsonl(self.cache_path, CachedVerdict)  # a torn last line is skipped
            self._cache.update((entry.key, entry.raw) for entry in entries)

    async def __aenter__(self) -> LLMJudge:
        from assay.client import OpenAIClient

        base = str(self.args["api_url"]).rstrip("/")
        url = base if base.endswith("/chat/completions") else f"{base}/chat/completions"
        key = self.args.get("api_key")
        if not key or key == "***":  # masked in a stored run: take it from the environment
            key = os.environ.get("ASSAY_JUDGE_API_KEY")
        client = OpenAIClient(url, self.model, api_key=key, stream=False, temperature=None, total_timeout_s=600.0)
        await client.__aenter__()
        self._client = client
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.__aexit__(*exc)
            self._client = None
        if self._cache_file is not None:
            cache_file, self._cache_file = self._cache_file, None
            cache_file.close()

    def prompt(self, question: str, gold: str, answer: str, template: str | None = None) -> str:
        return (template or self.template).format(question=question, gold=gold, answer=answer)

    async def judge(self, question: str, gold: str, answer: str, *, template: str | None = None) -> JudgeVerdict:
        """The judge's opinion; ``template``: a benchmark's own grading prompt (SimpleQA's grades), whose
        reply the benchmark parses from ``raw`` (``correct`` is then None unless it says CORRECT/INCORRECT)."""
        from assay.client import ChatOrCompletionRequest

        prompt = self.prompt(question, gold, answer, template)
        key = hashlib.sha256(f"{self.model}\n{prompt}".encode()).hexdigest()
        if key in self._cache:
            raw = self._cache[key]
            return JudgeVerdict(parse_verdict(raw), raw, cached=True)
        generation = dict(self.generation)
        max_tokens = generation.pop("max_tokens", None)
        request = ChatOrCompletionRequest(messages=[{"role": "user", "content": prompt}], max_tokens=max_tokens,
                                          extra=generation)
        self.requests += 1
        assert self._client is not None, "LLMJudge.judge outside `async with`"
        response = await self._client.send(request)
        if response.error is not None:
            return JudgeVerdict(None, "", cached=False, error=f"judge request failed: {response.error}")
        raw = response.answer
        self._cache[key] = raw
        if self.cache_path is not None:  # whole lines only; a write error stops the run (StorageError)
            if self._cache_file is None:
                self._cache_file = JsonlWriter(self.cache_path)
            self._cache_file.write(CachedVerdict(key=key, model=self.model, raw=raw))
        return JudgeVerdict(parse_verdict(raw), raw, cached=False)


class AnswerJudge(Protocol):
    """A judge of one answer against its reference (an LLM judge; a test may give its own)."""

    model: str

    async def judge(self, question: str, gold: str, answer: str, *, template: str | None = None) -> JudgeVerdict: ...


@dataclass(frozen=True)
class Judges:
    """What scorers judge with: the math checker and, when configured, an LLM judge, and the strategy."""

    math: MathChecker | None = None
    """Equivalence of math answers (None: no math benchmark in the run, or a test without one)."""
    llm: AnswerJudge | None = None
    strategy: str = "auto"
    """``auto``, ``rule``, ``llm`` or ``llm_recall`` (see the module docstring)."""

    async def equivalent(self, gold: str, predicted: str) -> tuple[bool, str]:
        """(equal, how) from the math checker."""
        if self.math is None:
            raise AssayError("a math scorer was run without a math checker (Judges(math=MathChecker()))")
        return await self.math.equivalent_async(gold, predicted)

    def judge_info(self, opinion: JudgeVerdict) -> dict[str, Any]:
        """What a sample record keeps of the LLM judge's opinion."""
        assert self.llm is not None
        return {"model": self.llm.model, "raw": opinion.raw, "verdict": opinion.correct, "cached": opinion.cached,
                "error": opinion.error}
