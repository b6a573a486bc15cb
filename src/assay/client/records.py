"""The per-request record: what one request did, with its timing marks.

All ``*_ns`` marks come from ``time.perf_counter_ns()`` (monotonic) and are stored as
nanoseconds since the run's origin (``run.json``: ``origin_perf_ns`` / ``origin_epoch_ns``),
so a mark ``m`` happened at wall-clock ``origin_epoch_ns + m``. The epoch fields are
there for lining records up with server logs without that arithmetic.
"""

from __future__ import annotations

import msgspec

RECORD_SCHEMA_VERSION = 1


class RequestRecord(msgspec.Struct, kw_only=True, omit_defaults=False):
    """One request of a perf run (a row of ``requests.jsonl``)."""

    index: int
    """Position of the request in the run, unique within it."""
    point: int
    """Sweep point index (0-based); -1 for warm-up requests."""
    phase: str
    """``"measure"`` or ``"warmup"`` (warm-up rows never enter metrics)."""
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
    chunk_times_us: list[int] = []
    """Arrival of every content/reasoning chunk, microseconds after ``sent_ns``."""
    chunk_tokens: list[int] = []
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
    """``connect``, ``timeout``, ``http``, ``stream``, ``protocol`` or ``client``."""
    output_chars: int = 0
    response_id: str | None = None
    """The ``id`` the server gave the response (to find it in the server's logs)."""
    connection_retries: int = 0
    """1 when the request was re-sent on a new connection because the kept-alive one it
    first got had been closed by the server before any response byte (the server never saw it)."""

    @property
    def ok(self) -> bool:
        return self.error is None
