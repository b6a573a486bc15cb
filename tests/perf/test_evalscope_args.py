"""EvalScope's remaining `perf` arguments (issue 16 item 7): each request parameter reaches the server
(`assay sim` records every request's body less its prompt), each argument assay does not act on as
EvalScope does prints one note, each it refuses is one line and exit 2, and the table in docs/perf.md
names every EvalScope argument, each one that `assay perf` parses.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

from assay import PerfConfig, run_perf
from assay.engines.sim import SimServer, SimSettings
from assay.errors import ConfigError
from assay.flags import add_flags
from assay.perf.config import DATASETS
from tests.conftest import REPO


def _run(sim: SimServer, tmp_path, path: str = "chat/completions", **kwargs):
    config = dict(url=f"{sim.base_url}/{path}", model="sim", tokenizer_path="o200k_base", min_prompt_length=8,
                  max_prompt_length=8, max_tokens=4, parallel=[2], number=[4], outputs_dir=str(tmp_path), quiet=True,
                  test_connection=False)
    config.update(kwargs)
    return run_perf(PerfConfig(**config))


@pytest.mark.slow


def test_request_parameters_reach_the_server(tmp_path):
    template = tmp_path / "template.json"
    template.write_text('{"model": "not-this", "temperature": 5, "user": "from-the-template", "top_k": 1}')
    with SimServer(SimSettings(ttft_ms=1, tpot_ms=1)) as sim:
        _run(sim, tmp_path, stop=["###", "\n\n"], stop_token_ids=[2, 7], top_k=5, frequency_penalty=0.5,
             repetition_penalty=1.1, logprobs=True, n_choices=2, query_template=f"@{template}",
             extra_args={"ignore_eos": True})
        chat = [r["params"] for r in sim.records()]
        sim.reset()
        _run(sim, tmp_path, path="completions", logprobs=True, stop=[])
        completions = [r["params"] for r in sim.records()]
    assert len(chat) == 4 and len(completions) == 4
    for params in chat:
        assert params["stop"] == ["###", "\n\n"] and params["stop_token_ids"] == [2, 7]
        assert params["top_k"] == 5  # the option wins over the template
        assert (params["frequency_penalty"], params["repetition_penalty"], params["n"]) == (0.5, 1.1, 2)
        assert params["logprobs"] is True  # chat: a flag
        assert params["user"] == "from-the-template"  # the template's own fields are kept...
        assert (params["model"], params["temperature"]) == ("sim", 0.0)  # ...but assay's own win
        assert params["ignore_eos"] is True and params["max_tokens"] == 4
    for params in completions:
        assert params["logprobs"] == 1 and params["stop"] == []  # completions: how many top log probabilities
        assert not {"top_k", "n", "stop_token_ids", "user"} & set(params)  # nothing sent that was not asked for


@pytest.mark.slow


def test_prompt_is_sent_in_every_request_from_text_or_a_file(tmp_path):
    prompt_file = tmp_path / "prompt.txt"
    prompt_file.write_text("one two three four five six seven", encoding="utf-8")
    with SimServer(SimSettings(ttft_ms=1, tpot_ms=1)) as sim:
        _run(sim, tmp_path, prompt="alpha beta gamma", tokenizer_path=None)
        words = [r["prompt_tokens"] for r in sim.records()]  # the simulator counts the prompt's words
        sim.reset()
        _run(sim, tmp_path, path="completions", prompt=f"@{prompt_file}", number=[3], parallel=[1])
        from_file = [r["prompt_tokens"] for r in sim.records()]
    assert words == [3, 3, 3, 3] and from_file == [7, 7, 7]
    with pytest.raises(ConfigError, match=r"^prompt: cannot read .*nope\.txt"):
        PerfConfig(url="http://127.0.0.1:1/v1/completions", model="m", prompt=f"@{tmp_path / 'nope.txt'}")


def test_sla_auto_tune_is_assays_slo_search():
    base = {"url": "http://127.0.0.1:1/v1/completions", "model": "m", "tokenizer_path": "o200k_base"}
    config = PerfConfig(**base, sla_auto_tune=True, sla_params='[{"p99_ttft": "<=2s", "avg_tpot": "< 50"}]',
                        sla_num_runs=2, sla_lower_bound=2, sla_upper_bound=64)
    assert (config.slo_search, config.slo, config.search_range, config.search_repeats) == (
        "concurrency", "ttft_p99<=2s,tpot_mean<50ms", [2.0, 64.0], 2)  # a bare TPOT is in ms, as EvalScope reports it
    rate = PerfConfig(**base, sla_auto_tune=True, sla_variable="rate", sla_params='{"avg_latency": "<=3"}',
                      sla_fixed_parallel=16, number=[20])
    assert (rate.slo_search, rate.slo, rate.parallel) == ("rate", "latency_mean<=3s", [16])
    assert rate.validate() is None and rate.slo == "latency_mean<=3s"  # validating again changes nothing
    for params, message in [('[{"tps": "max"}]', r"'tps' is not an upper limit"),
                            ('[{"p99_ttft": ">=2s"}]', r"needs an upper limit"),
                            ('[{"p99_ttft": "<=2s"}, {"avg_ttft": "<=1s"}]', r"one group of objectives"),
                            ("[{", r"not valid JSON")]:
        with pytest.raises(ConfigError, match=f"^sla_params: .*{message}"):
            PerfConfig(**base, sla_auto_tune=True, sla_params=params)
    with pytest.raises(ConfigError, match=r"^slo: --sla-auto-tune sets it"):
        PerfConfig(**base, sla_auto_tune=True, sla_params='[{"p99_ttft": "<=2s"}]', slo="ttft_p99<=1s")


def _assay(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assay", "perf", *args], capture_output=True, text=True,
                          timeout=timeout)


NOTED = ["--open-loop", "--tokenize-prompt", "--no-apply-chat-template", "--no-timestamp", "--attn-implementation=x",
         "--port=8877", "--enable-pd-metrics", "--sleep-interval=5", "--db-commit-interval=1000",
         "--queue-size-multiplier=5", "--in-flight-task-multiplier=2", "--num-workers=0", "--debug",
         "--enable-progress-tracker", "--alias=a", "--data-source=local", "--dataset-offset=0", "--image-width=224",
         "--image-height=224", "--image-format=RGB", "--image-num=1", "--image-patch-size=28"]


@pytest.mark.slow


def test_each_argument_assay_does_not_act_on_prints_one_note(tmp_path):
    with SimServer(SimSettings(ttft_ms=1, tpot_ms=1)) as sim:
        result = _assay("--url", f"{sim.base_url}/completions", "--model", "sim", "--tokenizer-path", "o200k_base",
                        "--min-prompt-length", "8", "--max-prompt-length", "8", "--max-tokens", "2", "--rate", "50",
                        "-n", "3", "--outputs-dir", str(tmp_path), "--quiet", *NOTED, "--sla-num-runs", "2")
    assert result.returncode == 0, result.stderr
    lines = (result.stdout + result.stderr).splitlines()
    for arg in NOTED:
        name = arg.split("=")[0].replace("--no-apply", "--apply")
        assert sum(line.startswith(f"{name}: ") for line in lines) == 1, (name, lines)
    assert sum(line.startswith("--sla-*: without --sla-auto-tune") for line in lines) == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--visualizer", "clearml", "--wandb-api-key", "wandb-secret-123"], "visualizer: ClearML is not supported"),
    (["--visualizer", "wandb", "--swanlab-api-key", "swan-secret-456"],
     "visualizer: --swanlab-api-key/--swanlab-host given with --visualizer wandb"),
    (["--multi-turn"], "max_turns: random multi-turn sessions need --turns N or --max-turns"),
    (["--prefix-count", "4"], "prefix_count: only one shared prefix"),
    (["--open-loop"], "open_loop: give the request rates with --rate"),
    (["--sla-auto-tune", "--sla-params", '[{"rps": ">=5"}]'], "sla_params: 'rps' is not an upper limit"),
])
@pytest.mark.slow
def test_each_argument_assay_refuses_is_one_line_and_exit_2(args, message):
    result = _assay("--url", "http://127.0.0.1:9/v1/completions", "--model", "m", "--tokenizer-path", "o200k_base",
                    *args, timeout=60)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"assay: error: {message}")
    assert "secret" not in result.stderr + result.stdout


def _table_rows(heading: str) -> list[tuple[str, str]]:
    """The (first cell, second cell) rows of the table under ``heading`` in docs/perf.md."""
    text = (REPO / "docs" / "perf.md").read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("\n#", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 2 and not set(cells[0]) <= {"-", " ", ":"} and "`" in cells[0]:
            rows.append((cells[0], cells[1]))
    return rows


def test_every_evalscope_argument_in_the_docs_table_parses():
    """The table lists EvalScope 1.14.1's `perf` arguments (the list lives there, not here); each one that
    `assay perf` accepts — all of them: refused ones too parse, then fail with their reason — is an option."""
    rows = _table_rows("### EvalScope `perf` arguments → assay")
    assert len(rows) >= 80  # EvalScope 1.14.1's parser has 84 option strings
    parser = argparse.ArgumentParser()
    add_flags(parser, PerfConfig)  # what `assay perf` parses
    options = {o for action in parser._actions for o in action.option_strings}
    for names, _what in rows:
        for name in re.findall(r"`(-[-\w]+)`", names):
            assert name in options, f"docs/perf.md lists {name}, which assay perf does not parse"


def test_every_evalscope_dataset_in_the_docs_table_is_placed():
    rows = _table_rows("### EvalScope `perf` datasets → assay")
    assert len(rows) >= 25
    for names, what in rows:
        for name in re.findall(r"`(\w+)`", names):
            assert (name in DATASETS) == what.startswith("same"), f"docs/perf.md: dataset {name}: {what}"


def test_llama_server_takes_the_request_parameters_and_the_prompt(tiny_server, tiny_model_dir, tmp_path):
    """A real engine answers every request that carries EvalScope's request parameters (none is refused as
    unknown or ill-typed), and --prompt sends the same prompt each time (the server counts the same tokens)."""
    from assay.store import read_records

    result = run_perf(PerfConfig(
        url=f"{tiny_server.base_url}/completions", model="tiny", parallel=[2], number=[4], max_tokens=8,
        prompt="The quick brown fox jumps over the lazy dog", stop=["\n\n\n"], stop_token_ids=[0], top_k=40,
        frequency_penalty=0.1, repetition_penalty=1.05, logprobs=True, n_choices=1,
        query_template='{"cache_prompt": false}', outputs_dir=str(tmp_path), quiet=True,
    ))
    records, _ = read_records(result.run_dir / "requests.jsonl")
    assert len(records) == 4 and all(r.error is None for r in records), [r.error for r in records]
    assert len({r.prompt_tokens for r in records}) == 1 and records[0].prompt_tokens >= 9
