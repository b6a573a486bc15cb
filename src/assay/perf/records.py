"""From the client's :class:`~assay.client.Response` to perf's row of ``requests.jsonl``.

The client times a request on the machine's monotonic clock and knows nothing of sweeps; a perf run
adds where the request sat in the sweep (index, point, phase, concurrency, schedule) and stores every
mark as nanoseconds since the run's origin (``run.json``: ``origin_perf_ns`` / ``origin_epoch_ns``).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable

from assay.client.openai import ChatOrCompletionRequest
from assay.client.response import Response
from assay.store import RequestRecord


class RecordMaker:
    """Makes the run's records from responses: one per request, in the request's own turn of the loop.

    ``count_tokens`` (the run's tokenizer) stands in for the server's usage when a successful response
    carried none; a worker process makes its own maker from the run's origin, without one.
    """

    __slots__ = ("count_tokens", "origin_epoch_ns", "origin_perf_ns")

    def __init__(self, origin_perf_ns: int, origin_epoch_ns: int,
                 count_tokens: Callable[[str], int] | None = None) -> None:
        self.origin_perf_ns = origin_perf_ns
        self.origin_epoch_ns = origin_epoch_ns
        self.count_tokens = count_tokens

    def record(self, response: Response, request: ChatOrCompletionRequest, *, index: int, point: int, phase: str,
               concurrency: int, scheduled_ns: int | None = None) -> RequestRecord:
        """``scheduled_ns`` (absolute ``perf_counter_ns``): when an open-loop schedule wanted it sent."""
        if response.completion_tokens is None and response.error is None and self.count_tokens is not None:
            response.use_counted_tokens(self.count_tokens(response.text))
        origin = self.origin_perf_ns
        sent = response.sent_ns
        sent_ns, headers_ns, first_token_ns, first_reasoning_ns, first_answer_ns, scheduled = (
            None if mark is None else mark - origin
            for mark in (sent, response.headers_ns, response.first_token_ns, response.first_reasoning_ns,
                         response.first_answer_ns, scheduled_ns)
        )
        return RequestRecord(
            # where it sat in the sweep
            index=index, point=point, phase=phase, concurrency=concurrency, scheduled_ns=scheduled,
            # when: nanoseconds since the run's origin; chunks in microseconds after the send
            start_ns=response.start_ns - origin, sent_ns=sent_ns, headers_ns=headers_ns, first_token_ns=first_token_ns,
            first_reasoning_ns=first_reasoning_ns, first_answer_ns=first_answer_ns, end_ns=response.end_ns - origin,
            sent_epoch_s=None if sent is None else (self.origin_epoch_ns + sent - origin) / 1e9,
            end_epoch_s=(self.origin_epoch_ns + response.end_ns - origin) / 1e9,
            chunk_times_us=array("q", [(t - sent) // 1000 for t in response.chunk_ns]) if sent is not None else (),
            # how much: what the server counted (or the tokenizer), beside what was asked for
            chunk_tokens=response.chunk_tokens, prompt_tokens=response.prompt_tokens,
            completion_tokens=response.completion_tokens, token_source=response.token_source,
            requested_prompt_tokens=request.prompt_tokens, requested_max_tokens=request.max_tokens,
            output_chars=response.output_chars,
            # how it ended
            finish_reason=response.finish_reason, http_status=response.http_status, error=response.error,
            error_kind=response.error_kind, response_id=response.response_id,
            connection_retries=response.connection_retries,
            cached_tokens=response.cached_tokens, reasoning_tokens=response.reasoning_tokens,
            inputs=response.inputs,
            endpoint=response.endpoint,
        )


__all__ = ["RecordMaker"]
