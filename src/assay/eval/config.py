"""``TaskConfig``: one eval run, validated field by field, saved with the run (no secrets)."""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any

from assay.constants import EvalType
from assay.errors import ConfigError
from assay.validation import check_types, init_fields

GENERATION_KEYS = {
    "max_tokens": int, "max_completion_tokens": int, "temperature": (int, float), "top_p": (int, float),
    "top_k": int, "seed": int, "stream": bool, "extra_body": dict, "stop": (str, list),
    "presence_penalty": (int, float), "frequency_penalty": (int, float), "n": int,
    "reasoning_effort": str, "timeout": (int, float), "min_tokens": int, "repetition_penalty": (int, float),
}
DATASET_ARG_KEYS = {
    "subset_list": list, "few_shot_num": int, "local_path": str, "prompt_template": str, "dataset_id": str,
    "few_shot_random": bool,
}
HUBS = ("huggingface", "modelscope", "local")


@dataclass(init=False)
class TaskConfig:
    """An eval run. Field names follow EvalScope's TaskConfig."""

    model: str | None = None
    api_url: str | None = None
    """Base URL of the service, e.g. ``http://127.0.0.1:8801/v1`` (``/chat/completions`` is appended)."""
    api_key: str | None = field(default=None, repr=False)
    eval_type: str = EvalType.SERVICE
    datasets: list[str] = field(default_factory=list)
    dataset_args: dict[str, dict[str, Any]] = field(default_factory=dict)
    dataset_dir: str | None = None
    dataset_hub: str = "huggingface"
    generation_config: dict[str, Any] = field(default_factory=dict)
    eval_batch_size: int = 1
    """Requests in flight at once."""
    timeout: float | None = None
    """Seconds one request may take, start to finish (None: no limit)."""
    repeats: int = 1
    limit: int | float | None = None
    """Samples per subset: an int, or a fraction in (0, 1)."""
    use_cache: str | None = None
    """A run directory to resume: only unfinished samples are queried."""
    work_dir: str = "./outputs"
    seed: int | None = 42
    retries: int = 5
    """Tries after the first for a retryable failure (429, 5xx, connection, timeout)."""
    judge_model_args: dict[str, Any] | None = None
    """An LLM judge: ``api_url``, ``model_id``, ``api_key``, ``prompt_template``, ``generation_config``."""
    judge_strategy: str = "auto"
    """``auto``, ``rule``, ``llm`` or ``llm_recall`` (see assay.eval.judge)."""
    engine: str | None = None
    """``"llama-server"``: assay serves ``engine_model`` itself and evaluates it."""
    engine_model: str = "smollm2"
    quiet: bool = False

    def __init__(self, **kwargs: Any) -> None:
        init_fields(self, kwargs)
        self.validate()

    def validate(self) -> None:
        if isinstance(self.datasets, str):
            self.datasets = [self.datasets]
        check_types(self)
        if self.eval_type not in EvalType.ALL:
            raise ConfigError(f"eval_type: only {EvalType.SERVICE!r} (an OpenAI-compatible service) is supported, got {self.eval_type!r}")
        if self.engine is None:
            if not self.api_url:
                raise ConfigError("api_url: give the service's base URL (e.g. http://127.0.0.1:8801/v1) or engine='llama-server'")
            if not self.api_url.startswith(("http://", "https://")):
                raise ConfigError(f"api_url: must start with http:// or https://, got {self.api_url!r}")
            if not self.model:
                raise ConfigError("model: give the served model name")
        elif self.engine != "llama-server":
            raise ConfigError(f"engine: only 'llama-server' is available, got {self.engine!r}")
        if not self.datasets:
            raise ConfigError("datasets: give at least one benchmark, e.g. ['aime25']")
        from assay.eval.benchmarks import get_benchmark

        for name in self.datasets:
            get_benchmark(name)
        if self.dataset_hub not in HUBS:
            raise ConfigError(f"dataset_hub: must be one of {', '.join(HUBS)}, got {self.dataset_hub!r}")
        for name, args in self.dataset_args.items():
            if name not in self.datasets:
                raise ConfigError(f"dataset_args: {name!r} is not in datasets {self.datasets}")
            if not isinstance(args, dict):
                raise ConfigError(f"dataset_args.{name}: expected a mapping")
            for key, value in args.items():
                _check_key(f"dataset_args.{name}", key, value, DATASET_ARG_KEYS)
            subsets = args.get("subset_list")
            if subsets is not None:
                known = get_benchmark(name).subsets
                for subset in subsets:
                    if subset not in known:
                        raise ConfigError(f"dataset_args.{name}.subset_list: unknown subset {subset!r}; known: {', '.join(known)}")
            template = args.get("prompt_template")
            if template is not None and "{question}" not in template:
                raise ConfigError(f"dataset_args.{name}.prompt_template: must contain {{question}}")
        for key, value in self.generation_config.items():
            _check_key("generation_config", key, value, GENERATION_KEYS)
        from assay.eval.judge import validate_judge_args

        validate_judge_args(self.judge_model_args, self.judge_strategy)
        if self.eval_batch_size < 1:
            raise ConfigError(f"eval_batch_size: must be >= 1, got {self.eval_batch_size}")
        if self.repeats < 1:
            raise ConfigError(f"repeats: must be >= 1, got {self.repeats}")
        if self.retries < 0:
            raise ConfigError(f"retries: must be >= 0, got {self.retries}")
        if self.timeout is not None and self.timeout <= 0:
            raise ConfigError(f"timeout: must be positive seconds, got {self.timeout}")
        if self.limit is not None and (self.limit <= 0 or (isinstance(self.limit, float) and self.limit > 1)):
            raise ConfigError(f"limit: an int >= 1 or a fraction in (0, 1], got {self.limit}")

    @property
    def chat_url(self) -> str:
        assert self.api_url is not None
        base = self.api_url.rstrip("/")
        return base if base.endswith("/chat/completions") else f"{base}/chat/completions"

    def to_public_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["api_key"] = "***" if self.api_key else None
        if data.get("judge_model_args") and data["judge_model_args"].get("api_key"):
            data["judge_model_args"]["api_key"] = "***"
        return data


def _check_key(where: str, key: str, value: Any, allowed: dict[str, Any]) -> None:
    if key not in allowed:
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{where}: unknown key {key!r}{hint}; known: {', '.join(sorted(allowed))}")
    expected = allowed[key]
    if not isinstance(value, expected) or (isinstance(value, bool) and expected in (int, (int, float))):
        names = "/".join(t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,)))
        raise ConfigError(f"{where}.{key}: expected {names}, got {type(value).__name__} {value!r}")
