"""The store: typed files that older and newer assays can read, one JSONL writer and reader, the run's
life in run.json, and one run-folder layout."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from assay.errors import StorageError
from assay.store import (
    RUN_FILE,
    SUMMARY_FILE,
    EvalRun,
    JsonlWriter,
    PerfRun,
    RequestRecord,
    RunFileError,
    RunLifecycle,
    SampleRecord,
    new_run_path,
    read_json_file,
    read_jsonl,
    read_run_info,
    read_samples,
    read_summary,
    rewrite_jsonl,
    run_file,
    sample_key,
)


def _write(folder: Path, name: str, data: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(data if isinstance(data, str) else json.dumps(data))
    return folder


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_fields_an_older_assay_did_not_write_read_as_defaults_and_newer_ones_are_ignored(tmp_path):
    run_dir = _write(tmp_path / "run", RUN_FILE, {"kind": "perf", "status": "finished", "pid": 1,
                                                  "config": {"model": "m"}, "added_by_a_newer_assay": [1]})
    run = read_run_info(run_dir)
    assert isinstance(run, PerfRun) and run.model == "m" and run.special_tokens == [] and run.error is None
    assert run.schema_version == 1 and run.record_schema_version == 1
    rows = [{"index": 0, "point": 0, "phase": "measure", "concurrency": 1, "start_ns": 5, "end_ns": 9},
            {"index": 1, "point": 0, "phase": "measure", "concurrency": 1, "start_ns": 6, "end_ns": 8,
             "a_new_field": {"x": 1}}]
    _write(run_dir, "requests.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    records, skipped = read_jsonl(run_dir / "requests.jsonl", RequestRecord)
    assert skipped == 0 and [r.index for r in records] == [0, 1]
    assert records[0].scheduled_ns is None and records[0].response_id is None and records[0].connection_retries == 0
    _write(run_dir, SUMMARY_FILE, {"points": [{"rps": 1.5, "new": True}]})
    summary = read_summary(run_dir)
    assert summary is not None and summary.points == [{"rps": 1.5, "new": True}] and summary.verdict is None


@pytest.mark.parametrize(("file", "version_field"), [(RUN_FILE, "schema_version"), (RUN_FILE, "record_schema_version"),
                                                     (RUN_FILE, "sample_schema_version"), (SUMMARY_FILE, "schema_version")])
def test_a_file_from_a_newer_format_is_refused_in_one_line(tmp_path, file, version_field):
    run_dir = _write(tmp_path / "run", RUN_FILE, {"kind": "perf"})
    data = {"kind": "perf", version_field: 99} if file == RUN_FILE else {version_field: 99}
    _write(run_dir, file, data)
    with pytest.raises(RunFileError, match=r"written by a newer assay \(schema 99; .*\); upgrade assay$"):
        read_run_info(run_dir) if file == RUN_FILE else read_summary(run_dir)


@pytest.mark.parametrize(("change", "said"), [
    ({"config": None}, "run.json: config is null, not an object"),
    ({"started_epoch_s": "yesterday"}, "run.json: started_epoch_s is 'yesterday', not a number"),
    ({"pid": [1]}, "run.json: pid is a list, not a whole number"),
    ({"kind": "bench"}, "run.json: kind is 'bench', not 'eval' or 'perf'"),
    ({"benchmarks": {"gsm8k": 3}}, "run.json: benchmarks['gsm8k'] is a number, not an object"),
])
def test_a_field_of_the_wrong_type_is_named_with_what_it_holds(tmp_path, change, said):
    run_dir = _write(tmp_path / "run", RUN_FILE, {"kind": "eval", **change})
    with pytest.raises(RunFileError) as raised:
        read_run_info(run_dir)
    assert str(raised.value) == said


def test_a_report_json_of_the_wrong_shape_is_named(tmp_path):
    from assay.store import EvalReport

    run_dir = _write(tmp_path / "run", "report.json", {"reports": {"gsm8k": {"subsets": {"main": [0.5]}}}})
    with pytest.raises(RunFileError) as raised:
        read_json_file(run_dir, "report.json", EvalReport)
    assert str(raised.value) == "report.json: reports['gsm8k'].subsets['main'] is a list, not an object"
    _write(run_dir, "report.json", "[1, 2]")
    with pytest.raises(RunFileError, match=r"^report.json holds a list, not an object$"):
        read_json_file(run_dir, "report.json", EvalReport)
    _write(run_dir, "report.json", "{not json")
    with pytest.raises(RunFileError, match=r"^report.json: Expecting property name"):
        read_json_file(run_dir, "report.json", EvalReport)


def test_a_running_run_whose_writer_is_gone_reads_as_interrupted(tmp_path):
    gone = _write(tmp_path / "gone", RUN_FILE, {"kind": "eval", "status": "running", "pid": _dead_pid()})
    alive = _write(tmp_path / "alive", RUN_FILE, {"kind": "eval", "status": "running", "pid": os.getpid()})
    assert read_run_info(gone).status == "interrupted"
    assert read_run_info(alive).status == "running"
    assert json.loads((gone / RUN_FILE).read_text())["status"] == "running"  # a reader never rewrites it


def test_the_lifecycle_writes_running_then_how_it_ended(tmp_path):
    run_dir = new_run_path(tmp_path, "my model/v1")
    life = RunLifecycle.start(run_dir, EvalRun(config={"model": "my model/v1"}, benchmarks={"gsm8k": {}}))
    written = json.loads((run_dir / RUN_FILE).read_text())
    assert written["kind"] == "eval" and written["status"] == "running" and written["pid"] == os.getpid()
    assert written["run_dir"] == str(run_dir) and written["started_epoch_s"] > 0
    assert read_run_info(run_dir).status == "running"
    life.end("interrupted")
    ended = read_run_info(run_dir)
    assert ended.status == "interrupted" and ended.finished_epoch_s is not None
    assert life.fail("cannot write x: No space left on device") is True
    assert life.fail("a later error") is True  # the first reason is kept
    failed = read_run_info(run_dir)
    assert failed.status == "failed" and failed.error == "cannot write x: No space left on device"


def test_one_layout_for_every_run(tmp_path):
    first = new_run_path(tmp_path / "out", "org/model:7b")
    second = new_run_path(tmp_path / "out", "org/model:7b")
    assert re.fullmatch(r"\d{8}_\d{6}", first.parent.name) and first.parent.parent == tmp_path / "out"
    assert first.name == "org_model_7b" and first.is_dir()
    assert second != first and second.name.startswith("org_model_7b") and second.is_dir()
    (tmp_path / "file").write_text("")
    with pytest.raises(StorageError, match=r"^cannot write .*file"):
        new_run_path(tmp_path / "file", "x")


def test_jsonl_keeps_whole_lines_and_readers_count_what_they_skip(tmp_path):
    path = tmp_path / "samples.jsonl"
    writer = JsonlWriter(path, sync_every_s=1.0)
    assert path.exists()  # made at once: a run with no row yet still has its file
    rows = [SampleRecord(key=sample_key("b", "s", str(i), 0), benchmark="b", subset="s", sample_id=str(i), repeat=0,
                         messages=[{"role": "user", "content": "q"}], gold="1", verdict="correct") for i in range(3)]
    for row in rows[:2]:
        writer.write(row, flush=False)
    assert path.read_bytes() == b""  # pending until the flush: one write for a burst
    writer.flush()
    writer.write(rows[2])
    writer.close()
    with open(path, "ab") as handle:
        handle.write(b'"not a record"\n{"key": "torn')  # a bad line and a line cut by a kill
    found, skipped = read_samples(tmp_path)
    assert list(found) == [r.key for r in rows] and skipped == 2
    rewrite_jsonl(path, found.values())  # a resume compacts first: the torn and bad lines go
    assert read_samples(tmp_path) == (found, 0) and len(path.read_bytes().splitlines()) == 3
    again = rows[0]
    again.verdict = "wrong"
    writer = JsonlWriter(path)
    writer.write(again)
    writer.close()
    found, skipped = read_samples(tmp_path)
    assert found[again.key].verdict == "wrong" and next(iter(found)) == again.key  # the last row of a key wins


def test_a_write_error_cuts_back_to_whole_lines_and_stops_the_writer(tmp_path):
    import msgspec

    path = tmp_path / "requests.jsonl"
    record = RequestRecord(index=0, point=0, phase="measure", concurrency=1, start_ns=0, end_ns=1)
    line = len(msgspec.json.encode(record)) + 1
    code = f"""
import resource, signal, sys
from pathlib import Path
from assay.store import JsonlWriter, RequestRecord
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, ({line * 2 + line // 2}, resource.RLIM_INFINITY))
writer = JsonlWriter(Path(sys.argv[1]))
for i in range(5):
    try:
        writer.write(RequestRecord(index=i, point=0, phase="measure", concurrency=1, start_ns=0, end_ns=1))
    except Exception as exc:
        print(type(exc).__name__, exc, writer.failure is exc)
"""
    shown = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("StorageError cannot write") and lines[0].endswith("True"), shown
    assert len(lines) == 3  # every write after the first failure raises the same error
    records, skipped = read_jsonl(path, RequestRecord)
    assert [r.index for r in records] == [0, 1] and skipped == 0 and path.read_bytes().endswith(b"\n")


def test_a_background_writer_keeps_order_waits_at_close_and_reports_its_write_error(tmp_path):
    """perf's records writer makes its system calls in a thread (a throttled write must not hold the event
    loop): lines in order, all written when close returns, and a write error said to the caller."""
    import msgspec

    path = tmp_path / "requests.jsonl"
    record = RequestRecord(index=0, point=0, phase="measure", concurrency=1, start_ns=0, end_ns=1)
    line = len(msgspec.json.encode(record)) + 1
    code = f"""
import resource, signal, sys, threading
from pathlib import Path
from assay.store import JsonlWriter, RequestRecord
Path(sys.argv[2]).parent.mkdir(exist_ok=True)
whole = JsonlWriter(Path(sys.argv[2]), background=True)
for i in range(2000):
    whole.write(RequestRecord(index=i, point=0, phase="measure", concurrency=1, start_ns=0, end_ns=1), flush=i % 7 == 0)
whole.close()
told = threading.Event()
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, ({line * 2 + line // 2}, resource.RLIM_INFINITY))
writer = JsonlWriter(Path(sys.argv[1]), background=True, on_failure=lambda exc: told.set())
for i in range(3):
    writer.write(RequestRecord(index=i, point=0, phase="measure", concurrency=1, start_ns=0, end_ns=1))
print("told", told.wait(10), threading.current_thread() is threading.main_thread())
try:
    writer.write(RequestRecord(index=3, point=0, phase="measure", concurrency=1, start_ns=0, end_ns=1))
except Exception as exc:
    print(type(exc).__name__, exc, writer.failure is exc)
writer.close()  # after an error already raised: only closes
print("closed")
last = JsonlWriter(Path(sys.argv[1] + ".2"), background=True)
for i in range(3):  # handed over only by close, which meets the error in the thread and raises it
    last.write(RequestRecord(index=i, point=0, phase="measure", concurrency=1, start_ns=0, end_ns=1), flush=False)
try:
    last.close()
except Exception as exc:
    print("close:", type(exc).__name__, last.failure is exc)
"""
    whole = tmp_path / "big" / "requests.jsonl"
    shown = subprocess.run([sys.executable, "-c", code, str(path), str(whole)], capture_output=True, text=True,
                           timeout=60)
    lines = shown.stdout.splitlines()
    assert lines[0] == "told True True", shown
    assert lines[1].startswith("StorageError cannot write") and lines[1].endswith("True"), shown
    assert lines[2:] == ["closed", "close: StorageError True"] and shown.returncode == 0, shown
    records, skipped = read_jsonl(path, RequestRecord)
    assert [r.index for r in records] == [0, 1] and skipped == 0 and path.read_bytes().endswith(b"\n")
    records, skipped = read_jsonl(whole, RequestRecord)
    assert [r.index for r in records] == list(range(2000)) and skipped == 0
    records, skipped = read_jsonl(Path(f"{path}.2"), RequestRecord)
    assert [r.index for r in records] == [0, 1] and skipped == 0  # cut back to whole lines


def test_a_link_out_of_the_outputs_folder_is_never_followed(tmp_path):
    outputs = tmp_path / "outputs"
    run_dir = _write(outputs / "run", RUN_FILE, {"kind": "perf"})
    secret = _write(tmp_path, "secret.json", {"points": [{"SECRET": 1}]}) / "secret.json"
    (run_dir / SUMMARY_FILE).symlink_to(secret)
    with pytest.raises(RunFileError, match=r"^summary.json is a link to a file outside the outputs folder"):
        read_summary(run_dir, inside=outputs.resolve())
    assert run_file(run_dir, "report.html", inside=outputs.resolve()) is None
    assert read_summary(run_dir) is not None  # a reader told no outputs folder (the CLI) reads where it points
