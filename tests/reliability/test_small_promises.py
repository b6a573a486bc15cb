"""Smaller promises of issue 11: a killed run's report says how much of it was recorded and rebuilds its
summary; the hub tokenizer error comes at once offline and names the offline encodings; the docs name
o200k_harmony; a dataset line that is not UTF-8 is named by its number.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assay.data.benchmark_data import read_rows
from assay.data.tokenizers import load_tokenizer
from assay.engines.llama_server import free_port
from assay.engines.sim import SimServer, SimSettings
from assay.errors import DatasetError
from assay.store import read_records
from tests.conftest import REPO
from tests.helpers import run_assay


@pytest.mark.slow
def test_report_of_a_killed_run_counts_planned_requests_and_rebuilds_the_summary(tmp_path: Path) -> None:
    number = 3000
    outputs = tmp_path / "out"
    with SimServer(SimSettings(ttft_ms=2, tpot_ms=1, output_tokens=8)) as sim:
        process = subprocess.Popen(
            [sys.executable, "-m", "assay", "perf", "--url", f"{sim.base_url}/completions", "--model", "sim",
             "--parallel", "4", "--number", str(number), "--max-tokens", "8", "--tokenizer-path", "o200k_base",
             "--min-prompt-length", "8", "--max-prompt-length", "8", "--outputs-dir", str(outputs), "--quiet",
             "--no-html"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while True:  # kill on observed progress: 30 records on disk
                found = list(outputs.glob("*/sim/requests.jsonl"))
                if found and found[0].read_bytes().count(b"\n") >= 30:
                    break
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.02)
            process.send_signal(signal.SIGKILL)
        finally:
            process.kill()
            process.wait()
    run_dir = found[0].parent
    assert not (run_dir / "summary.json").exists()
    records, _ = read_records(run_dir / "requests.jsonl")
    recorded = sum(1 for r in records if r.point >= 0)
    done = run_assay("perf", "report", str(run_dir))
    assert done.returncode == 0, done.stderr
    assert f"{recorded} of {number} planned requests recorded (the run is interrupted)" in done.stdout
    summary = json.loads((run_dir / "summary.json").read_text())  # rewritten, as the docs say
    assert summary["points"][0]["requests"] == recorded


@pytest.mark.parametrize("offline", ["HF_HUB_OFFLINE", "no network"])
def test_hub_tokenizer_error_is_quick_offline_and_names_the_offline_encodings(
    offline: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if offline == "HF_HUB_OFFLINE":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:  # a hub that nothing answers for: what a machine without a network sees
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{free_port()}")
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    import huggingface_hub  # noqa: F401 - imported before the clock starts: the bound is for the error

    started = time.monotonic()
    with pytest.raises(DatasetError) as raised:
        load_tokenizer("assay-test/no-such-model", hub="huggingface")
    elapsed_s = time.monotonic() - started
    # Without the check the hub client retries for ~20 s; the check itself takes at most 0.8 s.
    assert elapsed_s < 2.0, elapsed_s
    message = str(raised.value)
    assert "o200k_harmony (gpt-oss)" in message and "o200k_base" in message
    assert ("HF_HUB_OFFLINE" in message) if offline == "HF_HUB_OFFLINE" else ("no network" in message)


def test_readme_and_help_name_o200k_harmony() -> None:
    assert "o200k_harmony" in (REPO / "README.md").read_text(encoding="utf-8")
    done = run_assay("perf", "--help")
    assert done.returncode == 0 and "o200k_harmony" in " ".join(done.stdout.split())


@pytest.mark.slow
def test_a_perf_dataset_line_that_is_not_utf8_is_named_by_its_number(tmp_path: Path) -> None:
    dataset = tmp_path / "prompts.txt"
    dataset.write_bytes(b"first prompt\nsecond prompt\ncaf\xe9 third\n")  # Latin-1, not UTF-8
    # No server listens there: the dataset is read (and refused) before any request.
    done = run_assay("perf", "--url", "http://127.0.0.1:9/v1/completions", "--model", "m", "--dataset",
                     "line_by_line", "--dataset-path", str(dataset), "--outputs-dir", str(tmp_path / "out"))
    assert done.stderr.strip().splitlines() == [f"assay: error: {dataset}:3: not UTF-8 text (byte 0xe9 at column 4)"]
    assert done.returncode == 2


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".csv"])
def test_an_eval_dataset_line_that_is_not_utf8_is_named_by_its_number(suffix: str, tmp_path: Path) -> None:
    import gzip

    if suffix == ".csv":
        data = b"\xef\xbb\xbfquestion,answer\nq1,a\nq2,a\nq\xff3,a\n"
    else:
        data = b"".join(json.dumps({"question": f"q{i}", "answer": "a"}).encode() + b"\n" for i in range(3))
        data += b'{"question": "\xff", "answer": "a"}\n'
    path = tmp_path / f"test{suffix}"
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    with pytest.raises(DatasetError) as raised:
        read_rows(path)
    column = 2 if suffix == ".csv" else 15
    assert str(raised.value) == f"{path}:4: not UTF-8 text (byte 0xff at column {column})"
