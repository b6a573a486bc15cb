"""BFCL v3 on synthetic entries in the hub's layout: load, tools sent, calls read (server or text), AST verdicts.

The near misses are the ones a naive matcher gets wrong: ``True`` for an integer (``True == 1`` in Python),
``"10"`` for 10, ``10.0`` for an integer, an extra parameter, a missing required one, a parallel answer
with a call missing or twice; and the right answers a naive exact comparison misses: ``"Paris, France"``
for ``paris, france``, an int for a float, parallel calls in another order, a dotted name sent as
``math_factorial``.
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
from assay.eval.scoring.tool_calls import calls_in_text, check_ast, openai_tools
from tests.scripted_server import ScriptedServer, tool_call_reply


def _fn(name: str, properties: dict, required: list[str]) -> dict:
    return {"name": name, "description": f"{name} does it.",
            "parameters": {"type": "dict", "properties": properties, "required": required}}


TRIANGLE = _fn("calculate_triangle_area", {"base": {"type": "integer", "description": "Base."},
                                           "height": {"type": "integer", "description": "Height."},
                                           "unit": {"type": "string", "description": "Unit."}}, ["base", "height"])
FACTORIAL = _fn("math.factorial", {"number": {"type": "integer", "description": "n."}}, ["number"])
SPEED = _fn("physics.speed", {"distance": {"type": "float", "description": "m."},
                              "time": {"type": "float", "description": "s."}}, ["distance", "time"])
SUM = _fn("math.sum", {"numbers": {"type": "array", "items": {"type": "integer"}, "description": "Terms."}},
          ["numbers"])
WEATHER = _fn("get_weather", {"city": {"type": "string", "description": "City."},
                              "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Unit."}},
              ["city"])
TIME = _fn("get_time", {"timezone": {"type": "string", "description": "Zone."}}, ["timezone"])
PLAY = _fn("spotify.play", {"artist": {"type": "string", "description": "Artist."},
                            "duration": {"type": "integer", "description": "Minutes."}}, ["artist", "duration"])
BMI = _fn("determine_body_mass_index", {"weight": {"type": "float", "description": "kg."},
                                        "height": {"type": "float", "description": "m."}}, ["weight", "height"])


def _q(text: str) -> list[list[dict[str, str]]]:
    return [[{"role": "user", "content": text}]]


ENTRIES = {  # category: [(question row, ground truth or None)]
    "simple": [
        ({"id": "simple_0", "question": _q("Area of a triangle, base 10 and height 5?"), "function": [TRIANGLE]},
         [{"calculate_triangle_area": {"base": [10], "height": [5], "unit": ["units", ""]}}]),
        ({"id": "simple_1", "question": _q("Factorial of 5?"), "function": [FACTORIAL]},
         [{"math.factorial": {"number": [5]}}]),
        ({"id": "simple_2", "question": _q("Speed over 3 m in 2 s?"), "function": [SPEED]},
         [{"physics.speed": {"distance": [3.0], "time": [2.0]}}]),
        ({"id": "simple_3", "question": _q("Sum 1, 2 and 3."), "function": [SUM]},
         [{"math.sum": {"numbers": [[1, 2, 3]]}}]),
    ],
    "multiple": [
        ({"id": "multiple_0", "question": _q("Weather in Paris?"), "function": [TIME, WEATHER]},
         [{"get_weather": {"city": ["Paris", "paris, france"], "unit": ["", "celsius"]}}]),
    ],
    "parallel": [
        ({"id": "parallel_0", "question": _q("Play Taylor Swift for 20 minutes and Maroon 5 for 15."),
          "function": [PLAY]},
         [{"spotify.play": {"artist": ["Taylor Swift"], "duration": [20]}},
          {"spotify.play": {"artist": ["Maroon 5"], "duration": [15]}}]),
    ],
    "parallel_multiple": [
        ({"id": "parallel_multiple_0", "question": _q("Weather in Rome, and the time in UTC?"),
          "function": [WEATHER, TIME]},
         [{"get_weather": {"city": ["Rome"], "unit": [""]}}, {"get_time": {"timezone": ["UTC"]}}]),
    ],
    "irrelevance": [
        ({"id": "irrelevance_0", "question": _q("Area of a circle of radius 2?"), "function": [BMI]}, None),
    ],
}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The hub's layout: BFCL_v3_<category>.json (JSON lines) and possible_answer/ with the same names."""
    folder = tmp_path / "bfcl_v3"
    (folder / "possible_answer").mkdir(parents=True)
    for category, entries in ENTRIES.items():
        name = f"BFCL_v3_{category}.json"
        (folder / name).write_text("".join(json.dumps(row) + "\n" for row, _ in entries))
        if category != "irrelevance":  # as on the hub: irrelevance has no possible answers
            (folder / "possible_answer" / name).write_text(
                "".join(json.dumps({"id": row["id"], "ground_truth": truth}) + "\n" for row, truth in entries))
    return tmp_path


def _samples(data_dir: Path, **args):
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["bfcl_v3"], dataset_hub="local",
                        dataset_dir=str(data_dir), **args)
    return {s.id: s for s in load_samples(config)["bfcl_v3"]}


def _judge(sample, tool_calls=None, text="", finish_reason="tool_calls"):
    scorer = get_benchmark("bfcl_v3").scorer
    return asyncio.run(scorer.score_calls(sample, tool_calls, text, finish_reason=finish_reason, judges=Judges()))


def _call(name: str, **arguments) -> dict:
    return {"id": "c", "name": name, "arguments": json.dumps(arguments)}


def test_loads_every_category_with_its_answers_and_tools(data_dir):
    samples = _samples(data_dir)
    assert sorted(samples) == sorted(row["id"] for entries in ENTRIES.values() for row, _ in entries)
    assert samples["simple_1"].subset == "simple" and samples["parallel_0"].subset == "parallel"
    assert samples["simple_0"].messages == [{"role": "user", "content": "Area of a triangle, base 10 and height 5?"}]
    assert samples["irrelevance_0"].gold == "no call" and samples["irrelevance_0"].meta["ground_truth"] == []
    tools = samples["simple_1"].meta["request"]["tools"]
    # BFCL's conversion for function-calling models: dots become underscores, "dict" an object.
    assert tools == [{"type": "function", "function": {
        "name": "math_factorial", "description": "math.factorial does it.",
        "parameters": {"type": "object", "properties": {"number": {"type": "integer", "description": "n."}},
                       "required": ["number"]}}}]
    speed = samples["simple_2"].meta["request"]["tools"][0]["function"]["parameters"]["properties"]["distance"]
    assert speed["type"] == "number" and speed["format"] == "float"
    assert openai_tools([SUM])[0]["function"]["parameters"]["properties"]["numbers"]["items"] == {"type": "integer"}
    only = _samples(data_dir, dataset_args={"bfcl_v3": {"subset_list": ["parallel"]}})
    assert list(only) == ["parallel_0"]


def test_the_v4_file_names_are_read_too(tmp_path):
    folder = tmp_path / "bfcl_v3"
    (folder / "possible_answer").mkdir(parents=True)
    row, truth = ENTRIES["simple"][1]
    (folder / "BFCL_v4_simple_python.json").write_text(json.dumps(row) + "\n")
    (folder / "possible_answer" / "BFCL_v4_simple_python.json").write_text(
        json.dumps({"id": row["id"], "ground_truth": truth}) + "\n")
    samples = _samples(tmp_path, dataset_args={"bfcl_v3": {"subset_list": ["simple"]}})
    assert samples["simple_1"].meta["ground_truth"] == truth


def test_one_file_of_joined_rows_is_split_by_category(tmp_path):
    """``local_path`` to one JSONL whose rows hold their ground_truth: each category gets its own rows."""
    path = tmp_path / "bfcl.jsonl"
    path.write_text("".join(json.dumps({**row, "ground_truth": truth}) + "\n"
                            for entries in ENTRIES.values() for row, truth in entries))
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["bfcl_v3"], dataset_hub="local",
                        dataset_args={"bfcl_v3": {"local_path": str(path)}})
    samples = load_samples(config)["bfcl_v3"]
    assert sorted((s.subset, s.id) for s in samples) == sorted(
        (category, row["id"]) for category, entries in ENTRIES.items() for row, _ in entries)


def test_a_question_without_its_possible_answer_is_refused(data_dir):
    """Never scored against nothing: a missing answer file or answer is one clear line."""
    from assay.errors import DatasetError

    answers = data_dir / "bfcl_v3" / "possible_answer" / "BFCL_v3_simple.json"
    answers.write_text(answers.read_text().splitlines()[0] + "\n")  # simple_1.. lose their answers
    with pytest.raises(DatasetError, match=r"3 simple question\(s\) have no possible answer .*first: simple_1"):
        _samples(data_dir)
    answers.unlink()
    with pytest.raises(DatasetError, match="no possible_answer file for simple"):
        _samples(data_dir)


@pytest.mark.parametrize(("sample_id", "calls", "verdict"), [
    ("simple_0", [_call("calculate_triangle_area", base=10, height=5)], "correct"),  # optional unit left out
    ("simple_0", [_call("calculate_triangle_area", base=10, height=5, unit="Units")], "correct"),  # case-free
    ("simple_0", [_call("calculate_triangle_area", base=True, height=5)], "wrong"),  # True == 1 is not an int
    ("simple_0", [_call("calculate_triangle_area", base="10", height=5)], "wrong"),  # a string for an integer
    ("simple_0", [_call("calculate_triangle_area", base=10.0, height=5)], "wrong"),  # a float for an integer
    ("simple_0", [_call("calculate_triangle_area", base=10, height=5, color="red")], "wrong"),  # extra param
    ("simple_0", [_call("calculate_triangle_area", base=10)], "wrong"),  # missing required
    ("simple_0", [_call("calculate_triangle_area", base=10, height=6)], "wrong"),  # wrong value
    ("simple_0", [_call("triangle_area", base=10, height=5)], "wrong"),  # wrong function
    ("simple_0", [_call("calculate_triangle_area", base=10, height=5)] * 2, "wrong"),  # one call expected
    ("simple_1", [_call("math_factorial", number=5)], "correct"),  # the name as sent: dots are underscores
    ("simple_1", [_call("math.factorial", number=5)], "correct"),
    ("simple_2", [_call("physics_speed", distance=3, time=2)], "correct"),  # int → float, BFCL's one coercion
    ("simple_2", [_call("physics_speed", distance="3", time=2)], "wrong"),
    ("simple_3", [_call("math_sum", numbers=[1, 2, 3])], "correct"),
    ("simple_3", [_call("math_sum", numbers=[1, 2])], "wrong"),
    ("simple_3", [_call("math_sum", numbers=["1", "2", "3"])], "wrong"),  # items of the wrong type
    ("multiple_0", [_call("get_weather", city="Paris, France")], "correct"),  # standardised: "parisfrance"
    ("multiple_0", [_call("get_weather", city="Paris", unit="fahrenheit")], "wrong"),  # not an allowed value
    ("multiple_0", [_call("get_time", timezone="CET")], "wrong"),  # the other function
    ("parallel_0", [_call("spotify_play", artist="Maroon 5", duration=15),
                    _call("spotify_play", artist="Taylor Swift", duration=20)], "correct"),  # any order
    ("parallel_0", [_call("spotify_play", artist="Maroon 5", duration=15)], "wrong"),  # a call missing
    ("parallel_0", [_call("spotify_play", artist="Maroon 5", duration=15)] * 2, "wrong"),  # one answer twice
    ("parallel_multiple_0", [_call("get_time", timezone="utc"), _call("get_weather", city="rome")], "correct"),
    ("parallel_multiple_0", [_call("get_weather", city="Rome", unit="celsius"), _call("get_time", timezone="UTC")],
     "wrong"),  # unit must be left out: only "" is allowed
    ("irrelevance_0", [_call("determine_body_mass_index", weight=70, height=1.8)], "wrong"),
    ("irrelevance_0", [], "correct"),
])
def test_ast_verdicts_on_server_tool_calls(data_dir, sample_id, calls, verdict):
    judged = _judge(_samples(data_dir)[sample_id], tool_calls=calls or None, text="" if calls else "I cannot.")
    assert judged.verdict == verdict, judged
    if calls:
        assert judged.method.startswith("tool_calls/")


def test_reasons_name_what_failed(data_dir):
    samples = _samples(data_dir)
    assert "missing_required" in _judge(samples["simple_0"], [_call("calculate_triangle_area", base=10)]).method
    extra = _judge(samples["simple_0"], [_call("calculate_triangle_area", base=10, height=5, color="red")])
    assert "unexpected_param: 'color'" in extra.method
    assert "type_error" in _judge(samples["simple_0"], [_call("calculate_triangle_area", base="10", height=5)]).method
    assert "wrong_count" in _judge(samples["parallel_0"], [_call("spotify_play", artist="Maroon 5",
                                                                 duration=15)]).method
    broken = _judge(samples["simple_1"], [{"id": "c", "name": "math_factorial", "arguments": '{"number": 5'}])
    assert broken.verdict == "wrong" and "decoder_failed" in broken.method


@pytest.mark.parametrize(("sample_id", "text", "verdict", "how"), [
    ("simple_0", '<think>base 10</think>\n<tool_call>\n{"name": "calculate_triangle_area", "arguments": '
                 '{"base": 10, "height": 5}}\n</tool_call>', "correct", "text/hermes"),
    ("simple_1", "[math.factorial(number=5)]", "correct", "text/python"),  # BFCL's prompt-mode format
    ("simple_1", '```json\n{"name": "math_factorial", "arguments": {"number": 5}}\n```', "correct", "text/json"),
    ("simple_1", '<function=math_factorial>{"number": 6}</function>', "wrong", "text/function-tag"),
    ("parallel_0", '[spotify.play(artist="Taylor Swift", duration=20), spotify.play(artist="Maroon 5", duration=15)]',
     "correct", "text/python"),
    ("simple_1", "The factorial of 5 is 120.", "wrong", "none"),  # an answer, not a call
    ("irrelevance_0", "None of the functions computes a circle's area.", "correct", "none"),
])
def test_calls_written_in_the_text_are_read_and_flagged(data_dir, sample_id, text, verdict, how):
    from assay.eval.scoring import split_reasoning

    _, answer, _ = split_reasoning(text, None)
    judged = _judge(_samples(data_dir)[sample_id], None, answer, finish_reason="stop")
    assert judged.verdict == verdict, judged
    assert judged.method.startswith(how)


def test_gpt_oss_harmony_calls_left_in_the_text_are_read_through_judging(data_dir):
    """Harmony's call sits in the commentary channel (reasoning to the answer extraction): judging reads the
    whole response for it, as a live run would."""
    from assay.eval.judging import judge_record, sample_of
    from assay.eval.records import SampleRecord

    sample = _samples(data_dir)["simple_1"]
    text = ("<|channel|>analysis<|message|>Use the tool.<|end|><|start|>assistant<|channel|>commentary "
            'to=functions.math_factorial <|constrain|>json<|message|>{"number": 5}<|call|>')
    record = SampleRecord(key="k", benchmark="bfcl_v3", subset="simple", sample_id=sample.id, repeat=0,
                          messages=sample.messages, gold=sample.gold, meta=sample.meta, response=text,
                          finish_reason="stop")
    judged = asyncio.run(judge_record(get_benchmark("bfcl_v3"), sample_of(record), record, Judges()))
    assert (judged.verdict, judged.method) == ("correct", "text/harmony/ast")
    assert judged.reasoning and "Use the tool." in judged.reasoning


def test_python_calls_are_literals_never_code():
    assert calls_in_text("[os.system(command=__import__('os').getcwd())]") == ([], "none")
    assert calls_in_text("[f(1, 2)]") == ([], "none")  # positional arguments: not BFCL's format


def test_cut_off_without_a_call_is_truncated(data_dir):
    samples = _samples(data_dir)
    assert _judge(samples["simple_0"], None, "Let me think about the", finish_reason="length").verdict == "truncated"
    assert _judge(samples["irrelevance_0"], None, "Hmm", finish_reason="length").verdict == "truncated"


def test_check_ast_on_bfcl_answers_with_variables():
    """A string in the answer of an integer parameter is a variable name: the model may pass it as a string."""
    from assay.eval.scoring.tool_calls import Call

    answers = [{"calculate_triangle_area": {"base": ["b"], "height": [5], "unit": [""]}}]
    assert check_ast([TRIANGLE], [Call("calculate_triangle_area", {"base": "b", "height": 5}, "")], answers,
                     "simple") is None
    assert check_ast([TRIANGLE], [Call("calculate_triangle_area", {"base": "c", "height": 5}, "")], answers,
                     "simple") is not None


def test_a_tuple_in_python_syntax_matches_a_tuple_parameter():
    point = _fn("geo.point", {"xy": {"type": "tuple", "items": {"type": "integer"}, "description": "x, y."}}, ["xy"])
    calls, how = calls_in_text("[geo.point(xy=(1, 2))]")
    assert how == "python"
    assert check_ast([point], calls, [{"geo.point": {"xy": [[1, 2]]}}], "simple") is None
    assert check_ast([point], calls, [{"geo.point": {"xy": [[2, 1]]}}], "simple") is not None  # order counts


@pytest.mark.parametrize("stream", [False, True])
def test_a_run_sends_the_tools_and_judges_the_tool_calls_the_server_sent(data_dir, tmp_path, stream):
    """A real HTTP server answering with tool_calls (one JSON message, or streamed deltas joined by index)."""
    from assay.eval import run_eval
    from assay.eval.records import SampleJournal

    replies = {
        "Area of a triangle, base 10 and height 5?": [("calculate_triangle_area", '{"base": 10, "height": 5}')],
        "Factorial of 5?": [("math_factorial", '{"number": "5"}')],  # a string for an integer: wrong
        "Play Taylor Swift for 20 minutes and Maroon 5 for 15.": [
            ("spotify_play", '{"artist": "Maroon 5", "duration": 15}'),
            ("spotify_play", '{"artist": "Taylor Swift", "duration": 20}')],
        "Area of a circle of radius 2?": [],
    }

    def behaviour(question, attempt):
        return tool_call_reply(replies[question], stream=stream, content=None if replies[question] else "I cannot.")

    with ScriptedServer(behaviour) as server:
        result = run_eval(TaskConfig(
            model="m", api_url=server.url, datasets=["bfcl_v3"], dataset_hub="local", dataset_dir=str(data_dir),
            dataset_args={"bfcl_v3": {"subset_list": ["simple", "parallel", "irrelevance"]}}, limit=2,
            generation_config={"stream": stream, "max_tokens": 64}, work_dir=str(tmp_path / "out"), quiet=True,
        ))
        bodies = dict(server.bodies)
    assert [t["function"]["name"] for t in bodies["Factorial of 5?"]["tools"]] == ["math_factorial"]
    assert bodies["Factorial of 5?"]["stream"] is stream
    records = {r.sample_id: r for r in SampleJournal(result.run_dir).read().values()}
    assert {k: r.verdict for k, r in records.items()} == {
        "simple_0": "correct", "simple_1": "wrong", "parallel_0": "correct", "irrelevance_0": "correct"}
    assert records["simple_0"].tool_calls == [
        {"id": "call_0", "name": "calculate_triangle_area", "arguments": '{"base": 10, "height": 5}'}]
    assert records["simple_0"].method == "tool_calls/ast" and records["irrelevance_0"].tool_calls is None
    assert records["parallel_0"].finish_reason == "tool_calls"
    assert result.reports["bfcl_v3"]["subsets"]["simple"]["AveragePass@1"] == 0.5
    # A rescore judges the stored calls again (they are kept in the records): the same verdicts.
    from assay.eval import rescore

    again = rescore(result.run_dir)
    rescored = {r.sample_id: r for r in SampleJournal(result.run_dir).read().values()}
    assert {k: (r.verdict, r.method) for k, r in rescored.items()} == {
        k: (r.verdict, r.method) for k, r in records.items()}
    assert again.reports["bfcl_v3"]["overall"]["AveragePass@1"] == result.reports["bfcl_v3"]["overall"]["AveragePass@1"]


def test_hub_path_reaches_the_download_call(tmp_path, monkeypatch):
    """Offline here: the hub's question file is asked for by name, and the failure is one line."""
    from assay.errors import DatasetError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    config = TaskConfig(model="m", api_url="http://127.0.0.1:1/v1", datasets=["bfcl_v3"], limit=1)
    with pytest.raises(DatasetError) as info:
        load_samples(config)
    message = str(info.value)
    assert "gorilla-llm/Berkeley-Function-Calling-Leaderboard" in message and "\n" not in message
