"""general_arena: pairwise judging against a baseline, in both orders, with a scripted judge (a real HTTP server)."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from assay import TaskConfig
from assay.eval import run_eval
from assay.eval.benchmarks.general_arena import parse_label
from assay.eval.records import SampleJournal
from tests.scripted_server import ScriptedServer

ROWS = [
    {"question": "Explain TCP slow start.", "baseline": "It is a thing."},
    {"question": "Write a haiku about rain.", "baseline": "Rain falls on the roof / soft drums in the quiet night "
                                                          "/ the garden drinks deep"},
    {"query": "Name a prime number.", "response": "7"},
    {"question": "Summarise the plot of Hamlet.", "baseline": "A prince avenges his father."},
]
MODEL_SAYS = {
    "Explain TCP slow start.": "TCP slow start grows the congestion window exponentially until a threshold.",
    "Write a haiku about rain.": "rain",
    "Name a prime number.": "2",
    "Summarise the plot of Hamlet.": "Hamlet feigns madness to avenge his father.",
}


def _label(first, second, model_answer):
    """A judge that prefers the longer answer, except it always says A for the prime question (position bias)."""
    if "Name a prime number." in first:
        return "[[A>B]]"
    if "Summarise" in first:
        return "I cannot decide."
    mine_first = f"Assistant A's Answer|>\n{model_answer}\n" in first
    longer_is_mine = len(model_answer) > len(second)
    return "[[A>>B]]" if mine_first == longer_is_mine else "[[B>A]]"


def test_labels_are_parsed_strictly():
    assert parse_label("A is better. [[A>B]]") == "A>B"
    assert parse_label("[[B>A]] at first, but finally [[A=B]]") == "A=B"
    assert parse_label("A>B") is None and parse_label("[[A>C]]") is None


def test_judged_in_both_orders_against_the_baseline(tmp_path):
    path = tmp_path / "arena.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))

    def model(question, attempt):
        return web.json_response({"choices": [{"message": {"content": MODEL_SAYS[question]}, "finish_reason": "stop"}]})

    def judge(prompt, attempt):
        question = prompt.split("<|User Prompt|>\n")[1].split("\n")[0]
        baseline = next(r.get("baseline") or r.get("response") for r in ROWS
                        if (r.get("question") or r.get("query")) == question)
        return web.json_response({"choices": [{"message": {
            "content": _label(prompt, baseline, MODEL_SAYS[question])}}]})

    with ScriptedServer(model) as served, ScriptedServer(judge) as judged:
        result = run_eval(TaskConfig(
            model="m", api_url=served.url, datasets=["general_arena"],
            dataset_args={"general_arena": {"local_path": str(path)}},
            judge_model_args={"api_url": judged.url, "model_id": "judge"}, work_dir=str(tmp_path / "out"), quiet=True,
        ))
        assert sum(judged.attempts.values()) == 8  # two orders per prompt
    records = {r.messages[0]["content"]: r for r in SampleJournal(result.run_dir).read().values()}
    assert records["Explain TCP slow start."].score == 1.0  # longer than the baseline: wins in both orders
    assert records["Write a haiku about rain."].score == 0.0  # shorter: loses in both orders
    # The judge always favours position A: a win then a loss, a tie overall, not a win.
    biased = records["Name a prime number."]
    assert biased.score == 0.5 and biased.verdict == "wrong" and biased.method == "pairwise/A>B/A>B"
    undecided = records["Summarise the plot of Hamlet."]
    assert undecided.verdict == "error" and undecided.method == "judge-unparsable"  # left out, never a loss
    overall = result.reports["general_arena"]["overall"]
    assert overall["AveragePass@1"] == pytest.approx(0.5)  # (1 + 0 + 0.5) / 3
    assert overall["wins"] == pytest.approx(1 / 3) and overall["losses"] == pytest.approx(1 / 3)
