from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from assay.cli import build_parser
from assay.engines.sim import FAULTS, SimServer, SimSettings
from assay.errors import ConfigError
from assay.flags import FLAG, command_line, flag_values
from assay.perf import PerfConfig
from tests.conftest import REPO


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


def _every_field_differs_from_its_default(config: object, *, only_value: tuple[str, ...] = ()) -> None:
    """So that the round trips below cover every field: a new field needs a value here (and a flag).
    ``only_value``: fields whose default is their only valid value."""
    for f in dataclasses.fields(config):  # type: ignore[arg-type]
        assert FLAG in f.metadata, f"{type(config).__name__}.{f.name} declares no command-line flag"
        if f.name in only_value:
            continue
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        assert getattr(config, f.name) != default, f"{type(config).__name__}.{f.name}: give it a non-default value"


PERF_ONLY_DEFAULT = ("visualizer", "wandb_api_key", "swanlab_api_key", "swanlab_host", "scenario",
                     "dataset_args", "sla_number_multiplier")
"""PerfConfig fields whose default is their only valid value (EvalScope arguments assay refuses, one line, exit 2)."""


def test_every_perf_field_is_one_flag_that_round_trips():
    """`assay perf`'s arguments and their mapping are built from PerfConfig's fields: each field's
    command line, parsed by the real parser, gives the same config back. Options that exclude each
    other (a trace replay sets its own load) take two configs; together they set every field."""
    config = PerfConfig(
        url="http://127.0.0.1:1/v1/chat/completions", url_strategy="least-inflight", model="m", api_key="k",
        headers={"X-A": "b"}, engine="vllm", engine_model="tiny", parallel=[4], number=[10], rate=[1.0, 2.0], burstiness=0.5, duration=5.0, ramp_up=0.5,
        warmup_s=1.0, cooldown_s=1.0, slo="ttft_p99<=2s", workers=2, server_metrics="auto", slo_search="rate",
        search_range=[2.0, 8.0], search_repeats=4, min_success_rate=0.5, warmup_num=1, connect_timeout=5.0,
        read_timeout=9.0, total_timeout=30.0, test_connection=False, dataset="line_by_line", dataset_path="p.txt",
        tokenizer_path="o200k_base", tokenizer_hub="modelscope", min_prompt_length=3, max_prompt_length=9,
        prefix_length=1, seed=3, max_tokens=16, min_tokens=2, temperature=0.7, top_p=0.9, stream=False,
        extra_args={"ignore_eos": True}, continuous_usage=True, outputs_dir="o", name="n", log_every_n_query=0,
        percentiles=[50.0, 99.0], quiet=True, html=False,
        # EvalScope's names: request parameters, the SLA search (the same search as the fields above), notes
        stop=["###", "\n\n"], stop_token_ids=[2, 7], top_k=5, frequency_penalty=0.5, repetition_penalty=1.1,
        logprobs=True, n_choices=2, prompt="hi", query_template='{"user": "u"}', sla_auto_tune=True,
        sla_variable="rate", sla_params='[{"p99_ttft": "<=2s"}]', sla_num_runs=4, sla_upper_bound=8,
        sla_lower_bound=2, sla_fixed_parallel=4, open_loop=True, tokenize_prompt=True, apply_chat_template=False,
        no_timestamp=True, attn_implementation="sdpa", port=1, enable_pd_metrics=True, sleep_interval=1.0,
        db_commit_interval=1, queue_size_multiplier=1, in_flight_task_multiplier=1, num_workers=1, debug=True,
        enable_progress_tracker=True, alias="a", data_source="local", dataset_offset=1, image_width=1,
        image_height=1, image_format="L", image_num=1, image_patch_size=1, prefix_count=1,
    )
    trace = PerfConfig(url=["http://127.0.0.1:1/v1/completions", "http://127.0.0.1:2/v1/completions"], model="m",
                       tokenizer_path="o200k_base", dataset="trace", dataset_path="t.jsonl", trace_speedup=2.0, trace_window="1:5")
    # Multi-turn sessions: EvalScope's turn range, or assay's --turns N (one or the other).
    sessions = PerfConfig(url="http://127.0.0.1:1/v1/chat/completions", model="m", tokenizer_path="o200k_base",
                          multi_turn=True, dataset="random_multi_turn", min_turns=2, max_turns=5,
                          multi_turn_args='{"subsequent_turn_length": [8, 16]}', think_time_s=0.5)
    turns = PerfConfig(url="http://127.0.0.1:1/v1/chat/completions", model="m", tokenizer_path="o200k_base", turns=3,
                       ray="10.0.0.1:6379", ray_actors=3)  # --ray: actors on a cluster
    # Another endpoint: EvalScope's --api (its URL resolved before the round trip, so it stays as it is).
    embeddings = PerfConfig(url="http://127.0.0.1:1/v1", api="embedding", model="m", tokenizer_path="o200k_base")
    given: set[str] = set()
    for each in (config, trace, sessions, turns, embeddings):
        args = build_parser().parse_args(["perf", *command_line(each)])
        assert PerfConfig(**flag_values(PerfConfig, args)) == each
        given |= set(flag_values(PerfConfig, args))
    fields = {f.name for f in dataclasses.fields(PerfConfig)}
    assert given == fields - set(PERF_ONLY_DEFAULT), "give every field a non-default value in one of the configs"
    assert flag_values(PerfConfig, build_parser().parse_args(["perf"])) == {}  # defaults: the fields'
    for f in dataclasses.fields(PerfConfig):
        assert FLAG in f.metadata, f"PerfConfig.{f.name} declares no command-line flag"


def test_every_sim_setting_is_one_flag_that_round_trips():
    """SimServer's command line is built from SimSettings' fields, and `assay sim` parses it back exactly."""
    settings = SimSettings(model="m", ttft_ms=7.5, tpot_ms=2.0, tokens_per_chunk=3, output_tokens=9, reasoning_tokens=2,
                           ttft_ms_per_request=0.5, tpot_ms_per_request=0.25, max_batch=4,
                           faults={"reset": 0.5, "http503": 1.0}, fault_seed=7, stall_s=2.0, harmony=True,
                           context_tokens=64, spec_draft_tokens=4, pooling_ms=2.5, pooling_ms_per_input=0.5)
    _every_field_differs_from_its_default(settings)
    command = SimServer(settings, port=1234).command()
    assert command[1:4] == ["-m", "assay", "sim"]
    args = build_parser().parse_args(command[3:])
    assert (args.host, args.port) == ("127.0.0.1", 1234)
    assert SimSettings(**flag_values(SimSettings, args)) == settings
    assert SimServer(SimSettings(), port=1).command()[3:] == ["sim", "--port", "1"]  # defaults: the fields'


def test_a_bad_sim_flag_is_one_line_and_exit_2():
    result = subprocess.run([sys.executable, "-m", "assay", "sim", "--fault", "nosuch=0.5"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"assay: error: --fault: unknown kind 'nosuch'; known: {', '.join(FAULTS)}"]


def test_the_public_api_is_the_package_root():
    import assay

    for name in assay.__all__:
        assert getattr(assay, name) is not None, name
    assert {"run_perf", "PerfConfig", "report_run", "run_eval", "EvalResult", "rescore", "TaskConfig",
            "run_task", "EvalType"} <= set(assay.__all__)
    assert (Path(assay.__file__).parent / "py.typed").is_file()  # shipped: hatch includes the package folder


def test_the_version_is_written_once():
    """pyproject takes the version from assay/__init__.py (hatch), so `assay --version` and the wheel agree."""
    import assay

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["hatch"]["version"]["path"] == "src/assay/__init__.py"
    result = subprocess.run([sys.executable, "-m", "assay", "--version"], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == f"assay {assay.__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", assay.__version__)
