"""Judging one generation into its sample record: reasoning split off, then the benchmark's scorer.

Used by a live run (a fresh :class:`~assay.client.Response`) and by ``--rescore`` (a stored record),
so both judge the same way.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.eval.benchmarks import Benchmark, Sample
from assay.eval.judge import Judges
from assay.eval.records import SampleRecord, record_key

if TYPE_CHECKING:
    from assay.client import Response
    from assay.eval.scoring.mathcheck import MathChecker

_STORED_FIELDS = ("response", "reasoning_content", "finish_reason", "prompt_tokens", "completion_tokens",
                  "latency_s", "ttft_s", "http_status", "error", "error_kind", "finished_epoch_s", "attempts",
                  "tool_calls", "endpoint", "worker")
"""What a rescore keeps of a stored record: the generation as it came, not how it was judged."""


def new_record(name: str, sample: Sample, repeat: int, response: Response, attempts: int) -> SampleRecord:
    """The record of one fresh generation, not judged yet (eval's wrapping of the client's response)."""
    return SampleRecord(
        key=record_key(name, sample.subset, sample.id, repeat), benchmark=name, subset=sample.subset,
        sample_id=sample.id, repeat=repeat, messages=sample.messages, gold=sample.gold,
        meta={**sample.meta, "question": sample.question} if sample.question else sample.meta,
        finished_epoch_s=time.time(), attempts=attempts,
        response=response.answer, reasoning_content=response.reasoning, finish_reason=response.finish_reason,
        prompt_tokens=response.prompt_tokens, completion_tokens=response.completion_tokens,
        latency_s=response.latency_s, ttft_s=response.ttft_s, http_status=response.http_status,
        error=response.error, error_kind=response.error_kind, endpoint=response.endpoint,
        tool_calls=[{"id": call.id, "name": call.name, "arguments": call.arguments}
                    for call in response.tool_calls] or None,
    )


def stored_record(name: str, sample: Sample, repeat: int, stored: SampleRecord) -> SampleRecord:
    """A fresh record holding a stored generation, to be judged again."""
    record = SampleRecord(
        key=record_key(name, sample.subset, sample.id, repeat), benchmark=name, subset=sample.subset,
        sample_id=sample.id, repeat=repeat, messages=sample.messages, gold=sample.gold,
        meta={**sample.meta, "question": sample.question} if sample.question else sample.meta,
    )
    for field in _STORED_FIELDS:
        setattr(record, field, getattr(stored, field))
    return record


def sample_of(record: SampleRecord) -> Sample:
    """The sample a stored record was asked (as sent for its repeat)."""
    question = str(record.meta.get("question", ""))
    return Sample(record.sample_id, record.subset, record.messages, record.gold, question, record.meta)


async def judge_record(benchmark: Benchmark, sample: Sample, record: SampleRecord, judges: Judges) -> SampleRecord:
    """Judge the generation in ``record`` (in place) and return it: a failed request is ``error``
    (never scored), an unclosed ``<think>`` leaves no answer to judge."""
    from assay.eval.scoring import split_reasoning

    if record.error is not None:
        record.verdict, record.score, record.method = "error", 0.0, "request-failed"
        return record
    record.reasoning, answer_text, unclosed = split_reasoning(record.response or "", record.reasoning_content)
    if benchmark.scorer.keeps_indentation:  # code: a bare function body must keep its first line's indentation
        from assay.eval.scoring.extract import restore_indentation

        answer_text = restore_indentation(record.response or "", answer_text)
    record.answer_text = answer_text
    # An unclosed <think> means the text is all reasoning: there is no answer to judge.
    score_calls = getattr(benchmark.scorer, "score_calls", None)
    if score_calls is not None:  # function calling: the server's tool calls, else the ones written in the text
        judgement = await score_calls(sample, record.tool_calls, "" if unclosed else answer_text,
                                      finish_reason=record.finish_reason, judges=judges,
                                      response=record.response or "")
    else:
        judgement = await benchmark.judge(sample, "" if unclosed else answer_text,
                                          finish_reason=record.finish_reason, judges=judges)
    record.extracted = judgement.extracted
    record.verdict, record.score, record.scores = judgement.verdict, judgement.score, dict(judgement.scores)
    record.method = "unclosed-think" if unclosed and judgement.extracted is None else judgement.method
    record.judge = judgement.judge
    return record


@contextlib.asynccontextmanager
async def open_judges(args: dict[str, Any] | None, strategy: str, math: MathChecker,
                      run_dir: Path) -> AsyncIterator[Judges]:
    """The math checker plus, when configured, an LLM judge open for the run."""
    from assay.eval.judge import LLMJudge

    if not args or strategy == "rule":
        yield Judges(math, None, strategy)
        return
    async with LLMJudge(args, run_dir) as llm:
        yield Judges(math, llm, strategy)
