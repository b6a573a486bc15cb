"""Credentials in the URL, a key and a secret header, against a server that echoes them in its errors
(issue 11 point 7): no secret reaches a file of the run, the console or the app.

`assay sim --fault echo_headers` answers HTTP 500 with the request line and every header in the JSON
error, as a misconfigured proxy does; the URL carries userinfo (sent as Basic auth when no key is
given) and a ``?key=`` query value.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from assay.engines.sim import SimServer, SimSettings
from assay.redact import basic_token
from tests.helpers import run_assay

pytestmark = pytest.mark.slow  # perf, eval and the app against a server that echoes secrets

USER, PASSWORD, QUERY_KEY = "bob", "BasicPass-7781", "QueryKey-5531"
API_KEY, HEADER_VALUE = "ApiKey-9043", "HeaderVal-2207"
SECRETS = (PASSWORD, QUERY_KEY, API_KEY, HEADER_VALUE, basic_token(USER, PASSWORD))


def _leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def _files_leaking(folder: Path) -> dict[str, list[str]]:
    found = {}
    for path in folder.rglob("*"):
        if path.is_file():
            leaks = _leaks(path.read_bytes().decode("latin-1"))
            if leaks:
                found[str(path)] = leaks
    return found


def _url(sim: SimServer, path: str) -> str:
    return f"http://{USER}:{PASSWORD}@127.0.0.1:{sim.port}/v1{path}?key={QUERY_KEY}"


def _app_text(outputs: Path) -> str:
    from tests.app.support import AppServer

    texts = []
    with AppServer(outputs) as app:
        def get(path: str) -> dict:
            with urllib.request.urlopen(f"{app.url}{path}", timeout=10) as response:
                return dict(json.loads(response.read()))

        runs = get("/api/runs")
        texts.append(json.dumps(runs))
        for run in runs["runs"]:
            texts.append(json.dumps(get(f"/api/run?id={run['id']}")))
            if run["kind"] == "eval":
                texts.append(json.dumps(get(f"/api/samples?id={run['id']}&size=200")))
    return "\n".join(texts)


def test_no_secret_reaches_a_file_the_console_or_the_app(tmp_path):
    outputs = tmp_path / "outputs"
    data = tmp_path / "data" / "general_qa"
    data.mkdir(parents=True)
    (data / "test.jsonl").write_text("".join(json.dumps({"question": f"q{i}", "answer": "alpha"}) + "\n"
                                             for i in range(6)))
    consoles = []
    # Seed 0: the first request (the connection test, the service check) is answered, later ones echo.
    with SimServer(SimSettings(ttft_ms=2, tpot_ms=1, output_tokens=4, faults={"echo_headers": 0.5}, fault_seed=0)) as sim:
        perf = run_assay(
            "perf", "--url", _url(sim, "/completions"), "--model", "sim", "--api-key", API_KEY,
            "--headers", f"X-Custom-Token={HEADER_VALUE}", "--tokenizer-path", "o200k_base",
            "--min-prompt-length", "8", "--max-prompt-length", "8", "--max-tokens", "4", "--parallel", "3",
            "--number", "12", "--min-success-rate", "0", "--outputs-dir", str(outputs), timeout=300)
        consoles.append(perf.stdout + perf.stderr)
        evaluation = run_assay(
            "eval", "--model", "sim", "--api-url", _url(sim, ""), "--datasets", "general_qa", "--dataset-hub", "local",
            "--dataset-dir", str(tmp_path / "data"), "--generation-config", '{"max_tokens": 4}', "--retries", "0",
            "--work-dir", str(outputs / "eval"), timeout=300)
        consoles.append(evaluation.stdout + evaluation.stderr)
        echoed = [r for r in sim.records() if r["fault"] == "echo_headers"]
    assert perf.returncode == 0, perf.stderr
    assert len(echoed) >= 4  # the server did echo the credentials, in perf and in eval
    records = [json.loads(line) for path in outputs.rglob("requests.jsonl") for line in path.read_text().splitlines()]
    samples = [json.loads(line) for path in outputs.rglob("samples.jsonl") for line in path.read_text().splitlines()]
    assert any("HTTP 500: cannot serve POST" in (r["error"] or "") for r in records)
    assert any("HTTP 500: cannot serve POST" in (s.get("error") or "") for s in samples)
    assert any("Authorization: Basic ***" in (s.get("error") or "") for s in samples)  # eval: the URL's userinfo
    assert any("Authorization: Bearer ***" in (r["error"] or "") for r in records)  # perf: the key
    run = json.loads(next(outputs.rglob("run.json")).read_text())
    assert "***@127.0.0.1" in json.dumps(run)

    # A connection test the server refuses: its echo is printed as the one-line error.
    with SimServer(SimSettings(faults={"echo_headers": 1.0})) as sim:
        refused = run_assay(
            "perf", "--url", _url(sim, "/chat/completions"), "--model", "sim", "--api-key", API_KEY,
            "--headers", f"X-Custom-Token={HEADER_VALUE}", "--tokenizer-path", "o200k_base", "--number", "2",
            "--outputs-dir", str(tmp_path / "refused"), timeout=120)
    assert refused.returncode != 0 and "cannot serve POST" in refused.stderr
    consoles.append(refused.stdout + refused.stderr)

    assert _files_leaking(tmp_path) == {}
    assert [_leaks(text) for text in consoles] == [[], [], []]
    app_text = _app_text(outputs)
    assert "cannot serve POST" in app_text and _leaks(app_text) == []


def test_the_app_masks_url_credentials_of_runs_saved_before_they_were_masked(tmp_path):
    outputs = tmp_path / "outputs"
    with SimServer(SimSettings(ttft_ms=1, tpot_ms=1)) as sim:
        done = run_assay("perf", "--url", f"{sim.base_url}/completions", "--model", "sim", "--tokenizer-path",
                         "o200k_base", "--min-prompt-length", "8", "--max-prompt-length", "8", "--max-tokens", "2",
                         "--number", "2", "--outputs-dir", str(outputs), "--quiet", "--no-html", timeout=120)
    assert done.returncode == 0, done.stderr
    run_file = next(outputs.rglob("run.json"))
    run = json.loads(run_file.read_text())
    run["config"]["url"] = _url(sim, "/completions")  # as an older assay wrote it
    run_file.write_text(json.dumps(run))
    text = _app_text(outputs)
    assert "***@127.0.0.1" in text and "key=***" in text and _leaks(text) == []
