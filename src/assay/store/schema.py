"""The run directory's files as typed, versioned schemas: the one contract between measuring and presenting.

Every file a run writes is one of these types, and every reader (``assay perf report``, ``perf
compare``, ``eval --rescore``, the app) decodes it through them (``assay.store.read``):

============================  =================================  ==============================
file                          type                               version field (this assay)
============================  =================================  ==============================
``run.json``                  :class:`PerfRun` / :class:`EvalRun`  ``schema_version`` (1)
``requests.jsonl`` (a row)    :class:`RequestRecord`             run's ``record_schema_version`` (1)
``samples.jsonl`` (a row)     :class:`SampleRecord`              run's ``sample_schema_version`` (1)
``summary.json`` (perf)       :class:`PerfSummary`               ``schema_version`` (1)
``report.json`` (eval)        :class:`EvalReport`                ``schema_version`` (1)
============================  =================================  ==============================

Compatibility rules (why every field added later has a default): a reader accepts what an older
assay wrote (a field it lacks reads as its default) and what a newer one added (unknown fields are
ignored); a version number goes up only when a reader must act differently, and a file whose
version is newer than this assay knows is refused with one line saying to upgrade.

All ``*_ns`` marks of a request come from ``time.perf_counter_ns()`` (monotonic) and are stored as
nanoseconds since the run's origin (``run.json``: ``origin_perf_ns`` / ``origin_epoch_ns``), so a
mark ``m`` happened at wall-clock ``origin_epoch_ns + m``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

RUN_SCHEMA_VERSION = 1
"""``run.json``'s ``schema_version``."""
RECORD_SCHEMA_VERSION = 1
"""``requests.jsonl`` rows (``run.json``: ``record_schema_version``)."""
SAMPLE_SCHEMA_VERSION = 1
"""``samples.jsonl`` rows (``run.json``: ``sample_schema_version``)."""
SUMMARY_SCHEMA_VERSION = 1
"""``summary.json``'s ``schema_version``."""
REPORT_SCHEMA_VERSION = 1
"""``report.json``'s ``schema_version``."""

RUN_STATUSES = ("running", "finished", "interrupted", "failed")
"""A run's life: ``running`` until it ends ``finished``, ``interrupted`` (Ctrl-C, SIGTERM, or a writer
that died: see :func:`assay.store.read_run_info`) or ``failed`` (a write error, with ``error``)."""


# ------------------------------------------------------------------------------------------ run.json
class RunInfo(msgspec.Struct, kw_only=True, tag_field="kind"):
    """What both kinds of run say about themselves in ``run.json`` (``kind`` is the tag)."""

    schema_version: int = RUN_SCHEMA_VERSION
    assay_version: str | None = None
    """The version that wrote the run."""
    status: str = "running"
    """One of :data:`RUN_STATUSES`."""
    pid: int = 0
    """The writing process: a ``running`` run whose pid is gone reads as ``interrupted``."""
    started_epoch_s: float = 0.0
    finished_epoch_s: float | None = None
    error: str | None = None
    """Only on a run stopped by a write error: ``cannot write <path>: <reason>``."""
    config: dict[str, Any] = {}
    """The run's configuration as given (secrets replaced by ``***``)."""
    run_dir: str | None = None
    """Where the run was written (informative: a run directory may be moved)."""

    @property
    def kind(self) -> str:
        return str(self.__struct_config__.tag)

    @property
    def model(self) -> str:
        return str(self.config.get("model"))


class PerfRun(RunInfo, kw_only=True, tag="perf"):
    """``run.json`` of ``assay perf``."""

    record_schema_version: int = RECORD_SCHEMA_VERSION
    origin_perf_ns: int = 0
    """``time.perf_counter_ns()`` at the run's origin: record marks are ns after it."""
    origin_epoch_ns: int = 0
    """The wall clock (``time.time_ns()``) at the same instant."""
    endpoint_kind: str | None = None
    """``completions`` or ``chat``."""
    tokenizer: str | None = None
    special_tokens: list[str] = []
    expected_extra_tokens: int | None = None
    """Tokens the server is expected to add to each prompt (a chat template)."""


class EvalRun(RunInfo, kw_only=True, tag="eval"):
    """``run.json`` of ``assay eval``."""

    sample_schema_version: int = SAMPLE_SCHEMA_VERSION
    identity: dict[str, Any] | None = None
    """What a resumed run must match (model, endpoint, data, prompts, generation settings, samples)."""
    benchmarks: dict[str, dict[str, Any]] = {}
    """Each benchmark as it described itself (description, subsets, metrics, hub ids, categories)."""


AnyRun = PerfRun | EvalRun


# ---------------------------------------------------------------------------------- requests.jsonl
class RequestRecord(msgspec.Struct, kw_only=True, omit_defaults=False):
    """One request of a perf run (a row of ``requests.jsonl``)."""

    index: int
    """Position of the request in the run, unique within it."""
    point: int
    """Sweep point index (0-based); -1 for the warm-up requests sent before the first point (``--warmup-num``)."""
    phase: str
    """``"measure"``, ``"warmup"`` (``--warmup-num``, or the first ``--warmup-s`` of a point) or ``"cooldown"``
    (the last ``--cooldown-s`` of a timed point): only ``measure`` rows enter the metrics."""
    concurrency: int
    scheduled_ns: int | None = None
    """Open loop: when the schedule said to send it (``start_ns - scheduled_ns`` is the wait
    for a client slot, reported apart from latency)."""
    start_ns: int
    """The client took the request up (before building and writing it)."""
    sent_ns: int | None = None
    """The request body was handed to the socket (None if it never was)."""
    headers_ns: int | None = None
    """Response headers arrived."""
    first_token_ns: int | None = None
    """First chunk carrying content or reasoning text."""
    first_reasoning_ns: int | None = None
    first_answer_ns: int | None = None
    end_ns: int
    """Last byte of the response read, or the failure noticed."""
    sent_epoch_s: float | None = None
    end_epoch_s: float = 0.0
    chunk_times_us: Sequence[int] = ()
    """Arrival of every content/reasoning chunk, microseconds after ``sent_ns``. A list when read back; an
    ``array('q')`` as the client makes it, which the garbage collector never walks (a list or tuple of
    256 ints per record made collections during the load take several ms at concurrency 512)."""
    chunk_tokens: Sequence[int] = ()
    """Tokens per chunk, only when the server reported usage on every chunk."""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    token_source: str = "none"
    """``"usage"`` (the server's count), ``"tokenizer"`` (counted by assay) or ``"none"``."""
    requested_prompt_tokens: int | None = None
    requested_max_tokens: int | None = None
    finish_reason: str | None = None
    http_status: int | None = None
    error: str | None = None
    """One-line reason when the request failed; None on success."""
    error_kind: str | None = None
    """``connect``, ``timeout``, ``http``, ``stream``, ``protocol``, ``aborted`` or ``client``."""
    output_chars: int = 0
    response_id: str | None = None
    """The ``id`` the server gave the response (to find it in the server's logs)."""
    connection_retries: int = 0
    """1 when the request was re-sent on a new connection because the kept-alive one it
    first got had been closed by the server before any response byte (the server never saw it)."""
    cached_tokens: int | None = None
    """Prompt tokens the server served from its prefix cache (``usage.prompt_tokens_details.cached_tokens``)."""
    reasoning_tokens: int | None = None
    """Completion tokens the server counted as reasoning (``usage.completion_tokens_details.reasoning_tokens``)."""
    # -- multi-turn sessions --
    session: int | None = None
    """``--multi-turn``: the conversation this request is a turn of (unique within the run); None otherwise."""
    turn: int | None = None
    """``--multi-turn``: the turn's index in its conversation, from 0 (turn k carries turns 0..k-1 and the
    server's answers to them)."""
    session_turns: int | None = None
    """``--multi-turn``: the turns its session was to have (a failed turn ends a session early)."""
    # -- other endpoints (embeddings, rerank, responses) --
    inputs: int | None = None
    """Embeddings: the texts the request embedded (its batch size); rerank/score: the documents ranked against
    its query. None for generating endpoints. Its input tokens are in ``prompt_tokens``."""
    # -- scale-out (endpoints, actors, clocks) --
    endpoint: str | None = None
    """Which of several ``--url`` endpoints served it (the URL, credentials masked); None with one URL."""
    actor: int | None = None
    """``--ray``: the actor that sent it (0-based); None in a run without Ray."""
    clock_offset_ns: int | None = None
    """``--ray``: the sending actor's clock minus the driver's, measured before the point (its marks here are
    already on the driver's timeline: this much was taken off)."""
    clock_uncertainty_ns: int | None = None
    """``--ray``: how far that offset may be off (half the round trip of its best ping): every mark of this
    record is on the driver's timeline within this many nanoseconds."""

    @property
    def ok(self) -> bool:
        return self.error is None


# ----------------------------------------------------------------------------------- samples.jsonl
class SampleRecord(msgspec.Struct, kw_only=True):
    """One generation for one benchmark sample, and how it was judged (a row of ``samples.jsonl``)."""

    key: str
    """``benchmark/subset/sample_id/repeat``: unique within a run (the last row of a key wins)."""
    benchmark: str
    subset: str
    sample_id: str
    repeat: int
    messages: list[dict[str, Any]]
    """The chat as sent: usually ``role``/``content`` text, but a function-calling history also holds assistant
    ``tool_calls`` (content null) and ``tool`` messages."""
    gold: str
    meta: dict[str, Any] = {}
    """What the benchmark needs to judge again (choices and their order, tests, instructions)."""
    response: str | None = None
    """The answer text exactly as the server sent it (``content``)."""
    reasoning_content: str | None = None
    """The server's separate reasoning field (``reasoning_content`` / ``reasoning``), as sent."""
    reasoning: str | None = None
    """All reasoning: ``reasoning_content`` plus the text inside ``<think>…</think>``."""
    answer_text: str | None = None
    """The part of the response searched for the answer (reasoning removed)."""
    extracted: str | None = None
    verdict: str = "error"
    """``correct``, ``wrong``, ``truncated`` or ``error``."""
    score: float = 0.0
    scores: dict[str, float] = {}
    """Further per-generation scores a benchmark defines (e.g. IFEval's four accuracies)."""
    method: str = ""
    judge: dict[str, Any] | None = None
    """An LLM judge's part: ``model``, ``raw`` (its reply as sent), ``verdict``, ``cached``."""
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    ttft_s: float | None = None
    http_status: int | None = None
    error: str | None = None
    error_kind: str | None = None
    attempts: int = 1
    finished_epoch_s: float = 0.0
    tool_calls: list[dict[str, Any]] | None = None
    """The function calls the server parsed (``tool_calls``): ``id``, ``name`` and ``arguments`` (the JSON text as
    sent); None when it sent none (calls the model wrote in its text are read from ``response`` when judged)."""
    # -- scale-out (endpoints, actors) --
    endpoint: str | None = None
    """Which of several ``api_url`` endpoints answered (the URL, credentials masked); None with one URL."""
    worker: str | None = None
    """``--ray``: the actor that sent it (``actor-<n>``); None in a run of one process."""


def sample_key(benchmark: str, subset: str, sample_id: str, repeat: int) -> str:
    """A sample row's ``key``."""
    return f"{benchmark}/{subset}/{sample_id}/{repeat}"


# ------------------------------------------------------------------------------------ points.jsonl
class PointRecord(msgspec.Struct, kw_only=True):
    """What a perf run measured of one sweep point besides its requests (a row of ``points.jsonl``,
    appended as the point ends), so that a summary rebuilt from the run directory is the live one."""

    point: int
    """Sweep point index, as in the requests' ``point``."""
    concurrency: int = 0
    """Client slots (0: an open loop without a cap)."""
    number: int
    """Requests the point measured or meant to (``--number``, or those sent in ``--duration``)."""
    rate: float | None = None
    """Open loop: requests per second."""
    probe: dict[str, Any] | None = None
    """An SLO search probe: ``value`` and ``repeat``."""
    client: dict[str, Any] | None = None
    """The client's health while it ran (event-loop lag, CPU, whether the client was the bottleneck)."""
    server: dict[str, Any] | None = None
    """The server's own metrics over the point (``--server-metrics``), or ``{"unavailable": url}``."""


# ------------------------------------------------------------------------------------ summary.json
class EndpointSummary(msgspec.Struct, kw_only=True):
    """One endpoint's share of a sweep point (``--url`` given more than once): a value of the point's
    ``endpoints`` object, keyed by the endpoint's URL (credentials masked). Rates are over the point's
    whole duration, so the endpoints' rates add up to the point's."""

    requests: int = 0
    succeeded: int = 0
    failed: int = 0
    success_rate: float = 0.0
    errors: dict[str, int] = {}
    """Failure reasons (grouped as the point's ``errors``) and how many."""
    rps: float = 0.0
    output_tokens: int = 0
    output_throughput: float = 0.0
    """Output tokens per second."""
    ttft_s: dict[str, float] = {}
    """``mean``, ``min``, ``max`` and the run's percentiles (``p50``…) of its successful requests."""
    tpot_s: dict[str, float] = {}
    latency_s: dict[str, float] = {}


class TurnSummary(msgspec.Struct, kw_only=True):
    """One turn index of a multi-turn point (a row of ``sessions.by_turn``): every session's turn k together,
    so that the prefix cache's benefit shows as TTFT by turn."""

    turn: int
    requests: int = 0
    succeeded: int = 0
    ttft_s: dict[str, float] = {}
    """``mean``, ``min``, ``max``, ``p50``, ``p99`` of its successful requests."""
    prompt_tokens_mean: float | None = None
    """Mean prompt tokens as the server counted them (the whole conversation so far)."""
    cached_tokens_mean: float | None = None
    """Mean prompt tokens served from the server's prefix cache, over the requests whose server said
    (``usage.prompt_tokens_details.cached_tokens``); None when none did."""
    cached_share: float | None = None
    """Cached prompt tokens / prompt tokens, over the requests that reported both."""


class SessionSummary(msgspec.Struct, kw_only=True):
    """A multi-turn point's sessions (``--multi-turn``): the point's ``sessions`` object."""

    sessions: int = 0
    """Sessions with at least one measured turn."""
    completed: int = 0
    """Sessions whose every turn was sent and succeeded."""
    ended_by_failure: int = 0
    """Sessions a failed turn ended (the turns after it were not sent)."""
    sessions_per_s: float = 0.0
    """Completed sessions per second of the point's duration."""
    turns_per_session: float = 0.0
    """Mean turns sent per session."""
    cached_tokens: int | None = None
    """Prompt tokens the server served from its prefix cache, summed (None: it never said)."""
    cached_share: float | None = None
    """Cached / prompt tokens over the turns that reported both."""
    by_turn: list[TurnSummary] = []


class GenerationSummary(msgspec.Struct, kw_only=True):
    """What a sweep point's generations looked like besides their timings (``perf/generation.py``): these
    fields sit in the point's object beside ``ttft_s``. Over its successful requests."""

    ttfo_s: dict[str, float] = {}
    """Time to first answer token (``first_answer_ns - sent_ns``, after any reasoning): ``mean``, ``min``,
    ``max`` and the run's percentiles. Equal to TTFT without reasoning."""
    reasoning_requests: int = 0
    """Requests that streamed reasoning (a reasoning mark) or whose server counted reasoning tokens."""
    reasoning_tokens: int = 0
    """Reasoning tokens of the point, as the servers counted them (``completion_tokens_details``)."""
    reasoning_tokens_per_request: dict[str, float] = {}
    """Stats over the requests whose server counted them ({} when none did)."""
    tokens_per_chunk: dict[str, float] = {}
    """Stats over requests of tokens per text chunk (above 1: several tokens a chunk, as speculative decoding)."""
    tokens_per_chunk_source: str = "-"
    """``per-chunk usage``, ``completion tokens / chunks`` (both, joined, when requests differ) or ``-``."""


class PerfSummary(msgspec.Struct, kw_only=True):
    """``summary.json`` of a perf run: the sweep points' metrics and what they say.

    A point is the object :func:`assay.perf.metrics.summarize_point` makes (docs/run-directory.md
    lists its fields); it stays an object here so that a field a newer assay adds reaches the
    report and the app unchanged.
    """

    schema_version: int = SUMMARY_SCHEMA_VERSION
    search: dict[str, Any] | None = None
    """An SLO search's probes and result (``--slo-search``), else None."""
    points: list[dict[str, Any]] = []
    best: dict[str, Any] = {}
    """``highest_rps`` / ``lowest_latency``: the index of that point."""
    recommendations: list[str] = []
    verdict: dict[str, Any] | None = None
    """``min_success_rate`` and the points below it (a run without one predates the check)."""


# ------------------------------------------------------------------------------------- report.json
class BenchmarkReport(msgspec.Struct, kw_only=True):
    """One benchmark's scores: per subset and overall (metric name -> value, plus counts and CIs)."""

    subsets: dict[str, dict[str, Any]] = {}
    overall: dict[str, Any] = {}
    metrics: list[str] = []
    """The benchmark's metrics, the headline first."""


class EvalReport(msgspec.Struct, kw_only=True):
    """``report.json`` of an eval run: computed from ``samples.jsonl`` alone (``--rescore`` rewrites it)."""

    schema_version: int = REPORT_SCHEMA_VERSION
    model: str | None = None
    reports: dict[str, BenchmarkReport] = {}
