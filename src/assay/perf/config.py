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
from assay.redact import redact_url
from assay.validation import check_types, init_fields

DATASETS = ("random", "line_by_line", "custom", "openqa", "chat")
DEFAULT_PERCENTILES = (10.0, 25.0, 50.0, 66.0, 75.0, 80.0, 90.0, 95.0, 98.0, 99.0)
SECRET_FIELDS = ("api_key",)


@dataclass(frozen=True)
class PointSpec:
    """One sweep point: closed loop (``rate`` None, ``concurrency`` workers) or open loop."""

    index: int
    concurrency: int | None
    """Workers (closed loop) or the cap on requests in flight (open loop; None: no cap)."""
    number: int | None
    """Requests to send (None: as many as ``duration`` allows)."""
    rate: float | None
    duration: float | None

    @property
    def label(self) -> str:
        if self.rate is None:
            return f"concurrency {self.concurrency}"
        cap = f", cap {self.concurrency}" if self.concurrency else ""
        return f"rate {self.rate:g}/s{cap}"


@dataclass(init=False)
class PerfConfig:
    """Configuration of one ``assay perf`` run: one sweep point per (parallel, number) pair."""

    url: str | None = None
    """Full endpoint URL: ``http://host:port/v1/completions`` or ``.../v1/chat/completions``."""
    model: str | None = None
    api: str = "openai"
    api_key: str | None = field(default=None, repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    parallel: list[int] | None = None
    """Concurrency of each closed-loop point (default [1]); with ``rate``, a cap on requests in flight."""
    number: list[int] | None = None
    """Requests per sweep point; defaults to 4 × parallel (at least 8) unless ``duration`` bounds the points."""
    rate: list[float] | None = None
    """Open loop: requests per second of each sweep point (a sweep over rates)."""
    burstiness: float = 1.0
    """Gamma shape of inter-arrival gaps with ``rate``: 1 is Poisson, < 1 burstier, > 1 more even."""
    duration: float | None = None
    """Seconds each sweep point issues requests for (then waits for those in flight)."""
    ramp_up: float = 0.0
    """Seconds over which the rate (open loop) or the number of workers (closed loop) climbs to its target."""
    warmup_s: float = 0.0
    """Requests that start in the first ``warmup_s`` seconds of a point are sent but not measured."""
    cooldown_s: float = 0.0
    """With ``duration``: requests that start in the last ``cooldown_s`` seconds are not measured."""
    slo: str | None = None
    """Service-level objectives, e.g. ``"ttft_p99<=2s,tpot_p99<=50ms"``: goodput and pass/fail per point."""
    server_metrics: str | None = None
    """A Prometheus ``/metrics`` URL to scrape around each point, or ``"auto"`` (the server's own)."""
    workers: int = 1
    """Client processes to spread each point's requests over (one schedule, merged records)."""
    slo_search: str | None = None
    """``"concurrency"`` or ``"rate"``: instead of the sweep, find the highest value that meets ``slo``."""
    search_range: list[float] = field(default_factory=lambda: [1.0, 256.0])
    search_repeats: int = 2
    """Each probe runs this many times; it passes only if every run meets the SLO."""
    min_success_rate: float = 1.0
    """The run fails (non-zero exit) when any sweep point's share of successful requests is below
    this; 1.0: every request must succeed, since failed requests leave out exactly the slow ones."""
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
    """Seconds without any data before a request fails (a stream that keeps sending never meets it)."""
    total_timeout: float | None = None
    """Seconds one request may take from start to its last byte (EvalScope's ``--total-timeout``); None: no limit."""
    log_every_n_query: int = 10
    percentiles: list[float] = field(default_factory=lambda: list(DEFAULT_PERCENTILES))
    outputs_dir: str = "outputs"
    name: str | None = None
    test_connection: bool = True
    engine: str | None = None
    """``"llama-server"`` or ``"vllm"``: assay starts a local engine and points ``url``/``model`` at it."""
    engine_model: str = "smollm2"
    """For ``engine``: ``smollm2``, ``tiny``, a ``.gguf`` file (or, for vLLM, a Hugging Face folder)."""
    quiet: bool = False
    html: bool = True
    """Write report.html and plots/*.svg into the run directory at the end."""

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
                raise ConfigError(f"url: must start with http:// or https://, got {redact_url(self.url)!r}")
            if endpoint_kind(self.url) == "unknown":
                raise ConfigError(
                    f"url: {redact_url(self.url)!r} is not an OpenAI endpoint; it must end with /v1/completions "
                    "or /v1/chat/completions"
                )
            if not self.model:
                raise ConfigError("model: give the served model name (as in the server's /v1/models)")
        elif self.engine not in ("llama-server", "vllm"):
            raise ConfigError(f"engine: 'llama-server' or 'vllm', got {self.engine!r}")
        if self.rate is None:
            self.parallel = self.parallel or [1]
            if any(p < 1 for p in self.parallel):
                raise ConfigError(f"parallel: every concurrency must be >= 1, got {self.parallel}")
            if self.number is None and self.duration is None and self.slo_search is None:
                self.number = [max(8, 4 * p) for p in self.parallel]
            if self.number is not None and len(self.number) != len(self.parallel):
                raise ConfigError(
                    f"parallel and number pair up one sweep point per pair: got {len(self.parallel)} parallel "
                    f"value(s) {self.parallel} and {len(self.number)} number value(s) {self.number}"
                )
        else:
            if not self.rate or any(r <= 0 for r in self.rate):
                raise ConfigError(f"rate: every rate must be > 0 requests/s, got {self.rate}")
            for name, values in (("parallel", self.parallel), ("number", self.number)):
                if values is not None and len(values) not in (1, len(self.rate)):
                    raise ConfigError(
                        f"{name}: give one value or one per rate ({len(self.rate)} rates), got {len(values)}"
                    )
            if self.parallel is not None and any(p < 1 for p in self.parallel):
                raise ConfigError(f"parallel: every cap must be >= 1, got {self.parallel}")
            if self.number is None and self.duration is None:
                raise ConfigError("number/duration: an open-loop (rate) sweep needs --number or --duration per point")
        if self.number is not None and any(n < 1 for n in self.number):
            raise ConfigError(f"number: every request count must be >= 1, got {self.number}")
        if self.duration is not None and self.duration <= 0:
            raise ConfigError(f"duration: must be positive seconds, got {self.duration}")
        if self.burstiness <= 0:
            raise ConfigError(f"burstiness: must be > 0, got {self.burstiness}")
        for name in ("ramp_up", "warmup_s", "cooldown_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: must be >= 0 seconds")
        if self.cooldown_s and self.duration is None:
            raise ConfigError("cooldown_s: only duration-bound points have a known end; add --duration")
        if self.duration is not None and self.warmup_s + self.cooldown_s >= self.duration:
            raise ConfigError("warmup_s + cooldown_s must be shorter than duration")
        if self.slo is not None:
            from assay.perf.slo import parse_slo

            parse_slo(self.slo)
        if not 0.0 <= self.min_success_rate <= 1.0:
            raise ConfigError(f"min_success_rate: a fraction between 0 and 1 (1 = every request), got {self.min_success_rate}")
        if self.workers < 1:
            raise ConfigError(f"workers: must be >= 1, got {self.workers}")
        if self.workers > 1 and self.number is None and (self.rate is None or self.duration is None):
            raise ConfigError("workers: give --number (prompts are made up front and shared out to the workers)")
        if self.slo_search is not None:
            if self.slo_search not in ("concurrency", "rate"):
                raise ConfigError(f"slo_search: 'concurrency' or 'rate', got {self.slo_search!r}")
            if self.slo is None:
                raise ConfigError("slo_search: give the objectives to search for with --slo")
            if len(self.search_range) != 2 or not 0 < self.search_range[0] < self.search_range[1]:
                raise ConfigError(f"search_range: two values LOW < HIGH above 0, got {self.search_range}")
            if self.search_repeats < 1:
                raise ConfigError(f"search_repeats: must be >= 1, got {self.search_repeats}")
            if self.slo_search == "rate" and self.number is None and self.duration is None:
                raise ConfigError("slo_search 'rate' needs --number or --duration for each probe")
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
        if self.total_timeout is not None and self.total_timeout <= 0:
            raise ConfigError(f"total_timeout: must be positive seconds, got {self.total_timeout}")
        if self.log_every_n_query < 0:
            raise ConfigError(f"log_every_n_query: must be >= 0, got {self.log_every_n_query}")
        if not self.percentiles or any(not 0 < p <= 100 for p in self.percentiles):
            raise ConfigError(f"percentiles: each must be in (0, 100], got {self.percentiles}")
        for key in ("model", "stream", "messages", "prompt"):
            if key in self.extra_args:
                raise ConfigError(f"extra_args: {key!r} is set by assay itself; use the matching option instead")

    @property
    def points(self) -> list[PointSpec]:
        """The sweep, in order."""
        if self.rate is None:
            assert self.parallel is not None
            numbers: list[int | None] = list(self.number) if self.number else [None] * len(self.parallel)
            return [PointSpec(i, p, n, None, self.duration) for i, (p, n) in enumerate(zip(self.parallel, numbers))]
        count = len(self.rate)
        caps = self.parallel or [None]  # type: ignore[list-item]
        numbers = list(self.number) if self.number else [None]
        return [
            PointSpec(i, caps[i if len(caps) > 1 else 0], numbers[i if len(numbers) > 1 else 0], rate, self.duration)
            for i, rate in enumerate(self.rate[:count])
        ]

    def to_public_dict(self) -> dict[str, Any]:
        """The config as saved with the run: secrets dropped, header values masked."""
        data = dataclasses.asdict(self)
        for key in SECRET_FIELDS:
            data[key] = "***" if data.get(key) else None
        data["headers"] = {name: "***" for name in self.headers}
        for key in ("url", "server_metrics"):  # credentials written into a URL
            if data.get(key):
                data[key] = redact_url(data[key])
        return data
