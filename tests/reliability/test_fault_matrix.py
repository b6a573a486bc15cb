"""The fault matrix: every fault the simulator injects, against `assay perf` and `assay eval`.

Each case checks that the run finishes, that every request is accounted for (a success, or a
failure with its reason), that eval retries what is retryable and records the rest as errors
(never as wrong answers), and that the summary numbers are right for the successes.
"""

from __future__ import annotations

import json

import pytest

from assay import PerfConfig, TaskConfig, run_perf
from assay.engines.sim import FAULTS, SimServer, SimSettings
from assay.eval import run_eval
from assay.eval.records import SampleJournal
from assay.store import read_records

pytestmark = pytest.mark.slow  # every fault against a real perf and eval run

# What a faulty response becomes on the client: None = still a success.
EXPECTED_KIND = {
    "http500": "http", "http502": "http", "http503": "http", "http429": "http",
    "reset": ("stream", "connect"), "stall": "timeout", "bad_json": "protocol", "bad_utf8": "protocol",
    "error_event": "stream", "split": None, "no_done": None, "empty_choices": None, "oversized": None,
    "abort": "aborted", "runaway": "protocol", "endless": "timeout", "echo_headers": "http",
}
RETRYABLE = {"http500", "http502", "http503", "http429", "reset", "stall", "error_event", "abort", "endless",
             "echo_headers"}
N = 12
MAX_TOKENS = 8


def test_the_matrix_covers_every_fault():
    assert set(EXPECTED_KIND) == set(FAULTS)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_perf_accounts_for_every_request(fault, tmp_path):
    settings = SimSettings(ttft_ms=5, tpot_ms=1, faults={fault: 0.5}, fault_seed=7, stall_s=3.0)
    with SimServer(settings) as sim:
        config = PerfConfig(url=f"{sim.base_url}/completions", model="sim", parallel=[3], number=[N],
                            max_tokens=MAX_TOKENS, tokenizer_path="o200k_base", min_prompt_length=8,
                            max_prompt_length=8, read_timeout=1.0, total_timeout=2.0, test_connection=False,
                            outputs_dir=str(tmp_path), quiet=True, html=False, min_success_rate=0.0)  # failures are the point here
        try:
            result = run_perf(config)
            summary = result.summary
            run_dir = result.run_dir
        except Exception as exc:  # every request failed: the run still says so and keeps its records
            assert "every request failed" in str(exc)
            run_dir = next(tmp_path.glob("*/sim"))
            summary = json.loads((run_dir / "summary.json").read_text())
        truth = sim.records()
    records, skipped = read_records(run_dir / "requests.jsonl")
    assert skipped == 0 and len(records) == N and sorted(r.index for r in records) == list(range(N))
    faulty = sum(1 for t in truth if t["fault"] == fault)
    assert 0 < faulty < N  # the seed gives a mix
    failures = [r for r in records if r.error is not None]
    expected = EXPECTED_KIND[fault]
    if expected is None:
        assert failures == []
    else:
        kinds = expected if isinstance(expected, tuple) else (expected,)
        assert len(failures) == faulty
        assert all(r.error_kind in kinds and r.error for r in failures), [(r.error_kind, r.error) for r in failures]
    point = summary["points"][0]
    assert point["requests"] == N and point["failed"] == len(failures)
    successes = [r for r in records if r.error is None]
    assert point["output_tokens"] == sum(r.completion_tokens for r in successes) == MAX_TOKENS * len(successes)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_eval_retries_what_is_retryable_and_never_scores_a_failure_as_wrong(fault, tmp_path):
    folder = tmp_path / "data" / "general_qa"
    folder.mkdir(parents=True)
    (folder / "test.jsonl").write_text("".join(json.dumps({"question": f"q{i}", "answer": "alpha"}) + "\n"
                                               for i in range(6)))
    settings = SimSettings(ttft_ms=5, tpot_ms=1, faults={fault: 0.5}, fault_seed=3, stall_s=3.0, output_tokens=4)
    with SimServer(settings) as sim:
        result = run_eval(TaskConfig(
            model="sim", api_url=sim.base_url, datasets=["general_qa"], dataset_hub="local",
            dataset_dir=str(tmp_path / "data"), eval_batch_size=3, retries=4, timeout=1.0,
            generation_config={"max_tokens": 4, "stream": True}, quiet=True, work_dir=str(tmp_path / "out"),
        ))
        truth = sim.records()
    records = list(SampleJournal(result.run_dir).read().values())
    assert len(records) == 6
    overall = result.reports["general_qa"]["overall"]
    errors = [r for r in records if r.verdict == "error"]
    assert overall["errors"] == len(errors)
    for record in records:
        if record.verdict == "error":
            assert record.error and record.score == 0.0  # a failure, with its reason, never "wrong"
        else:
            assert record.error is None and record.verdict in ("correct", "wrong")
    if EXPECTED_KIND[fault] is None:
        assert errors == []
    elif fault in RETRYABLE:
        assert sum(r.attempts for r in records) > 6  # some were retried
        assert len(truth) == sum(r.attempts for r in records) + 1  # + the service check
    else:
        assert all(r.attempts == 1 for r in records) and errors  # a malformed response is not retried
