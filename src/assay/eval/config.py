"""``TaskConfig``: one eval run, validated field by field, saved with the run (no secrets)."""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any

from assay.constants import URL_STRATEGIES, EvalType
from assay.data.benchmark_data import HUBS
from assay.errors import ConfigError
from assay.redact import redact_url
from assay.validation import check_types, init_fields

GENERATION_KEYS = {
    "max_tokens": int, "max_completion_tokens": int, "temperature": (int, float), "top_p": (int, float),
    "top_k": int, "seed": int, "stream": bool, "extra_body": dict, "stop": (str, list),
    "presence_penalty": (int, float), "frequency_penalty": (int, float), "n": int,
    "reasoning_effort": str, "timeout": (int, float), "min_tokens": int, "repetition_penalty": (int, float),
}
DATASET_ARG_KEYS = {
    "subset_list": list, "few_shot_num": int, "local_path": str, "prompt_template": str, "dataset_id": str,
    "few_shot_random": bool, "prompt_style": str, "start_date": str, "end_date": str,
}
OWN_ARG_KEYS = ("start_date", "end_date")
"""``dataset_args`` keys only some benchmarks read (each lists them in ``DataSource.own_args``)."""
PROMPT_STYLES = ("default", "official")


@dataclass(init=False)
class TaskConfig:
    """An eval run. Field names follow EvalScope's TaskConfig."""

    model: str | None = None
    api_url: str | list[str] | None = None
    """Base URL of the service, e.g. ``http://127.0.0.1:8801/v1`` (``/chat/completions`` is appended); a list
    of them spreads the samples over several endpoints serving the same model (``url_strategy``)."""
    url_strategy: str = "round-robin"
    """With several ``api_url``: ``round-robin`` (in turn) or ``least-inflight`` (fewest requests in flight)."""
    api_key: str | None = field(default=None, repr=False)
    eval_type: EvalType | str = EvalType.SERVICE
    """``EvalType.SERVICE`` (``"openai_api"``; EvalScope's ``"service"``/``"server"`` read as it)."""
    datasets: list[str] = field(default_factory=list)
    dataset_args: dict[str, dict[str, Any]] = field(default_factory=dict)
    dataset_dir: str | None = None
    dataset_hub: str = "huggingface"
    generation_config: dict[str, Any] = field(default_factory=dict)
    eval_batch_size: int = 1
    """Requests in flight at once."""
    concurrency_levels: list[int] | None = None
    """Accuracy under load: run the same samples once per level (requests in flight), each compared
    with the lowest (see :mod:`assay.eval.under_load`); replaces ``eval_batch_size``."""
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
    prompt_style: str = "default"
    """``default`` (assay's prompt) or ``official`` (each benchmark's reference prompt; see docs/eval.md)."""
    engine: str | None = None
    """``"llama-server"`` or ``"vllm"``: assay serves ``engine_model`` itself and evaluates it."""
    engine_model: str = "smollm2"
    quiet: bool = False
    ray_address: str | None = None
    """Send the samples from Ray actors (:mod:`assay.eval.ray_run`): a cluster's address (``ray://…``,
    ``host:port``) or ``"auto"`` (``ray.init()``'s own choice: ``RAY_ADDRESS``, a running local cluster, or a
    new local one); None: from this process. The journal, judging and report stay in this process."""
    ray_actors: int | None = None
    """With ``ray_address``: how many actors share the requests (default: one per node of the cluster)."""

    def __init__(self, **kwargs: Any) -> None:
        init_fields(self, kwargs)
        self.validate()

    def check_judges(self) -> None:
        """Refuse, before any request is sent, a run of a benchmark only an LLM judge can score without one.

        (Loading its samples needs no judge: this is checked when a run starts, not on construction.)
        """
        from assay.eval.benchmarks import get_benchmark

        for name in self.datasets:
            if get_benchmark(name).needs_llm_judge and (not self.judge_model_args or self.judge_strategy == "rule"):
                raise ConfigError(f"datasets: {name} needs an LLM judge (judge_model_args"
                                  + (", and a judge_strategy other than 'rule')" if self.judge_strategy == "rule" else ")"))

    def validate(self) -> None:
        if isinstance(self.datasets, str):
            self.datasets = [self.datasets]
        check_types(self)
        try:
            self.eval_type = EvalType.parse(self.eval_type)
        except ValueError:
            raise ConfigError(f"eval_type: only {EvalType.SERVICE.value!r} (an OpenAI-compatible service) is "
                              f"supported, got {self.eval_type!r}") from None
        if isinstance(self.api_url, list) and len(self.api_url) == 1:  # a list of one is that URL
            self.api_url = self.api_url[0]
        if self.url_strategy not in URL_STRATEGIES:
            raise ConfigError(f"url_strategy: one of {', '.join(URL_STRATEGIES)}, got {self.url_strategy!r}")
        if self.engine is None:
            if not self.api_urls:
                raise ConfigError("api_url: give the service's base URL (e.g. http://127.0.0.1:8801/v1) or engine='llama-server'")
            for url in self.api_urls:
                if not url.startswith(("http://", "https://")):
                    raise ConfigError(f"api_url: must start with http:// or https://, got {redact_url(url)!r}")
            if len(set(self.chat_urls)) < len(self.api_urls):
                raise ConfigError(f"api_url: an endpoint is given twice ({', '.join(map(redact_url, self.api_urls))}); "
                                  "give each once")
            if not self.model:
                raise ConfigError("model: give the served model name")
        elif self.engine not in ("llama-server", "vllm"):
            raise ConfigError(f"engine: 'llama-server' or 'vllm', got {self.engine!r}")
        elif len(self.api_urls) > 1:
            raise ConfigError("api_url: engine serves one endpoint itself; leave api_url out")
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
            own = get_benchmark(name).data.own_args
            for key in args:
                if key in OWN_ARG_KEYS and key not in own:
                    raise ConfigError(f"dataset_args.{name}.{key}: {name} has no use for it"
                                      + (f" (it reads {', '.join(own)})" if own else ""))
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
            # As perf refuses it: a server would answer nothing, or everything.
            if key in ("max_tokens", "max_completion_tokens") and value < 1:
                raise ConfigError(f"generation_config.{key}: must be >= 1, got {value}")
        from assay.eval.judge import validate_judge_args

        validate_judge_args(self.judge_model_args, self.judge_strategy)
        styles = [("prompt_style", self.prompt_style)] + [
            (f"dataset_args.{name}.prompt_style", args["prompt_style"])
            for name, args in self.dataset_args.items() if "prompt_style" in args]
        for where, style in styles:
            if style not in PROMPT_STYLES:
                raise ConfigError(f"{where}: one of {', '.join(PROMPT_STYLES)}, got {style!r}")
        if self.eval_batch_size < 1:
            raise ConfigError(f"eval_batch_size: must be >= 1, got {self.eval_batch_size}")
        if self.concurrency_levels is not None:
            _check_concurrency_levels(self.concurrency_levels, self.eval_batch_size, self.use_cache)
        if self.repeats < 1:
            raise ConfigError(f"repeats: must be >= 1, got {self.repeats}")
        if self.retries < 0:
            raise ConfigError(f"retries: must be >= 0, got {self.retries}")
        if self.timeout is not None and self.timeout <= 0:
            raise ConfigError(f"timeout: must be positive seconds, got {self.timeout}")
        if self.ray_actors is not None and self.ray_actors < 1:
            raise ConfigError(f"ray_actors: must be >= 1, got {self.ray_actors}")
        if self.ray_actors is not None and self.ray_address is None:
            raise ConfigError("ray_actors: only with ray_address (run on Ray)")
        if self.ray_address is not None and self.engine is not None:
            raise ConfigError("ray_address: a local engine (engine) serves only this machine; give api_url "
                              "endpoints the Ray actors can reach")
        if self.ray_address is not None and self.concurrency_levels is not None:
            raise ConfigError("ray_address: accuracy under load (concurrency_levels) runs in one process; leave one out")
        if self.limit is not None and (self.limit <= 0 or (isinstance(self.limit, float) and self.limit > 1)):
            raise ConfigError(f"limit: an int >= 1 or a fraction in (0, 1], got {self.limit}")

    @property
    def api_urls(self) -> list[str]:
        """Every service base URL (one, several, or none with ``engine``)."""
        if self.api_url is None:
            return []
        return [self.api_url] if isinstance(self.api_url, str) else list(self.api_url)

    @property
    def chat_url(self) -> str:
        """The first (or only) service's chat completions URL."""
        return self.chat_urls[0]

    @property
    def chat_urls(self) -> list[str]:
        """Each service's chat completions URL."""
        return [chat_completions_url(url) for url in self.api_urls]

    def to_public_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["api_key"] = "***" if self.api_key else None
        if data.get("judge_model_args") and data["judge_model_args"].get("api_key"):
            data["judge_model_args"]["api_key"] = "***"
        if isinstance(data.get("api_url"), list):  # credentials written into a URL
            data["api_url"] = [redact_url(url) for url in data["api_url"]]
        elif data.get("api_url"):
            data["api_url"] = redact_url(data["api_url"])
        if data.get("judge_model_args") and data["judge_model_args"].get("api_url"):
            data["judge_model_args"]["api_url"] = redact_url(str(data["judge_model_args"]["api_url"]))
        return data


def chat_completions_url(api_url: str) -> str:
    """A service's chat completions URL from its base URL (given whole, it is kept)."""
    base, mark, query = api_url.partition("?")  # a query (?key=…) stays at the end
    base = base.rstrip("/")
    return (base if base.endswith("/chat/completions") else f"{base}/chat/completions") + mark + query


def _check_concurrency_levels(levels: list[int], eval_batch_size: int, use_cache: str | None) -> None:
    if not levels or any(level < 1 for level in levels):
        raise ConfigError(f"concurrency_levels: one or more numbers >= 1, got {levels}")
    if len(set(levels)) != len(levels):
        raise ConfigError(f"concurrency_levels: each level once, got {levels}")
    if eval_batch_size != 1:
        raise ConfigError(f"concurrency_levels {levels} set the requests in flight per level: "
                          f"leave eval_batch_size ({eval_batch_size}) out")
    if use_cache:
        raise ConfigError("concurrency_levels: a run under load cannot resume another (use_cache); start it anew")


def _check_key(where: str, key: str, value: Any, allowed: dict[str, Any]) -> None:
    if key not in allowed:
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{where}: unknown key {key!r}{hint}; known: {', '.join(sorted(allowed))}")
    expected = allowed[key]
    if not isinstance(value, expected) or (isinstance(value, bool) and expected in (int, (int, float))):
        names = "/".join(t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,)))
        raise ConfigError(f"{where}.{key}: expected {names}, got {type(value).__name__} {value!r}")


# ------------------------------------------------------------------ run identity (what use_cache must match)
IDENTITY_FIELDS = ("model", "endpoint", "datasets", "subsets", "prompts", "generation_config", "repeats", "seed")
"""The fields a resumed run must share with the run it continues, in the order a mismatch is named."""
NON_IDENTITY_GENERATION_KEYS = ("stream", "timeout")
"""Generation settings that change how an answer travels, not what is asked: a resume may change them."""
DATA_SOURCE_KEYS = ("subset_list", "local_path", "dataset_id")
"""Dataset arguments that choose rows, not prompts: subsets are a field of their own, and the rows'
content is compared sample by sample on resume, so data moved to another folder still resumes."""


def run_identity(config: dict[str, Any], *, endpoint: str | None = None) -> dict[str, Any]:
    """What makes a run's answers comparable, from ``TaskConfig.to_public_dict()`` (or an older run's config).

    ``endpoint`` names the service when its URL is not stable (a local engine on a random port).
    Benchmark defaults are filled in, so leaving a field out and giving its default are the same run,
    and benchmarks and subsets are compared as sets.
    """
    from assay.eval.benchmarks import get_benchmark

    datasets = [str(name) for name in config.get("datasets") or []]
    dataset_args: dict[str, dict[str, Any]] = config.get("dataset_args") or {}
    subsets: dict[str, list[str]] = {}
    prompts: dict[str, dict[str, Any]] = {}
    for name in datasets:
        benchmark = get_benchmark(name)
        args = dataset_args.get(name) or {}
        subsets[name] = sorted(args.get("subset_list") or benchmark.subsets)
        # Every dataset argument shapes the prompts except those that choose which rows are read.
        prompts[name] = {key: value for key, value in args.items() if key not in DATA_SOURCE_KEYS}
        prompts[name] |= {
            "prompt_template": args.get("prompt_template") or benchmark.prompt.template,
            "few_shot_num": int(args.get("few_shot_num", 0) or 0),
            "few_shot_random": bool(args.get("few_shot_random", False)),
            "prompt_style": str(args.get("prompt_style") or config.get("prompt_style") or "default"),
        }
    generation = {key: value for key, value in (config.get("generation_config") or {}).items()
                  if key not in NON_IDENTITY_GENERATION_KEYS}
    return {
        "model": config.get("model"),
        "endpoint": endpoint or services_endpoint(config.get("api_url")),
        "datasets": sorted(datasets),  # sets: the order only changes the report's
        "subsets": subsets,
        "prompts": prompts,
        "generation_config": generation,
        "repeats": int(config.get("repeats", 1) or 1),
        "seed": config.get("seed"),
    }


def services_endpoint(api_url: str | list[str] | None) -> str | list[str]:
    """What a run talks to: one service's endpoint (as :func:`service_endpoint`), or several, sorted
    (the order they were given in does not change the answers)."""
    if isinstance(api_url, list):
        return sorted(service_endpoint(str(url)) for url in api_url)
    return service_endpoint(str(api_url or ""))


def service_endpoint(api_url: str) -> str:
    """The chat completions URL a run talks to, without credentials, query or a trailing slash."""
    from urllib.parse import urlsplit

    parts = urlsplit(api_url.strip())
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    try:
        port = str(parts.port or "")
    except ValueError:  # not a number: an older run's URL, kept as written
        port = parts.netloc.rpartition("@")[2].rpartition(":")[2]
    netloc = f"{host}:{port}" if port else host
    path = parts.path.rstrip("/")
    if not path.endswith("/chat/completions"):
        path = f"{path}/chat/completions"
    return f"{parts.scheme.lower()}://{netloc}{path}"


def first_difference(stored: Any, current: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """The first (dotted field name, stored value, current value) where two identities differ, or None."""
    if isinstance(stored, dict) and isinstance(current, dict):
        for key in [*current, *(k for k in stored if k not in current)]:
            found = first_difference(stored.get(key), current.get(key), f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
        return None
    return None if stored == current else (path, stored, current)


def describe_value(value: Any, limit: int = 60) -> str:
    """A value as it appears in a one-line error: repr, cut to ``limit`` characters."""
    text = "not set" if value is None else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
