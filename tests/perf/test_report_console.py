"""report.txt is the report the console showed (issue 12, point 4), and chat templates kept in
``chat_template.jinja`` are the ones the prompt-token check uses (point 5)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assay.data.tokenizers import load_tokenizer
from assay.engines.models import CHATML_TEMPLATE
from assay.engines.sim import SimServer, SimSettings
from tests.helpers import run_assay


def _run_dir(stdout: str) -> Path:
    line = next(line for line in stdout.splitlines() if line.startswith("Run directory: "))
    return Path(line.removeprefix("Run directory: ").strip())


@pytest.mark.slow
def test_report_txt_is_what_the_console_showed(tmp_path):
    with SimServer(SimSettings(ttft_ms=5, tpot_ms=1)) as sim:
        result = run_assay(
            "perf", "--url", f"{sim.base_url}/completions", "--model", "sim", "--parallel", "1", "2",
            "--number", "3", "4", "--tokenizer-path", "o200k_base", "--min-prompt-length", "8",
            "--max-prompt-length", "8", "--max-tokens", "8", "--server-metrics", "--log-every-n-query", "0",
            "--no-html", "--outputs-dir", str(tmp_path),
        )
    assert result.returncode == 0, result.stderr
    run_dir = _run_dir(result.stdout)
    report = (run_dir / "report.txt").read_text(encoding="utf-8")
    # Everything on stdout before the run directory's line is the report, and nothing else.
    assert result.stdout == report + f"Run directory: {run_dir}\n"
    words = " ".join(report.split())  # long lines wrap at the console's width
    for shown in ("Benchmarking summary · concurrency 1, 3 requests", "Benchmarking summary · concurrency 2, 4 requests",
                  "Percentile results", "Server (/metrics): generated 24 tokens (client counted 24)",
                  "ITL: ", "Client: event-loop lag p99", "Finish reasons: length 4.", "Performance Test Summary Report",
                  "Detailed Performance Metrics"):
        assert shown in words, shown
    # The stored run re-prints the same report.
    again = run_assay("perf", "report", str(run_dir))
    assert again.returncode == 0, again.stderr
    assert again.stdout == report


@pytest.mark.slow
def test_quiet_runs_keep_the_whole_report_in_report_txt(tmp_path):
    with SimServer(SimSettings(ttft_ms=5, tpot_ms=1)) as sim:
        result = run_assay(
            "perf", "--url", f"{sim.base_url}/completions", "--model", "sim", "--parallel", "2", "--number", "4",
            "--tokenizer-path", "o200k_base", "--min-prompt-length", "8", "--max-prompt-length", "8",
            "--max-tokens", "8", "--no-html", "--quiet", "--outputs-dir", str(tmp_path),
        )
    assert result.returncode == 0, result.stderr
    report = (_run_dir(result.stdout) / "report.txt").read_text(encoding="utf-8")
    assert "Benchmarking summary" not in result.stdout  # --quiet: not on the console ...
    assert "Benchmarking summary · concurrency 2, 4" in report  # ... but kept in the file
    assert report.endswith(result.stdout.split("Run directory: ")[0])


def test_a_template_in_chat_template_jinja_is_the_one_the_check_uses(tiny_server, tiny_model_dir, tmp_path):
    """A model folder as transformers 5 saves it: the template only in chat_template.jinja.

    llama-server serves the same model with the same ChatML template (from its GGUF); before,
    assay saw no template and blamed the tokenizer for the template's tokens.
    """
    folder = tmp_path / "model"
    folder.mkdir()
    shutil.copy(tiny_model_dir / "tokenizer.json", folder / "tokenizer.json")
    config = json.loads((tiny_model_dir / "tokenizer_config.json").read_text())
    del config["chat_template"]
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    (folder / "chat_template.jinja").write_text(CHATML_TEMPLATE)
    assert load_tokenizer(str(folder)).config["chat_template"] == CHATML_TEMPLATE  # type: ignore[attr-defined]

    result = run_assay(
        "perf", "--url", f"{tiny_server.base_url}/chat/completions", "--model", "tiny", "--parallel", "2",
        "--number", "4", "--min-prompt-length", "50", "--max-prompt-length", "60", "--max-tokens", "4",
        "--tokenizer-path", str(folder), "--outputs-dir", str(tmp_path / "runs"), "--quiet", "--no-html",
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((_run_dir(result.stdout) / "summary.json").read_text())
    check = summary["points"][0]["prompt_tokens_check"]
    assert check["matches"] and check["differences"] == {"11": 4}, check  # ChatML's 10 tokens + the BOS
    assert "(+11: added by the server: <|endoftext|> (BOS), chat template (10 tokens:" in result.stdout
    assert "may not be --tokenizer-path's" not in result.stdout

    # Without any template beside the tokenizer, the report says that is why it cannot predict the count.
    (folder / "chat_template.jinja").unlink()
    result = run_assay(
        "perf", "--url", f"{tiny_server.base_url}/chat/completions", "--model", "tiny", "--parallel", "2",
        "--number", "4", "--min-prompt-length", "50", "--max-prompt-length", "60", "--max-tokens", "4",
        "--tokenizer-path", str(folder), "--outputs-dir", str(tmp_path / "runs"), "--quiet", "--no-html",
    )
    assert result.returncode == 0, result.stderr
    assert "no chat template was found with --tokenizer-path (chat_template.jinja" in result.stdout
