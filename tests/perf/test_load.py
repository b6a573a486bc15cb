"""The one send loop (perf/load.py) against `assay sim`: who sends when, and what each record says of it."""

from __future__ import annotations

import itertools
import pickle
import time

import pytest

from assay._aio import run
from assay.client import ChatOrCompletionRequest, OpenAIClient
from assay.engines.sim import SimServer, SimSettings
from assay.perf.config import PerfConfig, PointSpec
from assay.perf.load import Schedule, send_load
from assay.perf.records import RecordMaker
from assay.perf.schedule import arrival_offsets
from assay.store import RequestRecord


@pytest.fixture(scope="module")
def sim():
    with SimServer(SimSettings(ttft_ms=20, tpot_ms=2)) as server:
        yield server


def _send(sim, schedule: Schedule, requests, *, deadline_after_s: float | None = None) -> list[RequestRecord]:
    records: list[RequestRecord] = []
    maker = RecordMaker(time.perf_counter_ns(), time.time_ns())

    async def main() -> None:
        async with OpenAIClient(f"{sim.base_url}/completions", "sim") as client:
            deadline = None if deadline_after_s is None else time.perf_counter_ns() + int(deadline_after_s * 1e9)
            await send_load(client, schedule, requests, maker, records.append, deadline_ns=deadline)

    run(main())
    return records


def _requests(count: int | None, first_index: int = 0):
    request = ChatOrCompletionRequest(prompt="one two three", max_tokens=8, prompt_tokens=3)
    indices = itertools.count(first_index) if count is None else range(first_index, first_index + count)
    return ((index, request) for index in indices)


def _most_in_flight(records: list[RequestRecord]) -> int:
    events = sorted([(r.start_ns, 1) for r in records] + [(r.end_ns, -1) for r in records])
    return max(itertools.accumulate(step for _, step in events))


@pytest.mark.slow
def test_closed_loop_keeps_concurrency_requests_in_flight_and_records_the_sweep(sim):
    records = _send(sim, Schedule(point=3, phase="measure", concurrency=3), _requests(9, first_index=100))
    assert sorted(r.index for r in records) == list(range(100, 109))
    assert all(r.error is None and r.completion_tokens == 8 for r in records)
    assert {(r.point, r.phase, r.concurrency, r.scheduled_ns) for r in records} == {(3, "measure", 3, None)}
    assert _most_in_flight(records) == 3
    assert all(r.requested_prompt_tokens == 3 and r.requested_max_tokens == 8 for r in records)


@pytest.mark.slow
def test_a_ramp_up_starts_senders_one_by_one_and_no_more_senders_than_requests(sim):
    """Two senders over 1 s: the first sends alone for half a second (one request at a time), then both."""
    records = _send(sim, Schedule(point=0, phase="measure", concurrency=2, ramp_up_s=1.0), _requests(40))
    first = min(r.start_ns for r in records)
    alone = [r for r in records if r.start_ns < first + 0.45e9]
    assert len(alone) >= 3 and _most_in_flight(alone) == 1
    assert _most_in_flight(records) == 2
    # 8 senders over 4 s would start the last one after 3.5 s: with 2 requests, only 2 start.
    started = time.perf_counter()
    assert len(_send(sim, Schedule(point=0, phase="measure", concurrency=8, ramp_up_s=4.0, most=2), _requests(2))) == 2
    assert time.perf_counter() - started < 3.0


@pytest.mark.slow
def test_open_loop_with_a_cap_records_the_wait_for_a_slot(sim):
    """Three requests due at once, one slot: they go one after the other, each waiting for the one before."""
    records = _send(sim, Schedule(point=1, phase="measure", concurrency=1, offsets_ns=[0, 0, 0]), _requests(3))
    records.sort(key=lambda r: r.start_ns)
    assert len({r.scheduled_ns for r in records}) == 1 and all(r.concurrency == 1 for r in records)
    for before, after in itertools.pairwise(records):
        assert after.start_ns >= before.end_ns
    waits = [r.start_ns - r.scheduled_ns for r in records]
    assert waits[0] < waits[1] < waits[2] and waits[2] >= 2 * 20e6  # two responses of at least 20 ms each


@pytest.mark.slow
def test_nothing_is_sent_after_the_deadline_and_no_index_is_taken_for_it(sim):
    records = _send(sim, Schedule(point=0, phase="measure", concurrency=2), _requests(None), deadline_after_s=0.2)
    assert 2 <= len(records) < 40
    assert sorted(r.index for r in records) == list(range(len(records)))
    assert max(r.start_ns for r in records) < min(r.end_ns for r in records) + 0.2e9


def test_an_open_loop_schedule_is_the_seeded_arrivals_and_travels_to_a_worker():
    config = PerfConfig(url="http://127.0.0.1:9/v1/completions", model="m", tokenizer_path="o200k_base", rate=[5.0],
                        number=[20], parallel=[4], burstiness=0.5, seed=7)
    spec = PointSpec(2, 4, 20, 5.0, None)
    schedule = Schedule.for_point(spec, config, "measure")
    expected = arrival_offsets(20, 5.0, burstiness=0.5, seed=7 * 1000 + 2)
    assert schedule.offsets_ns == [int(offset * 1e9) for offset in expected]
    assert (schedule.point, schedule.concurrency, schedule.most) == (2, 4, 20)
    assert pickle.loads(pickle.dumps(schedule)) == schedule
