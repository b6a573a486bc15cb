"""Perf on the endpoints beside chat and completions: ``--api openai_embedding`` / ``openai_rerank`` /
``openai_responses`` (EvalScope's names and aliases), their datasets, and what is measured of them.

- The config: which ``--api`` values exist, the URL each sends to (:func:`assay.client.endpoints.resolve_url`,
  EvalScope's handling of ``--url``), which datasets fit (:func:`check_api`).
- The inputs: embeddings requests carry a batch of texts (``--extra-args '{"batch_size": N}'``, EvalScope's
  knob: 8 with its ``*_batch`` datasets, else 1); rerank requests a query and its documents
  (``num_documents``, default 10, each ``document_length_ratio`` (5) times the query's length), random
  (exact token lengths, as the ``random`` dataset) or from EvalScope's files (:class:`EndpointInputs`).
- The measures: embeddings, rerank and score generate nothing, so a point of them has latency, requests/s,
  inputs/s and input tokens/s, and no TTFT, TPOT or ITL (:func:`pooling_measures`). The Responses API
  streams text and is measured as chat is.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from assay.errors import ConfigError, DatasetError

if TYPE_CHECKING:
    from assay.client.openai import ChatOrCompletionRequest
    from assay.perf.config import PerfConfig
    from assay.store.schema import RequestRecord

ENDPOINT_DATASETS = ("random_embedding", "random_embedding_batch", "embedding", "embed", "embedding_batch",
                     "random_rerank", "rerank")
"""EvalScope's datasets for embeddings and rerank (``random_*``: random texts of exact token lengths)."""
RANDOM_ENDPOINT_DATASETS = ("random_embedding", "random_embedding_batch", "random_rerank")
_FOR_EMBEDDINGS = ("random", "line_by_line", "custom", "openqa", "chat", "random_embedding", "random_embedding_batch",
                   "embedding", "embed", "embedding_batch")
_FOR_RERANK = ("random", "random_rerank", "rerank")
POOLING_APIS = ("openai_embedding", "embedding", "openai_rerank", "rerank")


def api_endpoint(api: str) -> str:
    """``chat/completions``, ``embeddings``, ``rerank`` or ``responses`` for an ``--api`` value."""
    from assay.client.endpoints import API_ENDPOINTS

    return API_ENDPOINTS[api]


def check_api(config: PerfConfig) -> None:
    """``--api``: a known value; its URL(s) resolved as EvalScope does (notes kept for :func:`api_notes`);
    datasets and options that fit the endpoint."""
    from assay.client.endpoints import API_ENDPOINTS, resolve_url
    from assay.redact import redact_url

    if config.api not in API_ENDPOINTS:
        raise ConfigError(f"api: one of {', '.join(API_ENDPOINTS)}, got {config.api!r}")
    endpoint = API_ENDPOINTS[config.api]
    notes: list[str] = config.__dict__.setdefault("_api_notes", [])  # kept when validate() runs again
    if config.engine is not None and endpoint != "chat/completions":
        raise ConfigError(f"api: --engine starts a chat model; give the --url of a server with /{endpoint} "
                          f"for --api {config.api}")
    urls = config.url if isinstance(config.url, list) else [config.url] if config.url else []
    resolved = []
    for url in urls:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            resolved.append(url)  # the URL checks say what is wrong with it
            continue
        if endpoint == "chat/completions":
            from assay.client.openai import endpoint_kind

            kind = endpoint_kind(url)
            if kind not in ("chat", "completions", "unknown"):
                api = {"embeddings": "openai_embedding", "rerank": "openai_rerank", "score": "openai_rerank",
                       "responses": "openai_responses"}[kind]
                raise ConfigError(f"url: {redact_url(url)!r} is a /{kind} endpoint; --api openai sends chat or "
                                  f"completion requests: add --api {api}")
            resolved.append(url)
            continue
        try:
            url, note = resolve_url(config.api, url)
        except ValueError as exc:
            raise ConfigError(f"url: {redact_url(url)!r}: {exc}") from None
        resolved.append(url)
        if note is not None and note not in notes:
            notes.append(f"{note}: {redact_url(url)}")
    if urls:
        config.url = resolved if isinstance(config.url, list) else resolved[0]
    dataset = config.dataset
    if endpoint == "embeddings" and dataset not in _FOR_EMBEDDINGS:
        raise ConfigError(f"dataset: --api {config.api} embeds texts: use {', '.join(_FOR_EMBEDDINGS)}, got {dataset!r}")
    if endpoint == "rerank" and dataset not in _FOR_RERANK:
        raise ConfigError(f"dataset: --api {config.api} ranks documents against a query: use random_rerank (or random) "
                          f"or rerank (a file of {{\"query\", \"documents\"}} lines), got {dataset!r}")
    if endpoint not in ("embeddings", "rerank") and dataset in ENDPOINT_DATASETS:
        wanted = "openai_rerank" if "rerank" in dataset else "openai_embedding"
        raise ConfigError(f"dataset: {dataset!r} is for --api {wanted}, not --api {config.api}")
    if endpoint in ("embeddings", "rerank"):
        for knob in ("batch_size", "num_documents"):
            value = config.extra_args.get(knob)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ConfigError(f"extra_args: {knob} must be a positive integer, got {value!r}")
        ratio = config.extra_args.get("document_length_ratio")
        if ratio is not None and (not isinstance(ratio, (int, float)) or isinstance(ratio, bool) or ratio <= 0):
            raise ConfigError(f"extra_args: document_length_ratio must be a positive number, got {ratio!r}")
        if config.multi_turn or getattr(config, "turns", None):
            raise ConfigError(f"multi_turn: --api {config.api} has no conversations")
        if config.slo is not None:
            from assay.perf.slo import parse_slo

            timed = [term.text for term in parse_slo(config.slo) if term.metric not in ("latency", "e2el")]
            if timed:
                raise ConfigError(f"slo: --api {config.api} generates no tokens, so it has no TTFT, TPOT or ITL; "
                                  f"give latency terms only, got {', '.join(timed)}")


def api_notes(config: PerfConfig) -> list[str]:
    """What ``--api`` changed of the URL(s), one line each (printed once when the run starts)."""
    return list(config.__dict__.get("_api_notes", []))


def is_pooling(api: str) -> bool:
    return api in POOLING_APIS


# ------------------------------------------------------------------------------------------- inputs
def endpoint_inputs(config: PerfConfig, tokenizer: Any) -> EndpointInputs | None:
    """The inputs of an embeddings or rerank run; None for the generating endpoints (their own datasets)."""
    if config.api not in POOLING_APIS:
        return None
    return EndpointInputs(config, tokenizer)


class EndpointInputs:
    """Embeddings batches and rerank queries with their documents, for each sweep point."""

    def __init__(self, config: PerfConfig, tokenizer: Any) -> None:
        self.config = config
        self.rerank = api_endpoint(config.api) == "rerank"
        extra = config.extra_args
        self.batch_size = int(extra.get("batch_size") or (8 if config.dataset.endswith("_batch") else 1))
        self.num_documents = int(extra.get("num_documents") or 10)
        self.document_length_ratio = float(extra.get("document_length_ratio") or 5)
        self.texts: list[str] = []
        self.pairs: list[tuple[str, list[str]]] = []
        self.maker: Any = None
        if config.prompt is not None:
            self.texts = [config.prompt_text()]
            if self.rerank:
                raise ConfigError("prompt: --api rerank needs documents for its query: use --dataset rerank or random")
        elif config.dataset in ("random", *RANDOM_ENDPOINT_DATASETS):
            from assay.perf.datasets import RandomPrompts

            self.maker = RandomPrompts(tokenizer)
        elif self.rerank:
            assert config.dataset_path is not None
            self.pairs = load_rerank_pairs(config.dataset_path)
        else:
            assert config.dataset_path is not None
            self.texts = load_embedding_texts(config.dataset, config.dataset_path)

    def requests(self, point: int, count: int | None) -> Iterator[ChatOrCompletionRequest]:
        """The requests of one sweep point (``count`` None: without end)."""
        from assay.client.openai import ChatOrCompletionRequest

        config = self.config
        rng = random.Random(f"assay-{'rerank' if self.rerank else 'embeddings'}-{config.seed}-{point}")
        made = 0
        cursor = 0
        while count is None or made < count:
            made += 1
            if self.maker is not None:
                if self.rerank:
                    length = rng.randint(config.min_prompt_length, config.max_prompt_length)
                    document_length = max(1, int(length * self.document_length_ratio))
                    query = self.maker.make(length, rng)
                    documents = [self.maker.make(document_length, rng) for _ in range(self.num_documents)]
                    yield ChatOrCompletionRequest(prompt=query, inputs=documents)
                else:
                    texts = [self.maker.make(rng.randint(config.min_prompt_length, config.max_prompt_length), rng)
                             for _ in range(self.batch_size)]
                    yield ChatOrCompletionRequest(inputs=texts)
            elif self.rerank:
                query, documents = self.pairs[cursor % len(self.pairs)]
                cursor += 1
                yield ChatOrCompletionRequest(prompt=query, inputs=documents)
            else:
                texts = [self.texts[(cursor + i) % len(self.texts)] for i in range(self.batch_size)]
                cursor += self.batch_size
                yield ChatOrCompletionRequest(inputs=texts)


def load_embedding_texts(kind: str, path: str) -> list[str]:
    """Texts to embed: EvalScope's ``embedding`` files (``.txt`` one a line; ``.json`` a list; ``.jsonl`` one
    a line: a string or an object with ``text``, ``input``, ``sentence`` or ``content``), or assay's own
    prompt files (line_by_line, custom/openqa, chat)."""
    from assay.perf.datasets import load_file_prompts, read_dataset_text

    if kind not in ("embedding", "embed", "embedding_batch"):
        return [request.prompt if request.prompt is not None else
                "\n".join(str(m.get("content", "")) for m in request.messages or [])
                for request in load_file_prompts(kind, path)]
    text = read_dataset_text(path)
    if path.endswith(".txt"):
        texts = [line.strip() for line in text.splitlines() if line.strip()]
    elif path.endswith((".json", ".jsonl")):
        texts = [t for t in (_text_of(item) for _, item in _json_items(path, text, "a list of texts")) if t]
    else:
        raise DatasetError(f"dataset_path: {path}: the embedding dataset reads .txt, .json or .jsonl files")
    if not texts:
        raise DatasetError(f"dataset_path: {path} holds no texts")
    return texts


def _json_items(path: str, text: str, holds: str) -> list[tuple[int, Any]]:
    """(position from 1, value) of a ``.json`` file's list, or of each line of a JSON-lines file."""
    from assay.perf.datasets import jsonl_items

    if not path.endswith(".json"):
        return list(jsonl_items(path, text))
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc.msg})") from None
    if not isinstance(items, list):
        raise DatasetError(f"{path}: the .json file must hold {holds}")
    return list(enumerate(items, start=1))


def _text_of(item: Any) -> str | None:
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        for key in ("text", "input", "sentence", "content"):
            if isinstance(item.get(key), str) and item[key]:
                return str(item[key])
    return None


def load_rerank_pairs(path: str) -> list[tuple[str, list[str]]]:
    """EvalScope's ``rerank`` files: ``.json`` (a list) or ``.jsonl``/``.txt`` (one a line) of
    ``{"query": …, "documents": [...]}`` (``passages`` or ``texts`` for the documents)."""
    from assay.perf.datasets import read_dataset_text

    if not path.endswith((".json", ".jsonl", ".txt")):
        raise DatasetError(f"dataset_path: {path}: the rerank dataset reads .json, .jsonl or .txt files")
    numbered = _json_items(path, read_dataset_text(path), 'a list of {"query", "documents"} objects')
    pairs = []
    for number, item in numbered:
        if not isinstance(item, dict):
            raise DatasetError(f"{path}:{number}: expected an object with 'query' and 'documents'")
        query = item.get("query")
        documents = item.get("documents") or item.get("passages") or item.get("texts")
        if isinstance(documents, str):
            documents = [documents]
        if not isinstance(query, str) or not query or not isinstance(documents, list) or not documents \
                or not all(isinstance(d, str) for d in documents):
            raise DatasetError(f"{path}:{number}: expected a 'query' string and a non-empty 'documents' list of strings")
        pairs.append((query, list(documents)))
    if not pairs:
        raise DatasetError(f"dataset_path: {path} holds no query/documents pairs")
    return pairs


# ----------------------------------------------------------------------------------------- measures
def pooling_measures(records: Sequence[RequestRecord], duration_s: float, percentiles: Sequence[float]) -> dict[str, Any]:
    """A point of embeddings/rerank/score requests: inputs (texts or documents) per second, input tokens per
    second and inputs per request, over its successful measured requests."""
    from assay.perf.metrics import stats

    ok = [r for r in records if r.error is None and r.phase == "measure"]
    inputs = [r.inputs or 0 for r in ok]
    tokens = sum(r.prompt_tokens or 0 for r in ok)
    return {
        "inputs": sum(inputs),
        "inputs_per_s": sum(inputs) / duration_s if duration_s > 0 else 0.0,
        "input_tokens_per_s": tokens / duration_s if duration_s > 0 else 0.0,
        "inputs_per_request": stats(inputs, percentiles),
    }


def add_pooling_measures(summary: dict[str, Any], records: Iterable[RequestRecord], kind: str | None,
                         percentiles: Sequence[float]) -> None:
    """The hook of :func:`assay.perf.metrics.point_summary`: a point of a non-generating endpoint gets its own
    measures (``summary["endpoint"]``), and no TTFT, TPOT or ITL (there is no first token)."""
    from assay.client.endpoints import POOLING_KINDS

    if kind not in POOLING_KINDS:
        return
    point = summary["point"]
    rows = [r for r in records if r.point == point]
    summary["endpoint"] = {"kind": kind, **pooling_measures(rows, summary["duration_s"], percentiles)}
    for name in ("ttft_s", "tpot_s", "itl_s", "output_tokens_per_request", "output_throughput_per_request"):
        summary[name] = {}
    summary["itl_method"] = "-"
    summary["finish_reasons"] = {}  # nothing generated, nothing finished: no line of finish reasons


__all__ = ["ENDPOINT_DATASETS", "EndpointInputs", "add_pooling_measures", "api_notes", "check_api", "endpoint_inputs",
           "load_embedding_texts", "load_rerank_pairs", "pooling_measures"]
