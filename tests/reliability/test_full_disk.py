"""A disk that fills up (or turns read-only, or a file that may grow no more) mid-run: the run stops at
once, says so in one line, keeps every record written before intact, and is marked ``failed`` with the
reason.

The full disk is a real 200 KB tmpfs mounted by the test (root only; skipped otherwise), the read-only
folder a real read-only bind mount (root only), the file-size limit a real RLIMIT_FSIZE (anyone); each
is written by a real ``assay perf`` / ``assay eval`` process against ``assay sim``.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from assay.engines.sim import SimServer, SimSettings
from assay.eval.records import SampleRecord
from assay.store import read_records
from tests.helpers import run_assay

pytestmark = pytest.mark.slow  # real runs onto a full file system

NO_SPACE = "No space left on device"


def _mount(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)


def _unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


def _need_mount() -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root and mount(8)")


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 200 KB tmpfs: a disk that fills up after a few hundred records."""
    _need_mount()
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    done = _mount(["-t", "tmpfs", "-o", "size=200k", f"assay-test-{uuid.uuid4().hex[:8]}", str(mount_point)])
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        _unmount(mount_point)


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder seen through a read-only bind mount (EROFS on every write, even for root)."""
    _need_mount()
    source, view = tmp_path / "source", tmp_path / "read-only"
    source.mkdir()
    view.mkdir()
    if _mount(["--bind", str(source), str(view)]).returncode != 0:
        pytest.skip("cannot bind-mount here")
    try:
        if _mount(["-o", "remount,bind,ro", str(view)]).returncode != 0:
            pytest.skip("cannot remount a bind mount read-only here")
        yield view
    finally:
        _unmount(view)


def _one_error_line(stderr: str) -> str:
    """The process said exactly one thing on stderr: no traceback, no repeats."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def _whole_lines(path: Path) -> list[bytes]:
    """Every line of a JSONL file, asserting that none is torn."""
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n"), f"{path} ends with a torn line: {data[-80:]!r}"
    return data.splitlines()


def test_perf_on_a_full_disk_stops_at_once_with_one_line_and_keeps_what_it_wrote(full_disk: Path) -> None:
    parallel, number = 4, 3000
    with SimServer(SimSettings(ttft_ms=1, tpot_ms=0.2, output_tokens=16)) as sim:
        done = run_assay(
            "perf", "--url", f"{sim.base_url}/completions", "--model", "sim", "--parallel", str(parallel),
            "--number", str(number), "--max-tokens", "16", "--tokenizer-path", "o200k_base",
            "--min-prompt-length", "8", "--max-prompt-length", "8", "--outputs-dir", str(full_disk),
            "--quiet", "--no-html", timeout=300,
        )
        served = len(sim.records())
    line = _one_error_line(done.stderr)
    run_dir = next(full_disk.glob("*/sim"))
    records_file = run_dir / "requests.jsonl"
    assert line == f"assay: cannot write {records_file}: {NO_SPACE}"
    assert done.returncode == 5
    # Every line written is whole and readable; the run stopped at once, not after all 3000.
    lines = _whole_lines(records_file)
    records, skipped = read_records(records_file)
    assert skipped == 0 and len(records) == len(lines) > 0
    indices = [r.index for r in records]
    assert len(set(indices)) == len(indices)
    assert max(indices) < len(records) + parallel  # the only requests missing were in flight at the end
    assert served <= len(records) + 4 * parallel + 1, (served, len(records))  # + the test request
    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "failed" and run["error"] == line.removeprefix("assay: ")
    # `assay perf report` still reads it (and rebuilds the summary on the disk's freed room, or says why not).
    report = run_assay("perf", "report", str(run_dir))
    assert report.returncode == 0, report.stderr
    assert f"{len(records)} of {number} planned requests recorded" in report.stdout


def test_perf_with_workers_on_a_full_disk_stops_its_workers_at_once(full_disk: Path) -> None:
    """--workers: records come from worker processes; a write error must end them too, not leave them
    sending requests (from Python, run_perf returns to a caller that lives on)."""
    import multiprocessing
    import time

    from assay import PerfConfig, run_perf
    from assay.errors import StorageError

    with SimServer(SimSettings(ttft_ms=1, tpot_ms=0.2, output_tokens=16)) as sim:
        with pytest.raises(StorageError) as raised:
            run_perf(PerfConfig(url=f"{sim.base_url}/completions", model="sim", parallel=[4], number=[3000],
                                workers=2, max_tokens=16, tokenizer_path="o200k_base", min_prompt_length=8,
                                max_prompt_length=8, outputs_dir=str(full_disk), quiet=True, html=False))
        assert multiprocessing.active_children() == []  # no worker is left running
        served = len(sim.records())
        time.sleep(0.5)
        assert len(sim.records()) == served  # and nothing is sent after the run stopped
    run_dir = next(full_disk.glob("*/sim"))
    records_file = run_dir / "requests.jsonl"
    assert str(raised.value) == f"cannot write {records_file}: {NO_SPACE}"
    records, skipped = read_records(records_file)
    assert skipped == 0 and len(records) == len(_whole_lines(records_file)) > 0
    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "failed" and run["error"] == str(raised.value)


def test_eval_on_a_full_disk_stops_at_once_with_one_line_and_keeps_what_it_wrote(
    full_disk: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "data" / "general_qa"
    folder.mkdir(parents=True)
    questions = 2000
    (folder / "test.jsonl").write_text("".join(
        json.dumps({"question": f"What is the word number {i}?", "answer": "alpha"}) + "\n" for i in range(questions)
    ))
    with SimServer(SimSettings(ttft_ms=1, tpot_ms=0.2, output_tokens=8)) as sim:
        done = run_assay(
            "eval", "--model", "sim", "--api-url", sim.base_url, "--datasets", "general_qa", "--dataset-hub", "local",
            "--dataset-dir", str(tmp_path / "data"), "--eval-batch-size", "4", "--generation-config",
            '{"max_tokens": 8}', "--work-dir", str(full_disk), "--quiet", timeout=300,
        )
        served = len(sim.records())
    line = _one_error_line(done.stderr)
    run_dir = next(p.parent for p in full_disk.rglob("run.json"))  # either run-folder layout
    samples_file = run_dir / "samples.jsonl"
    assert line == f"assay: cannot write {samples_file}: {NO_SPACE}"
    assert done.returncode == 5
    lines = _whole_lines(samples_file)
    import msgspec

    decoded = [msgspec.json.decode(raw, type=SampleRecord) for raw in lines]
    assert 0 < len(decoded) < questions
    assert served <= len(decoded) + 4 + 1, (served, len(decoded))  # + the service check
    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "failed" and run["error"] == line.removeprefix("assay: ")


def test_perf_into_a_read_only_folder_says_so_in_one_line(read_only_dir: Path) -> None:
    with SimServer(SimSettings(ttft_ms=1, tpot_ms=0.2, output_tokens=4)) as sim:
        done = run_assay(
            "perf", "--url", f"{sim.base_url}/completions", "--model", "sim", "--number", "4", "--max-tokens", "4",
            "--tokenizer-path", "o200k_base", "--min-prompt-length", "8", "--max-prompt-length", "8",
            "--outputs-dir", str(read_only_dir), "--quiet", "--no-html", timeout=120,
        )
    line = _one_error_line(done.stderr)
    assert line.startswith(f"assay: cannot write {read_only_dir}/") and line.endswith(": Read-only file system"), line
    assert done.returncode == 5
    assert list(read_only_dir.iterdir()) == []


def _file_size_limit(size_bytes: int) -> Callable[[], None]:
    def limit() -> None:  # Python ignores SIGXFSZ: a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (size_bytes, size_bytes))

    return limit


@pytest.mark.parametrize("command", ["perf", "eval"])
def test_a_file_that_may_grow_no_more_stops_the_run_with_one_line(command: str, tmp_path: Path) -> None:
    """EFBIG (a file-size limit): another write error, and one that needs no root to provoke."""
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("".join(f"Say the word number {i}\n" for i in range(50)))
    folder = tmp_path / "data" / "general_qa"
    folder.mkdir(parents=True)
    (folder / "test.jsonl").write_text("".join(
        json.dumps({"question": f"What is the word number {i}?", "answer": "alpha"}) + "\n" for i in range(2000)
    ))
    outputs = tmp_path / "out"
    with SimServer(SimSettings(ttft_ms=1, tpot_ms=0.2, output_tokens=8)) as sim:
        if command == "perf":  # no tokenizer: nothing but the run's own files is written
            args = ["perf", "--url", f"{sim.base_url}/completions", "--model", "sim", "--parallel", "4",
                    "--number", "3000", "--max-tokens", "8", "--dataset", "line_by_line", "--dataset-path",
                    str(prompts), "--outputs-dir", str(outputs), "--quiet", "--no-html"]
        else:
            args = ["eval", "--model", "sim", "--api-url", sim.base_url, "--datasets", "general_qa",
                    "--dataset-hub", "local", "--dataset-dir", str(tmp_path / "data"), "--eval-batch-size", "4",
                    "--generation-config", '{"max_tokens": 8}', "--work-dir", str(outputs), "--quiet"]
        done = subprocess.run([sys.executable, "-m", "assay", *args], capture_output=True, text=True, timeout=300,
                              preexec_fn=_file_size_limit(100_000))
    line = _one_error_line(done.stderr)
    journal = next(outputs.rglob("requests.jsonl" if command == "perf" else "samples.jsonl"))
    assert line == f"assay: cannot write {journal}: File too large"
    assert done.returncode == 5
    assert len(_whole_lines(journal)) > 0
    run = json.loads((journal.parent / "run.json").read_text())
    assert run["status"] == "failed" and run["error"] == line.removeprefix("assay: ")


_EVAL_WITH_A_JUDGE = """
import json, sys
from assay.errors import StorageError
from assay.eval import TaskConfig, run_eval

try:
    run_eval(TaskConfig(**json.loads(sys.argv[1])))
except StorageError as exc:
    print(exc, file=sys.stderr)
    sys.exit(exc.exit_code)
"""


def test_an_llm_judge_cache_that_cannot_grow_stops_the_eval_with_its_path(tmp_path: Path) -> None:
    """The judge's cache (judge_cache.jsonl) is a file of the run too: a write error there stops the run
    like one in samples.jsonl (StorageError naming it, whole lines kept, run marked failed), not a bare
    OSError without a path."""
    folder = tmp_path / "data" / "general_qa"
    folder.mkdir(parents=True)
    (folder / "test.jsonl").write_text("".join(
        json.dumps({"question": f"What is the word number {i}?", "answer": "alpha"}) + "\n" for i in range(20)
    ))
    from aiohttp import web

    from tests.scripted_server import ScriptedServer

    limit_bytes = 100_000

    def verdict(question: str, attempt: int) -> web.Response:
        return web.json_response({"choices": [{"message": {"content": "CORRECT"}, "finish_reason": "stop"}]})

    with SimServer(SimSettings(ttft_ms=1, tpot_ms=0.2, output_tokens=8)) as sim, ScriptedServer(verdict) as judge:
        config = {"model": "sim", "api_url": sim.base_url, "datasets": ["general_qa"], "dataset_hub": "local",
                  "dataset_dir": str(tmp_path / "data"), "generation_config": {"max_tokens": 8}, "limit": 2,
                  "judge_model_args": {"api_url": judge.url, "model_id": "judge"}, "judge_strategy": "llm",
                  "work_dir": str(tmp_path / "out"), "quiet": True}
        first = subprocess.run([sys.executable, "-c", _EVAL_WITH_A_JUDGE, json.dumps(config)], capture_output=True,
                               text=True, timeout=300)
        assert first.returncode == 0, first.stderr
        run_dir = next(p.parent for p in (tmp_path / "out").rglob("run.json"))  # either run-folder layout
        cache = run_dir / "judge_cache.jsonl"
        assert len(_whole_lines(cache)) == 2
        # The cache has room for no further line; every other file of the run is far below the limit.
        filler = json.dumps({"key": "filler", "model": "sim", "raw": ""}) + "\n"
        pad = limit_bytes - cache.stat().st_size - len(filler) - 1
        cache.write_bytes(cache.read_bytes() + (json.dumps({"key": "pad", "model": "sim", "raw": "x" * pad})
                                                + "\n").encode())
        assert limit_bytes - 80 < cache.stat().st_size <= limit_bytes
        resumed = subprocess.run(
            [sys.executable, "-c", _EVAL_WITH_A_JUDGE, json.dumps({**config, "limit": None, "use_cache": str(run_dir)})],
            capture_output=True, text=True, timeout=300, preexec_fn=_file_size_limit(limit_bytes),
        )
    line = _one_error_line(resumed.stderr)
    assert line == f"cannot write {cache}: File too large"
    assert resumed.returncode == 5
    assert len(_whole_lines(cache)) == 3  # the two answers' verdicts and the pad: no torn line
    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "failed" and run["error"] == line
