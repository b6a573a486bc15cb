"""Every bad input of issue 2 point 9: one clear line on stderr, a non-zero exit, no traceback."""

from __future__ import annotations

import json
import socket

import pytest

from assay.engines.llama_server import free_port
from tests.helpers import run_assay


def _assert_one_line_error(result, exit_code: int, *needles: str) -> str:
    assert result.returncode == exit_code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.mark.slow
def test_unreachable_server(tiny_model_dir, tmp_path):
    port = free_port()  # nothing listens there
    result = run_assay("perf", "--url", f"http://127.0.0.1:{port}/v1/completions", "--model", "m",
                       "--tokenizer-path", str(tiny_model_dir), "--outputs-dir", str(tmp_path), "--quiet")
    _assert_one_line_error(result, 3, "cannot reach the server", f"127.0.0.1:{port}")


@pytest.mark.engine
def test_wrong_url_path_gets_http_404(tiny_server, tiny_model_dir, tmp_path):
    url = tiny_server.base_url.replace("/v1", "/v2") + "/completions"
    result = run_assay("perf", "--url", url, "--model", "tiny", "--tokenizer-path", str(tiny_model_dir),
                       "--outputs-dir", str(tmp_path), "--quiet")
    _assert_one_line_error(result, 3, "HTTP 404", "check the URL path")


def test_url_that_is_not_an_openai_endpoint(tmp_path):
    result = run_assay("perf", "--url", "http://127.0.0.1:1/v1/models", "--model", "m",
                       "--tokenizer-path", "o200k_base", "--outputs-dir", str(tmp_path))
    _assert_one_line_error(result, 2, "url:", "/v1/completions or /v1/chat/completions")


@pytest.mark.slow
def test_http_error_from_the_server(tmp_path, tiny_model_dir):
    """A server that answers 503 to everything: the test request reports it."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Unavailable(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.dumps({"error": {"message": "model is loading"}}).encode()
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Unavailable)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1/completions"
        result = run_assay("perf", "--url", url, "--model", "m", "--tokenizer-path", str(tiny_model_dir),
                           "--outputs-dir", str(tmp_path), "--quiet")
        _assert_one_line_error(result, 3, "HTTP 503", "model is loading")
        # Without the test request, every request is recorded as failed, and the run says so.
        result = run_assay("perf", "--url", url, "--model", "m", "--tokenizer-path", str(tiny_model_dir),
                           "--outputs-dir", str(tmp_path), "--quiet", "--no-test-connection",
                           "--parallel", "2", "--number", "4", "--min-prompt-length", "8", "--max-prompt-length", "8")
        _assert_one_line_error(result, 3, "every request failed", "HTTP 503")
        assert "0.0%" in result.stdout
    finally:
        server.shutdown()


def test_invalid_extra_args_json(tmp_path):
    result = run_assay("perf", "--url", "http://127.0.0.1:1/v1/completions", "--model", "m",
                       "--extra-args", '{"ignore_eos": tru}', "--outputs-dir", str(tmp_path))
    _assert_one_line_error(result, 2, "--extra-args", "not valid JSON")
    result = run_assay("perf", "--url", "http://127.0.0.1:1/v1/completions", "--model", "m",
                       "--extra-args", "[1, 2]", "--outputs-dir", str(tmp_path))
    _assert_one_line_error(result, 2, "--extra-args", "JSON object")


def test_parallel_and_number_of_different_lengths(tmp_path):
    result = run_assay("perf", "--url", "http://127.0.0.1:1/v1/completions", "--model", "m",
                       "--tokenizer-path", "o200k_base", "--parallel", "1", "10", "50", "--number", "5", "20",
                       "--outputs-dir", str(tmp_path))
    _assert_one_line_error(result, 2, "parallel and number", "3 parallel", "2 number")


@pytest.mark.slow
def test_missing_tokenizer(tmp_path):
    result = run_assay("perf", "--url", "http://127.0.0.1:1/v1/completions", "--model", "m",
                       "--tokenizer-path", str(tmp_path / "nope"), "--outputs-dir", str(tmp_path))
    _assert_one_line_error(result, 2, "tokenizer", "not found")
    # A hub id that cannot be downloaded (offline here) goes through the real hub client.
    result = run_assay("perf", "--url", "http://127.0.0.1:1/v1/completions", "--model", "m",
                       "--tokenizer-path", "no-such-org/no-such-model", "--tokenizer-hub", "huggingface",
                       "--outputs-dir", str(tmp_path), env={"HF_HUB_OFFLINE": "1"})
    _assert_one_line_error(result, 2, "cannot get tokenizer 'no-such-org/no-such-model' from the hub", "huggingface")
    result = run_assay("perf", "--url", "http://127.0.0.1:1/v1/completions", "--model", "m",
                       "--outputs-dir", str(tmp_path))
    _assert_one_line_error(result, 2, "tokenizer_path")


@pytest.mark.slow
def test_prompt_length_the_tokenizer_cannot_reach(tmp_path):
    # A prefix as long as the shortest prompt leaves no room.
    result = run_assay("perf", "--url", "http://127.0.0.1:1/v1/completions", "--model", "m",
                       "--tokenizer-path", "o200k_base", "--prefix-length", "64", "--min-prompt-length", "64",
                       "--max-prompt-length", "64", "--outputs-dir", str(tmp_path))
    _assert_one_line_error(result, 2, "prefix_length (64)", "min_prompt_length (64)")
    # A tokenizer with no whole-word tokens cannot make prompts of exact length at all.
    from tokenizers import Tokenizer, models, pre_tokenizers

    tokenizer = Tokenizer(models.WordLevel({"[UNK]": 0, "x": 1}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    path = tmp_path / "tokenizer.json"
    tokenizer.save(str(path))
    result = run_assay("perf", "--url", "http://127.0.0.1:1/v1/completions", "--model", "m",
                       "--tokenizer-path", str(path), "--min-prompt-length", "10", "--max-prompt-length", "10",
                       "--outputs-dir", str(tmp_path))
    _assert_one_line_error(result, 2, "cannot make random prompts of an exact length")


@pytest.mark.slow
def test_bad_numbers_name_their_field(tmp_path):
    cases = [
        (["--parallel", "0"], "parallel"),
        (["--max-tokens", "0"], "max_tokens"),
        (["--min-prompt-length", "100", "--max-prompt-length", "10"], "min_prompt_length (100)"),
        (["--dataset", "sharegpt"], "dataset: must be one of"),
        (["--dataset", "line_by_line"], "dataset_path"),
        (["--parallel", "two"], "--parallel"),
    ]
    for extra, needle in cases:
        result = run_assay("perf", "--url", "http://127.0.0.1:1/v1/completions", "--model", "m",
                           "--tokenizer-path", "o200k_base", "--outputs-dir", str(tmp_path), *extra)
        _assert_one_line_error(result, 2, needle)


def test_nothing_listens_check_is_real():
    """Guard for test_unreachable_server: free_port really is closed."""
    port = free_port()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
