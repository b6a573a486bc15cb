"""Multi-turn sessions (``--multi-turn``) against the simulator, which keeps every message it received.

What a session must do, checked on what the server saw: turn k carries turns 0..k-1 and, between them,
exactly the answers the server gave to them (not a dataset's reference answers); turn k is sent only after
turn k-1's answer ended (plus ``--think-time-s``); a failed turn ends its session; concurrency and rate count
sessions; and ``--workers`` never splits a session.
"""

from __future__ import annotations

import json
from itertools import pairwise

import pytest

from assay import PerfConfig, run_perf
from assay.engines.sim import SimServer, SimSettings
from assay.engines.sim.model import Script
from assay.errors import ConfigError
from assay.perf.stored import load_summary
from assay.store import read_records
from assay.store.rundir import read_run

CHAT = "/chat/completions"


def _run(sim, tmp_path, **kwargs):
    config = dict(url=f"{sim.base_url}{CHAT}", model="sim", tokenizer_path="o200k_base", outputs_dir=str(tmp_path / "runs"),
                  quiet=True, html=False, min_prompt_length=6, max_prompt_length=12, test_connection=False)
    config.update(kwargs)
    result = run_perf(PerfConfig(**config))
    records, _ = read_records(result.run_dir / "requests.jsonl")
    return result, sorted(records, key=lambda r: r.index)


def _answer(settings: SimSettings, served: dict) -> str:
    """What the simulator streamed for a request: its script's answer text, token by token."""
    return Script(settings, True, served["params"]["max_tokens"]).text(0, served["completion_tokens"])[0]


def _check_conversations(settings, served, records):
    """Every request the simulator served extends an earlier one by that request's exact answer and one new turn."""
    by_messages = {json.dumps(s["messages"]): s for s in served}
    turns_of = {}
    for s in sorted(served, key=lambda s: len(s["messages"])):
        messages = s["messages"]
        answers = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
        if not answers:
            turns_of[json.dumps(messages)] = 0
            continue
        last = answers[-1]
        previous = by_messages.get(json.dumps(messages[:last]))
        assert previous is not None, f"turn with {len(messages)} messages extends no request the server saw"
        assert messages[last] == {"role": "assistant", "content": _answer(settings, previous)}
        assert last < len(messages) - 1 and messages[-1]["role"] == "user"
        # sent only once the answer it carries had ended (its last chunk is stamped just before its write)
        assert s["arrival_ns"] > previous["chunk_ns"][-1]
        turns_of[json.dumps(messages)] = turns_of[json.dumps(messages[:last])] + 1
    # the records say the same turn as the server saw: the number of answers the conversation holds
    assert sorted(r.turn for r in records) == sorted(turns_of.values())


def test_each_turn_carries_the_earlier_turns_and_the_servers_own_answers(tmp_path):
    settings = SimSettings(ttft_ms=5, tpot_ms=1)
    with SimServer(settings) as sim:
        result, records = _run(sim, tmp_path, dataset="random_multi_turn", min_turns=2, max_turns=4, min_tokens=2,
                               max_tokens=9, parallel=[3], number=[7], html=True)
        served = sim.records()
    assert all(r.error is None for r in records)
    _check_conversations(settings, served, records)
    # answers differ in length from turn to turn (--min-tokens..--max-tokens, each exact)
    assert len({s["completion_tokens"] for s in served}) > 2
    assert all(s["completion_tokens"] == s["params"]["max_tokens"] == s["params"]["min_tokens"] for s in served)
    sessions = {}
    for r in records:
        sessions.setdefault(r.session, []).append(r)
    assert sorted(sessions) == list(range(7))  # --number counts sessions
    for own in sessions.values():
        assert [r.turn for r in own] == list(range(own[0].session_turns))
        assert 2 <= own[0].session_turns <= 4
        assert [r.index for r in own] == list(range(own[0].index, own[0].index + len(own)))
        assert all(a.end_ns < b.sent_ns for a, b in pairwise(own))
    summary = result.summary["points"][0]["sessions"]
    assert summary["sessions"] == summary["completed"] == 7 and summary["ended_by_failure"] == 0
    assert [t["turn"] for t in summary["by_turn"]] == list(range(max(r.turn for r in records) + 1))
    assert summary["by_turn"][0]["requests"] == 7
    assert summary["turns_per_session"] == pytest.approx(len(records) / 7)
    # the prompt grows turn by turn (the server counted the whole conversation)
    prompt_means = [t["prompt_tokens_mean"] for t in summary["by_turn"]]
    assert prompt_means == sorted(prompt_means) and prompt_means[-1] > prompt_means[0]
    assert summary["sessions_per_s"] == pytest.approx(7 / result.summary["points"][0]["duration_s"])
    # concurrency counts sessions: never more than 3 conversations at once at the server
    spans = sorted((s["arrival_ns"], s["chunk_ns"][-1]) for s in served)
    assert max(sum(a <= t < b for a, b in spans) for t, _ in spans) <= 3
    # a rebuild from the run directory says the same, and the report shows the table
    assert load_summary(result.run_dir, read_run(result.run_dir))["points"][0]["sessions"] == summary
    assert "Multi-turn sessions · 7 of 7 completed" in (result.run_dir / "report.txt").read_text()
    assert "TTFT by turn" in (result.run_dir / "report.html").read_text()
    assert "concurrency 3 p99" in (result.run_dir / "plots" / "ttft_by_turn.svg").read_text()


def test_open_loop_starts_sessions_at_the_rate_and_think_time_separates_turns(tmp_path):
    settings = SimSettings(ttft_ms=2, tpot_ms=1)
    with SimServer(settings) as sim:
        _, records = _run(sim, tmp_path, turns=3, max_tokens=3, rate=[40.0], number=[6], think_time_s=0.05)
        served = sim.records()
    _check_conversations(settings, served, records)
    assert len(records) == 18 and {r.session_turns for r in records} == {3}
    for r in records:  # only a session's first turn was due at a scheduled time
        assert (r.scheduled_ns is not None) == (r.turn == 0)
    first_turns = sorted((r for r in records if r.turn == 0), key=lambda r: r.scheduled_ns)
    assert all(r.start_ns >= r.scheduled_ns for r in first_turns)
    by_session = {}
    for r in records:
        by_session.setdefault(r.session, []).append(r)
    for own in by_session.values():
        own.sort(key=lambda r: r.turn)
        assert all(b.start_ns - a.end_ns >= 0.05e9 for a, b in pairwise(own))


def test_file_conversations_send_their_own_turns_with_the_servers_answers(tmp_path):
    path = tmp_path / "conversations.jsonl"
    conversations = [
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "one"},
         {"role": "assistant", "content": "REFERENCE ANSWER"}, {"role": "user", "content": "two"},
         {"role": "assistant", "content": "REFERENCE"}, {"role": "user", "content": "three"}],
        {"messages": [{"role": "user", "content": "solo"}]},  # one turn: skipped by --min-turns 2
        [{"role": "user", "content": "a"}, {"role": "assistant", "content": "x"}, {"role": "user", "content": "b"}],
    ]
    path.write_text("".join(json.dumps(c) + "\n" for c in conversations))
    settings = SimSettings(ttft_ms=2, tpot_ms=1)
    with SimServer(settings) as sim:
        _, records = _run(sim, tmp_path, dataset="custom_multi_turn", dataset_path=str(path), max_tokens=4,
                          min_turns=2, max_turns=2, parallel=[2], number=[2])
        served = sim.records()
    _check_conversations(settings, served, records)
    contents = sorted([m["content"] for m in s["messages"] if m["role"] != "assistant"] for s in served)
    assert contents == [["Be brief.", "one"], ["Be brief.", "one", "two"], ["a"], ["a", "b"]]  # cut at 2 turns
    assert not any("REFERENCE" in json.dumps(s["messages"]) for s in served)


def test_share_gpt_conversations_and_a_failed_turn_ends_its_session(tmp_path):
    (tmp_path / "sharegpt").mkdir()  # a folder laid out as ModelScope's swift/sharegpt
    path = tmp_path / "sharegpt" / "common_en_70k.jsonl"
    rows = [{"conversation": [{"human": f"q{i}-{k}", "assistant": "ref"} for k in range(4)]} for i in range(6)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    settings = SimSettings(ttft_ms=2, tpot_ms=1, faults={"http500": 0.25}, fault_seed=3)
    with SimServer(settings) as sim:
        result, records = _run(sim, tmp_path, dataset="share_gpt_en_multi_turn", dataset_path=str(path.parent),
                               multi_turn=True, max_tokens=3, parallel=[2], number=[6], min_success_rate=0.0)
        served = sim.records()
    failed = [r for r in records if r.error is not None]
    assert failed, "the fault seed gives some failed turns"
    for r in failed:  # nothing of its session was sent after it
        assert not any(o.session == r.session and o.turn > r.turn for o in records)
    ok_served = [s for s in served if s["fault"] is None]
    _check_conversations(settings, ok_served, [r for r in records if r.error is None])
    summary = result.summary["points"][0]["sessions"]
    assert summary["ended_by_failure"] == len({r.session for r in failed})
    assert summary["completed"] == 6 - summary["ended_by_failure"]
    assert all(m["content"].startswith("q") for s in served for m in s["messages"] if m["role"] == "user")


@pytest.mark.slow
def test_workers_share_out_whole_sessions(tmp_path):
    settings = SimSettings(ttft_ms=2, tpot_ms=1)
    with SimServer(settings) as sim:
        result, records = _run(sim, tmp_path, turns=3, max_tokens=3, parallel=[4], number=[8], workers=2)
        served = sim.records()
    _check_conversations(settings, served, records)  # a turn sent by another worker would carry no answers
    assert len(records) == 24 and result.summary["points"][0]["sessions"]["completed"] == 8
    assert len({r.index for r in records}) == 24


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(multi_turn=True), "max_turns: random multi-turn sessions need --turns N or --max-turns"),
    (dict(turns=3, max_turns=4), "turns: give --turns N (every session N turns) or --min-turns/--max-turns"),
    (dict(min_turns=2), "min_turns: only for multi-turn sessions; add --multi-turn"),
    (dict(think_time_s=1.0), "think_time_s: only for multi-turn sessions"),
    (dict(turns=2, prompt="hi"), "prompt: one prompt in every request is not a conversation"),
    (dict(turns=2, dataset="line_by_line", dataset_path="x.txt"), "dataset: multi-turn sessions come from"),
    (dict(max_turns=3, multi_turn=True, multi_turn_args='{"first_turn": 5}'), "multi_turn_args: unknown key(s)"),
    (dict(max_turns=3, multi_turn=True, multi_turn_args='{"first_turn_length": [9, 2]}'),
     "multi_turn_args: first_turn_length must be"),
    (dict(turns=0), "turns: must be >= 1"),
    (dict(max_turns=1, min_turns=2, multi_turn=True), "max_turns (1) must be >= min_turns (2)"),
])
def test_a_multi_turn_run_that_cannot_be_done_is_refused_in_one_line(kwargs, message):
    with pytest.raises(ConfigError) as error:
        PerfConfig(url=f"http://127.0.0.1:9{CHAT}", model="m", tokenizer_path="o200k_base", **kwargs)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_multi_turn_args_set_the_first_and_later_turn_lengths(tmp_path):
    with SimServer(SimSettings(ttft_ms=1, tpot_ms=1)) as sim:
        _, records = _run(sim, tmp_path, turns=3, max_tokens=2, parallel=[2], number=[3],
                          multi_turn_args='{"first_turn_length": 40, "subsequent_turn_length": [5, 7], '
                                          '"chars_per_token": 3.0}')
        served = sim.records()
    for s in served:
        users = [m["content"] for m in s["messages"] if m["role"] == "user"]
        # the simulator counts words: assay's random prompts are one whole-word token each
        assert len(users[0].split()) == 40 and all(5 <= len(u.split()) <= 7 for u in users[1:])
    assert {r.requested_prompt_tokens for r in records if r.turn == 0} == {40}
    assert {r.requested_prompt_tokens for r in records if r.turn != 0} == {None}


def test_what_assay_does_differently_from_evalscope_is_said_once():
    config = PerfConfig(url="http://127.0.0.1:9/v1/completions", model="m", tokenizer_path="o200k_base", turns=2,
                        rate=[1.0], number=[2], multi_turn_args='{"chars_per_token": 3.0, "num_workers": 2}')
    notes = config.notes()
    assert sum(n.startswith("--multi-turn with --rate: sessions start at the rate") for n in notes) == 1
    assert sum(n.startswith("--multi-turn to /v1/completions") for n in notes) == 1
    assert "--multi-turn-args: chars_per_token, num_workers not used" in "\n".join(notes)


def test_vllms_prefix_cache_counters_give_the_points_hit_rate():
    """vLLM's /metrics text (names as vLLM 0.x exposes them): the counters' growth over the point."""
    from assay.perf.server_metrics import difference, parse

    def scrape(queries: int, hits: int) -> dict[str, float]:
        return parse("# TYPE vllm:prefix_cache_queries counter\n"
                     f'vllm:prefix_cache_queries_total{{engine="0",model_name="m"}} {queries}\n'
                     "# TYPE vllm:prefix_cache_hits counter\n"
                     f'vllm:prefix_cache_hits_total{{engine="0",model_name="m"}} {hits}\n')

    server = difference(scrape(1000, 200), scrape(5000, 3200), 2.0)
    assert server["prefix_cache_queries"] == 4000 and server["prefix_cache_hits"] == 3000
    assert server["prefix_cache_hit_rate"] == pytest.approx(0.75)


def test_warm_up_sessions_are_sent_whole_and_left_out_of_the_metrics(tmp_path):
    settings = SimSettings(ttft_ms=1, tpot_ms=1)
    with SimServer(settings) as sim:
        result, records = _run(sim, tmp_path, turns=2, max_tokens=2, parallel=[2], number=[3], warmup_num=2)
        served = sim.records()
    _check_conversations(settings, served, records)
    warmup = [r for r in records if r.point == -1]
    assert len(warmup) == 4 and {r.phase for r in warmup} == {"warmup"} and len({r.session for r in warmup}) == 2
    sessions = result.summary["points"][0]["sessions"]
    assert sessions["sessions"] == sessions["completed"] == 3 and sessions["by_turn"][0]["requests"] == 3
