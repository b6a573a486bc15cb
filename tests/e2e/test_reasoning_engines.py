"""The scripted model on a real llama-server: it writes its script, and assay times reasoning and answer apart.

The scripted model (``make_scripted_model``) is what the engine table's "reasoning fields" and "tool
calls" columns are probed with (tests/engines/test_capabilities.py); here its script is checked word for
word, greedy and sampled, and ``assay perf`` is run on its reasoning stream.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assay.engines.models import (
    SCRIPTED_ALIAS,
    SCRIPTED_ANSWER,
    SCRIPTED_REASONING,
    SCRIPTED_TOOL_CALL,
    make_scripted_model,
)
from assay.store import read_records
from tests.engines.probes import WEATHER_TOOL
from tests.helpers import run_assay

pytestmark = pytest.mark.engine
# <think>, 6 reasoning tokens, </think>, 7 answer tokens, and the EOS, which llama-server counts.
SCRIPT_TOKENS = 16


@pytest.fixture(scope="module")
def scripted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from assay.engines import LlamaServer

    folder = tmp_path_factory.mktemp("scripted")
    with LlamaServer(make_scripted_model(folder), alias=SCRIPTED_ALIAS, parallel=2, context_size=8192, threads=2,
                     log_path=folder / "llama-server.log") as server:
        yield server


def _chat(server: Any, **body: Any) -> dict[str, Any]:
    payload = {"model": SCRIPTED_ALIAS, "max_tokens": 64, **body}
    request = urllib.request.Request(f"{server.base_url}/chat/completions", json.dumps(payload).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


@pytest.mark.parametrize("sampling", [{"temperature": 0}, {"temperature": 1.0, "seed": 7}, {"temperature": 1.5, "seed": 11}])
def test_the_scripted_model_writes_its_script(scripted_server: Any, sampling: dict[str, Any]) -> None:
    reply = _chat(scripted_server, messages=[{"role": "user", "content": "What is 2 + 2?"}], **sampling)
    message = reply["choices"][0]["message"]
    assert message.get("reasoning_content") == SCRIPTED_REASONING, message
    assert message["content"] == SCRIPTED_ANSWER
    assert reply["choices"][0]["finish_reason"] == "stop"
    assert reply["usage"]["completion_tokens"] == SCRIPT_TOKENS

    called = _chat(scripted_server, messages=[{"role": "user", "content": "And the weather in Paris?"}],
                   tools=[WEATHER_TOOL], **sampling)
    message = called["choices"][0]["message"]
    assert message.get("reasoning_content") == SCRIPTED_REASONING, message
    assert not message.get("content")
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in message["tool_calls"]] == [
        (SCRIPTED_TOOL_CALL["name"], SCRIPTED_TOOL_CALL["arguments"])]
    assert called["choices"][0]["finish_reason"] == "tool_calls"


def _run_dir(stdout: str) -> Path:
    line = [entry for entry in stdout.splitlines() if entry.startswith("Run directory: ")][-1]
    return Path(line.split(": ", 1)[1])


def test_perf_times_reasoning_and_answer_apart(scripted_server: Any, tmp_path: Path) -> None:
    """On a real reasoning stream, TTFT is the first reasoning token; the answer's first token is timed apart.

    (Not strictly later: llama-server writes this script in a few milliseconds, and one network read can
    bring the whole stream, which gives both the same time mark.)
    """
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("What is 2 + 2?\n\nAdd two and two.\n")
    result = run_assay(
        "perf", "--url", f"{scripted_server.base_url}/chat/completions", "--model", SCRIPTED_ALIAS,
        "--dataset", "line_by_line", "--dataset-path", str(prompts), "--parallel", "2", "--number", "4",
        "--max-tokens", "64", "--stream", "--outputs-dir", str(tmp_path / "out"), "--quiet",
    )
    assert result.returncode == 0, result.stderr
    records, skipped = read_records(_run_dir(result.stdout) / "requests.jsonl")
    assert skipped == 0 and len(records) == 4
    for record in records:
        assert record.error is None, record.error
        assert record.finish_reason == "stop"
        assert record.completion_tokens == SCRIPT_TOKENS and record.token_source == "usage"
        assert record.first_token_ns is not None and record.first_reasoning_ns == record.first_token_ns
        assert record.first_answer_ns is not None and record.first_token_ns <= record.first_answer_ns <= record.end_ns
        assert record.output_chars == len(SCRIPTED_REASONING) + len(SCRIPTED_ANSWER)  # reasoning is output too
