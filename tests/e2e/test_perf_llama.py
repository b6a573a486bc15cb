"""``assay perf`` against a real llama-server serving a tiny model made on the spot."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from assay.store import read_records, read_run, read_run_info
from tests.helpers import run_assay

pytestmark = pytest.mark.engine

REPORT_COLUMNS = [
    "Conc.", "RPS", "Avg Lat.(s)", "P99 Lat.(s)", "Gen. toks/s", "Avg TTFT(s)", "P99 TTFT(s)",
    "Avg TPOT(s)", "P99 TPOT(s)", "Avg ITL(s)", "P99 ITL(s)", "Success Rate",
]
REPORT_SECTIONS = [
    "Performance Test Summary Report", "Basic Information", "Total Generated", "Total Test Time",
    "Avg Output Rate", "Detailed Performance Metrics", "Best Performance Configuration", "Highest RPS",
    "Lowest Latency", "Performance Recommendations", "Benchmarking summary", "Percentile results",
]


def _run_dir(stdout: str) -> Path:
    line = [entry for entry in stdout.splitlines() if entry.startswith("Run directory: ")][-1]
    return Path(line.split(": ", 1)[1])


def test_evalscope_command_line_on_llama_server(tiny_server, tiny_model_dir, tmp_path):
    """The issue's EvalScope command, pointed at the local engine with smaller numbers."""
    result = run_assay(
        "perf", "--parallel", "1", "4", "--number", "3", "12",
        "--model", "tiny", "--url", f"{tiny_server.base_url}/completions", "--api", "openai",
        "--dataset", "random", "--max-tokens", "48", "--min-tokens", "48", "--prefix-length", "0",
        "--min-prompt-length", "96", "--max-prompt-length", "96", "--log-every-n-query", "4",
        "--tokenizer-path", str(tiny_model_dir), "--extra-args", '{"ignore_eos": true}',
        "--outputs-dir", str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for text in REPORT_COLUMNS + REPORT_SECTIONS:
        assert text in out, f"report lacks {text!r}"
    assert "4/12 done" in out  # --log-every-n-query interim figures

    run_dir = _run_dir(out)
    records, skipped = read_records(run_dir / "requests.jsonl")
    assert skipped == 0
    assert len(records) == 15 and sorted(r.index for r in records) == list(range(15))
    for record in records:
        assert record.error is None, record.error
        assert record.completion_tokens == 48 and record.token_source == "usage"
        # 96 asked under the tokenizer + the BOS token the server adds, nothing else.
        assert record.requested_prompt_tokens == 96 and record.prompt_tokens == 97
        assert record.sent_ns is not None and record.start_ns <= record.sent_ns
        assert record.sent_ns < record.first_token_ns <= record.end_ns
        assert record.finish_reason == "length"
        assert len(record.chunk_times_us) >= 40 and record.chunk_times_us == sorted(record.chunk_times_us)
    assert "server counted 97.0 (+1: added by the server: <|endoftext|> (BOS))" in out

    run = read_run(run_dir)
    assert run["status"] == "finished" and run["config"]["extra_args"] == {"ignore_eos": True}
    summary = json.loads((run_dir / "summary.json").read_text())
    assert [p["concurrency"] for p in summary["points"]] == [1, 4]
    assert [p["succeeded"] for p in summary["points"]] == [3, 12]
    for point in summary["points"]:
        assert point["output_tokens"] == 48 * point["succeeded"]
        assert point["success_rate"] == 1.0
        assert point["prompt_tokens_check"]["matches"] is True

    # The record file is read directly by pandas (the documented contract).
    frame = pd.read_json(run_dir / "requests.jsonl", lines=True)
    assert len(frame) == 15 and set(frame["completion_tokens"]) == {48}

    # Re-printing the report from disk sends nothing and shows the same table.
    again = run_assay("perf", "report", str(run_dir))
    assert again.returncode == 0, again.stderr
    for text in [*REPORT_COLUMNS, "Best Performance Configuration"]:
        assert text in again.stdout


def test_prompts_are_fresh_at_every_point_and_share_an_exact_prefix(tiny_server, tiny_model_dir, tmp_path):
    from assay import PerfConfig, run_perf
    from assay.data.tokenizers import load_tokenizer
    from assay.perf.datasets import RandomPrompts, random_requests

    result = run_perf(PerfConfig(
        url=f"{tiny_server.base_url}/completions", model="tiny", parallel=[2, 2], number=[4, 4],
        min_prompt_length=40, max_prompt_length=80, prefix_length=16, max_tokens=4,
        tokenizer_path=str(tiny_model_dir), outputs_dir=str(tmp_path), quiet=True,
    ))
    records, _ = read_records(result.run_dir / "requests.jsonl")
    assert all(r.error is None for r in records)
    for r in records:
        assert 40 <= r.requested_prompt_tokens <= 80 and r.prompt_tokens == r.requested_prompt_tokens + 1
    # The same generator, re-run: prompts of point 0 and 1 differ, prefix shared within a point.
    tokenizer = load_tokenizer(str(tiny_model_dir))
    maker = RandomPrompts(tokenizer)
    first = random_requests(maker, count=4, min_length=40, max_length=80, prefix_length=16, max_tokens=4, seed=0, point=0)
    second = random_requests(maker, count=4, min_length=40, max_length=80, prefix_length=16, max_tokens=4, seed=0, point=1)
    prefix0 = tokenizer.encode(first[0].prompt)[:16]
    assert all(tokenizer.encode(r.prompt)[:16] == prefix0 for r in first)
    assert tokenizer.encode(second[0].prompt)[:16] != prefix0
    assert not {r.prompt for r in first} & {r.prompt for r in second}


def test_chat_endpoint_no_stream_and_file_datasets(tiny_server, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("Tell me about rivers.\n\nWhat is a prime number?\n")
    chat = tmp_path / "chat.jsonl"
    chat.write_text(
        json.dumps({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]})
        + "\n" + json.dumps([{"role": "user", "content": "Name a colour."}]) + "\n"
    )
    custom = tmp_path / "custom.jsonl"
    custom.write_text(json.dumps({"prompt": "Once upon a time", "max_tokens": 5}) + "\n"
                      + json.dumps({"question": "Why is the sky blue?"}) + "\n")
    cases = [
        ("line_by_line", prompts, "chat/completions", "--stream"),
        ("chat", chat, "chat/completions", "--no-stream"),
        ("custom", custom, "completions", "--stream"),
    ]
    for dataset, path, endpoint, stream in cases:
        result = run_assay(
            "perf", "--url", f"{tiny_server.base_url}/{endpoint}", "--model", "tiny", "--dataset", dataset,
            "--dataset-path", str(path), "--parallel", "2", "--number", "5", "--max-tokens", "8",
            stream, "--outputs-dir", str(tmp_path / dataset), "--quiet",
        )
        assert result.returncode == 0, (dataset, result.stderr)
        records, _ = read_records(_run_dir(result.stdout) / "requests.jsonl")
        assert len(records) == 5, dataset
        assert all(r.error is None and r.completion_tokens and r.completion_tokens <= 8 for r in records), (dataset, records)
        if dataset == "custom":  # per-line max_tokens wins
            assert [r.requested_max_tokens for r in sorted(records, key=lambda r: r.index)] == [5, 8, 5, 8, 5]
        if stream == "--no-stream":
            assert all(r.first_token_ns == r.end_ns or len(r.chunk_times_us) == 1 for r in records)


def test_failed_requests_are_recorded_with_reason_and_counted(small_context_server, tiny_model_dir, tmp_path):
    """Prompts longer than the server's slot context get a real HTTP 400 from llama-server."""
    result = run_assay(
        "perf", "--url", f"{small_context_server.base_url}/completions", "--model", "tiny",
        "--parallel", "2", "--number", "12", "--min-prompt-length", "20", "--max-prompt-length", "600",
        "--max-tokens", "4", "--tokenizer-path", str(tiny_model_dir), "--outputs-dir", str(tmp_path), "--quiet",
        "--min-success-rate", "0",  # failures are expected here (tests/perf/test_verdicts.py judges them)
    )
    assert result.returncode == 0, result.stderr
    run_dir = _run_dir(result.stdout)
    records, _ = read_records(run_dir / "requests.jsonl")
    assert len(records) == 12
    failed = [r for r in records if r.error is not None]
    ok = [r for r in records if r.error is None]
    assert failed and ok, "the prompt range should straddle the context limit"
    for r in failed:
        assert r.http_status == 400 and r.error.startswith("HTTP 400") and r.error_kind == "http"
        assert r.requested_prompt_tokens > 200
    summary = json.loads((run_dir / "summary.json").read_text())
    point = summary["points"][0]
    assert point["requests"] == 12 and point["failed"] == len(failed)
    assert point["success_rate"] == pytest.approx(len(ok) / 12)
    assert f"{len(ok) / 12 * 100:.1f}%" in result.stdout
    assert "requests failed at concurrency 2: HTTP 400" in result.stdout


def test_api_key_and_secret_headers_reach_no_file(tiny_server, tiny_model_dir, tmp_path):
    key, header_value = "sk-assay-RECOGNISABLE-7f3a9c", "hdr-RECOGNISABLE-51be"
    result = run_assay(
        "perf", "--url", f"{tiny_server.base_url}/completions", "--model", "tiny",
        "--api-key", key, "--headers", f"X-Secret-Token={header_value}",
        "--parallel", "2", "--number", "4", "--min-prompt-length", "16", "--max-prompt-length", "16",
        "--max-tokens", "4", "--tokenizer-path", str(tiny_model_dir), "--outputs-dir", str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert key not in result.stdout + result.stderr and header_value not in result.stdout + result.stderr
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(files) >= 4
    for path in files:
        data = path.read_bytes()
        assert key.encode() not in data and header_value.encode() not in data, path
    run = read_run(_run_dir(result.stdout))
    assert run["config"]["api_key"] == "***" and run["config"]["headers"] == {"X-Secret-Token": "***"}


def test_embedded_default_engine_smollm2(tmp_path):
    """The README's first command, shortened: assay starts llama-server with SmolLM2 and stops it."""
    result = run_assay(
        "perf", "--engine", "llama-server", "--parallel", "1", "2", "--number", "2", "4",
        "--min-prompt-length", "32", "--max-prompt-length", "32", "--max-tokens", "8", "--min-tokens", "8",
        "--extra-args", '{"ignore_eos": true}', "--outputs-dir", str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert "SmolLM2-135M-Instruct" in result.stdout
    for text in [*REPORT_COLUMNS, "Performance Test Summary Report"]:
        assert text in result.stdout
    records, _ = read_records(_run_dir(result.stdout) / "requests.jsonl")
    assert len(records) == 6 and all(r.error is None and r.completion_tokens == 8 for r in records)
    # SmolLM2's tokenizer adds no BOS on /v1/completions: the server counts exactly what was asked.
    assert all(r.prompt_tokens == 32 for r in records)
    # The engine is gone afterwards: no llama-server serving SmolLM2 is left running.
    import subprocess

    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "SmolLM2-135M-Instruct.F16.gguf" not in processes


def test_random_prompts_on_chat_endpoint_name_the_chat_template(tiny_server, tiny_model_dir, tmp_path):
    result = run_assay(
        "perf", "--url", f"{tiny_server.base_url}/chat/completions", "--model", "tiny",
        "--parallel", "2", "--number", "4", "--min-prompt-length", "50", "--max-prompt-length", "60",
        "--max-tokens", "4", "--tokenizer-path", str(tiny_model_dir), "--outputs-dir", str(tmp_path), "--quiet",
    )
    assert result.returncode == 0, result.stderr
    records, _ = read_records(_run_dir(result.stdout) / "requests.jsonl")
    # ChatML around one user message is 10 tokens, plus the BOS the server prepends.
    assert all(r.prompt_tokens == r.requested_prompt_tokens + 11 for r in records)
    assert "(+11: added by the server: <|endoftext|> (BOS), chat template (10 tokens:" in result.stdout


def test_a_killed_run_can_still_be_reported(tiny_server, tiny_model_dir, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    process = subprocess.Popen(
        [sys.executable, "-m", "assay", "perf", "--url", f"{tiny_server.base_url}/completions", "--model", "tiny",
         "--parallel", "2", "--number", "400", "--min-prompt-length", "16", "--max-prompt-length", "16",
         "--max-tokens", "32", "--tokenizer-path", str(tiny_model_dir), "--outputs-dir", str(tmp_path), "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    records_file = None
    while time.monotonic() < deadline:
        found = list(tmp_path.rglob("requests.jsonl"))
        if found and found[0].stat().st_size > 20_000:
            records_file = found[0]
            break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert records_file is not None, "the run never wrote records"
    run_dir = records_file.parent
    assert read_run(run_dir)["status"] == "interrupted"
    records, _skipped = read_records(records_file)
    assert 0 < len(records) < 400
    report = run_assay("perf", "report", str(run_dir))
    assert report.returncode == 0, report.stderr
    assert "interrupted" in report.stdout
    from assay.perf.stored import load_summary

    summary = load_summary(run_dir, read_run_info(run_dir))
    assert sum(p["requests"] for p in summary["points"]) == len(records)
    assert all(p["failed"] == 0 for p in summary["points"])
    total_line = next(line for line in report.stdout.splitlines() if "Total requests" in line)
    assert total_line.split()[-1] == str(len(records))
