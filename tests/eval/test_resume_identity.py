"""Resuming an eval run (``use_cache``) only with the run's own identity (issue 11, point 4).

A resume with another model, endpoint, benchmark, subset, prompt, generation setting, repeat
count, seed or smaller limit would mix two runs' answers under one name: it must stop with one
line naming the field, before any request, leaving the run untouched. Settings that do not change
what is asked (batch size, streaming, a URL spelt differently) resume, and a larger limit extends
the run. Every run here talks to a real ``assay sim``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from assay.engines.sim import SimServer, SimSettings
from assay.errors import ConfigError
from assay.eval import TaskConfig, run_eval
from assay.eval.records import SampleJournal
from tests.helpers import run_assay

MMLU_PRO_CATEGORIES = ("math", "law", "biology")


@pytest.fixture(scope="module")
def sim():
    with SimServer(SimSettings(ttft_ms=1, tpot_ms=1, output_tokens=4)) as server:
        yield server


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five GSM8K-shaped questions and three MMLU-Pro-shaped ones per category, as local files."""
    root = tmp_path_factory.mktemp("data")
    (root / "gsm8k").mkdir()
    (root / "gsm8k" / "test.jsonl").write_text("".join(
        json.dumps({"question": f"What is {i} + {i}?", "answer": f"{i} and {i} #### {2 * i}"}) + "\n"
        for i in range(5)))
    (root / "mmlu_pro").mkdir()
    rows = [{"question_id": f"{category}-{i}", "question": f"A {category} question {i}?", "category": category,
             "options": ["one", "two", "three", "four"], "answer": "B", "answer_index": 1}
            for category in MMLU_PRO_CATEGORIES for i in range(3)]
    (root / "mmlu_pro" / "test.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return root


def _config(sim: SimServer, data: Path, work: Path, **changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = dict(
        model="sim", api_url=sim.base_url, datasets=["gsm8k", "mmlu_pro"],
        dataset_args={"mmlu_pro": {"subset_list": ["math", "law"]}}, dataset_dir=str(data), dataset_hub="local",
        generation_config={"max_tokens": 4, "temperature": 0.0}, repeats=2, limit=2, seed=42, work_dir=str(work),
        quiet=True,
    )
    config.update(changes)
    return config


def _generations(sim: SimServer) -> int:
    """Completion requests the simulator has answered (the service check's one-token probe excluded)."""
    return sum(1 for record in sim.records() if (record.get("completion_tokens") or 0) > 1)


@pytest.fixture(scope="module")
def finished_run(sim: SimServer, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("runs")
    result = run_eval(TaskConfig(**_config(sim, data_dir, work)))
    return result.run_dir


def _snapshot(run_dir: Path) -> dict[str, bytes]:
    return {name: (run_dir / name).read_bytes() for name in ("run.json", "samples.jsonl", "report.json")}


@pytest.mark.slow
def test_a_new_run_stores_its_identity(finished_run: Path, sim: SimServer):
    identity = json.loads((finished_run / "run.json").read_text())["identity"]
    assert identity["model"] == "sim"
    assert identity["endpoint"] == f"{sim.base_url}/chat/completions"
    assert identity["datasets"] == ["gsm8k", "mmlu_pro"]
    assert identity["subsets"] == {"gsm8k": ["main"], "mmlu_pro": ["law", "math"]}
    assert identity["generation_config"] == {"max_tokens": 4, "temperature": 0.0}
    assert (identity["repeats"], identity["seed"], identity["limit"]) == (2, 42, 2)
    assert identity["samples"] == {"gsm8k": {"main": 2}, "mmlu_pro": {"math": 2, "law": 2}}
    assert "{question}" in identity["prompts"]["gsm8k"]["prompt_template"]
    assert len(SampleJournal(finished_run).read()) == (2 + 2 + 2) * 2


@pytest.mark.parametrize(("changes", "field"), [
    ({"model": "another-model"}, "model"),
    ({"api_url": "http://127.0.0.1:9/v1"}, "endpoint"),
    ({"datasets": ["gsm8k"], "dataset_args": {}}, "datasets"),
    ({"dataset_args": {"mmlu_pro": {"subset_list": ["math", "biology"]}}}, "subsets.mmlu_pro"),
    ({"dataset_args": {"mmlu_pro": {"subset_list": ["math", "law"]},
                       "gsm8k": {"prompt_template": "Q: {question}\nA:"}}}, "prompts.gsm8k.prompt_template"),
    ({"prompt_style": "official"}, "prompts.gsm8k.prompt_style"),
    ({"generation_config": {"max_tokens": 4, "temperature": 0.7}}, "generation_config.temperature"),
    ({"generation_config": {"max_tokens": 8, "temperature": 0.0}}, "generation_config.max_tokens"),
    ({"generation_config": {"max_tokens": 4, "temperature": 0.0, "top_p": 0.9}}, "generation_config.top_p"),
    ({"repeats": 3}, "repeats"),
    ({"seed": 7}, "seed"),
    ({"limit": 1}, "limit"),
])
def test_a_resume_with_another_identity_stops_naming_the_field(sim, data_dir, finished_run, tmp_path, changes, field):
    before, asked = _snapshot(finished_run), _generations(sim)
    with pytest.raises(ConfigError) as caught:
        run_eval(TaskConfig(**_config(sim, data_dir, tmp_path, use_cache=str(finished_run), **changes)))
    message = str(caught.value)
    assert message.startswith(f"use_cache: cannot resume {finished_run}: {field} differs"), message
    assert "\n" not in message
    assert _snapshot(finished_run) == before  # nothing rewritten, nothing mixed in
    assert _generations(sim) == asked  # refused before any request


@pytest.mark.parametrize("changes", [
    {"api_url": "{base}/"},  # the same endpoint, spelt with a trailing slash
    {"api_url": "{base}/chat/completions"},  # or with the path the client appends
    {"eval_batch_size": 4, "retries": 1, "timeout": 30.0},  # how it is run, not what is asked
    {"generation_config": {"temperature": 0, "max_tokens": 4, "stream": True, "timeout": 60}},
    {"dataset_args": {"mmlu_pro": {"subset_list": ["math", "law"], "few_shot_num": 0}}},  # the default, given
    {"datasets": ["mmlu_pro", "gsm8k"], "dataset_args": {"mmlu_pro": {"subset_list": ["law", "math"]}}},  # order
])
@pytest.mark.slow
def test_a_resume_with_the_same_identity_continues(sim, data_dir, finished_run, tmp_path, changes):
    changes = {k: v.format(base=sim.base_url) if isinstance(v, str) else v for k, v in changes.items()}
    records = SampleJournal(finished_run).read()
    asked = _generations(sim)
    result = run_eval(TaskConfig(**_config(sim, data_dir, tmp_path, use_cache=str(finished_run), **changes)))
    assert result.run_dir == finished_run
    assert SampleJournal(finished_run).read() == records  # every answer kept as it was
    assert _generations(sim) == asked  # nothing asked again


@pytest.mark.slow
def test_a_larger_limit_extends_the_run(sim, data_dir, tmp_path):
    first = run_eval(TaskConfig(**_config(sim, data_dir, tmp_path, limit=2))).run_dir
    before = SampleJournal(first).read()
    asked = _generations(sim)
    run_eval(TaskConfig(**_config(sim, data_dir, tmp_path, limit=3, use_cache=str(first))))
    after = SampleJournal(first).read()
    assert {k: after[k] for k in before} == before  # the run's answers are kept, not asked again
    assert len(after) == (3 + 3 + 3) * 2 and _generations(sim) - asked == len(after) - len(before)
    identity = json.loads((first / "run.json").read_text())["identity"]
    assert identity["limit"] == 3 and identity["samples"]["mmlu_pro"] == {"math": 3, "law": 3}
    # Extended to the whole set, then back to 3: a smaller set than the run's is refused.
    run_eval(TaskConfig(**_config(sim, data_dir, tmp_path, limit=None, use_cache=str(first))))
    with pytest.raises(ConfigError, match=r"limit differs \(the run: limit not set; now: limit 3\)"):
        run_eval(TaskConfig(**_config(sim, data_dir, tmp_path, limit=3, use_cache=str(first))))


@pytest.mark.slow
def test_an_interrupted_run_resumes_and_equals_an_uninterrupted_one(sim, data_dir, finished_run, tmp_path):
    run_dir = tmp_path / "partial"
    shutil.copytree(finished_run, run_dir)
    lines = (run_dir / "samples.jsonl").read_bytes().splitlines(keepends=True)
    (run_dir / "samples.jsonl").write_bytes(b"".join(lines[:5]) + lines[5][:20])  # as a kill leaves it
    asked = _generations(sim)
    run_eval(TaskConfig(**_config(sim, data_dir, tmp_path, use_cache=str(run_dir))))
    assert _generations(sim) - asked == len(lines) - 5
    assert SampleJournal(run_dir).read().keys() == SampleJournal(finished_run).read().keys()


@pytest.mark.parametrize(("edit", "field"), [
    (lambda row: {**row, "question": row["question"] + " Be brief."}, "prompts"),
    (lambda row: {**row, "answer": row["answer"] + "1"}, "gold"),
])
@pytest.mark.slow
def test_changed_data_under_the_same_settings_is_refused(sim, data_dir, finished_run, tmp_path, edit, field):
    # The data moved to another folder (not part of the identity) and its first question changed.
    moved = tmp_path / "moved"
    shutil.copytree(data_dir, moved)
    path = moved / "gsm8k" / "test.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(edit(row) if i == 0 else row) + "\n" for i, row in enumerate(rows)))
    before = _snapshot(finished_run)
    with pytest.raises(ConfigError, match=rf"cannot resume .*: {field} differs: sample gsm8k/main/main/0/0 "):
        run_eval(TaskConfig(**_config(sim, moved, tmp_path, use_cache=str(finished_run))))
    assert _snapshot(finished_run) == before
    # The same data in its new folder resumes.
    shutil.copy(data_dir / "gsm8k" / "test.jsonl", path)
    run_eval(TaskConfig(**_config(sim, moved, tmp_path, use_cache=str(finished_run))))


@pytest.mark.slow
def test_a_run_made_before_identities_were_stored_is_checked_against_its_config(sim, data_dir, finished_run,
                                                                                tmp_path):
    legacy = tmp_path / "legacy"
    shutil.copytree(finished_run, legacy)
    run = json.loads((legacy / "run.json").read_text())
    del run["identity"]
    (legacy / "run.json").write_text(json.dumps(run))
    with pytest.raises(ConfigError, match="seed differs"):
        run_eval(TaskConfig(**_config(sim, data_dir, tmp_path, use_cache=str(legacy), seed=1)))
    with pytest.raises(ConfigError, match=r"limit differs \(the run: limit 2; now: limit 1\): the run has sample"):
        run_eval(TaskConfig(**_config(sim, data_dir, tmp_path, use_cache=str(legacy), limit=1)))
    run_eval(TaskConfig(**_config(sim, data_dir, tmp_path, use_cache=str(legacy))))
    assert "identity" in json.loads((legacy / "run.json").read_text())  # stored from now on


@pytest.mark.slow
def test_the_command_line_says_it_in_one_line_and_exits_2(sim, data_dir, finished_run, tmp_path):
    before = _snapshot(finished_run)
    result = run_assay("eval", "--model", "sim", "--api-url", sim.base_url, "--datasets", "gsm8k", "mmlu_pro",
                       "--dataset-args", '{"mmlu_pro": {"subset_list": ["math", "law"]}}', "--dataset-hub", "local",
                       "--dataset-dir", str(data_dir), "--generation-config", '{"max_tokens": 4, "temperature": 0.7}',
                       "--repeats", "2", "--limit", "2", "--use-cache", str(finished_run), "--quiet",
                       "--work-dir", str(tmp_path))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "generation_config.temperature differs (the run: 0.0; now: 0.7)" in lines[0]
    assert _snapshot(finished_run) == before


def test_a_run_still_being_written_is_not_resumed(sim, data_dir, finished_run, tmp_path):
    """A run whose writer is alive (here: this very process) would get two writers on one journal."""
    import os

    live = tmp_path / "live"
    shutil.copytree(finished_run, live)
    run = json.loads((live / "run.json").read_text())
    (live / "run.json").write_text(json.dumps({**run, "status": "running", "pid": os.getpid()}))
    before, asked = _snapshot(live), _generations(sim)
    with pytest.raises(ConfigError, match=rf"^use_cache: {live} is still being written by process {os.getpid()}; "):
        run_eval(TaskConfig(**_config(sim, data_dir, tmp_path, use_cache=str(live))))
    assert _snapshot(live) == before and _generations(sim) == asked
