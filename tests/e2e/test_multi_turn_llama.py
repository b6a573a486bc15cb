"""``assay perf --multi-turn`` against a real llama-server (chat), with and without its prompt cache.

llama-server reports the prompt tokens it reused from a slot's cache as
``usage.prompt_tokens_details.cached_tokens``. With ``cache_prompt`` (its default), turn k ≥ 1 of a
conversation finds turns < k and its own answers in the cache: most of its prompt is cached. With
``"cache_prompt": false`` in the request body, nothing is.
"""

from __future__ import annotations

import pytest

from assay import PerfConfig, run_perf
from assay.store import read_records

pytestmark = [pytest.mark.engine, pytest.mark.slow]


def _run(tiny_server, tiny_model_dir, tmp_path, **kwargs):
    result = run_perf(PerfConfig(
        url=f"{tiny_server.base_url}/chat/completions", model="tiny", tokenizer_path=str(tiny_model_dir),
        dataset="random_multi_turn", turns=3, min_prompt_length=48, max_prompt_length=64, max_tokens=8,
        min_tokens=8, parallel=[2], number=[2], outputs_dir=str(tmp_path), quiet=True, html=False, **kwargs,
    ))
    records, skipped = read_records(result.run_dir / "requests.jsonl")
    assert skipped == 0
    return result, sorted(records, key=lambda r: (r.session, r.turn))


def test_multi_turn_sessions_reuse_llama_servers_prompt_cache(tiny_server, tiny_model_dir, tmp_path):
    result, records = _run(tiny_server, tiny_model_dir, tmp_path)
    assert len(records) == 6 and all(r.error is None for r in records), [r.error for r in records]
    for r in records:
        assert r.completion_tokens == 8 and r.token_source == "usage"
        assert r.cached_tokens is not None  # llama-server reports it
        if r.turn >= 1:
            previous = next(p for p in records if p.session == r.session and p.turn == r.turn - 1)
            # the conversation so far (previous prompt + its answer) was in the slot's cache
            assert r.prompt_tokens > previous.prompt_tokens + previous.completion_tokens
            assert r.cached_tokens >= previous.prompt_tokens, (r.cached_tokens, previous.prompt_tokens)
    sessions = result.summary["points"][0]["sessions"]
    assert sessions["completed"] == 2 and [t["requests"] for t in sessions["by_turn"]] == [2, 2, 2]
    assert sessions["by_turn"][2]["cached_share"] > 0.5
    assert "Multi-turn sessions · 2 of 2 completed" in (result.run_dir / "report.txt").read_text()


def test_without_its_prompt_cache_llama_server_caches_nothing(tiny_server, tiny_model_dir, tmp_path):
    result, records = _run(tiny_server, tiny_model_dir, tmp_path, extra_args={"cache_prompt": False})
    assert len(records) == 6 and all(r.error is None for r in records), [r.error for r in records]
    assert all(r.cached_tokens == 0 for r in records), [r.cached_tokens for r in records]
    assert result.summary["points"][0]["sessions"]["cached_share"] == 0.0
