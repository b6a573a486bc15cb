"""`assay eval` over several endpoints (`api_url=[...]`, `--api-url` given more than once), on two `assay sim`s."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay.engines.sim import SimServer, SimSettings
from assay.errors import ConfigError
from assay.eval import TaskConfig, run_eval
from assay.eval.records import SampleJournal
from tests.helpers import run_assay, write_gsm8k_questions


@pytest.fixture(scope="module")
def sims():
    with SimServer(SimSettings(ttft_ms=1, tpot_ms=1, output_tokens=4)) as one, \
            SimServer(SimSettings(ttft_ms=1, tpot_ms=1, output_tokens=4)) as two:
        yield one, two


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_gsm8k_questions(tmp_path_factory.mktemp("data"), 6)


def _generations(sim: SimServer) -> int:
    """Generations the simulator answered (the service check's one-token probe excluded)."""
    return sum(1 for record in sim.records() if (record.get("completion_tokens") or 0) > 1)


def test_samples_are_shared_out_round_robin_and_records_name_their_endpoint(sims, data_dir, tmp_path):
    one, two = sims
    one.reset()
    two.reset()
    config = TaskConfig(model="sim", api_url=[one.base_url, two.base_url], datasets=["gsm8k"], dataset_dir=str(data_dir),
                        dataset_hub="local", generation_config={"max_tokens": 4}, repeats=2, eval_batch_size=3,
                        work_dir=str(tmp_path), quiet=True)
    result = run_eval(config)
    records = list(SampleJournal(result.run_dir).read().values())
    assert len(records) == 12 and all(r.error is None for r in records)
    assert (_generations(one), _generations(two)) == (6, 6)  # an exact split, by the servers' count
    shown = {r.endpoint for r in records}
    assert shown == {f"{one.base_url}/chat/completions", f"{two.base_url}/chat/completions"}
    assert all(r.worker is None for r in records)  # one process: no Ray actor
    run = json.loads((result.run_dir / "run.json").read_text())
    assert run["config"]["api_url"] == [one.base_url, two.base_url]
    assert run["identity"]["endpoint"] == sorted([f"{one.base_url}/chat/completions", f"{two.base_url}/chat/completions"])


@pytest.mark.slow
def test_the_command_line_takes_api_url_more_than_once(sims, data_dir, tmp_path):
    one, two = sims
    one.reset()
    two.reset()
    result = run_assay("eval", "--model", "sim", "--api-url", one.base_url, "--api-url", two.base_url,
                       "--url-strategy", "least-inflight", "--datasets", "gsm8k", "--dataset-dir", str(data_dir),
                       "--dataset-hub", "local", "--generation-config", '{"max_tokens": 4}', "--work-dir",
                       str(tmp_path), "--quiet")
    assert result.returncode == 0, result.stderr
    assert _generations(one) + _generations(two) == 6 and _generations(one) and _generations(two)


def test_endpoints_are_checked_like_one():
    base = dict(model="m", datasets=["gsm8k"])
    with pytest.raises(ConfigError, match="given twice"):
        TaskConfig(api_url=["http://127.0.0.1:1/v1", "http://127.0.0.1:1/v1/"], **base)
    with pytest.raises(ConfigError, match="must start with http"):
        TaskConfig(api_url=["http://127.0.0.1:1/v1", "127.0.0.1:2/v1"], **base)
    with pytest.raises(ConfigError, match="url_strategy"):
        TaskConfig(api_url=["http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1"], url_strategy="fastest", **base)
    assert TaskConfig(api_url=["http://127.0.0.1:1/v1"], **base).api_url == "http://127.0.0.1:1/v1"
    with pytest.raises(ConfigError, match="ray_actors: only with ray_address"):
        TaskConfig(api_url="http://127.0.0.1:1/v1", ray_actors=2, **base)
