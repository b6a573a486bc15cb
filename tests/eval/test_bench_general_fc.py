"""general_fc (EvalScope's format for your own function-calling data): load, request, verdicts and its F1.

Known answers: TP, FP, FN and TN rows with a schema-valid, a schema-invalid and no call, so the
tool-call F1 (2TP / (2TP + FP + FN)), the schema accuracy and the pass rate are exactly known.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from assay import TaskConfig
from assay.eval import load_samples
from assay.eval.benchmarks import get_benchmark
from assay.eval.judge import Judges
from tests.scripted_server import ScriptedServer, tool_call_reply

CONVERT = {"type": "function", "function": {
    "name": "convert_temperature", "description": "Temperature conversion",
    "parameters": {"type": "object", "properties": {"celsius": {"type": "number", "description": "Celsius"}},
                   "required": ["celsius"], "additionalProperties": False}}}


def _row(question: str, should: bool, **extra) -> dict:
    return {"messages": [{"role": "system", "content": "You are an assistant"}, {"role": "user", "content": question}],
            "tools": [CONVERT], "should_call_tool": should, **extra}


ROWS = [
    _row("Convert 37 C to F", True),  # called, valid: TP, passed
    _row("Convert 20 C to F", True),  # called with a string: TP for F1, schema-invalid, not passed
    _row("Convert 10 C to F", True),  # not called: FN
    _row("Nice weather today", False),  # called anyway: FP
    _row("Hello", False),  # not called: TN, passed
    # The fields as JSON text, as EvalScope also accepts them.
    {"messages": json.dumps([{"role": "user", "content": "Convert 0 C to F"}]), "tools": json.dumps([CONVERT]),
     "should_call_tool": "true"},
]
REPLIES = {
    "Convert 37 C to F": [("convert_temperature", '{"celsius": 37}')],
    "Convert 20 C to F": [("convert_temperature", '{"celsius": "20"}')],
    "Convert 10 C to F": [],
    "Nice weather today": [("convert_temperature", '{"celsius": 25}')],
    "Hello": [],
    "Convert 0 C to F": [("convert_temperature", '{"celsius": 0, "kelvin": 273}')],  # additionalProperties: false
}


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "fc.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in ROWS))
    return path


def _samples(data_file: Path):
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["general_fc"], dataset_hub="local",
                        dataset_args={"general_fc": {"local_path": str(data_file)}})
    return load_samples(config)["general_fc"]


def test_loads_messages_tools_and_labels(data_file):
    samples = _samples(data_file)
    assert [s.gold for s in samples] == ["call", "call", "call", "no call", "no call", "call"]
    assert samples[0].messages[0] == {"role": "system", "content": "You are an assistant"}
    assert samples[0].meta["request"] == {"tools": [CONVERT]}
    assert samples[5].messages == [{"role": "user", "content": "Convert 0 C to F"}]
    assert samples[5].meta["should_call_tool"] is True and samples[5].meta["tools"] == [CONVERT]


def _judge(sample, calls, text="", finish_reason="tool_calls"):
    sent = [{"id": "c", "name": n, "arguments": a} for n, a in calls] or None
    return asyncio.run(get_benchmark("general_fc").scorer.score_calls(
        sample, sent, text, finish_reason=finish_reason if calls else "stop", judges=Judges()))


def test_verdicts_and_reasons(data_file):
    samples = _samples(data_file)
    verdicts = [_judge(s, REPLIES[s.question]) for s in samples]
    assert [v.verdict for v in verdicts] == ["correct", "wrong", "wrong", "wrong", "correct", "wrong"]
    assert verdicts[0].method == "tool_calls/schema"
    assert "is not of type 'number'" in verdicts[1].method  # jsonschema's reason, as EvalScope gives it
    assert "Additional properties" in verdicts[5].method
    assert verdicts[2].method == "none" and verdicts[2].extracted is None
    # A call written in the text by a server without a tool parser counts, flagged.
    text = _judge(samples[0], [], '<tool_call>{"name": "convert_temperature", "arguments": {"celsius": 37}}</tool_call>')
    assert text.verdict == "correct" and text.method == "text/hermes/schema"
    unknown = _judge(samples[0], [("convert", '{"celsius": 37}')])
    assert unknown.verdict == "wrong" and "no tool named 'convert'" in unknown.method


def test_a_run_reports_evalscopes_f1_and_schema_accuracy(data_file, tmp_path):
    from assay.eval import run_eval

    def behaviour(question, attempt):
        calls = REPLIES[question]
        return tool_call_reply(calls, stream=True, content=None if calls else "Sure.")

    with ScriptedServer(behaviour) as server:
        result = run_eval(TaskConfig(
            model="m", api_url=server.url, datasets=["general_fc"], dataset_hub="local",
            dataset_args={"general_fc": {"local_path": str(data_file)}}, generation_config={"stream": True},
            work_dir=str(tmp_path / "out"), quiet=True,
        ))
        bodies = dict(server.bodies)
    assert bodies["Hello"]["tools"] == [CONVERT]
    overall = result.reports["general_fc"]["overall"]
    # TP 3 (37, 20, 0), FP 1, FN 1, TN 1: F1 = 2*3 / (2*3 + 1 + 1) = 0.75 (EvalScope's precision 3/4, recall 3/4).
    assert overall["tool_call_f1"] == pytest.approx(0.75)
    assert overall["schema_accuracy"] == pytest.approx(2 / 4)  # 37 and 25 fit; "20" and the extra key do not
    assert overall["tool_call_rate"] == pytest.approx(4 / 6)
    assert overall["AveragePass@1"] == pytest.approx(2 / 6)


def test_a_function_calling_history_is_sent_and_kept_as_it_is(tmp_path):
    """Assistant tool_calls (content null) and tool messages in the chat: sent unchanged, stored, read back."""
    from assay.eval import run_eval
    from assay.eval.records import SampleJournal

    history = [
        {"role": "user", "content": "Convert 37 C to F"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_0", "type": "function",
             "function": {"name": "convert_temperature", "arguments": '{"celsius": 37}'}}]},
        {"role": "tool", "tool_call_id": "call_0", "content": "98.6"},
        {"role": "user", "content": "Thanks! And what did it say?"},
    ]
    path = tmp_path / "fc.jsonl"
    path.write_text(json.dumps({"messages": history, "tools": [CONVERT], "should_call_tool": False}) + "\n")

    def behaviour(question, attempt):
        return tool_call_reply([], stream=False, content="It said 98.6 F.")

    with ScriptedServer(behaviour) as server:
        result = run_eval(TaskConfig(
            model="m", api_url=server.url, datasets=["general_fc"], dataset_hub="local",
            dataset_args={"general_fc": {"local_path": str(path)}}, work_dir=str(tmp_path / "out"), quiet=True,
        ))
        sent = server.bodies["Thanks! And what did it say?"]["messages"]
    assert sent == history
    (record,) = SampleJournal(result.run_dir).read().values()
    assert record.messages == history and record.verdict == "correct" and record.method == "none"
