"""`assay eval compare`: two real eval runs against a scripted HTTP server whose answers in run B
differ from run A on a known set of samples; the flips, p-values and verdicts are exactly those expected."""

from __future__ import annotations

import json
import math

import pytest
from aiohttp import web

from assay import TaskConfig
from assay.cli import main
from assay.errors import AssayError
from assay.eval import compare_runs, run_eval
from assay.eval.compare import print_comparison, to_json
from tests.scripted_server import ScriptedServer

SAMPLES = 20


def _data(tmp_path, count=SAMPLES):
    """gsm8k-shaped local data: question ``q<i> GOLD=<i>`` has answer ``i`` (sample id ``main/<i>``)."""
    folder = tmp_path / "data" / "gsm8k"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "test.jsonl", "w") as handle:
        for i in range(count):
            handle.write(json.dumps({"question": f"q{i} GOLD={i}", "answer": f"work #### {i}"}) + "\n")
    return str(tmp_path / "data")


def _index(question: str) -> int:
    return int(question.split()[0][1:])


def _answer(text: str) -> web.Response:
    return web.json_response({"choices": [{"message": {"content": text}, "finish_reason": "stop"}],
                              "usage": {"prompt_tokens": 10, "completion_tokens": 5}})


def _deployment(wrong=(), failing=(), wrong_attempts=None):
    """A deployment's answers: right (the scripted server's default) except ``wrong`` samples (a wrong
    number), ``failing`` ones (HTTP 400: not retried, a failed request) and, with repeats, the samples
    of ``wrong_attempts`` (index -> attempts 1, 2, ... answered wrong)."""
    def behaviour(question, attempt):
        index = _index(question)
        if index in failing:
            return web.json_response({"error": {"message": "prompt too long"}}, status=400)
        if index in wrong or attempt in (wrong_attempts or {}).get(index, ()):
            return _answer(f"So \\boxed{{{index + 1000}}}.")
        return None
    return behaviour


def _run(tmp_path, name, behaviour, *, repeats=1, data=None):
    with ScriptedServer(behaviour) as server:
        result = run_eval(TaskConfig(
            model=name, api_url=server.url, datasets=["gsm8k"], dataset_hub="local",
            dataset_dir=data or _data(tmp_path), eval_batch_size=4, repeats=repeats,
            work_dir=str(tmp_path / name), quiet=True,
        ))
    return result.run_dir


def _mcnemar(b: int, c: int) -> float:
    """The exact McNemar p-value from the known counts, computed here independently."""
    n = b + c
    return min(1.0, sum(math.comb(n, k) for k in range(0, min(b, c) + 1)) * 2 / 2**n)


@pytest.mark.slow
def test_single_answers_exact_mcnemar_flips_and_verdicts(tmp_path, capsys):
    data = _data(tmp_path)
    a = _run(tmp_path, "a", _deployment(wrong={7}), data=data)                # 19/20 right
    b = _run(tmp_path, "b", _deployment(wrong={2, 5, 11, 17}), data=data)     # 7 fixed, 2 5 11 17 broken
    gsm8k = compare_runs(a, b).benchmark("gsm8k")
    assert gsm8k.worse == ["main/2", "main/5", "main/11", "main/17"] and gsm8k.better == ["main/7"]
    assert gsm8k.paired == 20 and gsm8k.excluded == 0 and gsm8k.test == "exact McNemar"
    assert gsm8k.score_a == pytest.approx(19 / 20) and gsm8k.score_b == pytest.approx(16 / 20)
    assert gsm8k.difference_pt == pytest.approx(-15.0)
    assert gsm8k.p_value == pytest.approx(_mcnemar(4, 1)) and gsm8k.p_value == pytest.approx(0.375)
    assert gsm8k.verdict == "no detectable change at 95 %"
    low, high = gsm8k.ci95_pt
    assert low < -15.0 < high and low < 0 < high  # not significant: the interval holds 0
    # Power: ψ = 5/20 discordant; n = (1.96·√ψ + 0.8416·√(ψ − 0.01²))² / 0.01².
    psi = 5 / 20
    assert gsm8k.samples_for_1pt == math.ceil((1.959963984540054 * math.sqrt(psi)
                                               + 0.8416212335729143 * math.sqrt(psi - 1e-4)) ** 2 / 1e-4)

    c = _run(tmp_path, "c", _deployment(wrong={*range(8), 11, 17}), data=data)  # 0-7 broken too, none fixed
    regression = compare_runs(b, c).benchmark("gsm8k")  # b is wrong on 2 and 5 already: 6 more broken (0 1 3 4 6 7)
    assert regression.worse == ["main/0", "main/1", "main/3", "main/4", "main/6", "main/7"]
    assert regression.better == []
    assert regression.p_value == pytest.approx(_mcnemar(6, 0)) and regression.p_value == pytest.approx(2 / 64)
    low, high = regression.ci95_pt
    assert regression.verdict == f"regression of 30.0 pt [95 % CI {-high:.1f}, {-low:.1f}]"
    assert 0 < -high < 30.0 < -low

    assert main(["eval", "compare", str(b), str(c)]) == 0
    out = capsys.readouterr().out
    assert "regression of 30.0 pt" in out and "main/0, main/1, main/3, main/4, main/6, main/7" in out
    assert main(["eval", "compare", str(b), str(c), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["benchmarks"][0]["worse"] == regression.worse
    assert shown["benchmarks"][0]["p_value"] == pytest.approx(2 / 64)


@pytest.mark.slow
def test_failed_requests_are_left_out_and_counted_never_wrong(tmp_path):
    data = _data(tmp_path)
    a = _run(tmp_path, "a", _deployment(failing={0}), data=data)
    b = _run(tmp_path, "b", _deployment(wrong={3}, failing={18, 19}), data=data)
    gsm8k = compare_runs(a, b).benchmark("gsm8k")
    assert gsm8k.paired == 17 and gsm8k.excluded == 3 and gsm8k.errors_a == 1 and gsm8k.errors_b == 2
    assert gsm8k.worse == ["main/3"] and gsm8k.better == []  # the failures are no flip
    assert gsm8k.score_a == pytest.approx(1.0) and gsm8k.score_b == pytest.approx(16 / 17)
    assert gsm8k.p_value == pytest.approx(1.0)
    text = json.dumps(to_json(compare_runs(a, b)))
    assert '"excluded": 3' in text


@pytest.mark.slow
def test_repeats_use_a_seeded_paired_bootstrap(tmp_path, capsys):
    data = _data(tmp_path)
    a = _run(tmp_path, "a", _deployment(), repeats=4, data=data)
    # Run B: samples 0-9 answer wrong on 2 of their 4 repeats: the true difference is -10·0.5/20 = -25 pt.
    b = _run(tmp_path, "b", _deployment(wrong_attempts={i: (1, 2) for i in range(10)}), repeats=4, data=data)
    gsm8k = compare_runs(a, b).benchmark("gsm8k")
    assert gsm8k.test == "paired bootstrap (10000 resamples)"
    assert gsm8k.difference_pt == pytest.approx(-25.0)
    low, high = gsm8k.ci95_pt
    assert low <= -25.0 <= high and high < 0
    assert gsm8k.p_value < 0.05 and gsm8k.verdict.startswith("regression of 25.0 pt")
    assert gsm8k.worse == [f"main/{i}" for i in range(10)] and gsm8k.better == []
    assert compare_runs(a, b) == compare_runs(a, b)  # seeded: the same numbers every time
    # The difference of each changed sample is -0.5, of the others 0: sd of the per-sample differences.
    sd = math.sqrt(sum((d + 0.25) ** 2 for d in [-0.5] * 10 + [0.0] * 10) / 19)
    assert gsm8k.samples_for_1pt == math.ceil(((1.959963984540054 + 0.8416212335729143) * sd / 0.01) ** 2)

    same = _run(tmp_path, "same", _deployment(), repeats=4, data=data)
    identical = compare_runs(a, same).benchmark("gsm8k")
    assert identical.difference_pt == 0.0 and identical.p_value == 1.0
    assert identical.verdict == "no detectable change at 95 %" and identical.worse == identical.better == []
    assert identical.samples_for_1pt is None
    print_comparison(compare_runs(a, same))
    assert "no detectable change at 95 %" in capsys.readouterr().out


@pytest.mark.slow
def test_runs_that_share_no_sample_are_refused_in_one_line(tmp_path, capsys):
    a = _run(tmp_path, "a", _deployment(), data=_data(tmp_path))
    folder = tmp_path / "qa"
    folder.mkdir()
    (folder / "test.jsonl").write_text(json.dumps({"question": "q0 GOLD=1", "answer": "1"}) + "\n")
    with ScriptedServer(_deployment()) as server:
        other = run_eval(TaskConfig(model="qa", api_url=server.url, datasets=["general_qa"],
                                    dataset_args={"general_qa": {"local_path": str(folder)}},
                                    work_dir=str(tmp_path / "qa-out"), quiet=True)).run_dir
    with pytest.raises(AssayError, match="share no sample"):
        compare_runs(a, other)
    assert main(["eval", "compare", str(a), str(other)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "share no sample" in err


@pytest.mark.slow
def test_the_same_ids_with_other_reference_answers_are_refused(tmp_path):
    a = _run(tmp_path, "a", _deployment(), data=_data(tmp_path))
    other = tmp_path / "other"
    (other / "gsm8k").mkdir(parents=True)
    (other / "gsm8k" / "test.jsonl").write_text(json.dumps({"question": "q0 GOLD=5", "answer": "work #### 5"}) + "\n")
    b = _run(tmp_path, "b", _deployment(), data=str(other))
    with pytest.raises(AssayError, match="gsm8k sample main/0 has another reference answer in each run"):
        compare_runs(a, b)


def test_the_statistics_at_their_edges():
    from assay.eval.compare import mcnemar_exact, newcombe_paired_ci, paired_bootstrap

    assert mcnemar_exact(0, 0) == 1.0 and mcnemar_exact(6, 0) == pytest.approx(2 / 64)
    assert mcnemar_exact(3, 3) == 1.0 and mcnemar_exact(5, 1) == pytest.approx(_mcnemar(5, 1))
    low, high = newcombe_paired_ci(both_right=20, worse=0, better=0, n=20)  # all right in both: no crash
    assert -1 <= low < 0.0 < high <= 1
    # Three samples, each a little worse: a bootstrap alone says p ≈ 0; a sign-flip test cannot go below 2/2^3.
    low, high, p = paired_bootstrap([-0.25, -0.25, -0.25])
    assert low == high == pytest.approx(-0.25) and p == pytest.approx(0.25)
    assert paired_bootstrap([0.0] * 5)[2] == 1.0
    assert paired_bootstrap([-0.5])[2] == 1.0
