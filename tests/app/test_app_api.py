"""The app's API over real runs: numbers equal the run directory's, paths outside it are refused."""

from __future__ import annotations

import json
import shutil
import socket
import time
import urllib.request
from pathlib import Path

from assay.eval.records import SampleJournal
from tests.app.support import AppServer


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, {}


def raw_get(port: int, path: str) -> int:
    """Send the path exactly as written (no client-side normalisation of ../)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        head = sock.recv(4096).decode(errors="replace")
    return int(head.split()[1])


def test_runs_and_numbers_equal_the_run_directories(app_server, app_outputs):
    status, data = get(f"{app_server.url}/api/runs")
    assert status == 200
    kinds = sorted(r["kind"] for r in data["runs"])
    assert kinds == ["eval", "eval", "eval", "perf", "perf"]
    starts = [r["started_epoch_s"] for r in data["runs"]]
    assert starts == sorted(starts, reverse=True)  # newest first
    perf = next(r for r in data["runs"] if r["kind"] == "perf" and r["id"].endswith("perf-a"))
    status, details = get(f"{app_server.url}/api/run?id={perf['id']}")
    summary = json.loads((app_outputs / perf["id"] / "summary.json").read_text())
    assert details["summary"]["points"] == summary["points"] and details["has_report_html"] is True
    evals = [r for r in data["runs"] if r["kind"] == "eval" and r["model"] != "xss-model"]
    for run in evals:
        _, details = get(f"{app_server.url}/api/run?id={run['id']}")
        report = json.loads((app_outputs / run["id"] / "report.json").read_text())["reports"]
        assert details["report"] == report
        assert run["headline"]["scores"]["gsm8k"] == report["gsm8k"]["overall"]["AveragePass@1"]


def test_samples_are_paged_and_filtered_like_the_journal(app_server, app_outputs):
    _, data = get(f"{app_server.url}/api/runs?kind=eval")
    run = next(r for r in data["runs"] if r["model"] != "xss-model" and "eval-2" in r["id"])
    records = SampleJournal(app_outputs / run["id"]).read()
    _, page = get(f"{app_server.url}/api/samples?id={run['id']}&size=5&page=2")
    assert page["total"] == len(records) == 12 and len(page["rows"]) == 5 and page["page"] == 2
    for verdict in ("correct", "wrong", "error", "truncated"):
        expected = sum(r.verdict == verdict for r in records.values())
        _, filtered = get(f"{app_server.url}/api/samples?id={run['id']}&verdict={verdict}&size=200")
        assert filtered["total"] == expected == page["counts"][verdict]
    sample = next(iter(records.values())).sample_id
    _, repeats = get(f"{app_server.url}/api/samples?id={run['id']}&sample={sample}")
    assert sorted(r["repeat"] for r in repeats["rows"]) == [0, 1]


def test_paths_outside_the_outputs_folder_are_refused(app_server):
    for bad in ("../../../etc/passwd", "/etc/passwd", "..", "eval-1/../../x", "%2e%2e/%2e%2e/etc/passwd"):
        for endpoint in ("run", "samples", "requests", "report"):
            status, _ = get(f"{app_server.url}/{'api/' if endpoint != 'report' else ''}{endpoint}?id={bad}")
            assert status == 404, (endpoint, bad)
    for path in ("/static/../../../../etc/passwd", "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/../run.json",
                 "//etc/passwd"):
        assert raw_get(app_server.port, path) == 404, path


def test_binds_to_loopback_and_sets_a_content_security_policy(app_server):
    with urllib.request.urlopen(app_server.url + "/", timeout=5) as response:
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    from assay.cli import build_parser

    args = build_parser().parse_args(["app"])
    assert args.host == "127.0.0.1"


def test_starts_fast_on_50_runs_and_pages_10000_samples(app_outputs, tmp_path):
    outputs = tmp_path / "many"
    eval_run = next(p.parent for p in app_outputs.rglob("samples.jsonl") if "eval-1" in str(p))
    perf_run = next(p.parent for p in app_outputs.rglob("requests.jsonl"))
    for i in range(50):
        shutil.copytree(eval_run if i % 2 else perf_run, outputs / f"copy-{i:02d}")
    big = outputs / "copy-01" / "samples.jsonl"
    line = big.read_text().splitlines()[0]
    record = json.loads(line)
    with open(big, "w") as handle:
        for i in range(10_000):
            record["key"] = f"gsm8k/main/{i}/0"
            record["sample_id"] = str(i)
            handle.write(json.dumps(record) + "\n")
    started = time.monotonic()
    with AppServer(outputs) as server:
        status, data = get(f"{server.url}/api/runs")
        ready = time.monotonic() - started
        assert status == 200 and len(data["runs"]) == 50
        assert ready < 2.0, ready
        began = time.monotonic()
        _, page = get(f"{server.url}/api/samples?id=copy-01&page=300&size=20")
        assert page["total"] == 10_000 and len(page["rows"]) == 20 and page["rows"][0]["sample_id"] == "5980"
        _, page = get(f"{server.url}/api/samples?id=copy-01&page=301&size=20")  # cached: fast
        assert time.monotonic() - began < 2.0
    assert Path(big).exists()


def test_no_secret_reaches_the_app(app_server):
    from tests.app.support import APP_SECRET

    _, runs = get(f"{app_server.url}/api/runs")
    texts = [json.dumps(runs)]
    for run in runs["runs"]:
        texts.append(json.dumps(get(f"{app_server.url}/api/run?id={run['id']}")[1]))
        if run["kind"] == "eval":
            texts.append(json.dumps(get(f"{app_server.url}/api/samples?id={run['id']}&size=200")[1]))
    joined = "\n".join(texts)
    assert "xss-model" in joined and APP_SECRET not in joined
    assert '"api_key": "***"' in joined  # the run said a key was used, and nothing more
