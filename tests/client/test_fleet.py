"""ClientFleet: several endpoints behind one send(), against two real `assay sim` servers."""

from __future__ import annotations

import asyncio

import pytest

from assay._aio import run as run_loop
from assay.client import ChatOrCompletionRequest, OpenAIClient
from assay.client.fleet import ClientFleet, open_client
from assay.engines.sim import SimServer, SimSettings

REQUEST = ChatOrCompletionRequest(prompt="hello there", max_tokens=4)


async def _send_all(client, count: int, concurrency: int) -> list:
    """``count`` requests, ``concurrency`` at a time (closed loop), through ``client``."""
    responses: list = []
    left = iter(range(count))

    async def sender() -> None:
        for _ in left:
            responses.append(await client.send(REQUEST))

    async with client:
        await asyncio.gather(*(sender() for _ in range(concurrency)))
    return responses


def test_round_robin_splits_exactly_and_names_each_endpoint():
    with SimServer(SimSettings(ttft_ms=2, tpot_ms=1)) as fast, SimServer(SimSettings(ttft_ms=30, tpot_ms=20)) as slow:
        urls = [f"{fast.base_url}/completions", f"{slow.base_url}/completions"]
        fleet = open_client(urls, url_strategy="round-robin", model="sim")
        assert isinstance(fleet, ClientFleet)
        responses = run_loop(_send_all(fleet, 21, 3))
        assert all(r.error is None for r in responses)
        # The servers' own count: an exact split however much slower one of them is.
        assert (len(fast.records()), len(slow.records())) == (11, 10)
        served = {url: sum(r.endpoint == url for r in responses) for url in urls}
        assert served == {urls[0]: 11, urls[1]: 10}
        assert fleet.sent == [11, 10] and fleet.in_flight == [0, 0]


def test_least_inflight_gives_a_slow_endpoint_fewer():
    with SimServer(SimSettings(ttft_ms=2, tpot_ms=1)) as fast, SimServer(SimSettings(ttft_ms=80, tpot_ms=40)) as slow:
        fleet = open_client([f"{fast.base_url}/completions", f"{slow.base_url}/completions"],
                            url_strategy="least-inflight", model="sim")
        responses = run_loop(_send_all(fleet, 60, 4))
        assert all(r.error is None for r in responses)
        to_fast, to_slow = len(fast.records()), len(slow.records())
        assert to_fast + to_slow == 60
        # A slow request (~200 ms) holds its slot while the fast endpoint serves dozens: the slow one
        # gets at most a few of each slot's turns; round-robin would give it 30.
        assert to_slow <= 15 < 45 <= to_fast, (to_fast, to_slow)


def test_one_url_is_the_plain_client_and_credentials_stay_out_of_the_endpoint():
    with SimServer(SimSettings(ttft_ms=1, tpot_ms=1)) as one, SimServer(SimSettings(ttft_ms=1, tpot_ms=1)) as two:
        single = open_client(f"{one.base_url}/completions", model="sim")
        assert type(single) is OpenAIClient  # one --url: exactly the client a run used before fleets
        [response] = run_loop(_send_all(single, 1, 1))
        assert response.error is None and response.endpoint is None
        secret_urls = [f"http://user:pw-9876@127.0.0.1:{sim.port}/v1/completions?api_key=k-5432" for sim in (one, two)]
        fleet = open_client(secret_urls, model="sim")
        responses = run_loop(_send_all(fleet, 4, 2))
        assert all(r.error is None for r in responses)
        shown = {r.endpoint for r in responses}
        assert shown == {f"http://***@127.0.0.1:{sim.port}/v1/completions?api_key=***" for sim in (one, two)}
        assert "pw-9876" not in fleet.shown_url and "k-5432" not in fleet.shown_url


def test_a_fleet_refuses_an_unknown_strategy():
    with pytest.raises(ValueError, match="url strategy"):
        ClientFleet([OpenAIClient("http://127.0.0.1:1/v1/completions", "m")], "random")
