"""``--visualizer wandb|swanlab``: each sweep point's summary logged to the real package in its offline mode
(read back from the run file it writes), the config without secrets, and the one-line refusals (exit 2)
when the package is missing, for ClearML and for keys of the other visualizer."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from assay import PerfConfig, run_perf
from assay.engines.sim import SimServer, SimSettings
from assay.errors import ConfigError
from assay.perf.visualizer import point_metrics

WANDB_KEY = "wandbsecret" + "7" * 29  # 40 characters, as W&B keys are
SWANLAB_KEY = "swansecret" + "9" * 11


def log_records(path: Path) -> list[bytes]:
    """The records of a LevelDB-log file, the format both W&B (``.wandb``) and SwanLab (``.swanlab``) write:
    a 7-byte file header, then 32 KiB blocks of records (crc32, length, type: full / first / middle / last)."""
    data = path.read_bytes()
    block = 32768
    position, records, pending = 7, [], b""
    while position + 7 <= len(data):
        if block - position % block < 7:  # too little room left in the block for a header: padding
            position += block - position % block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[position:position + 7])
        if kind == 0:
            break
        chunk = data[position + 7:position + 7 + length]
        position += 7 + length
        if kind == 1:
            records.append(chunk)
        elif kind == 2:
            pending = chunk
        elif kind == 3:
            pending += chunk
        elif kind == 4:
            records.append(pending + chunk)
    return records


def _run(sim: SimServer, tmp_path: Path, **extra) -> tuple[dict, Path]:
    result = run_perf(PerfConfig(
        url=f"{sim.base_url}/completions", model="sim", tokenizer_path="o200k_base", min_prompt_length=8,
        max_prompt_length=8, max_tokens=8, parallel=[1, 2], number=[2, 4], server_metrics="auto",
        outputs_dir=str(tmp_path / "outputs"), quiet=True, **extra))
    return result.summary, result.run_dir


def _no_secret_anywhere(folder: Path, secret: str) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


@pytest.mark.slow
def test_wandb_offline_run_holds_every_point_and_the_config_without_the_key(tmp_path, monkeypatch):
    pytest.importorskip("wandb", reason="W&B is installed by scripts/bootstrap.sh (pip install 'assay[wandb]')")
    from wandb.proto import wandb_internal_pb2

    for name in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.setenv("WANDB_MODE", "offline")
    netrc = Path.home() / ".netrc"
    netrc_before = netrc.read_bytes() if netrc.exists() else None
    with SimServer(SimSettings(ttft_ms=5, tpot_ms=1)) as sim:
        summary, run_dir = _run(sim, tmp_path, visualizer="wandb", wandb_api_key=WANDB_KEY)
    (run_file,) = run_dir.glob("wandb/offline-run-*/run-*.wandb")
    history, config = {}, {}
    for raw in log_records(run_file):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(raw)
        kind = record.WhichOneof("record_type")
        if kind == "history":
            items = {item.key or "/".join(item.nested_key): item.value_json for item in record.history.item}
            history[int(items["_step"])] = items
        elif kind in ("run", "config"):  # the config given to init comes with the run record
            updates = record.run.config.update if kind == "run" else record.config.update
            config.update({item.key: item.value_json for item in updates})
    assert sorted(history) == [0, 1]  # one step per sweep point
    for point in summary["points"]:
        logged = history[point["point"]]
        assert float(logged["rps"]) == pytest.approx(point["rps"])
        assert float(logged["ttft_s/p99"]) == pytest.approx(point["ttft_s"]["p99"])
        assert float(logged["server/generation_tokens"]) == point["output_tokens"] == 8 * point["requests"]
        assert float(logged["concurrency"]) == point["concurrency"]
    assert config["model"] == '"sim"' and config["wandb_api_key"] == '"***"'
    _no_secret_anywhere(run_dir, WANDB_KEY)
    _no_secret_anywhere(tmp_path, WANDB_KEY)
    assert (netrc.read_bytes() if netrc.exists() else None) == netrc_before  # the key was not saved by a login


@pytest.mark.slow
def test_swanlab_offline_run_holds_every_point(tmp_path, monkeypatch):
    pytest.importorskip("swanlab", reason="SwanLab is installed by scripts/bootstrap.sh (pip install 'assay[swanlab]')")
    from swanlab.proto.swanlab.record.v1.record_pb2 import Record

    monkeypatch.setenv("SWANLAB_MODE", "offline")
    monkeypatch.setenv("SWANLAB_ROOT", str(tmp_path / "swanlab-root"))
    with SimServer(SimSettings(ttft_ms=5, tpot_ms=1, tokens_per_chunk=2, spec_draft_tokens=3)) as sim:
        summary, run_dir = _run(sim, tmp_path, visualizer="swanlab")
    (run_file,) = run_dir.glob("swanlog/run-*/run-*.swanlab")
    scalars: dict[tuple[str, int], float] = {}
    finished = []
    for raw in log_records(run_file):
        record = Record()
        record.ParseFromString(raw)
        if record.HasField("scalar"):
            scalars[(record.scalar.key, record.scalar.step)] = record.scalar.value.number
        elif record.HasField("finish"):
            finished.append(record.finish.state)
    for point in summary["points"]:
        step = point["point"]
        assert scalars[("rps", step)] == pytest.approx(point["rps"])
        assert scalars[("server/mean_acceptance_length", step)] == pytest.approx(2.0)  # 2 tokens a chunk: 1 + 1
        assert scalars[("tokens_per_chunk/mean", step)] == pytest.approx(2.0)
    assert len(finished) == 1


def test_point_metrics_are_flat_numbers():
    flat = point_metrics({"point": 3, "rps": 2.5, "ttft_s": {"mean": 0.1, "p99": 0.3}, "errors": {"HTTP 500": 2},
                          "client": {"client_bound": False, "cpu_percent": 40}, "itl_method": "spread evenly",
                          "server": {"acceptance_rate_per_position": [0.5], "draft_acceptance_rate": 0.25}})
    assert flat == {"rps": 2.5, "ttft_s/mean": 0.1, "ttft_s/p99": 0.3, "client/client_bound": 0.0,
                    "client/cpu_percent": 40.0, "server/draft_acceptance_rate": 0.25}


def _config(**extra) -> PerfConfig:
    return PerfConfig(url="http://127.0.0.1:9/v1/completions", model="m", tokenizer_path="o200k_base", **extra)


@pytest.mark.parametrize(("extra", "message"), [
    ({"visualizer": "clearml"}, "visualizer: ClearML is not supported; use --visualizer wandb or swanlab"),
    ({"visualizer": "swanlab", "wandb_api_key": WANDB_KEY}, "visualizer: --wandb-api-key given with --visualizer swanlab"),
    ({"wandb_api_key": WANDB_KEY, "swanlab_api_key": SWANLAB_KEY}, "visualizer: both --wandb-api-key and"),
    ({"swanlab_host": "https://swanlab.example"}, "visualizer: --swanlab-host needs --swanlab-api-key"),
])
def test_what_cannot_be_logged_is_refused_in_one_line(extra, message):
    with pytest.raises(ConfigError) as refused:
        _config(**extra)
    assert str(refused.value).startswith(message)
    assert WANDB_KEY not in str(refused.value) and SWANLAB_KEY not in str(refused.value)


@pytest.mark.parametrize(("name", "args"), [
    ("wandb", ["--visualizer", "wandb"]),
    ("wandb", ["--wandb-api-key", WANDB_KEY]),  # a key alone chooses its visualizer, as in EvalScope
    ("swanlab", ["--visualizer", "swanlab", "--swanlab-api-key", SWANLAB_KEY]),
])
def test_a_missing_package_is_one_line_naming_the_extra_and_exit_2(name, args):
    # The package is made unimportable the way Python sees a missing one (sys.modules[name] = None).
    code = (f"import sys; sys.modules[{name!r}] = None; from assay.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    result = subprocess.run(
        [sys.executable, "-c", code, "perf", "--url", "http://127.0.0.1:9/v1/completions", "--model", "m",
         "--tokenizer-path", "o200k_base", *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")})
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.endswith(f"needs the {name} package, which is not installed: pip install 'assay[{name}]'"), line
    assert WANDB_KEY not in result.stderr + result.stdout and SWANLAB_KEY not in result.stderr + result.stdout
