"""Accuracy under load: real eval runs at several concurrencies against a real HTTP server that batches
the requests in flight and answers some samples wrong only in a batch of a known size; the flips,
p-values and verdicts per level are exactly those expected, and a batch-invariant server gives none."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import pytest
from aiohttp import web

from assay import TaskConfig
from assay.cli import main
from assay.errors import ConfigError
from assay.eval import run_eval
from assay.eval.under_load import UNDER_LOAD_FILE, run_under_load
from tests.scripted_server import ScriptedServer

SAMPLES = 16
WRONG_IN_BATCH_OF_2 = {0, 2, 4, 6, 9, 11, 12, 14}
"""Answered wrong when batched with at least one other request (concurrency 2 and 4)."""
WRONG_IN_BATCH_OF_4 = {3, 13}
"""Answered wrong only in a batch of four (concurrency 4)."""
WRONG_ALONE = {5}
"""Answered wrong alone, right in a batch (a flip the other way)."""


def _data(tmp_path: Path) -> str:
    """gsm8k-shaped local data: question ``q<i> GOLD=<i>`` has answer ``i`` (sample id ``main/<i>``)."""
    folder = tmp_path / "data" / "gsm8k"
    folder.mkdir(parents=True)
    with open(folder / "test.jsonl", "w") as handle:
        for i in range(SAMPLES):
            handle.write(json.dumps({"question": f"q{i} GOLD={i}", "answer": f"work #### {i}"}) + "\n")
    return str(tmp_path / "data")


class BatchingServer(ScriptedServer):
    """Holds each request until ``batch_max`` are held or ``hold_s`` has passed since the first of them
    arrived, then answers them together: a batch's size is the number of requests in flight with it.
    With ``load_dependent`` a sample's answer depends on its batch's size (the sets above); else never.

    Deterministic: at concurrency c ≤ batch_max every batch holds exactly c requests, as long as the
    client's workers send again within ``hold_s`` of one another (they all wait on the same batch).
    """

    def __init__(self, *, load_dependent: bool, batch_max: int = 4, hold_s: float = 0.5) -> None:
        super().__init__(lambda question, attempt: None)
        self.load_dependent = load_dependent
        self.batch_max = batch_max
        self.hold_s = hold_s
        self.batch: list[str] | None = None
        self.released: asyncio.Event | None = None
        self.batch_sizes: dict[int, list[int]] = {}
        """Sample index -> the size of each batch it was answered in (to explain a failure)."""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        content = body["messages"][-1]["content"]
        if content == "Hi":  # the service check, answered at once
            return web.json_response({"choices": [{"message": {"content": "hello"}, "finish_reason": "length"}]})
        if self.batch is None or self.released is None or self.released.is_set():
            self.batch, self.released = [], asyncio.Event()
        batch, released = self.batch, self.released
        batch.append(content)
        if len(batch) >= self.batch_max:
            released.set()
        else:
            try:
                await asyncio.wait_for(released.wait(), self.hold_s)
            except TimeoutError:
                released.set()
        index = int(content.split()[0][1:])
        size = len(batch)
        self.batch_sizes.setdefault(index, []).append(size)
        wrong = self.load_dependent and ((index in WRONG_IN_BATCH_OF_2 and size >= 2)
                                         or (index in WRONG_IN_BATCH_OF_4 and size >= 4)
                                         or (index in WRONG_ALONE and size == 1))
        answer = index + 1000 if wrong else index
        return web.json_response({
            "choices": [{"message": {"content": f"So \\boxed{{{answer}}}."}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5},
        })


def _mcnemar(worse: int, better: int) -> float:
    """The exact McNemar p-value from the known counts, computed here independently."""
    n = worse + better
    return min(1.0, 2 * sum(math.comb(n, k) for k in range(min(worse, better) + 1)) / 2**n)


def _ids(indexes: set[int]) -> list[str]:
    return [f"main/{i}" for i in sorted(indexes)]


@pytest.mark.slow
def test_flips_and_p_values_per_level_are_those_the_server_makes(tmp_path: Path) -> None:
    with BatchingServer(load_dependent=True) as server:
        result = run_under_load(TaskConfig(
            model="m", api_url=server.url, datasets=["gsm8k"], dataset_hub="local", dataset_dir=_data(tmp_path),
            concurrency_levels=[4, 1, 2], work_dir=str(tmp_path / "out"), quiet=True,
        ))
    # Every sample was answered alone, then in a batch of 2, then of 4 (else the timing broke the design).
    assert server.batch_sizes == {i: [1, 2, 4] for i in range(SAMPLES)}, server.batch_sizes
    assert [level.concurrency for level in result.levels] == [1, 2, 4] and result.reference_concurrency == 1

    reference = result.level(1).benchmark("gsm8k")
    assert reference.comparison is None and reference.score == pytest.approx(15 / 16)
    assert reference.answered == SAMPLES and reference.errors == 0
    assert reference.mean_latency_s is not None and reference.mean_latency_s >= 0.5 * 0.9  # each waited alone

    two = result.level(2).benchmark("gsm8k").comparison
    assert two is not None
    assert two.worse == _ids(WRONG_IN_BATCH_OF_2) and two.better == _ids(WRONG_ALONE)
    assert two.test == "exact McNemar" and two.paired == SAMPLES
    assert two.p_value == pytest.approx(_mcnemar(8, 1)) and two.p_value == pytest.approx(20 / 512)
    assert two.difference_pt == pytest.approx(-7 / 16 * 100)
    assert two.verdict.startswith("regression of 43.8 pt [95 % CI")
    assert result.level(2).benchmark("gsm8k").score == pytest.approx(8 / 16)

    four = result.level(4).benchmark("gsm8k").comparison
    assert four is not None
    assert four.worse == _ids(WRONG_IN_BATCH_OF_2 | WRONG_IN_BATCH_OF_4) and four.better == _ids(WRONG_ALONE)
    assert four.p_value == pytest.approx(_mcnemar(10, 1)) and four.p_value == pytest.approx(24 / 2048)
    assert result.level(4).benchmark("gsm8k").score == pytest.approx(6 / 16)
    # Batched requests waited less than lone ones (a full batch is answered at once).
    assert result.level(4).benchmark("gsm8k").mean_latency_s < reference.mean_latency_s  # type: ignore[operator]

    parent = Path(result.run_dir)
    assert sorted(p.name for p in parent.iterdir()) == ["c1", "c2", "c4", UNDER_LOAD_FILE]
    stored = json.loads((parent / UNDER_LOAD_FILE).read_text())
    assert [level["concurrency"] for level in stored["levels"]] == [1, 2, 4]
    assert stored["levels"][2]["benchmarks"][0]["comparison"]["worse"] == four.worse
    assert stored["levels"][1]["benchmarks"][0]["comparison"]["p_value"] == pytest.approx(20 / 512)
    # Each level is a whole eval run, sent at temperature 0 with a fixed seed.
    run = json.loads((parent / "c2" / "run.json").read_text())
    assert run["config"]["eval_batch_size"] == 2
    assert run["config"]["generation_config"] == {"temperature": 0, "seed": 42}


def test_a_batch_invariant_server_gives_the_same_score_at_every_level(tmp_path: Path, capsys) -> None:
    with BatchingServer(load_dependent=False, hold_s=0.1) as server:
        code = main(["eval", "--model", "m", "--api-url", server.url, "--datasets", "gsm8k", "--dataset-hub", "local",
                     "--dataset-dir", _data(tmp_path), "--concurrency", "1", "4", "--work-dir", str(tmp_path / "out"),
                     "--generation-config", '{"temperature": 0.7}', "--limit", "8"])
    out = capsys.readouterr().out
    assert code == 0
    assert "warning: temperature 0.7" in out
    assert "no detectable change at 95 %" in out
    parent = Path(out.split("Run directory: ")[1].split()[0])
    stored = json.loads((parent / UNDER_LOAD_FILE).read_text())
    scores = [level["benchmarks"][0]["score"] for level in stored["levels"]]
    assert scores == [1.0, 1.0]
    change = stored["levels"][1]["benchmarks"][0]["comparison"]
    assert change["worse"] == [] and change["better"] == [] and change["p_value"] == 1.0
    run = json.loads((parent / "c4" / "run.json").read_text())
    assert run["config"]["generation_config"] == {"temperature": 0.7, "seed": 42}  # the user's temperature kept


def test_wrong_levels_are_refused_in_one_line(tmp_path: Path) -> None:
    common = {"model": "m", "api_url": "http://127.0.0.1:9/v1", "datasets": ["gsm8k"]}
    for levels, message in (([], "one or more numbers >= 1"), ([0, 4], "one or more numbers >= 1"),
                            ([1, 4, 4], "each level once")):
        with pytest.raises(ConfigError, match=message):
            TaskConfig(**common, concurrency_levels=levels)
    with pytest.raises(ConfigError, match="leave eval_batch_size"):
        TaskConfig(**common, concurrency_levels=[1, 4], eval_batch_size=8)
    with pytest.raises(ConfigError, match="cannot resume"):
        TaskConfig(**common, concurrency_levels=[1, 4], use_cache=str(tmp_path))
    with pytest.raises(ConfigError, match="run_under_load"):
        run_eval(TaskConfig(**common, concurrency_levels=[1, 4]))
    assert main(["eval", "--model", "m", "--api-url", "http://127.0.0.1:9/v1", "--datasets", "gsm8k",
                 "--concurrency", "1", "0"]) == 2


@pytest.mark.engine
@pytest.mark.slow
def test_llama_server_under_load_flips_match_the_stored_answers(tmp_path: Path) -> None:
    """SmolLM2 on a real llama-server, started once for both levels: whatever it answers, the reported
    flips and p-value are those of the two levels' stored verdicts."""
    from tests.conftest import SHARED

    result = run_under_load(TaskConfig(
        engine="llama-server", engine_model="smollm2", datasets=["gsm8k"], dataset_hub="local",
        dataset_dir=str(SHARED / "datasets"), limit=4, concurrency_levels=[1, 4],
        generation_config={"max_tokens": 16}, work_dir=str(tmp_path), quiet=True,
    ))
    verdicts = {}
    for level in (1, 4):
        rows = [json.loads(line) for line in (Path(result.level(level).run_dir) / "samples.jsonl").read_text().splitlines()]
        assert len(rows) == 4 and all(row["verdict"] != "error" for row in rows)
        verdicts[level] = {row["sample_id"]: row["score"] for row in rows}
    change = result.level(4).benchmark("gsm8k").comparison
    assert change is not None and change.paired == 4
    worse = sorted((s for s in verdicts[1] if verdicts[1][s] > verdicts[4][s]), key=lambda s: int(s.split("/")[1]))
    better = sorted((s for s in verdicts[1] if verdicts[1][s] < verdicts[4][s]), key=lambda s: int(s.split("/")[1]))
    assert change.worse == worse and change.better == better
    assert change.p_value == pytest.approx(_mcnemar(len(worse), len(better)))
    for level in result.levels:
        item = level.benchmark("gsm8k")
        assert item.answered == 4 and item.mean_latency_s is not None and item.mean_latency_s > 0
