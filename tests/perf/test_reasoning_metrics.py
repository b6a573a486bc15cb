"""Reasoning models in the point summary and the report: time to first answer token (TTFO) beside TTFT
from every way a server separates reasoning (``reasoning_content``, ``reasoning``, gpt-oss harmony text
in the content), and reasoning tokens per request from ``usage.completion_tokens_details``."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from assay import PerfConfig, run_perf
from assay.engines.sim import SimServer, SimSettings
from assay.store import read_records
from tests.scripted_server import ScriptedServer


def _perf(url: str, tmp_path, **extra):
    config = dict(url=url, model="m", tokenizer_path="o200k_base", min_prompt_length=8, max_prompt_length=8,
                  parallel=[2], number=[4], outputs_dir=str(tmp_path), quiet=True)
    config.update(extra)
    result = run_perf(PerfConfig(**config))
    records, _ = read_records(result.run_dir / "requests.jsonl")
    (point,) = result.summary["points"]
    return point, [r for r in records if r.phase == "measure"], " ".join((result.run_dir / "report.txt").read_text().split())


def _own_ttfo_s(records) -> list[float]:
    return [(r.first_answer_ns - r.sent_ns) / 1e9 for r in records]


@pytest.mark.slow
@pytest.mark.parametrize("harmony", [False, True])
def test_ttfo_from_reasoning_content_and_from_harmony_channels(tmp_path, harmony):
    # 12 reasoning tokens at 4 ms each come before the answer (harmony: 3 + 12 + 6 marker and analysis tokens).
    with SimServer(SimSettings(ttft_ms=10, tpot_ms=4, reasoning_tokens=12, harmony=harmony)) as sim:
        point, records, report = _perf(f"{sim.base_url}/chat/completions", tmp_path, max_tokens=40)
    before_answer = 21 if harmony else 12
    assert point["reasoning_requests"] == point["succeeded"] == 4
    assert point["ttfo_s"]["mean"] == pytest.approx(sum(_own_ttfo_s(records)) / 4)
    assert point["ttfo_s"]["max"] == max(_own_ttfo_s(records))
    # The answer starts about before_answer tokens after the first one (the sim writes on a 4 ms grid).
    gap_s = point["ttfo_s"]["mean"] - point["ttft_s"]["mean"]
    assert gap_s == pytest.approx(before_answer * 0.004, abs=0.004 + 0.002 * before_answer)
    assert "Average time to first answer token (s)" in report and "TTFO (s)" in report


@pytest.mark.slow
def test_ttfo_equals_ttft_and_no_reasoning_rows_without_reasoning(tmp_path):
    with SimServer(SimSettings(ttft_ms=5, tpot_ms=1)) as sim:
        point, _records, report = _perf(f"{sim.base_url}/chat/completions", tmp_path, max_tokens=8)
    assert point["reasoning_requests"] == 0 and point["reasoning_tokens"] == 0
    assert point["reasoning_tokens_per_request"] == {}  # the server counted none
    assert point["ttfo_s"]["mean"] == pytest.approx(point["ttft_s"]["mean"])
    assert "first answer token" not in report and "reasoning tokens" not in report


class StreamingServer(ScriptedServer):
    """A chat endpoint streaming vLLM's newer ``reasoning`` deltas, then the answer, then usage with
    ``completion_tokens_details.reasoning_tokens`` (5 ms between chunks)."""

    REASONING = ("Let", " me", " think")

    def __init__(self) -> None:
        super().__init__(behaviour=None)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        chunks = [{"reasoning": word} for word in self.REASONING] + [{"content": "42"}]
        sent = chunks[: body.get("max_tokens") or len(chunks)]  # the connection test asks for one token
        for delta in sent:
            event = {"id": "r", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]}
            await response.write(b"data: " + json.dumps(event).encode() + b"\n\n")
            await asyncio.sleep(0.005)
        reasoning = sum("reasoning" in delta for delta in sent)
        usage = {"prompt_tokens": 8, "completion_tokens": len(sent), "total_tokens": 8 + len(sent),
                 "completion_tokens_details": {"reasoning_tokens": reasoning}}
        await response.write(b"data: " + json.dumps({"id": "r", "choices": [], "usage": usage}).encode() + b"\n\n")
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


@pytest.mark.slow
def test_reasoning_field_feeds_ttfo_and_usage_details_give_reasoning_tokens(tmp_path):
    with StreamingServer() as server:
        point, records, report = _perf(f"{server.url}/chat/completions", tmp_path, max_tokens=4)
    for r in records:
        assert r.reasoning_tokens == 3 and r.completion_tokens == 4
        assert r.first_reasoning_ns == r.first_token_ns < r.first_answer_ns  # the 4th chunk, ~15 ms later
        assert (r.first_answer_ns - r.first_token_ns) / 1e6 >= 10
    assert point["reasoning_requests"] == 4 and point["reasoning_tokens"] == 12
    assert point["reasoning_tokens_per_request"]["mean"] == point["reasoning_tokens_per_request"]["max"] == 3
    assert point["ttfo_s"]["min"] > point["ttft_s"]["min"]
    assert "Average reasoning tokens per request 3.0" in report
