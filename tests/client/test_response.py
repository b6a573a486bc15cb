"""The client's one answer: what a Response says about a request, whoever reads it (perf or eval)."""

from __future__ import annotations

import pytest

from assay.client import Response


@pytest.mark.parametrize(("error_kind", "http_status", "retryable"), [
    ("http", 429, True), ("http", 503, True), ("http", 500, True), ("http", 400, False), ("http", 404, False),
    ("connect", None, True), ("timeout", None, True), ("stream", 200, True), ("aborted", 200, True),
    ("protocol", 200, False), ("client", None, False),
])
def test_which_failures_may_pass_on_a_later_try(error_kind, http_status, retryable):
    response = Response(start_ns=0, end_ns=1, error="it failed", error_kind=error_kind, http_status=http_status)
    assert response.retryable is retryable and not response.ok
    assert not Response(start_ns=0, end_ns=1, http_status=200).retryable


def test_times_count_from_the_send_or_from_the_start_when_nothing_was_sent():
    sent = Response(start_ns=1_000, sent_ns=3_000, first_token_ns=5_000, end_ns=13_000)
    assert (sent.latency_s, sent.ttft_s) == (10_000 / 1e9, 2_000 / 1e9)
    never_sent = Response(start_ns=1_000, end_ns=4_000, error="refused", error_kind="connect")
    assert (never_sent.latency_s, never_sent.ttft_s) == (3_000 / 1e9, None)


def test_text_is_reasoning_then_answer_and_no_reasoning_reads_as_none():
    response = Response(start_ns=0, end_ns=1, answer_text="42", reasoning_text="six sevens")
    assert (response.answer, response.reasoning, response.text) == ("42", "six sevens", "six sevens42")
    assert Response(start_ns=0, end_ns=1, answer_text="x").reasoning is None


def test_a_tokenizer_count_replaces_missing_usage_but_never_clears_an_earlier_failure():
    short = Response(start_ns=0, end_ns=1, finish_reason="length", min_tokens=10)
    short.use_counted_tokens(4)
    assert (short.completion_tokens, short.token_source, short.error_kind) == (4, "tokenizer", "aborted")
    enough = Response(start_ns=0, end_ns=1, finish_reason="length", min_tokens=10)
    enough.use_counted_tokens(10)
    assert enough.ok
    failed = Response(start_ns=0, end_ns=1, finish_reason="stop", error="HTTP 500: boom", error_kind="http")
    failed.use_counted_tokens(3)
    assert failed.error == "HTTP 500: boom" and failed.error_kind == "http"
