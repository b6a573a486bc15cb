"""AIME 2026 (MathArena's parquet, EvalScope's JSONL) and BeyondAIME on synthetic rows in the hubs' schemas."""

from __future__ import annotations

import asyncio
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assay import TaskConfig
from assay.eval import load_samples
from assay.eval.benchmarks import get_benchmark
from assay.eval.judge import Judges
from assay.eval.scoring import MathChecker

AIME26 = [  # MathArena's columns: problem_idx, answer (int64), problem
    {"problem_idx": 1, "answer": 277, "problem": "The distance is $\\frac{m}{n}$ miles. Find $m + n$."},
    {"problem_idx": 16, "answer": 62, "problem": "Find the remainder when N is divided by 1000."},
]
BEYOND = [  # ByteDance-Seed/BeyondAIME: problem, answer
    {"problem": "Find the number of ordered pairs (a, b) with a + b = 2025 and gcd(a, b) = 1.", "answer": "1080"},
    {"problem": "Find the least n such that n! ends in exactly 2025 zeros.", "answer": "8110"},
]


def _config(tmp_path, name, **args):
    return TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=[name], dataset_hub="local",
                      dataset_dir=str(tmp_path), **args)


def test_aime26_loads_matharenas_parquet_with_problem_numbers(tmp_path):
    folder = tmp_path / "aime26" / "data"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(AIME26), folder / "train-00000-of-00001.parquet")
    samples = load_samples(_config(tmp_path, "aime26"))["aime26"]
    assert [(s.id, s.gold) for s in samples] == [("1", "277"), ("16", "62")]
    assert samples[0].messages[0]["content"].endswith("within \\boxed{}.")
    official = load_samples(_config(tmp_path, "aime26", prompt_style="official"))["aime26"][0]
    content = official.messages[0]["content"]
    assert content.startswith("\nSolve the following math problem step by step.")
    assert content.endswith("Remember to put your answer inside \\boxed{}.")


def test_aime26_loads_evalscopes_layout_too(tmp_path):
    folder = tmp_path / "aime26"
    folder.mkdir()
    (folder / "test.jsonl").write_text("".join(json.dumps({"problem": r["problem"], "answer": str(r["answer"])}) + "\n"
                                               for r in AIME26))
    samples = load_samples(_config(tmp_path, "aime26"))["aime26"]
    assert [(s.id, s.gold) for s in samples] == [("1", "277"), ("2", "62")]


def test_beyond_aime_loads_the_hub_layout(tmp_path):
    folder = tmp_path / "beyond_aime" / "data"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(BEYOND), folder / "test-00000-of-00001.parquet")
    samples = load_samples(_config(tmp_path, "beyond_aime"))["beyond_aime"]
    assert [s.gold for s in samples] == ["1080", "8110"]
    assert samples[1].question.startswith("Find the least n") and samples[1].id == "default/1"


@pytest.mark.slow
@pytest.mark.parametrize(("name", "rows", "index", "answer", "verdict"), [
    # A first-box extractor reads 1000 (the modulus); the final box is the answer.
    ("aime26", AIME26, 1, "Work mod \\boxed{1000} first. ... So the remainder is \\boxed{62}.", "correct"),
    ("aime26", AIME26, 1, "The remainder is \\boxed{062}.", "correct"),  # AIME's three-digit form
    ("aime26", AIME26, 0, "m = 130, n = 147, so m + n = \\boxed{276}.", "wrong"),  # near miss stays wrong
    # The last number of the text is 2025, not the answer.
    ("beyond_aime", BEYOND, 0, "There are \\boxed{1080} such pairs, as phi(2025) = 1080 and a < 2025.", "correct"),
    ("beyond_aime", BEYOND, 1, "Legendre's formula gives n = 8110, I think, and 8105 too; \\boxed{8105}", "wrong"),
])
def test_extraction_and_metric(tmp_path, name, rows, index, answer, verdict):
    folder = tmp_path / name
    folder.mkdir()
    (folder / ("train.jsonl" if name == "aime26" else "test.jsonl")).write_text(
        "".join(json.dumps(r) + "\n" for r in rows))
    sample = load_samples(_config(tmp_path, name))[name][index]
    with MathChecker(workers=1, timeout_s=20) as checker:
        judged = asyncio.run(get_benchmark(name).judge(sample, answer, finish_reason="stop",
                                                       judges=Judges(math=checker)))
    assert judged.verdict == verdict, judged


@pytest.mark.parametrize("name", ["aime26", "beyond_aime"])
def test_hub_path_reaches_the_download_call(name, tmp_path, monkeypatch):
    from assay.errors import DatasetError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(DatasetError) as info:
        load_samples(TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=[name], limit=1))
    assert get_benchmark(name).data.hf_id in str(info.value) and "\n" not in str(info.value)
