"""Exit codes that tell the truth: SIGTERM is an interrupt (exit 143, results kept), an eval where nothing
could be scored fails, a score over no scored sample is N/A, and a web page where the API should be is
named as such. Real `assay` processes against `assay sim` or a real HTML server started here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import msgspec
import pytest

from assay.engines.sim import SimServer, SimSettings
from assay.eval.records import SampleRecord
from assay.store import read_records
from tests.helpers import run_assay

pytestmark = pytest.mark.slow  # real runs stopped by signals

EXIT_TERMINATED = 143


def _write_questions(root: Path, count: int) -> Path:
    folder = root / "data" / "general_qa"
    folder.mkdir(parents=True)
    (folder / "test.jsonl").write_text("".join(
        json.dumps({"question": f"Say alpha ({i})", "answer": "alpha"}) + "\n" for i in range(count)
    ))
    return root / "data"


def _eval_args(base_url: str, data_dir: Path, work_dir: Path, *extra: str) -> list[str]:
    return ["eval", "--model", "sim", "--api-url", base_url, "--datasets", "general_qa", "--dataset-hub", "local",
            "--dataset-dir", str(data_dir), "--work-dir", str(work_dir), "--quiet", *extra]


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _terminate_after_progress(command: list[str], outputs: Path, name: str, records: int, *,
                              sigint_ignored: bool = False, ctrl_c: bool = False) -> subprocess.CompletedProcess[str]:
    """Start ``assay``; send SIGTERM once its journal ``name`` under ``outputs`` holds ``records`` lines
    (on observed progress, not after a wall-clock time, so a slow or a fast machine sees the same).

    ``sigint_ignored``: started as a shell starts a background job (SIGINT ignored), where asyncio
    installs no Ctrl-C handler of its own. ``ctrl_c``: SIGINT to the whole process group instead, as a
    terminal's Ctrl-C sends it (child processes get it too)."""

    def ignore_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    process = subprocess.Popen([sys.executable, "-m", "assay", *command], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=ignore_sigint if sigint_ignored else None,
                               start_new_session=ctrl_c)
    try:
        deadline = time.monotonic() + 120
        while True:
            found = list(outputs.glob(f"*/*/{name}")) + list(outputs.glob(f"*/{name}"))
            if found and _lines(found[0]) >= records:
                break
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no progress within 120 s"
            time.sleep(0.02)
        if ctrl_c:
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.parametrize(("sigint_ignored", "workers"), [(False, 1), (True, 1), (False, 2)],
                         ids=["foreground", "background-job", "workers"])
def test_sigterm_stops_perf_like_ctrl_c(sigint_ignored: bool, workers: int, tmp_path: Path) -> None:
    """``workers``: the records come from worker processes, which the signal does not reach (kill, docker
    stop): the parent must end them, and at once, not when the point's 100,000 requests are done."""
    with SimServer(SimSettings(ttft_ms=2, tpot_ms=1, output_tokens=16)) as sim:
        outputs = tmp_path / "out"
        command = ["perf", "--url", f"{sim.base_url}/completions", "--model", "sim", "--parallel", "4",
                   "--number", "100000", "--max-tokens", "16", "--tokenizer-path", "o200k_base",
                   "--min-prompt-length", "8", "--max-prompt-length", "8", "--outputs-dir", str(outputs),
                   "--quiet", "--no-html", "--workers", str(workers)]
        done = _terminate_after_progress(command, outputs, "requests.jsonl", 20, sigint_ignored=sigint_ignored)
    assert done.returncode == EXIT_TERMINATED, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == ["assay: terminated (SIGTERM)"]
    run_dir = next(outputs.glob("*/sim"))
    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "interrupted"
    records, skipped = read_records(run_dir / "requests.jsonl")
    assert skipped == 0 and len(records) >= 20
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["points"][0]["requests"] == len(records)  # the partial point was summarised from disk
    assert (run_dir / "report.txt").read_text().count("interrupted") >= 1


def test_ctrl_c_with_workers_stops_them_with_one_line(tmp_path: Path) -> None:
    """Ctrl-C reaches the worker processes too: they leave the stopping to the parent (no traceback each)."""
    with SimServer(SimSettings(ttft_ms=2, tpot_ms=1, output_tokens=16)) as sim:
        outputs = tmp_path / "out"
        command = ["perf", "--url", f"{sim.base_url}/completions", "--model", "sim", "--parallel", "4",
                   "--number", "100000", "--max-tokens", "16", "--tokenizer-path", "o200k_base",
                   "--min-prompt-length", "8", "--max-prompt-length", "8", "--outputs-dir", str(outputs),
                   "--quiet", "--no-html", "--workers", "2"]
        done = _terminate_after_progress(command, outputs, "requests.jsonl", 20, ctrl_c=True)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip().splitlines() == ["assay: interrupted"]
    run_dir = next(outputs.glob("*/sim"))
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    records, skipped = read_records(run_dir / "requests.jsonl")
    assert skipped == 0 and len(records) >= 20


def test_sigterm_stops_eval_like_ctrl_c_and_the_run_resumes(tmp_path: Path) -> None:
    data_dir = _write_questions(tmp_path, 400)
    work_dir = tmp_path / "out"
    with SimServer(SimSettings(ttft_ms=5, tpot_ms=2, output_tokens=4)) as sim:
        args = _eval_args(sim.base_url, data_dir, work_dir, "--eval-batch-size", "2", "--generation-config",
                          '{"max_tokens": 4}')
        done = _terminate_after_progress(args, work_dir, "samples.jsonl", 10)
        assert done.returncode == EXIT_TERMINATED, done.stderr
        assert "Traceback" not in done.stderr
        assert done.stderr.strip().splitlines() == ["assay: terminated (SIGTERM)"]
        run_dir = next(p.parent for p in work_dir.rglob("run.json"))  # either run-folder layout
        assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
        data = (run_dir / "samples.jsonl").read_bytes()
        assert data.endswith(b"\n")
        kept = [msgspec.json.decode(line, type=SampleRecord) for line in data.splitlines()]
        assert 10 <= len(kept) < 400
        # Nothing lost: resuming queries only the rest, and ends with all 400.
        resumed = run_assay(*_eval_args(sim.base_url, data_dir, work_dir, "--eval-batch-size", "4",
                                        "--generation-config", '{"max_tokens": 4}', "--use-cache", str(run_dir)),
                            timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"
    assert _lines(run_dir / "samples.jsonl") == 400


def test_eval_where_every_request_failed_exits_non_zero_and_scores_n_a(tmp_path: Path) -> None:
    data_dir = _write_questions(tmp_path, 5)
    with SimServer(SimSettings(ttft_ms=1, tpot_ms=1, output_tokens=4, faults={"http500": 1.0})) as sim:
        done = run_assay(*_eval_args(sim.base_url, data_dir, tmp_path / "out", "--retries", "0"), timeout=120)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("assay: error: nothing could be scored for general_qa: "
                                                  "every request failed (first reason: HTTP 500"), done.stderr
    assert done.returncode == 3
    run_dir = next(p.parent for p in (tmp_path / "out").rglob("run.json"))  # either run-folder layout
    rows = [[cell.strip() for cell in row.split("|")[1:-1]]
            for row in (run_dir / "report.md").read_text().splitlines() if "general_qa" in row]
    assert rows and all(row[5] == "N/A" and row[7] == "-" for row in rows), rows  # Score, 95% CI: not 0, [0, 0]
    assert "N/A" in done.stdout  # the printed table says so too
    # And report.json, which the app and other tools read: no score (null), not 0.0 with [0, 0].
    overall = json.loads((run_dir / "report.json").read_text())["reports"]["general_qa"]["overall"]
    assert overall["scored_samples"] == 0
    assert overall["AveragePass@1"] is None and overall["ci95"]["AveragePass@1"] is None, overall


def test_eval_where_no_answer_could_be_judged_says_so_not_that_requests_failed(tmp_path: Path) -> None:
    """Every answer came, but the LLM judge (the simulator, which never says CORRECT or INCORRECT) gave no
    verdict: nothing is scored, and the error says why, not "every request failed"."""
    from assay.errors import ServerError
    from assay.eval import TaskConfig, run_eval

    data_dir = _write_questions(tmp_path, 3)
    with SimServer(SimSettings(ttft_ms=1, tpot_ms=1, output_tokens=4)) as sim, pytest.raises(ServerError) as raised:
        run_eval(TaskConfig(model="sim", api_url=sim.base_url, datasets=["general_qa"], dataset_hub="local",
                            dataset_dir=str(data_dir), generation_config={"max_tokens": 4}, judge_strategy="llm",
                            judge_model_args={"api_url": sim.base_url, "model_id": "sim"},
                            work_dir=str(tmp_path / "out"), quiet=True))
    assert str(raised.value).startswith(
        "nothing could be scored for general_qa: no answer could be judged (first reason: judge-unparsable); "), \
        raised.value


class _WebPage(BaseHTTPRequestHandler):
    """A web UI where the API should be: HTML to every request."""

    status = 200

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b"<!DOCTYPE html><html><head><title>Chat UI</title></head><body>Hello</body></html>"
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(params=[200, 404])
def web_page_url(request: pytest.FixtureRequest) -> Iterator[str]:
    handler = type("Page", (_WebPage,), {"status": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_eval_names_an_html_answer_in_the_service_check(web_page_url: str, tmp_path: Path) -> None:
    data_dir = _write_questions(tmp_path, 3)
    done = run_assay(*_eval_args(web_page_url, data_dir, tmp_path / "out", "--retries", "0"), timeout=120)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "the server answered text/html, not JSON: is the URL the API's?" in lines[0]
    assert lines[0].startswith(f"assay: error: {web_page_url}/chat/completions: ")
    assert done.returncode == 3


def test_perf_names_an_html_answer_in_the_service_check(web_page_url: str, tmp_path: Path) -> None:
    """perf's first request sees the same web page: it says so too, not "no completion events"."""
    done = run_assay("perf", "--url", f"{web_page_url}/completions", "--model", "m", "--number", "2",
                     "--tokenizer-path", "o200k_base", "--min-prompt-length", "8", "--max-prompt-length", "8",
                     "--max-tokens", "4", "--outputs-dir", str(tmp_path / "out"), "--quiet", "--no-html", timeout=120)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"assay: error: {web_page_url}/completions: the server answered text/html, not JSON: "
                               "is the URL the API's?"), lines[0]
    assert done.returncode == 3


def test_eval_refuses_max_tokens_0_like_perf(tmp_path: Path) -> None:
    data_dir = _write_questions(tmp_path, 3)
    # No server listens there: the config is refused before any request.
    done = run_assay(*_eval_args("http://127.0.0.1:9/v1", data_dir, tmp_path / "out", "--generation-config",
                                 '{"max_tokens": 0}'), timeout=60)
    assert done.stderr.strip().splitlines() == ["assay: error: generation_config.max_tokens: must be >= 1, got 0"]
    assert done.returncode == 2
    assert not (tmp_path / "out").exists()
    # From Python too, where the config is made, as PerfConfig(max_tokens=0) is refused.
    from assay.errors import ConfigError
    from assay.eval import TaskConfig

    with pytest.raises(ConfigError, match=r"^generation_config.max_completion_tokens: must be >= 1, got 0$"):
        TaskConfig(model="m", api_url="http://127.0.0.1:9/v1", datasets=["general_qa"],
                   generation_config={"max_completion_tokens": 0})
