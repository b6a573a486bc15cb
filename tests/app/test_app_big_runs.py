"""Issue 15: a run of any size is paged, searched and sorted from an index of line offsets, in bounded memory.

The index is checked against the records as written (duplicates, torn and foreign lines, text that
JSON escapes); then ``assay app`` runs in its own process over a ~400 MB ``samples.jsonl`` and a big
``requests.jsonl`` while a client pages, filters, searches, sorts and compares, and its peak
resident memory (``VmHWM``) is read from ``/proc``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.app.support import run_ids
from tests.conftest import ARTIFACTS

BIG_SAMPLES = 10_000
BIG_REASONING_CHARS = 24_000
BIG_ANSWER_CHARS = 8_000
BIG_REQUESTS = 300_000
RSS_BOUND_MB = 150


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_index_reads_records_as_the_journal_does(tmp_path):
    from assay.app import data
    from assay.store.lineindex import LineIndex

    path = tmp_path / "samples.jsonl"
    rows = [
        {"key": "b/s/0/0", "benchmark": "b", "subset": "s", "sample_id": "0", "verdict": "wrong", "response": "first"},
        {"key": "b/t/1/0", "benchmark": "b", "subset": "t", "sample_id": "1", "verdict": "correct",
         "response": 'He said "quoted" & <b>bold</b> / slash', "gold": [1, 2]},
        {"key": "c/s/2/0", "benchmark": "c", "subset": "s", "sample_id": "2", "verdict": "correct",
         "response": "café KELVIN \u212a and \u0130stanbul", "messages": [{"role": "user", "content": "Prompt HERE"}]},
        {"key": "b/s/0/0", "benchmark": "b", "subset": "s", "sample_id": "0", "verdict": "correct", "response": "last"},
    ]
    with open(path, "w") as handle:
        for i, row in enumerate(rows):
            handle.write(json.dumps(row, ensure_ascii=i % 2 == 0) + "\n")  # both ways JSON writes non-ASCII
        handle.write('[1, 2]\n"text"\nnot json\n{"key": 7}\n')
        handle.write('{"key": "c/s/3/0", "benchmark": "c", "subset": "s", "sample_id": "3", "verdict": "error", '
                     '"score": NaN, "response": "bad \\ud800 char"}\n')
        handle.write('{"key": "c/s/4/0", "verdict": "corr')  # the line being written
    index = LineIndex.build(path)
    assert index.keys == ["b/s/0/0", "b/t/1/0", "c/s/2/0", "c/s/3/0"]  # a key at its first place
    assert index.skipped == 4
    first = index.rows([0])[0]
    assert first["response"] == "last" and index.verdict_of(0) == "correct"  # the last record of a key wins

    def page(**filters) -> dict:
        return data.page_of_samples(index, page=1, size=50, **{"verdict": None, "text": None, "benchmark": None,
                                                                 "subset": None, "sample": None, **filters})

    whole = page()
    assert whole["counts"] == {"correct": 3, "wrong": 0, "error": 1, "truncated": 0} and whole["skipped"] == 4
    assert whole["benchmarks"] == {"b": ["s", "t"], "c": ["s"]}
    assert [r["sample_id"] for r in page(benchmark="b")["rows"]] == ["0", "1"]
    assert [r["sample_id"] for r in page(subset="s", verdict="correct")["rows"]] == ["0", "2"]
    assert page(sample="3")["rows"][0]["score"] != page(sample="3")["rows"][0]["score"]  # NaN, read by Python
    # A search finds what the decoded text holds, whether or not the line's raw bytes spell it the same way.
    for needle, expected in {"quoted": ["1"], '"quoted" & <b>': ["1"], "/ slash": ["1"], "[1,2]": ["1"],
                             "caf": ["2"], "café": ["2"], "kelvin k": ["2"], "\u0130stanbul".lower(): ["2"], "prompt here": ["2"],
                             "last": ["0"], "first": [], "bad \ud800": ["3"], "nothing": []}.items():
        assert [r["sample_id"] for r in page(text=needle)["rows"]] == expected, needle
    assert data.sample_text(index, "c/s/2/0", "response") == rows[2]["response"]
    assert data.sample_text(index, "c/s/2/0", "messages") is None and data.sample_text(index, "x", "response") is None


def test_a_growing_file_is_read_on_from_where_the_index_stopped(tmp_path):
    """A run in progress: the index reads only the lines added since, and equals a fresh read of the file."""
    from assay.store.lineindex import LineIndex

    path = tmp_path / "samples.jsonl"

    def line(i: int, verdict: str) -> str:
        return json.dumps({"key": f"b/s/{i}/0", "benchmark": "b", "subset": "s" if i % 2 else "t",
                           "sample_id": str(i), "verdict": verdict, "response": f"answer {i}"}) + "\n"

    def same(a: LineIndex, b: LineIndex) -> None:
        assert a.row_keys() == b.row_keys() and a.skipped == b.skipped
        for name in ("offsets", "lengths"):
            assert getattr(a, name).tolist() == getattr(b, name).tolist(), name
        assert [a.verdict_of(p) for p in range(len(a))] == [b.verdict_of(p) for p in range(len(b))]
        assert [a.group_of(p) for p in range(len(a))] == [b.group_of(p) for p in range(len(b))]

    path.write_text(line(0, "wrong") + line(1, "correct") + line(2, "wrong")[:20])  # the third being written
    first = LineIndex.build(path)
    assert first.row_keys() == ["b/s/0/0", "b/s/1/0"]
    with open(path, "a") as handle:
        handle.write(line(2, "wrong")[20:] + "[1]\n" + line(0, "correct") + line(3, "truncated"))
    grown = LineIndex.build(path, first)
    assert grown.builder is first.builder  # read on, not from the start
    same(grown, LineIndex.build(path))
    assert grown.verdict_of(0) == "correct" and first.verdict_of(0) == "wrong"  # the old snapshot is unchanged
    assert len(first) == 2 and first.position_of("b/s/3/0") is None and grown.position_of("b/s/3/0") == 3
    assert grown.rows([2])[0]["response"] == "answer 2"

    text = path.read_text()  # rewritten in place (its start changed), longer: read again from the start
    path.write_text(text.replace("answer 1", "ANSWER 1") + line(4, "error"))
    rewritten = LineIndex.build(path, grown)
    assert rewritten.builder is not grown.builder
    same(rewritten, LineIndex.build(path))
    assert rewritten.rows([1])[0]["response"] == "ANSWER 1"


def test_requests_sort_by_any_column_from_the_index(tmp_path):
    from assay.app import data
    from assay.store.lineindex import LineIndex

    path = tmp_path / "requests.jsonl"
    sent_ns = 10**12
    rows = [{"index": i, "sent_ns": sent_ns, "first_token_ns": sent_ns + (7 - i) % 4 * 10**6 if i != 2 else None,
             "end_ns": sent_ns + (i * 37 % 11) * 10**6, "error": None if i % 3 else f"E{9 - i}"} for i in range(8)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    index = LineIndex.build(path)

    def order(column: str, descending: bool) -> list[int]:
        return [r["index"] for r in data.page_of_requests(index, page=1, size=50, sort=column,
                                                           descending=descending)["rows"]]

    for column in ("ttft_ms", "latency_ms", "result", "index"):
        values = {r["index"]: data._request_value(r, column) for r in rows}
        present = [i for i in values if values[i] is not None]
        missing = [i for i in values if values[i] is None]
        for descending in (False, True):
            assert order(column, descending) == sorted(present, key=values.__getitem__, reverse=descending) + missing
    assert order("ttft_ms", False)[-1] == 2  # missing last, whichever the direction
    assert order("ttft_ms", True)[-1] == 2
    second = data.page_of_requests(index, page=2, size=3, sort="latency_ms", descending=True)
    assert second["total"] == 8 and [r["index"] for r in second["rows"]] == order("latency_ms", True)[3:6]


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=300) as response:
        return json.loads(response.read())


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


@pytest.mark.slow
def test_a_400_mb_run_is_paged_and_searched_in_bounded_memory(crafted_outputs, tmp_path):
    ids = run_ids(crafted_outputs)
    outputs = tmp_path / "outputs"
    big = outputs / "big"
    shutil.copytree(crafted_outputs / ids["answers"], big)
    template = _records(big / "samples.jsonl")[0]
    verdicts = ("correct", "wrong", "wrong", "truncated", "error")
    with open(big / "samples.jsonl", "w") as handle:
        for i in range(BIG_SAMPLES):
            row = {**template, "key": f"general_qa/default/{i}/0", "sample_id": str(i),
                   "subset": "default" if i % 4 else "other", "verdict": verdicts[i % len(verdicts)],
                   "reasoning": f"step {i} " + ("thinking about it " * (BIG_REASONING_CHARS // 18)),
                   "response": ("zebra-crossing " if i % 1000 == 7 else "") + f"answer {i} " + "y" * BIG_ANSWER_CHARS}
            row["answer_text"] = row["response"]
            handle.write(json.dumps(row) + "\n")
    samples_mb = (big / "samples.jsonl").stat().st_size / 2**20
    shutil.copytree(big, outputs / "big-again", copy_function=os.link)  # the same bytes, indexed apart: compare
    perf = shutil.copytree(crafted_outputs / ids["closed"], outputs / "perf")
    request = _records(perf / "requests.jsonl")[0]
    with open(perf / "requests.jsonl", "w") as handle:
        for i in range(BIG_REQUESTS):
            handle.write(json.dumps({**request, "index": i, "end_ns": request["sent_ns"] + (i * 7919 % 100_003) * 1000})
                         + "\n")
    requests_mb = (perf / "requests.jsonl").stat().st_size / 2**20

    from assay.engines.llama_server import free_port

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "assay", "app", "--outputs", str(outputs), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    timings: dict[str, float] = {}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                runs = _get(url + "/api/runs")
                break
            except OSError:
                assert time.monotonic() < deadline, "assay app did not start"
                time.sleep(0.2)
        assert {r["id"] for r in runs["runs"]} == {"big", "big-again", "perf"}
        start_mb = _peak_rss_mb(process.pid)

        def timed(name: str, path: str) -> dict:
            began = time.monotonic()
            result = _get(url + path)
            timings[name] = round(time.monotonic() - began, 3)
            return result

        first = timed("first page (builds the index)", "/api/samples?id=big&page=1&size=20")
        assert first["total"] == BIG_SAMPLES and [r["sample_id"] for r in first["rows"]] == [str(i) for i in range(20)]
        assert first["counts"] == {"correct": 2000, "wrong": 4000, "error": 2000, "truncated": 2000}
        middle = timed("page 250", "/api/samples?id=big&page=250&size=20")
        assert middle["rows"][0]["sample_id"] == "4980" and len(middle["rows"][0]["reasoning"]) > BIG_REASONING_CHARS - 20
        last = timed("last page, 200 rows", "/api/samples?id=big&page=50&size=200")
        assert last["rows"][-1]["sample_id"] == str(BIG_SAMPLES - 1)
        wrong = timed("verdict + subset filter", "/api/samples?id=big&verdict=wrong&subset=other&size=200")
        assert wrong["total"] == 1000 and all(r["verdict"] == "wrong" and r["subset"] == "other" for r in wrong["rows"])
        found = timed("search, 10 hits", "/api/samples?id=big&q=ZEBRA-crossing&size=20")
        assert [r["sample_id"] for r in found["rows"]] == [str(i) for i in range(7, BIG_SAMPLES, 1000)]
        timed("search, next page (kept)", "/api/samples?id=big&q=ZEBRA-crossing&size=5&page=2")
        every = timed("search, every line decoded", "/api/samples?id=big&q=answer%20999,&size=20")  # "," is decoded
        assert every["total"] == 0
        common = timed("search, every row a hit", "/api/samples?id=big&q=thinking&size=20&page=400")
        assert common["total"] == BIG_SAMPLES and common["rows"][0]["sample_id"] == "7980"
        with urllib.request.urlopen(f"{url}/api/sample-text?id=big&key=general_qa/default/9999/0&field=reasoning",
                                    timeout=60) as response:
            assert response.read().decode().startswith("step 9999 thinking")
        compared = timed("compare two 400 MB runs", "/api/compare?id=big&id=big-again")
        assert compared["in_run"] == [BIG_SAMPLES, BIG_SAMPLES] and compared["changed_total"] == 0
        with open(big / "samples.jsonl", "a") as handle:  # the run goes on: ten more samples
            for i in range(BIG_SAMPLES, BIG_SAMPLES + 10):
                handle.write(json.dumps({**template, "key": f"general_qa/default/{i}/0", "sample_id": str(i)}) + "\n")
        grown = timed("page after 10 samples were added (read on)", "/api/samples?id=big&page=501&size=20")
        assert grown["total"] == BIG_SAMPLES + 10 and grown["rows"][-1]["sample_id"] == str(BIG_SAMPLES + 9)
        sorted_page = timed("requests sorted by latency", "/api/requests?id=perf&sort=latency_ms&desc=1&size=50")
        assert sorted_page["total"] == BIG_REQUESTS and sorted_page["rows"][0]["latency_ms"] == 100.002
        timed("requests, next sorted page (kept)", "/api/requests?id=perf&sort=latency_ms&desc=1&size=50&page=2")
        peak_mb = _peak_rss_mb(process.pid)
    finally:
        process.terminate()
        process.communicate(timeout=10)
    numbers = {"samples.jsonl MB": round(samples_mb), "requests.jsonl MB": round(requests_mb),
               "RSS at start MB": round(start_mb), "peak RSS MB": round(peak_mb), "seconds": timings}
    print("big run:", numbers)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "app-big-run-memory.json").write_text(json.dumps(numbers, indent=1))
    assert samples_mb > 380
    assert peak_mb < RSS_BOUND_MB, numbers  # parsed whole, the samples alone took more than their size
