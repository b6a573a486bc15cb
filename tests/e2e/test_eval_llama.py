"""``assay eval`` / ``run_task`` against SmolLM2 served by a real llama-server, on the shared data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assay.eval.records import SampleJournal
from tests.conftest import SHARED
from tests.helpers import run_assay

pytestmark = pytest.mark.engine
DATASETS = SHARED / "datasets"

SNIPPET = """
from assay.constants import EvalType
from assay import TaskConfig, run_task

task_cfg = TaskConfig(
    model='SmolLM2-135M-Instruct',
    api_url='{url}',
    eval_type=EvalType.SERVICE,
    datasets=['aime25'],
    generation_config={{'extra_body': {{"reasoning_effort": "high"}}, 'max_tokens': 48}},
    eval_batch_size=4,
    timeout=60000,
    dataset_hub='local', dataset_dir='{data}', limit=2, work_dir='{work}',
)
run_task(task_cfg=task_cfg)
"""


@pytest.fixture(scope="module")
def smollm2_server(tmp_path_factory):
    from assay.engines import LlamaServer, ensure_smollm2

    log = tmp_path_factory.mktemp("logs") / "smollm2.log"
    with LlamaServer(ensure_smollm2(), alias="SmolLM2-135M-Instruct", parallel=4, context_size=8192,
                     threads=2, log_path=log) as server:
        yield server


def _table_rows(text: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.startswith("|") and "---" not in line]


def _check_aime_table(stdout: str) -> None:
    rows = _table_rows(stdout)
    assert rows[0][:7] == ["Model", "Dataset", "Metric", "Subset", "Num", "Score", "Cat.0"]
    body = {(r[3]): r for r in rows[1:]}
    assert set(body) == {"AIME2025-I", "AIME2025-II", "OVERALL"}
    for subset, num, category in (("AIME2025-I", "2", "default"), ("AIME2025-II", "2", "default"), ("OVERALL", "4", "-")):
        row = body[subset]
        assert row[:5] == ["SmolLM2-135M-Instruct", "aime25", "AveragePass@1", subset, num]
        assert 0.0 <= float(row[5]) <= 1.0 and row[6] == category


def test_evalscope_snippet_prints_the_table(smollm2_server, tmp_path):
    code = SNIPPET.format(url=smollm2_server.base_url, data=DATASETS, work=tmp_path)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    _check_aime_table(result.stdout)
    run_dir = next(p.parent for p in tmp_path.rglob("run.json"))  # <work_dir>/<YYYYMMDD_HHMMSS>/<model>/
    assert run_dir.parent.parent == tmp_path
    assert (run_dir / "report.md").read_text().splitlines()[0].startswith("| Model")
    report = json.loads((run_dir / "report.json").read_text())["reports"]["aime25"]
    assert report["overall"]["num"] == 4


def test_same_through_the_cli_and_records_are_complete(smollm2_server, tmp_path):
    result = run_assay(
        "eval", "--model", "SmolLM2-135M-Instruct", "--api-url", smollm2_server.base_url, "--datasets", "aime25",
        "--generation-config", '{"max_tokens": 48, "extra_body": {"reasoning_effort": "high"}}',
        "--eval-batch-size", "4", "--timeout", "600", "--dataset-hub", "local", "--dataset-dir", str(DATASETS),
        "--limit", "2", "--work-dir", str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    _check_aime_table(result.stdout)
    run_dir = Path(next(line for line in result.stdout.splitlines() if line.startswith("Run directory: ")).split(": ", 1)[1])
    records = SampleJournal(run_dir).read()
    assert len(records) == 4
    gold = {json.loads(line)["id"]: json.loads(line)["answer"]
            for name in ("AIME2025-I", "AIME2025-II") for line in (DATASETS / "aime25" / f"{name}.jsonl").open()}
    for record in records.values():
        assert record.error is None and record.verdict in ("correct", "wrong", "truncated")
        assert record.gold == gold[record.sample_id]
        assert record.response is not None and record.completion_tokens and record.completion_tokens <= 48
        assert record.latency_s and record.latency_s > 0 and record.finish_reason in ("stop", "length")
        assert "Please reason step by step" in record.messages[0]["content"]
        if record.verdict == "truncated":
            assert record.finish_reason == "length" and record.extracted is None
    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "finished" and run["config"]["generation_config"]["extra_body"] == {"reasoning_effort": "high"}


def test_gsm8k_end_to_end_and_rescore(smollm2_server, tmp_path):
    from assay import TaskConfig
    from assay.eval import run_eval

    result = run_eval(TaskConfig(
        model="SmolLM2-135M-Instruct", api_url=smollm2_server.base_url, datasets=["gsm8k"], dataset_hub="local",
        dataset_dir=str(DATASETS), limit=4, eval_batch_size=4, repeats=2,
        generation_config={"max_tokens": 64, "temperature": 0.7, "seed": 1}, work_dir=str(tmp_path), quiet=True,
    ))
    records = SampleJournal(result.run_dir).read()
    assert len(records) == 8 and {r.repeat for r in records.values()} == {0, 1}
    first = json.loads((DATASETS / "gsm8k" / "test.jsonl").open().readline())
    assert any(r.gold == first["answer"].split("####")[-1].strip() for r in records.values())
    overall = result.reports["gsm8k"]["overall"]
    assert overall["num"] == 4 and "pass@2" in overall and overall["pass@2"] >= overall["AveragePass@1"]
    before = (result.run_dir / "report.json").read_text()
    # --rescore sends nothing (the server is not even needed) and gives the same report.
    rescored = run_assay("eval", "--rescore", str(result.run_dir))
    assert rescored.returncode == 0, rescored.stderr
    assert json.loads((result.run_dir / "report.json").read_text()) == json.loads(before)


def test_kill_9_mid_run_then_resume_equals_an_uninterrupted_run(smollm2_server, tmp_path):
    common = ["eval", "--model", "SmolLM2-135M-Instruct", "--api-url", smollm2_server.base_url,
              "--datasets", "gsm8k", "--dataset-hub", "local", "--dataset-dir", str(DATASETS), "--limit", "12",
              "--eval-batch-size", "4", "--generation-config", '{"max_tokens": 24, "temperature": 0}', "--quiet"]
    reference = run_assay(*common, "--work-dir", str(tmp_path / "reference"))
    assert reference.returncode == 0, reference.stderr
    reference_dir = next(p.parent for p in (tmp_path / "reference").rglob("run.json"))

    work = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "-m", "assay", *common, "--work-dir", str(work)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        files = list(work.rglob("samples.jsonl"))
        if files and sum(1 for _ in files[0].open()) >= 4:
            break
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    run_dir = next(p.parent for p in work.rglob("run.json"))
    partial = SampleJournal(run_dir).read()
    assert 0 < len(partial) < 12
    resumed = run_assay(*common, "--use-cache", str(run_dir))
    assert resumed.returncode == 0, resumed.stderr
    lines = (run_dir / "samples.jsonl").read_text().splitlines()
    keys = [json.loads(line)["key"] for line in lines]
    assert len(keys) == len(set(keys)) == 12  # none lost, none duplicated
    final = SampleJournal(run_dir).read()
    expected = SampleJournal(reference_dir).read()
    assert {k: (r.response, r.verdict) for k, r in final.items()} == {k: (r.response, r.verdict) for k, r in expected.items()}
    ours = json.loads((run_dir / "report.json").read_text())["reports"]
    theirs = json.loads((reference_dir / "report.json").read_text())["reports"]
    for report in (ours, theirs):  # latency differs run to run; scores must not
        for group in [report["gsm8k"]["overall"], *report["gsm8k"]["subsets"].values()]:
            group.pop("mean_latency_s")
    assert ours == theirs


def test_eval_can_serve_the_local_engine_itself(tmp_path):
    result = run_assay(
        "eval", "--engine", "llama-server", "--datasets", "aime25", "--dataset-hub", "local",
        "--dataset-dir", str(DATASETS), "--limit", "1", "--generation-config", '{"max_tokens": 8}',
        "--work-dir", str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    rows = _table_rows(result.stdout)
    assert [r[3] for r in rows[1:]] == ["AIME2025-I", "AIME2025-II", "OVERALL"]
    assert all(r[0] == "SmolLM2-135M-Instruct" for r in rows[1:])


def test_a_real_engine_as_judge(smollm2_server, tmp_path):
    """SmolLM2 answers and SmolLM2 judges: the point is the plumbing, parsing and caching."""
    from assay import TaskConfig
    from assay.eval import rescore, run_eval

    data = tmp_path / "qa.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in [
        {"question": "What is the capital of France?", "answer": "Paris"},
        {"question": "How many legs does a spider have?", "answer": "8"},
        {"question": "What colour is the sky on a clear day?", "answer": "blue"},
    ]) + "\n")
    result = run_eval(TaskConfig(
        model="SmolLM2-135M-Instruct", api_url=smollm2_server.base_url, datasets=["general_qa"],
        dataset_args={"general_qa": {"local_path": str(data)}}, generation_config={"max_tokens": 24},
        judge_model_args={"api_url": smollm2_server.base_url, "model_id": "SmolLM2-135M-Instruct",
                          "generation_config": {"max_tokens": 8, "temperature": 0}},
        eval_batch_size=3, quiet=True, work_dir=str(tmp_path / "out"),
    ))
    records = list(SampleJournal(result.run_dir).read().values())
    assert len(records) == 3
    for record in records:
        assert record.judge is not None and record.judge["model"] == "SmolLM2-135M-Instruct"
        assert isinstance(record.judge["raw"], str) and record.judge["raw"].strip()
        if record.judge["verdict"] is None:
            assert record.verdict == "error" and record.method == "judge-unparsable"
        else:
            assert record.verdict == ("correct" if record.judge["verdict"] else "wrong")
    cache = (result.run_dir / "judge_cache.jsonl").read_text().splitlines()
    assert len(cache) == 3
    rescore(result.run_dir)
    assert (result.run_dir / "judge_cache.jsonl").read_text().splitlines() == cache
    assert all(r.judge["cached"] for r in SampleJournal(result.run_dir).read().values())


def test_every_new_benchmark_end_to_end(smollm2_server, tmp_path):
    """A few samples of each issue-5 benchmark through SmolLM2: records and a report for each."""
    import csv

    from assay import TaskConfig
    from assay.eval import run_eval

    gpqa = tmp_path / "gpqa_diamond"
    gpqa.mkdir()
    with open(gpqa / "gpqa_diamond.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, ["Record ID", "Question", "Correct Answer", "Incorrect Answer 1",
                                         "Incorrect Answer 2", "Incorrect Answer 3"])
        writer.writeheader()
        writer.writerow({"Record ID": "r1", "Question": "Which is a noble gas?", "Correct Answer": "Neon",
                         "Incorrect Answer 1": "Iron", "Incorrect Answer 2": "Sodium", "Incorrect Answer 3": "Carbon"})
    mmlu = tmp_path / "mmlu" / "anatomy"
    mmlu.mkdir(parents=True)
    (mmlu / "test.jsonl").write_text(json.dumps({"question": "Where is the heart?", "answer": 1,
                                                 "choices": ["leg", "chest", "arm", "head"]}) + "\n")
    mcq = tmp_path / "mine.jsonl"
    mcq.write_text(json.dumps({"question": "2+2?", "A": "3", "B": "4", "answer": "B"}) + "\n")
    names = ["mmlu_pro", "ifeval", "humaneval", "gpqa_diamond", "mmlu", "general_mcq"]
    result = run_eval(TaskConfig(
        model="SmolLM2-135M-Instruct", api_url=smollm2_server.base_url, datasets=names, dataset_hub="local",
        dataset_dir=str(DATASETS), limit=1, eval_batch_size=4, generation_config={"max_tokens": 32},
        dataset_args={"mmlu_pro": {"subset_list": ["math", "law"]},
                      "gpqa_diamond": {"local_path": str(gpqa)},
                      "mmlu": {"local_path": str(tmp_path / "mmlu"), "subset_list": ["anatomy"]},
                      "general_mcq": {"local_path": str(mcq)}},
        quiet=True, work_dir=str(tmp_path / "out"),
    ))
    records = list(SampleJournal(result.run_dir).read().values())
    by_benchmark = {name: [r for r in records if r.benchmark == name] for name in names}
    assert {name: len(rows) for name, rows in by_benchmark.items()} == {
        "mmlu_pro": 2, "ifeval": 1, "humaneval": 1, "gpqa_diamond": 1, "mmlu": 1, "general_mcq": 1}
    for name, rows in by_benchmark.items():
        for record in rows:
            assert record.error is None and record.response is not None, name
            assert record.verdict in ("correct", "wrong", "truncated"), (name, record.verdict)
        assert name in result.reports and result.reports[name]["overall"]["num"] == len(rows)
    assert set(result.reports["ifeval"]["overall"]) >= {"prompt_level_strict", "inst_level_loose"}
    assert by_benchmark["humaneval"][0].method.startswith(("sandbox:", "none", "empty"))
    table = (result.run_dir / "report.md").read_text()
    mmlu_rows = [line for line in table.splitlines() if "| mmlu " in line and "| anatomy" in line]
    assert mmlu_rows and "STEM" in mmlu_rows[0]  # MMLU's category in Cat.0
