"""Speculative decoding: vLLM's spec-decode counters read per sweep point (``--server-metrics``), and tokens
per chunk from the client's side, checked against ``assay sim --spec-draft-tokens`` (whose truth is exact)."""

from __future__ import annotations

import pytest

from assay import PerfConfig, run_perf
from assay.engines.sim import SimServer, SimSettings
from assay.perf.server_metrics import difference, parse

# A vLLM 0.x /metrics excerpt as it serves it (per-engine labels, _created samples), before and after a point.
VLLM_BEFORE = """\
# HELP vllm:spec_decode_num_drafts_total Number of spec decoding drafts.
# TYPE vllm:spec_decode_num_drafts_total counter
vllm:spec_decode_num_drafts_total{engine="0",model_name="m"} 100.0
# HELP vllm:spec_decode_num_drafts_created Number of spec decoding drafts.
# TYPE vllm:spec_decode_num_drafts_created gauge
vllm:spec_decode_num_drafts_created{engine="0",model_name="m"} 1.7e+09
# TYPE vllm:spec_decode_num_draft_tokens_total counter
vllm:spec_decode_num_draft_tokens_total{engine="0",model_name="m"} 300.0
# TYPE vllm:spec_decode_num_accepted_tokens_total counter
vllm:spec_decode_num_accepted_tokens_total{engine="0",model_name="m"} 150.0
# TYPE vllm:spec_decode_num_accepted_tokens_per_pos_total counter
vllm:spec_decode_num_accepted_tokens_per_pos_total{engine="0",model_name="m",position="0"} 80.0
vllm:spec_decode_num_accepted_tokens_per_pos_total{engine="0",model_name="m",position="1"} 50.0
vllm:spec_decode_num_accepted_tokens_per_pos_total{engine="0",model_name="m",position="2"} 20.0
"""


def _after(drafts: int, draft_tokens: int, accepted: int, per_position: list[int]) -> str:
    text = VLLM_BEFORE
    for name, before, now in (("drafts", 100, drafts), ("draft_tokens", 300, draft_tokens),
                              ("accepted_tokens", 150, accepted)):
        text = text.replace(f'vllm:spec_decode_num_{name}_total{{engine="0",model_name="m"}} {before}.0',
                            f'vllm:spec_decode_num_{name}_total{{engine="0",model_name="m"}} {now}.0')
    for position, (before, now) in enumerate(zip((80, 50, 20), per_position)):
        text = text.replace(f'position="{position}"}} {before}.0', f'position="{position}"}} {now}.0')
    return text


def test_vllm_counters_give_acceptance_rate_length_and_per_position_rates():
    # Over the point: 40 drafts of 3 tokens, 70 accepted (30 at position 0, 25 at 1, 15 at 2).
    server = difference(parse(VLLM_BEFORE), parse(_after(140, 420, 220, [110, 75, 35])), duration_s=2.0)
    assert (server["spec_decode_drafts"], server["spec_decode_draft_tokens"],
            server["spec_decode_accepted_tokens"]) == (40, 120, 70)
    assert server["draft_acceptance_rate"] == pytest.approx(70 / 120)
    assert server["mean_acceptance_length"] == pytest.approx(1 + 70 / 40)  # vLLM's: the bonus token included
    assert server["acceptance_rate_per_position"] == pytest.approx([30 / 40, 25 / 40, 15 / 40])


def test_no_draft_in_the_point_reports_no_acceptance():
    server = difference(parse(VLLM_BEFORE), parse(VLLM_BEFORE), duration_s=1.0)
    assert server["spec_decode_drafts"] == 0
    assert not {"draft_acceptance_rate", "mean_acceptance_length", "acceptance_rate_per_position"} & set(server)
    assert "spec_decode_drafts" not in difference(parse("vllm:generation_tokens_total 5\n"),
                                                  parse("vllm:generation_tokens_total 9\n"), duration_s=1.0)


@pytest.mark.slow
@pytest.mark.parametrize("continuous_usage", [False, True])
def test_speculative_sim_acceptance_and_tokens_per_chunk_are_the_truth(tmp_path, continuous_usage):
    # 3 tokens a chunk with 4 draft tokens a step: each step accepted 2 of 4; 32 tokens are 10 chunks of 3
    # and one of 2 (which accepted 1). Per request: 11 drafts, 44 draft tokens, 21 accepted.
    settings = SimSettings(ttft_ms=5, tpot_ms=1, tokens_per_chunk=3, spec_draft_tokens=4)
    with SimServer(settings) as sim:
        result = run_perf(PerfConfig(
            url=f"{sim.base_url}/completions", model="sim", tokenizer_path="o200k_base", min_prompt_length=8,
            max_prompt_length=8, max_tokens=32, parallel=[1, 2], number=[2, 4], server_metrics="auto",
            continuous_usage=continuous_usage, outputs_dir=str(tmp_path), quiet=True))
        truth = [r["chunk_tokens"] for r in sim.records() if r["chunk_tokens"]]
    # What the simulator sent each measured request (the one-token service check before the first point aside).
    assert [tuple(t) for t in truth if len(t) > 1] == [(3,) * 10 + (2,)] * 6
    for point in result.summary["points"]:
        n = point["requests"]
        server = point["server"]
        assert (server["spec_decode_drafts"], server["spec_decode_draft_tokens"],
                server["spec_decode_accepted_tokens"]) == (11 * n, 44 * n, 21 * n)
        assert server["draft_acceptance_rate"] == pytest.approx(21 / 44)
        assert server["mean_acceptance_length"] == pytest.approx(1 + 21 / 11)
        assert server["acceptance_rate_per_position"] == pytest.approx([1.0, 10 / 11, 0.0, 0.0])
        # The client's side: 32 tokens over 11 chunks, which is the mean acceptance length.
        assert point["tokens_per_chunk"]["mean"] == pytest.approx(32 / 11)
        assert point["tokens_per_chunk"]["min"] == point["tokens_per_chunk"]["max"]
        assert point["tokens_per_chunk_source"] == ("per-chunk usage" if continuous_usage
                                                    else "completion tokens / chunks")
    report = " ".join((result.run_dir / "report.txt").read_text().split())  # lines wrapped at the console's width
    assert "speculative decoding: draft acceptance 47.7 %, mean acceptance length 2.91" in report
    assert "per position 1.00 0.91 0.00 0.00" in report
    assert "Average tokens per chunk" in report and "2.91" in report
    page = (result.run_dir / "report.html").read_text()
    assert "<h2>Reasoning and decoding</h2>" in page and "<td>47.7%</td><td>2.91</td>" in page


@pytest.mark.slow
def test_a_plain_engine_shows_no_speculative_decoding(tmp_path):
    with SimServer(SimSettings(ttft_ms=5, tpot_ms=1)) as sim:
        result = run_perf(PerfConfig(
            url=f"{sim.base_url}/completions", model="sim", tokenizer_path="o200k_base", min_prompt_length=8,
            max_prompt_length=8, max_tokens=8, parallel=[2], number=[2], server_metrics="auto",
            outputs_dir=str(tmp_path), quiet=True))
    (point,) = result.summary["points"]
    assert "spec_decode_drafts" not in point["server"] and point["tokens_per_chunk"]["mean"] == 1.0
    report = " ".join((result.run_dir / "report.txt").read_text().split())  # lines wrapped at the console's width
    assert "speculative decoding" not in report and "Average tokens per chunk" not in report
    assert "Reasoning and decoding" not in (result.run_dir / "report.html").read_text()
