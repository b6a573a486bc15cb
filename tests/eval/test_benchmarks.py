"""Every benchmark loads from the offline copies in ../shared/datasets (hash-checked)."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from assay import TaskConfig
from assay.eval import load_samples
from assay.eval.benchmarks import all_benchmarks
from tests.conftest import SHARED

DATASETS = SHARED / "datasets"


def test_shared_copies_are_the_pinned_files():
    for line in (DATASETS / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        assert hashlib.sha256((DATASETS / name.lstrip("*")).read_bytes()).hexdigest() == digest, name


def _samples(name, **args):
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=[name], dataset_hub="local",
                        dataset_dir=str(DATASETS), **args)
    return load_samples(config)[name]


@pytest.mark.parametrize(("name", "subsets"), [
    ("aime25", {"AIME2025-I": 15, "AIME2025-II": 15}),
    ("aime24", {"default": 30}),
    ("math_500", {"Level 1": 43, "Level 2": 90, "Level 3": 105, "Level 4": 128, "Level 5": 134}),
    ("gsm8k", {"main": 1319}),
])
def test_each_benchmark_loads_locally(name, subsets):
    samples = _samples(name)
    assert Counter(s.subset for s in samples) == subsets
    assert len({s.id for s in samples}) == len(samples)
    assert all(s.gold and s.messages[0]["content"].strip() for s in samples)


def test_known_golds():
    aime25 = {s.id: s for s in _samples("aime25")}
    assert aime25["I-1"].gold == "70" and "17_b" in aime25["I-1"].question
    aime24 = _samples("aime24")
    assert any(s.gold.startswith("0") for s in aime24)  # leading zeros, as the README warns
    gsm8k = _samples("gsm8k", limit=1)[0]
    assert gsm8k.gold == "18"  # Janet's ducks: "#### 18"


def test_subset_list_limit_few_shot_and_template():
    samples = _samples("aime25", dataset_args={"aime25": {"subset_list": ["AIME2025-II"],
                                                          "prompt_template": "Q: {question}\nA:"}}, limit=3)
    assert [s.subset for s in samples] == ["AIME2025-II"] * 3
    assert samples[0].messages[0]["content"].startswith("Q: ") and samples[0].messages[0]["content"].endswith("A:")
    fraction = _samples("math_500", limit=0.1)
    assert len(fraction) == 4 + 9 + 10 + 12 + 13


def test_gsm8k_few_shot_needs_its_train_split(tmp_path):
    from assay.errors import DatasetError

    with pytest.raises(DatasetError, match="split 'train'"):
        _samples("gsm8k", dataset_args={"gsm8k": {"few_shot_num": 4}})


def test_registry_lists_every_benchmark_module():
    assert {"aime24", "aime25", "gsm8k", "math_500"} <= set(all_benchmarks())


@pytest.mark.parametrize("name", ["aime25", "aime24", "math_500", "gsm8k", "mmlu_pro", "gpqa_diamond", "mmlu",
                                  "ifeval", "humaneval"])
def test_hub_path_reaches_the_download_call(name, tmp_path, monkeypatch):
    """Offline here: the real `datasets` client is called with the benchmark's hub id and fails cleanly."""
    from assay.errors import DatasetError
    from assay.eval.benchmarks import get_benchmark

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=[name], limit=1)
    with pytest.raises(DatasetError) as info:
        load_samples(config)
    message = str(info.value)
    assert get_benchmark(name).data.hf_id in message and "Hugging Face" in message and "\n" not in message


@pytest.mark.slow
def test_assay_benchmarks_lists_every_benchmark():
    from tests.helpers import run_assay

    result = run_assay("benchmarks")
    assert result.returncode == 0, result.stderr
    for name in all_benchmarks():
        assert name in result.stdout
    assert "TIGER-Lab/MMLU-Pro" in result.stdout and "AveragePass@1" in result.stdout
