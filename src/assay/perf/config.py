"""``PerfConfig``: everything a perf run needs, validated once, saved with the run (no secrets).

Field names and meanings follow EvalScope's ``perf`` arguments, so
``evalscope perf ...`` becomes ``assay perf ...`` unchanged.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.constants import URL_STRATEGIES
from assay.errors import ConfigError
from assay.flags import flag, header, header_words, integer, json_object, one_or_many, url_words
from assay.redact import redact_url
from assay.validation import check_types, init_fields

MULTI_TURN_DATASETS = ("random_multi_turn", "custom_multi_turn", "share_gpt_zh_multi_turn", "share_gpt_en_multi_turn")
"""Conversations sent turn by turn (``--multi-turn``; see :mod:`assay.perf.sessions`)."""
DATASETS = ("random", "line_by_line", "custom", "openqa", "chat", "trace", "workload_trace",
            # -- multi-turn sessions (assay.perf.sessions) --
            *MULTI_TURN_DATASETS,
            # -- EvalScope's datasets (assay.perf.datasets, assay.perf.dataset_hub, assay.perf.images) --
            "share_gpt_zh", "share_gpt_en", "longalpaca", "speed_benchmark", "speed_benchmark_long", "random_vl",
            "flickr8k",
            # -- embeddings and rerank (EvalScope's names; assay.perf.endpoints) --
            "random_embedding", "random_embedding_batch", "embedding", "embed", "embedding_batch", "random_rerank",
            "rerank")
MADE_DATASETS = ("random_vl", "speed_benchmark", "speed_benchmark_long")
"""Made on the spot from the tokenizer's words, as ``random`` is (:func:`assay.perf.datasets.generated_dataset`)."""
PATHLESS_DATASETS = (*MADE_DATASETS, "share_gpt_zh", "share_gpt_en", "openqa", "longalpaca", "flickr8k",
                     "random_embedding", "random_embedding_batch", "random_rerank")
"""Datasets that need no --dataset-path: made on the spot, or read from the hub without a local copy."""
DEFAULT_PERCENTILES = (10.0, 25.0, 50.0, 66.0, 75.0, 80.0, 90.0, 95.0, 98.0, 99.0)
SECRET_FIELDS = ("api_key", "wandb_api_key", "swanlab_api_key")
ENGINES = ("llama-server", "vllm")
_SLA_GROUP = "EvalScope's SLA auto-tuning (mapped onto --slo, --slo-search, --search-range, --search-repeats)"
_MULTI_TURN = "multi-turn sessions"
_EVALSCOPE = "EvalScope arguments (accepted; each prints what assay does instead, or says it is not supported)"


def point_label(concurrency: int | None, rate: float | None) -> str:
    """A sweep point in words, everywhere it is shown: ``concurrency 4``, ``rate 4/s`` or ``rate 4/s, cap 16``."""
    if rate is None:
        return f"concurrency {concurrency}"
    cap = f", cap {concurrency}" if concurrency else ""
    return f"rate {rate:g}/s{cap}"


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
        return point_label(self.concurrency, self.rate)


@dataclass(init=False)
class PerfConfig:
    """Configuration of one ``assay perf`` run: one sweep point per (parallel, number) pair.

    Each field that is a command-line option declares its flag (``metadata=flag(...)``): the CLI's
    arguments and their mapping to this class are built from these fields, in this order and group.
    """

    # target
    url: str | list[str] | None = field(default=None, metadata=flag(
        "full endpoint URL, e.g. http://127.0.0.1:8000/v1/completions or /v1/chat/completions; give --url "
        "again for more endpoints of the same model (see --url-strategy)", group="target", action="append",
        convert=one_or_many, write=url_words))
    """Full endpoint URL: ``http://host:port/v1/completions`` or ``.../v1/chat/completions``; a list of them
    spreads the requests over several endpoints (``url_strategy``), with metrics per endpoint and overall."""
    url_strategy: str = field(default="round-robin", metadata=flag(
        "with several --url: round-robin (in turn, an exact split) or least-inflight (to the endpoint with "
        "the fewest requests in flight)", group="target", choices=URL_STRATEGIES))
    """How requests are shared out over several ``url``: ``round-robin`` or ``least-inflight``."""
    model: str | None = field(default=None, metadata=flag("model name as the server knows it", group="target"))
    api: str = field(default="openai", metadata=flag(
        "openai (chat/completions, as --url says), openai_embedding/embedding (/v1/embeddings), "
        "openai_rerank/rerank (/v1/rerank or /v1/score), openai_responses/responses (/v1/responses)", group="target"))
    """EvalScope's ``--api``: which endpoint is measured; a --url without an endpoint path gets the API's appended."""
    api_key: str | None = field(default=None, repr=False, metadata=flag(
        "sent as 'Authorization: Bearer …'; never written anywhere (or set ASSAY_API_KEY)", group="target"))
    headers: dict[str, str] = field(default_factory=dict, repr=False, metadata=flag(
        "extra request headers; their values are never written anywhere", group="target", nargs="+", parse=header,
        metavar="NAME=VALUE", convert=dict, write=header_words))
    engine: str | None = field(default=None, metadata=flag(
        "start a local engine and test it (url/model/tokenizer default to it)", group="target", choices=ENGINES))
    """``"llama-server"`` or ``"vllm"``: assay starts a local engine and points ``url``/``model`` at it."""
    engine_model: str = field(default="smollm2", metadata=flag(
        "for --engine: smollm2, tiny, a .gguf path, or (vllm) a Hugging Face folder", group="target"))
    """For ``engine``: ``smollm2``, ``tiny``, a ``.gguf`` file (or, for vLLM, a Hugging Face folder)."""

    # load
    parallel: list[int] | None = field(default=None, metadata=flag(
        "concurrency of each sweep point (pairs with --number; default 1); with --rate, a cap", group="load",
        parse=integer))
    """Concurrency of each closed-loop point (default [1]); with ``rate``, a cap on requests in flight."""
    number: list[int] | None = field(default=None, metadata=flag(
        "requests of each sweep point (default: 4 × parallel, at least 8)", group="load", parse=integer,
        names=("--number", "-n")))
    """Requests per sweep point; defaults to 4 × parallel (at least 8) unless ``duration`` bounds the points."""
    rate: list[float] | None = field(default=None, metadata=flag(
        "open loop: requests/s of each sweep point (Poisson arrivals; see --burstiness)", group="load"))
    """Open loop: requests per second of each sweep point (a sweep over rates)."""
    burstiness: float = field(default=1.0, metadata=flag(
        "gamma shape of arrival gaps: 1 Poisson, <1 burstier, >1 more even", group="load"))
    """Gamma shape of inter-arrival gaps with ``rate``: 1 is Poisson, < 1 burstier, > 1 more even."""
    duration: float | None = field(default=None, metadata=flag("seconds each point sends requests for", group="load"))
    """Seconds each sweep point issues requests for (then waits for those in flight)."""
    ramp_up: float = field(default=0.0, metadata=flag("seconds to climb to the rate or the concurrency", group="load"))
    """Seconds over which the rate (open loop) or the number of workers (closed loop) climbs to its target."""
    warmup_s: float = field(default=0.0, metadata=flag(
        "requests started in a point's first N s are not measured", group="load"))
    cooldown_s: float = field(default=0.0, metadata=flag(
        "with --duration: nor those started in its last N s", group="load"))
    slo: str | None = field(default=None, metadata=flag(
        'service-level objectives, e.g. "ttft_p99<=2s,tpot_p99<=50ms": goodput per point', group="load"))
    """Service-level objectives, e.g. ``"ttft_p99<=2s,tpot_p99<=50ms"``: goodput and pass/fail per point."""
    workers: int = field(default=1, metadata=flag("client processes sharing each point's requests", group="load"))
    """Client processes to spread each point's requests over (one schedule, merged records)."""
    # -- scale-out on Ray (assay.scale) --
    ray: str | None = field(default=None, metadata=flag(
        "send from Ray actors: a cluster ADDRESS (no address: RAY_ADDRESS or a local Ray), needs assay[ray]",
        group="load", nargs="?", const="auto", metavar="ADDRESS"))
    """Send each point's requests from Ray actors (:mod:`assay.scale`): a cluster address, or ``"auto"``
    (``ray.init()``'s own choice: ``RAY_ADDRESS``, a running local cluster, or a new local one)."""
    ray_actors: int = field(default=0, metadata=flag(
        "with --ray: actors sharing each point (default 0: one per node)", group="load", metavar="N"))
    """With ``ray``: client actors, spread over the cluster's nodes in turn (0: one per alive node)."""
    server_metrics: str | None = field(default=None, metadata=flag(
        "scrape Prometheus /metrics around each point (default URL: the server's own)", group="load", nargs="?",
        const="auto"))
    """A Prometheus ``/metrics`` URL to scrape around each point, or ``"auto"`` (the server's own)."""
    slo_search: str | None = field(default=None, metadata=flag(
        "find the highest concurrency or rate meeting --slo (bracket, then bisect)", group="load",
        choices=("concurrency", "rate")))
    """``"concurrency"`` or ``"rate"``: instead of the sweep, find the highest value that meets ``slo``."""
    search_range: list[float] = field(default_factory=lambda: [1.0, 256.0], metadata=flag(
        group="load", nargs=2, metavar=("LOW", "HIGH")))
    search_repeats: int = field(default=2, metadata=flag("runs per probe; all must meet the SLO", group="load"))
    """Each probe runs this many times; it passes only if every run meets the SLO."""
    min_success_rate: float = field(default=1.0, metadata=flag(
        "exit non-zero (3) when a sweep point's successful share of requests is below this "
        "(default 1.0: any failed request fails the run)", group="load", metavar="FRACTION"))
    """The run fails (non-zero exit) when any sweep point's share of successful requests is below
    this; 1.0: every request must succeed, since failed requests leave out exactly the slow ones."""
    warmup_num: int = field(default=0, metadata=flag("warm-up requests before the sweep (not measured)", group="load"))
    connect_timeout: float = field(default=60.0, metadata=flag("seconds to open a connection", group="load"))
    read_timeout: float = field(default=600.0, metadata=flag(
        "seconds without data before a request fails", group="load"))
    """Seconds without any data before a request fails (a stream that keeps sending never meets it)."""
    total_timeout: float | None = field(default=None, metadata=flag(
        "seconds one request may take in all, however steadily it streams (default: no limit)", group="load"))
    """Seconds one request may take from start to its last byte (EvalScope's ``--total-timeout``); None: no limit."""
    test_connection: bool = field(default=True, metadata=flag(
        "skip the short request sent first to check URL, model and key", group="load",
        names=("--no-test-connection",)))

    # dataset
    dataset: str = field(default="random", metadata=flag(
        "random, line_by_line, custom/openqa (JSONL prompts), chat (JSONL messages), trace/workload_trace "
        "(Mooncake JSONL or Azure CSV, replayed on its timestamps); EvalScope's share_gpt_zh/share_gpt_en, "
        "longalpaca, speed_benchmark/speed_benchmark_long, random_vl (random images), flickr8k", group="dataset"))
    dataset_path: str | None = field(default=None, metadata=flag(
        "file for non-random datasets; for a hub dataset, its file or a folder in the hub's layout (else "
        "it is downloaded)", group="dataset"))
    tokenizer_path: str | None = field(default=None, metadata=flag(
        "tokenizer.json, model folder, .gguf, hub id, or an offline tiktoken name: "
        "o200k_harmony (gpt-oss), o200k_base, cl100k_base", group="dataset"))
    tokenizer_hub: str = field(default="auto", metadata=flag(
        group="dataset", choices=("auto", "huggingface", "modelscope")))
    min_prompt_length: int = field(default=1024, metadata=flag("random: shortest prompt in tokens", group="dataset"))
    max_prompt_length: int = field(default=1024, metadata=flag("random: longest prompt in tokens", group="dataset"))
    prefix_length: int = field(default=0, metadata=flag(
        "random: tokens of a prefix shared within a point", group="dataset"))
    seed: int = field(default=0, metadata=flag("seed of the random prompts", group="dataset"))
    trace_speedup: float = field(default=1.0, metadata=flag(
        "trace: replay X times as fast (send times = trace times / X)", group="dataset", metavar="X"))
    trace_window: str | None = field(default=None, metadata=flag(
        "trace: replay only the rows from START to END seconds into the trace (either may be left out)",
        group="dataset", metavar="START:END"))

    # generation
    max_tokens: int = field(default=2048, metadata=flag(group="generation"))
    min_tokens: int | None = field(default=None, metadata=flag(group="generation"))
    temperature: float | None = field(default=0.0, metadata=flag(group="generation"))
    top_p: float | None = field(default=None, metadata=flag(group="generation"))
    stream: bool = field(default=True, metadata=flag(
        "stream responses (SSE)", group="generation", action=argparse.BooleanOptionalAction))
    extra_args: dict[str, Any] = field(default_factory=dict, metadata=flag(
        "JSON object merged into every request body", group="generation", parse=json_object))
    continuous_usage: bool = field(default=False, metadata=flag(
        "ask for usage on every chunk (vLLM) for exact per-token ITL", group="generation"))
    """Ask the server for usage on every chunk (vLLM's ``continuous_usage_stats``)."""

    # output
    outputs_dir: str = field(default="outputs", metadata=flag(group="output"))
    name: str | None = field(default=None, metadata=flag("run name (default: the model name)", group="output"))
    log_every_n_query: int = field(default=10, metadata=flag(
        "log interim figures every N requests (0: never)", group="output"))
    percentiles: list[float] = field(default_factory=lambda: list(DEFAULT_PERCENTILES), metadata=flag(
        f"percentiles to report (default {' '.join(f'{p:g}' for p in DEFAULT_PERCENTILES)})", group="output"))
    quiet: bool = field(default=False, metadata=flag("no progress bar or per-point tables", group="output"))
    html: bool = field(default=True, metadata=flag(
        "skip report.html and plots/*.svg", group="output", names=("--no-html",)))
    """Write report.html and plots/*.svg into the run directory at the end."""

    # EvalScope's remaining `perf` arguments, under its names, so that its commands run unchanged.
    # Request parameters: sent in every request body (see request_body_extra).
    stop: list[str] | None = field(default=None, metadata=flag(
        "stop sequences, sent as 'stop'", group="generation", nargs="*"))
    stop_token_ids: list[int] | None = field(default=None, metadata=flag(
        "stop token ids, sent as 'stop_token_ids' (vLLM)", group="generation", nargs="*", parse=integer))
    top_k: int | None = field(default=None, metadata=flag(group="generation"))
    frequency_penalty: float | None = field(default=None, metadata=flag(group="generation"))
    repetition_penalty: float | None = field(default=None, metadata=flag(group="generation"))
    logprobs: bool = field(default=False, metadata=flag(
        "ask for log probabilities ('logprobs': true on chat, 1 on completions)", group="generation"))
    n_choices: int | None = field(default=None, metadata=flag("choices per request, sent as 'n'", group="generation"))
    prompt: str | None = field(default=None, metadata=flag(
        "send this one prompt (or @FILE's text) in every request instead of a dataset", group="dataset"))
    query_template: str | None = field(default=None, metadata=flag(
        "JSON request body (or @FILE) that every request starts from; assay's own fields and options win",
        group="generation"))
    # EvalScope's SLA auto-tuning, mapped onto assay's SLO search (--slo, --slo-search, --search-*).
    sla_auto_tune: bool = field(default=False, metadata=flag(
        "EvalScope's name for --slo-search: find the highest --sla-variable meeting --sla-params", group=_SLA_GROUP))
    sla_variable: str = field(default="parallel", metadata=flag(
        "parallel (→ --slo-search concurrency) or rate", group=_SLA_GROUP, choices=("parallel", "rate")))
    sla_params: str | None = field(default=None, metadata=flag(
        'JSON, e.g. \'[{"p99_ttft": "<=2s", "avg_tpot": "<=50ms"}]\' (→ --slo); bare numbers: latency in s, '
        "TTFT/TPOT in ms", group=_SLA_GROUP))
    sla_num_runs: int = field(default=3, metadata=flag("→ --search-repeats (every run must meet it)", group=_SLA_GROUP))
    sla_upper_bound: int = field(default=65536, metadata=flag("→ the HIGH of --search-range", group=_SLA_GROUP))
    sla_lower_bound: int = field(default=1, metadata=flag("→ the LOW of --search-range", group=_SLA_GROUP))
    sla_fixed_parallel: int | None = field(default=None, metadata=flag(
        "rate search: the cap on requests in flight (→ --parallel)", group=_SLA_GROUP))
    sla_number_multiplier: float | None = field(default=None, metadata=flag(
        "not supported: probes send --number requests, or max(8, 4 × concurrency)", group=_SLA_GROUP))
    # Accepted so that EvalScope's commands run; each prints one line of what assay does instead.
    open_loop: bool = field(default=False, metadata=flag(
        "with --rate: --parallel is no cap on requests in flight (assay's --rate is always open loop)",
        group=_EVALSCOPE))
    tokenize_prompt: bool = field(default=False, metadata=flag(group=_EVALSCOPE))
    apply_chat_template: bool | None = field(default=None, metadata=flag(
        group=_EVALSCOPE, action=argparse.BooleanOptionalAction))
    no_timestamp: bool = field(default=False, metadata=flag(group=_EVALSCOPE))
    attn_implementation: str | None = field(default=None, metadata=flag(group=_EVALSCOPE))
    port: int | None = field(default=None, metadata=flag(group=_EVALSCOPE))
    enable_pd_metrics: bool = field(default=False, metadata=flag(group=_EVALSCOPE))
    sleep_interval: float | None = field(default=None, metadata=flag(group=_EVALSCOPE))
    db_commit_interval: int | None = field(default=None, metadata=flag(group=_EVALSCOPE))
    queue_size_multiplier: int | None = field(default=None, metadata=flag(group=_EVALSCOPE))
    in_flight_task_multiplier: int | None = field(default=None, metadata=flag(group=_EVALSCOPE))
    num_workers: int | None = field(default=None, metadata=flag(group=_EVALSCOPE))
    debug: bool = field(default=False, metadata=flag(group=_EVALSCOPE))
    enable_progress_tracker: bool = field(default=False, metadata=flag(group=_EVALSCOPE))
    alias: str | None = field(default=None, metadata=flag(group=_EVALSCOPE))
    data_source: str | None = field(default=None, metadata=flag(
        group=_EVALSCOPE, choices=("modelscope", "huggingface", "local")))
    dataset_offset: int | None = field(default=None, metadata=flag(group=_EVALSCOPE))
    image_width: int | None = field(default=None, metadata=flag(group=_EVALSCOPE))
    image_height: int | None = field(default=None, metadata=flag(group=_EVALSCOPE))
    image_format: str | None = field(default=None, metadata=flag(group=_EVALSCOPE))
    image_num: int | None = field(default=None, metadata=flag(group=_EVALSCOPE))
    image_patch_size: int | None = field(default=None, metadata=flag(group=_EVALSCOPE))
    # Logging each point to W&B or SwanLab (perf/visualizer.py); ClearML is refused.
    visualizer: str | None = field(default=None, metadata=flag(
        "log each sweep point's summary to W&B or SwanLab (pip install 'assay[wandb]' / 'assay[swanlab]'); "
        "clearml: not supported", group=_EVALSCOPE, choices=("wandb", "swanlab", "clearml")))
    wandb_api_key: str | None = field(default=None, repr=False, metadata=flag(
        "W&B API key for this run only (never saved; without it W&B's own login or WANDB_MODE=offline)",
        group=_EVALSCOPE))
    swanlab_api_key: str | None = field(default=None, repr=False, metadata=flag(
        "SwanLab API key for this run only (never saved; without it SwanLab's own login or SWANLAB_MODE=offline)",
        group=_EVALSCOPE))
    swanlab_host: str | None = field(default=None, metadata=flag(
        "a self-hosted SwanLab server (with --swanlab-api-key)", group=_EVALSCOPE))
    # Not supported yet: each is a one-line error (exit 2) when given.
    scenario: str | None = field(default=None, metadata=flag("not supported yet", group=_EVALSCOPE))
    prefix_count: int | None = field(default=None, metadata=flag(
        "not supported yet (1: the one shared prefix of --prefix-length)", group=_EVALSCOPE))
    dataset_args: str | None = field(default=None, metadata=flag("not supported yet", group=_EVALSCOPE))
    # -- multi-turn sessions (assay.perf.sessions): a session's turns carry the conversation so far --
    multi_turn: bool = field(default=False, metadata=flag(
        "send conversations turn by turn, each turn with the earlier turns and the server's own answers; "
        "--number counts sessions, --parallel / --rate sessions in flight / starting per second", group=_MULTI_TURN))
    turns: int | None = field(default=None, metadata=flag(
        "random sessions: every session has N turns (implies --multi-turn)", group=_MULTI_TURN, metavar="N"))
    min_turns: int | None = field(default=None, metadata=flag(
        "random sessions: fewest turns (default 1); file sessions: skip shorter conversations", group=_MULTI_TURN))
    max_turns: int | None = field(default=None, metadata=flag(
        "random sessions: most turns (turn count uniform in [min, max]); file sessions: cut longer ones",
        group=_MULTI_TURN))
    multi_turn_args: str | None = field(default=None, metadata=flag(
        'random sessions: JSON {"first_turn_length": N or [MIN, MAX], "subsequent_turn_length": ...} '
        "(tokens of the first turn, of each later turn's new message)", group=_MULTI_TURN))
    think_time_s: float = field(default=0.0, metadata=flag(
        "seconds a session waits after an answer before sending its next turn", group=_MULTI_TURN))

    def __init__(self, **kwargs: Any) -> None:
        init_fields(self, kwargs)
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first bad field."""
        check_types(self)
        self._check_evalscope_arguments()
        from assay.perf.endpoints import check_api  # embeddings, rerank/score, Responses API: URL and datasets

        check_api(self)
        self._check_urls()
        if self.engine is None:
            if not self.model:
                raise ConfigError("model: give the served model name (as in the server's /v1/models)")
        elif self.engine not in ENGINES:
            raise ConfigError(f"engine: 'llama-server' or 'vllm', got {self.engine!r}")
        if self.dataset in ("trace", "workload_trace"):  # its own load: one open-loop point on the trace's times
            from assay.perf.trace import check_trace_config

            check_trace_config(self)
        elif self.trace_window is not None or self.trace_speedup != 1.0:
            raise ConfigError("trace_window/trace_speedup: only with --dataset trace")
        elif self.rate is None:
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
        if self.ray is not None and self.workers > 1:
            raise ConfigError("ray: --ray and --workers cannot be combined (each Ray actor is a client process)")
        if self.ray_actors < 0:
            raise ConfigError(f"ray_actors: must be >= 0, got {self.ray_actors}")
        if self.ray is not None and self.number is None and (self.rate is None or self.duration is None):
            raise ConfigError("ray: give --number (prompts are made up front and shared out to the actors)")
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
        if self.dataset not in ("random", "random_multi_turn", "share_gpt_zh_multi_turn", "share_gpt_en_multi_turn",
                                *PATHLESS_DATASETS) and not self.dataset_path \
                and self.prompt is None:
            raise ConfigError(f"dataset_path: dataset {self.dataset!r} reads prompts from a file; give --dataset-path")
        from assay.perf.sessions import check_session_config

        check_session_config(self)
        from assay.perf.datasets import check_dataset_config

        check_dataset_config(self)
        if self.dataset in ("random", "random_multi_turn", "random_vl", "random_embedding", "random_embedding_batch",
                            "random_rerank") and self.prompt is None:
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
    def urls(self) -> list[str]:
        """Every endpoint URL (one, several, or none with ``engine``)."""
        if self.url is None:
            return []
        return [self.url] if isinstance(self.url, str) else list(self.url)

    def _check_urls(self) -> None:
        """One endpoint or several of the same kind; a list of one reads as that URL."""
        if isinstance(self.url, list) and len(self.url) == 1:
            self.url = self.url[0]
        if self.url_strategy not in URL_STRATEGIES:
            raise ConfigError(f"url_strategy: one of {', '.join(URL_STRATEGIES)}, got {self.url_strategy!r}")
        urls = self.urls
        if self.engine is not None:
            if len(urls) > 1:
                raise ConfigError("url: --engine serves one endpoint; give one --url (its path picks the kind) or none")
            return
        if not urls:
            raise ConfigError("url: give the endpoint URL (e.g. http://127.0.0.1:8000/v1/completions) or --engine llama-server")
        from assay.client import endpoint_kind  # the client (aiohttp) only once a config is made, not for --help

        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ConfigError(f"url: must start with http:// or https://, got {redact_url(url)!r}")
            if endpoint_kind(url) == "unknown":
                raise ConfigError(
                    f"url: {redact_url(url)!r} is not an OpenAI endpoint; it must end with /v1/completions "
                    "or /v1/chat/completions"
                )
        kinds = {endpoint_kind(url) for url in urls}
        if len(kinds) > 1:
            raise ConfigError(f"url: the endpoints of one run serve one kind of request; got both "
                              f"/v1/completions and /v1/chat/completions ({', '.join(map(redact_url, urls))})")
        seen: set[str] = set()
        for url in urls:
            if url in seen:
                raise ConfigError(f"url: {redact_url(url)!r} is given twice; give each endpoint once")
            seen.add(url)

    def _check_evalscope_arguments(self) -> None:
        """EvalScope's arguments: refuse those assay cannot honour, map --sla-* onto the SLO search."""
        for name, message in _NOT_SUPPORTED.items():
            if getattr(self, name) != _default_of(name):
                raise ConfigError(f"{name}: {message}")
        from assay.perf.visualizer import check as check_visualizer

        check_visualizer(self)  # W&B / SwanLab installed, keys for the one chosen, no ClearML
        if self.prefix_count not in (None, 1):
            raise ConfigError(f"prefix_count: only one shared prefix (--prefix-length) is supported, got {self.prefix_count}")
        if self.open_loop and self.rate is None:
            raise ConfigError("open_loop: give the request rates with --rate")
        if self.stop_token_ids is not None and any(t < 0 for t in self.stop_token_ids):
            raise ConfigError(f"stop_token_ids: token ids are >= 0, got {self.stop_token_ids}")
        if self.n_choices is not None and self.n_choices < 1:
            raise ConfigError(f"n_choices: must be >= 1, got {self.n_choices}")
        if self.top_k is not None and self.top_k < -1:
            raise ConfigError(f"top_k: must be >= -1 (-1 or 0: no limit, as the server reads it), got {self.top_k}")
        if self.query_template is not None:
            _query_template(self.query_template)
        if self.prompt is not None:
            self.prompt_text()
        if not self.sla_auto_tune:
            return
        if self.sla_params is None:
            raise ConfigError('sla_params: --sla-auto-tune needs the objectives, e.g. \'[{"p99_ttft": "<=2s"}]\'')
        mapped: dict[str, Any] = {
            "slo_search": "concurrency" if self.sla_variable == "parallel" else "rate",
            "slo": slo_from_sla_params(self.sla_params),
            "search_range": [float(self.sla_lower_bound), float(self.sla_upper_bound)],
            "search_repeats": self.sla_num_runs,
        }
        if self.sla_variable == "rate" and self.sla_fixed_parallel is not None:
            mapped["parallel"] = [self.sla_fixed_parallel]
        for name, value in mapped.items():  # validate() may run again: setting what is already set is no conflict
            current = getattr(self, name)
            if current != _default_of(name) and current != value:
                raise ConfigError(f"{name}: --sla-auto-tune sets it from the --sla-* arguments ({value!r}); "
                                  f"give one or the other, got {current!r}")
            setattr(self, name, value)

    def notes(self) -> list[str]:
        """One line per EvalScope argument given that assay does not act on as EvalScope does: what it does
        instead (printed once when the run starts, so that nothing given is silently ignored)."""
        lines = [f"--{name.replace('_', '-')}: {note}" for name, note in _NOTES.items()
                 if getattr(self, name) != _default_of(name) and not _used_by_dataset(name, self.dataset)]
        if self.prompt is not None and self.dataset != "random":
            lines.append(f"--prompt: every request sends it; --dataset {self.dataset} is not read (as in EvalScope)")
        if self.sla_auto_tune:
            lines.append(
                f"--sla-auto-tune: searching as --slo-search {self.slo_search} --slo '{self.slo}' --search-range "
                f"{self.search_range[0]:g} {self.search_range[1]:g} --search-repeats {self.search_repeats}: every run "
                "of a probe must meet the objectives (EvalScope averages the runs)")
        elif any(getattr(self, name) != _default_of(name) for name in _SLA_FIELDS):
            lines.append("--sla-*: without --sla-auto-tune they do nothing (as in EvalScope); assay's own is --slo-search")
        from assay.perf.sessions import session_notes

        lines.extend(session_notes(self))
        from assay.perf.endpoints import api_notes

        lines.extend(api_notes(self))
        return lines

    def prompt_text(self) -> str:
        """``--prompt``'s text: the argument itself, or the file named after an ``@``."""
        assert self.prompt is not None
        if not self.prompt.startswith("@"):
            return self.prompt
        try:
            return Path(self.prompt[1:]).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"prompt: cannot read {self.prompt[1:]}: {getattr(exc, 'strerror', None) or exc}") from None

    def request_body_extra(self) -> dict[str, Any]:
        """What every request body carries beyond assay's own fields: ``--query-template``'s body, then
        EvalScope's request parameters under their API names, then ``--extra-args`` (last: it wins)."""
        body: dict[str, Any] = {}
        if self.query_template is not None:
            own = {"model", "stream", "stream_options", "messages", "prompt", "max_tokens"}
            own |= {name for name in ("temperature", "top_p", "min_tokens") if getattr(self, name) is not None}
            body.update({k: v for k, v in _query_template(self.query_template).items() if k not in own})
        params = {"stop": self.stop, "stop_token_ids": self.stop_token_ids, "top_k": self.top_k,
                  "frequency_penalty": self.frequency_penalty, "repetition_penalty": self.repetition_penalty,
                  "n": self.n_choices}
        body.update({name: value for name, value in params.items() if value is not None})
        if self.logprobs:  # chat takes a flag; completions the number of top log probabilities per token
            from assay.client import endpoint_kind

            body["logprobs"] = True if endpoint_kind(self.urls[0] if self.urls else "") == "chat" else 1
        body.update(self.extra_args)
        return body

    @property
    def points(self) -> list[PointSpec]:
        """The sweep, in order."""
        if self.rate is None:
            assert self.parallel is not None
            numbers: list[int | None] = list(self.number) if self.number else [None] * len(self.parallel)
            return [PointSpec(i, p, n, None, self.duration) for i, (p, n) in enumerate(zip(self.parallel, numbers))]
        # EvalScope's --open-loop: --parallel is then no cap on requests in flight.
        caps = [None] if self.open_loop else self.parallel or [None]  # type: ignore[list-item]
        numbers = list(self.number) if self.number else [None]
        return [
            PointSpec(i, caps[i if len(caps) > 1 else 0], numbers[i if len(numbers) > 1 else 0], rate, self.duration)
            for i, rate in enumerate(self.rate)
        ]

    def to_public_dict(self) -> dict[str, Any]:
        """The config as saved with the run: secrets dropped, header values masked."""
        data = dataclasses.asdict(self)
        for key in SECRET_FIELDS:
            data[key] = "***" if data.get(key) else None
        data["headers"] = {name: "***" for name in self.headers}
        for key in ("url", "server_metrics"):  # credentials written into a URL
            if isinstance(data.get(key), list):
                data[key] = [redact_url(url) for url in data[key]]
            elif data.get(key):
                data[key] = redact_url(data[key])
        return data


def _default_of(name: str) -> Any:
    f = PerfConfig.__dataclass_fields__[name]
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


_NOT_SUPPORTED: dict[str, str] = {
    "scenario": "EvalScope's AgentX scenarios are not supported",
    "dataset_args": "per-dataset arguments are not supported yet",
    "sla_number_multiplier": "not supported; each probe sends --number requests, or max(8, 4 × concurrency)",
}
"""EvalScope arguments that assay refuses (one-line error, exit 2) rather than run something else."""

_INTERNALS = "an EvalScope internal; assay writes each record as its request ends and has no such queue"
_IMAGES = "used by --dataset random_vl only; not used with this dataset"
_NOTES: dict[str, str] = {
    "open_loop": "--parallel is no cap on requests in flight (as in EvalScope); assay's --rate is open loop with "
                 "or without it, and without it --parallel caps the requests in flight",
    "tokenize_prompt": "prompts are sent as text: assay's random prompts are whole words that re-tokenize to "
                       "exactly the length asked for, so there is no inflation to avoid",
    "apply_chat_template": "the URL decides: /v1/chat/completions gets messages (the server applies its chat "
                           "template), /v1/completions the raw prompt",
    "no_timestamp": "not used: every run gets its own directory, <outputs-dir>/<YYYYMMDD_HHMMSS>/<name>, so that "
                    "no run overwrites another",
    "attn_implementation": "for EvalScope's in-process inference only; assay measures a server (--url or --engine)",
    "port": "for EvalScope's in-process server only; assay's --engine picks a free port itself",
    "enable_pd_metrics": "no P/D hand-off metrics; the ITL percentiles and requests.jsonl (every chunk's time) "
                         "show the first decode gap",
    "sleep_interval": "not used: each sweep point starts when the previous one has ended",
    "db_commit_interval": _INTERNALS,
    "queue_size_multiplier": _INTERNALS,
    "in_flight_task_multiplier": _INTERNALS,
    "num_workers": "not used: assay makes the prompts itself (its --workers spreads requests over client processes)",
    "debug": "not used: requests.jsonl keeps every request's timings and error; `assay perf report` reprints a run",
    "enable_progress_tracker": "no progress.json: the progress bar and run.json's status show progress",
    "alias": "not used: assay labels a run by --name",
    "data_source": "not used with this dataset: it picks the hub of share_gpt_zh/en, openqa, longalpaca and "
                   "flickr8k when no --dataset-path is given; tokenizers come from --tokenizer-hub",
    "dataset_offset": "not used: assay's random prompts already differ between sweep points (seeded by --seed "
                      "and the point)",
    "image_width": _IMAGES,
    "image_height": _IMAGES,
    "image_format": _IMAGES,
    "image_num": _IMAGES,
    "image_patch_size": "not used: EvalScope counts image tokens with it when the server reports no usage; "
                        "assay reports the server's count (usage.prompt_tokens)",
}
"""EvalScope arguments accepted with a one-line note of what assay does instead."""


def _used_by_dataset(name: str, dataset: str) -> bool:
    """Whether argument ``name`` is acted on, as in EvalScope, by ``dataset`` (then there is no note to print)."""
    if name.startswith("image_"):
        return dataset == "random_vl" and name != "image_patch_size"
    if name != "data_source":
        return False
    from assay.perf.dataset_hub import HUB_DATASETS

    return dataset.removesuffix("_multi_turn") in HUB_DATASETS

_SLA_FIELDS = ("sla_variable", "sla_params", "sla_num_runs", "sla_upper_bound", "sla_lower_bound", "sla_fixed_parallel")

_SLA_METRICS: dict[str, tuple[str, str, str]] = {
    "avg_latency": ("latency", "mean", "s"), "p99_latency": ("latency", "p99", "s"),
    "avg_ttft": ("ttft", "mean", "ms"), "p50_ttft": ("ttft", "p50", "ms"), "p90_ttft": ("ttft", "p90", "ms"),
    "p99_ttft": ("ttft", "p99", "ms"),
    "avg_tpot": ("tpot", "mean", "ms"), "p50_tpot": ("tpot", "p50", "ms"), "p90_tpot": ("tpot", "p90", "ms"),
    "p99_tpot": ("tpot", "p99", "ms"),
}
"""EvalScope's SLA metrics that are upper limits on a time, and the unit of a bare number (its report's)."""
_SLA_LIMIT = re.compile(r"^(<=|<)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(s|ms)?$")


def slo_from_sla_params(text: str) -> str:
    """EvalScope's ``--sla-params`` as assay's ``--slo``: ``[{"p99_ttft": "<=2s"}]`` -> ``ttft_p99<=2s``."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"sla_params: not valid JSON ({exc.msg} at character {exc.pos}): {text!r}") from None
    groups = value if isinstance(value, list) else [value]
    if len(groups) != 1 or not isinstance(groups[0], dict) or not groups[0]:
        raise ConfigError("sla_params: assay searches for one group of objectives, e.g. "
                          f"'[{{\"p99_ttft\": \"<=2s\", \"avg_tpot\": \"<=50ms\"}}]', got {text!r}")
    terms = []
    for name, condition in groups[0].items():
        if name not in _SLA_METRICS:
            raise ConfigError(f"sla_params: {name!r} is not an upper limit on a time that assay's SLO search meets; "
                              f"use {', '.join(_SLA_METRICS)}")
        limit = _SLA_LIMIT.match("".join(str(condition).replace("≤", "<=").split()))
        if limit is None:
            raise ConfigError(f"sla_params: {name}: {condition!r}: assay's SLO search needs an upper limit such as "
                              "'<=2s' or '<50ms' (not >=, ==, max or min)")
        metric, statistic, unit = _SLA_METRICS[name]
        terms.append(f"{metric}_{statistic}{limit[1]}{limit[2]}{limit[3] or unit}")
    return ",".join(terms)


def _query_template(text: str) -> dict[str, Any]:
    """``--query-template``: a JSON object, or ``@FILE`` holding one."""
    where = "query_template"
    if text.startswith("@"):
        where = f"query_template: {text[1:]}"
        try:
            text = Path(text[1:]).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"query_template: cannot read {text[1:]}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a JSON object (a request body)")
    return value
