"""Server-side /metrics scraped around each point, beside the client's numbers."""

from __future__ import annotations

import pytest

from assay import PerfConfig, run_perf
from assay.engines.sim import SimServer, SimSettings
from assay.perf.server_metrics import difference, parse


def _config(url: str, tokenizer: str, tmp_path, **extra):
    return PerfConfig(url=url, model="m", tokenizer_path=tokenizer, min_prompt_length=16, max_prompt_length=16,
                      max_tokens=12, parallel=[2, 4], number=[4, 8], server_metrics="auto",
                      outputs_dir=str(tmp_path), quiet=True, **extra)


@pytest.mark.slow
def test_simulator_metrics_match_the_client_per_point(tmp_path):
    with SimServer(SimSettings(ttft_ms=5, tpot_ms=2)) as sim:
        result = run_perf(_config(f"{sim.base_url}/completions", "o200k_base", tmp_path))
    for point in result.summary["points"]:
        assert point["server"]["generation_tokens"] == point["output_tokens"] == 12 * point["requests"]
        assert point["server"]["requests"] == point["requests"]


@pytest.mark.engine
def test_llama_server_metrics(tiny_server, tiny_model_dir, tmp_path):
    result = run_perf(_config(f"{tiny_server.base_url}/completions", str(tiny_model_dir), tmp_path,
                              extra_args={"ignore_eos": True}))
    for point in result.summary["points"]:
        assert point["server"]["generation_tokens"] == point["output_tokens"]
        assert point["server"]["prompt_tokens"] <= point["input_tokens"]  # cached prefixes are not counted again


def test_histograms_give_server_means():
    before = parse("vllm:time_to_first_token_seconds_sum 1.0\nvllm:time_to_first_token_seconds_count 10\n"
                   "vllm:generation_tokens_total 100\n")
    after = parse("vllm:time_to_first_token_seconds_sum 3.0\nvllm:time_to_first_token_seconds_count 30\n"
                  "vllm:generation_tokens_total 500\n")
    server = difference(before, after, duration_s=2.0)
    assert server["ttft_s_mean"] == pytest.approx(0.1)
    assert server["generation_tokens"] == 400 and server["generation_tokens_per_s"] == 200


@pytest.mark.slow
def test_an_unreachable_metrics_endpoint_does_not_fail_the_run(tmp_path):
    with SimServer(SimSettings(ttft_ms=5, tpot_ms=2)) as sim:
        config = _config(f"{sim.base_url}/completions", "o200k_base", tmp_path)
        config.server_metrics = "http://127.0.0.1:9/metrics"
        result = run_perf(config)
    assert result.summary["points"][0]["server"] == {"unavailable": "http://127.0.0.1:9/metrics"}
