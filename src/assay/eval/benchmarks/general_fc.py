"""general_fc: your own function-calling data in EvalScope's ``general_fc`` format.

One JSON object a line: ``messages`` (the chat so far), ``tools`` (OpenAI tools: ``{"type": "function",
"function": {name, description, parameters}}``) and ``should_call_tool`` (the label: should the reply
call a tool). Either field may be JSON text. As EvalScope judges it (after MoonshotAI's K2 Vendor
Verifier): a sample is right when it calls a tool with arguments that fit that tool's JSON Schema while
it should, or calls none while it should not. ``tool_call_f1`` is the F1 of "called" against
``should_call_tool`` over the samples (EvalScope's primary score), ``schema_accuracy`` the share of the
answers that called a tool whose calls all fit their schemas, ``tool_call_rate`` the share that called.

EvalScope counts a call only when ``finish_reason`` is ``tool_calls``; assay counts the calls the server
parsed and, for a server without a tool parser, the ones written in the text (the method says which).
"""

from __future__ import annotations

import json
from typing import Any

from assay.eval.benchmarks.base import Benchmark, DataSource, Row, Sample, Verdict
from assay.eval.scorers import ToolCallScorer
from assay.eval.scoring.tool_calls import json_field


def _label(value: Any) -> bool:
    """``should_call_tool``: a JSON boolean, or its text."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


class FunctionCallPrompt:
    """The row's messages as they are, its tools on the request."""

    template = "{question}"

    def to_sample(self, row: Row, index: int, subset: str, template: str | None, few_shot: list[Row],
                  style: str = "default") -> Sample:
        messages = [dict(m) for m in json_field(row["messages"])]
        tools = json_field(row.get("tools") or [])
        should_call = _label(row.get("should_call_tool", (row.get("metadata") or {}).get("should_call_tool")))
        if template and messages and isinstance(messages[-1].get("content"), str):
            messages[-1]["content"] = template.format(question=messages[-1]["content"])
        question = next((str(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
        request: dict[str, Any] = {"tools": tools} if tools else {}
        if row.get("tool_choice"):
            request["tool_choice"] = row["tool_choice"]
        return Sample(
            id=str(row.get("id", f"{subset}/{index}")), subset=subset, messages=messages, question=question,
            gold="call" if should_call else "no call",
            meta={"should_call_tool": should_call, "tools": tools, "request": request},
        )

    def for_repeat(self, sample: Sample, repeat: int, seed: int | None) -> Sample:
        return sample


def judge_calls(sample: Sample, calls: list[Any], where: str, finish_reason: str | None) -> Verdict:
    """Right when it calls (with schema-valid arguments) exactly when it should."""
    from assay.eval.scoring.tool_calls import schema_problem

    should = bool(sample.meta["should_call_tool"])
    called = bool(calls)
    problem = schema_problem(calls, sample.meta["tools"]) if called else None
    valid = called and problem is None
    # F1 of "called" against the label as a weighted mean: a true positive scores 1 with weight 2, a false
    # positive or a false negative 0 with weight 1, a true negative has no weight: sum = 2TP / (2TP + FP + FN).
    f1, f1_weight = (1.0, 2.0) if called and should else (0.0, 1.0 if called != should else 0.0)
    scores = {"tool_call_f1": f1, "tool_call_f1__weight": f1_weight,
              "schema_accuracy": float(valid), "schema_accuracy__weight": float(called),
              "tool_call_rate": float(called)}
    shown = json.dumps([call.shown() for call in calls]) if calls else None
    if not called and finish_reason == "length":  # cut off before it called or answered: not scored
        return Verdict("truncated", 0.0, None, "none/cut-off", scores=scores)
    right = valid if should else not called
    method = f"{where}/schema" + (f"/{problem}"[:200] if problem else "") if called else "none"
    return Verdict("correct" if right else "wrong", float(right), shown, method, scores=scores)


BENCHMARK = Benchmark(
    name="general_fc",
    title="General function calling (your data)",
    description="Your own function-calling data in EvalScope's general_fc format: call or not, and schema-valid calls",
    data=DataSource(
        hf_id="-", ms_id="evalscope/GeneralFunctionCall-Test", split="test",
        local_files=("{split}.jsonl", "{split}.json", "*.jsonl"),
        files_doc="`local_path`: a JSONL file (`messages`, `tools`, `should_call_tool` a line), or a folder with "
                  "`test.jsonl`",
    ),
    prompt=FunctionCallPrompt(),
    scorer=ToolCallScorer(judge=judge_calls, judged_by="a tool call exactly when `should_call_tool`, its arguments "
                                                       "valid against the tool's JSON Schema"),
    metrics=("AveragePass@1", "tool_call_f1", "schema_accuracy", "tool_call_rate"),
)
