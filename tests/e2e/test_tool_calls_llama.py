"""Tool calling end to end on a real llama-server with the scripted model.

The scripted model (``make_scripted_model``) answers any chat whose template listed tools with
``<think>…</think><tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>``. With
llama-server's own tool-call parser (its Jinja chat template supports tools) the call arrives as
``tool_calls``; with ``--skip-chat-parsing`` (a server without a tool parser) it stays in the text, where
eval reads it and says so. Both runs must judge the same BFCL entries the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assay import TaskConfig
from assay.engines.models import SCRIPTED_ALIAS, SCRIPTED_TOOL_CALL, make_scripted_model
from assay.eval import run_eval
from assay.eval.records import SampleJournal

pytestmark = [pytest.mark.engine, pytest.mark.slow]

WEATHER = {"name": "get_weather", "description": "The weather in a city now.",
           "parameters": {"type": "dict", "properties": {"city": {"type": "string", "description": "City."}},
                          "required": ["city"]}}
ENTRIES = {  # category: [(row, ground truth)], with the verdicts the script must get
    "simple": [
        ({"id": "simple_0", "question": [[{"role": "user", "content": "Weather in Paris?"}]], "function": [WEATHER]},
         [{"get_weather": {"city": ["Paris", "Paris, France"]}}]),
        ({"id": "simple_1", "question": [[{"role": "user", "content": "Weather in London?"}]], "function": [WEATHER]},
         [{"get_weather": {"city": ["London"]}}]),
    ],
    "irrelevance": [
        # The weather tool cannot answer it; the script calls it anyway. (llama-server's grammar only lets the
        # model call a declared function: an undeclared one fails the request.)
        ({"id": "irrelevance_0", "question": [[{"role": "user", "content": "Body mass of 70 kg?"}]],
          "function": [WEATHER]}, None),
    ],
}
EXPECTED = {"simple_0": "correct", "simple_1": "wrong", "irrelevance_0": "wrong"}


@pytest.fixture(scope="module")
def scripted_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_scripted_model(tmp_path_factory.mktemp("scripted"))


def _server(model: Path, folder: Path, *extra: str) -> Any:
    from assay.engines import LlamaServer

    return LlamaServer(model, alias=SCRIPTED_ALIAS, parallel=2, context_size=8192, threads=2, extra_args=list(extra),
                       log_path=folder / "llama-server.log")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bfcl")
    folder = root / "bfcl_v3"
    (folder / "possible_answer").mkdir(parents=True)
    for category, entries in ENTRIES.items():
        name = f"BFCL_v3_{category}.json"
        (folder / name).write_text("".join(json.dumps(row) + "\n" for row, _ in entries))
        if category != "irrelevance":
            (folder / "possible_answer" / name).write_text(
                "".join(json.dumps({"id": row["id"], "ground_truth": truth}) + "\n" for row, truth in entries))
    return root


def _run(url: str, data_dir: Path, out: Path, stream: bool) -> dict[str, Any]:
    result = run_eval(TaskConfig(
        model=SCRIPTED_ALIAS, api_url=url, datasets=["bfcl_v3"], dataset_hub="local", dataset_dir=str(data_dir),
        dataset_args={"bfcl_v3": {"subset_list": ["simple", "irrelevance"]}}, eval_batch_size=2,
        generation_config={"stream": stream, "max_tokens": 64, "temperature": 0}, work_dir=str(out), quiet=True,
    ))
    return {r.sample_id: r for r in SampleJournal(result.run_dir).read().values()}


@pytest.fixture(scope="module")
def parsing_server(scripted_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with _server(scripted_model, tmp_path_factory.mktemp("parsing"), "--jinja") as server:
        yield server


@pytest.mark.parametrize("stream", [True, False])
def test_llama_servers_tool_parser_gives_tool_calls_judged_by_ast(parsing_server, data_dir, tmp_path, stream):
    records = _run(parsing_server.base_url, data_dir, tmp_path / "out", stream)
    assert {k: r.verdict for k, r in records.items()} == EXPECTED, {k: r.method for k, r in records.items()}
    paris = records["simple_0"]
    assert paris.error is None and paris.finish_reason == "tool_calls"
    assert [(c["name"], json.loads(c["arguments"])) for c in paris.tool_calls or []] == [
        (SCRIPTED_TOOL_CALL["name"], SCRIPTED_TOOL_CALL["arguments"])]
    assert paris.method == "tool_calls/ast" and paris.reasoning  # the <think> part came apart
    assert "value_error:string" in records["simple_1"].method  # Paris is not London
    assert records["irrelevance_0"].method == "tool_calls/irrelevance:called"
    assert paris.ttft_s is not None  # a call-only answer still has its first token timed


def test_without_a_tool_parser_the_calls_are_read_from_the_text(scripted_model, data_dir, tmp_path):
    with _server(scripted_model, tmp_path, "--jinja", "--skip-chat-parsing") as server:
        records = _run(server.base_url, data_dir, tmp_path / "out", stream=True)
    assert {k: r.verdict for k, r in records.items()} == EXPECTED, {k: r.method for k, r in records.items()}
    paris = records["simple_0"]
    assert paris.tool_calls is None and "<tool_call>" in (paris.response or "")
    assert paris.method == "text/hermes/ast"  # flagged: read from the text, not sent as tool_calls
