from __future__ import annotations

import subprocess
import sys

import pytest

from assay.errors import ConfigError
from assay.perf import PerfConfig


def test_help_imports_nothing_heavy():
    """`assay --help` must stay instant: no HTTP client, tokenizer or numpy import on that path."""
    code = (
        "import sys\n"
        "from assay.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('aiohttp', 'numpy', 'tokenizers', 'tiktoken', 'rich', 'msgspec', 'huggingface_hub') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in result.stdout
    assert "perf" in result.stdout


def test_perf_help_lists_the_evalscope_arguments():
    result = subprocess.run([sys.executable, "-m", "assay", "perf", "--help"], capture_output=True, text=True)
    for flag in ["--parallel", "--number", "--model", "--url", "--api", "--api-key", "--headers", "--dataset",
                 "--dataset-path", "--max-tokens", "--min-tokens", "--prefix-length", "--min-prompt-length",
                 "--max-prompt-length", "--log-every-n-query", "--tokenizer-path", "--extra-args", "--stream",
                 "--no-stream", "--temperature", "--seed", "--warmup-num", "--connect-timeout", "--read-timeout",
                 "--outputs-dir", "--name"]:
        assert flag in result.stdout, flag


def test_python_api_rejects_ill_typed_fields_by_name():
    base = {"url": "http://127.0.0.1:1/v1/completions", "model": "m", "tokenizer_path": "o200k_base"}
    with pytest.raises(ConfigError, match=r"^parallel: expected list\[int\]"):
        PerfConfig(**base, parallel="10")
    with pytest.raises(ConfigError, match=r"^max_tokens: expected int"):
        PerfConfig(**base, max_tokens="1024")
    with pytest.raises(ConfigError, match=r"^stream: expected bool"):
        PerfConfig(**base, stream="yes")
    with pytest.raises(ConfigError, match=r"^extra_args: 'model' is set by assay"):
        PerfConfig(**base, extra_args={"model": "other"})
    with pytest.raises(ConfigError, match=r"unknown field 'paralel' \(did you mean 'parallel'\?\)"):
        PerfConfig(**base, paralel=[1])  # a misspelt field is never silently ignored


def test_saved_config_has_no_secrets():
    config = PerfConfig(url="http://127.0.0.1:1/v1/completions", model="m", tokenizer_path="o200k_base",
                        api_key="sk-secret-1234", headers={"X-Api-Token": "tok-5678"})
    public = repr(config.to_public_dict()) + repr(config)
    assert "sk-secret-1234" not in public and "tok-5678" not in public
    assert config.to_public_dict()["headers"] == {"X-Api-Token": "***"}


def test_default_number_pairs_with_parallel():
    config = PerfConfig(url="http://127.0.0.1:1/v1/chat/completions", model="m", tokenizer_path="o200k_base",
                        parallel=[1, 10])
    assert [(p.concurrency, p.number, p.rate) for p in config.points] == [(1, 8, None), (10, 40, None)]


def test_rate_sweep_points_share_a_cap_and_need_a_bound():
    base = {"url": "http://127.0.0.1:1/v1/completions", "model": "m", "tokenizer_path": "o200k_base"}
    config = PerfConfig(**base, rate=[1.0, 2.0, 4.0], parallel=[16], number=[50])
    assert [(p.concurrency, p.number, p.rate) for p in config.points] == [(16, 50, 1.0), (16, 50, 2.0), (16, 50, 4.0)]
    assert config.points[2].label == "rate 4/s, cap 16"
    with pytest.raises(ConfigError, match="needs --number or --duration"):
        PerfConfig(**base, rate=[1.0])
    with pytest.raises(ConfigError, match="one per rate"):
        PerfConfig(**base, rate=[1.0, 2.0, 3.0], number=[1, 2])
    with pytest.raises(ConfigError, match="slo: cannot read 'ttft<=2s'"):
        PerfConfig(**base, rate=[1.0], number=[5], slo="ttft<=2s")
