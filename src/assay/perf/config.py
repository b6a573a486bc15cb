"""``PerfConfig``: everything a perf run needs, validated once, saved with the run (no secrets).

Field names and meanings follow EvalScope's ``perf`` arguments, so
``evalscope perf ...`` becomes ``assay perf ...`` unchanged.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from assay.client.openai import endpoint_kind
from assay.errors import ConfigError
from assay.validation import check_types, init_fields

DATASETS = ("random", "line_by_line", "custom", "openqa", "chat")
DEFAULT_PERCENTILES = (10.0, 25.0, 50.0, 66.0, 75.0, 80.0, 90.0, 95.0, 98.0, 99.0)
SECRET_FIELDS = ("api_key",)


@dataclass(init=False)
class PerfConfig:
    """Configuration of one ``assay perf`` run: one sweep point per (parallel, number) pair."""

    url: str | None = None
    """Full endpoint URL: ``http://host:port/v1/completions`` or ``.../v1/chat/completions``."""
    model: str | None = None
    api: str = "openai"
    api_key: str | None = field(default=None, repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    parallel: list[int] = field(default_factory=lambda: [1])
    number: list[int] | None = None
    """Requests per sweep point; defaults to 4 × parallel (at least 8)."""
    dataset: str = "random"
    dataset_path: str | None = None
    tokenizer_path: str | None = None
    tokenizer_hub: str = "auto"
    min_prompt_length: int = 1024
    max_prompt_length: int = 1024
    prefix_length: int = 0
    max_tokens: int = 2048
    min_tokens: int | None = None
    temperature: float | None = 0.0
    top_p: float | None = None
    seed: int = 0
    stream: bool = True
    extra_args: dict[str, Any] = field(default_factory=dict)
    continuous_usage: bool = False
    """Ask the server for usage on every chunk (vLLM's ``continuous_usage_stats``)."""
    warmup_num: int = 0
    connect_timeout: float = 60.0
    read_timeout: float = 600.0
    log_every_n_query: int = 10
    percentiles: list[float] = field(default_factory=lambda: list(DEFAULT_PERCENTILES))
    outputs_dir: str = "outputs"
    name: str | None = None
    test_connection: bool = True
    engine: str | None = None
    """``"llama-server"``: assay starts a local engine and points ``url``/``model`` at it."""
    engine_model: str = "smollm2"
    """For ``engine``: ``smollm2``, ``tiny`` or a path to a ``.gguf`` file."""
    quiet: bool = False

    def __init__(self, **kwargs: Any) -> None:
        init_fields(self, kwargs)
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first bad field."""
        check_types(self)
        if self.api != "openai":
            raise ConfigError(f"api: only 'openai' (OpenAI-compatible HTTP) is supported, got {self.api!r}")
        if self.engine is None:
            if not self.url:
                raise ConfigError("url: give the endpoint URL (e.g. http://127.0.0.1:8000/v1/completions) or --engine llama-server")
            if not self.url.startswith(("http://", "https://")):
                raise ConfigError(f"url: must start with http:// or https://, got {self.url!r}")
            if endpoint_kind(self.url) == "unknown":
                raise ConfigError(
                    f"url: {self.url!r} is not an OpenAI endpoint; it must end with /v1/completions or /v1/chat/completions"
                )
            if not self.model:
                raise ConfigError("model: give the served model name (as in the server's /v1/models)")
        elif self.engine != "llama-server":
            raise ConfigError(f"engine: only 'llama-server' is available, got {self.engine!r}")
        if not self.parallel:
            raise ConfigError("parallel: give at least one concurrency")
        if any(p < 1 for p in self.parallel):
            raise ConfigError(f"parallel: every concurrency must be >= 1, got {self.parallel}")
        if self.number is None:
            self.number = [max(8, 4 * p) for p in self.parallel]
        if len(self.number) != len(self.parallel):
            raise ConfigError(
                f"parallel and number pair up one sweep point per pair: got {len(self.parallel)} parallel "
                f"value(s) {self.parallel} and {len(self.number)} number value(s) {self.number}"
            )
        if any(n < 1 for n in self.number):
            raise ConfigError(f"number: every request count must be >= 1, got {self.number}")
        if self.dataset not in DATASETS:
            raise ConfigError(f"dataset: must be one of {', '.join(DATASETS)}, got {self.dataset!r}")
        if self.dataset != "random" and not self.dataset_path:
            raise ConfigError(f"dataset_path: dataset {self.dataset!r} reads prompts from a file; give --dataset-path")
        if self.dataset == "random":
            if self.min_prompt_length < 1 or self.max_prompt_length < 1:
                raise ConfigError("min_prompt_length/max_prompt_length: random prompts need at least 1 token")
            if self.min_prompt_length > self.max_prompt_length:
                raise ConfigError(
                    f"min_prompt_length ({self.min_prompt_length}) is larger than max_prompt_length ({self.max_prompt_length})"
                )
            if self.prefix_length < 0:
                raise ConfigError(f"prefix_length: must be >= 0, got {self.prefix_length}")
            if self.prefix_length >= self.min_prompt_length:
                raise ConfigError(
                    f"prefix_length ({self.prefix_length}) must be smaller than min_prompt_length "
                    f"({self.min_prompt_length}): each prompt is the shared prefix plus at least one token"
                )
            if not self.tokenizer_path and self.engine is None:
                raise ConfigError(
                    "tokenizer_path: the random dataset needs a tokenizer to make prompts of exact length "
                    "(a tokenizer.json, a model folder, a hub id, or a tiktoken name such as o200k_base)"
                )
        if self.max_tokens < 1:
            raise ConfigError(f"max_tokens: must be >= 1, got {self.max_tokens}")
        if self.min_tokens is not None and not 0 <= self.min_tokens <= self.max_tokens:
            raise ConfigError(f"min_tokens: must be between 0 and max_tokens ({self.max_tokens}), got {self.min_tokens}")
        if self.warmup_num < 0:
            raise ConfigError(f"warmup_num: must be >= 0, got {self.warmup_num}")
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ConfigError("connect_timeout/read_timeout: must be positive seconds")
        if self.log_every_n_query < 0:
            raise ConfigError(f"log_every_n_query: must be >= 0, got {self.log_every_n_query}")
        if not self.percentiles or any(not 0 < p <= 100 for p in self.percentiles):
            raise ConfigError(f"percentiles: each must be in (0, 100], got {self.percentiles}")
        for key in ("model", "stream", "messages", "prompt"):
            if key in self.extra_args:
                raise ConfigError(f"extra_args: {key!r} is set by assay itself; use the matching option instead")

    @property
    def points(self) -> list[tuple[int, int]]:
        """The sweep: (concurrency, request count) pairs, in order."""
        assert self.number is not None
        return list(zip(self.parallel, self.number))

    def to_public_dict(self) -> dict[str, Any]:
        """The config as saved with the run: secrets dropped, header values masked."""
        data = dataclasses.asdict(self)
        for key in SECRET_FIELDS:
            data[key] = "***" if data.get(key) else None
        data["headers"] = {name: "***" for name in self.headers}
        return data
