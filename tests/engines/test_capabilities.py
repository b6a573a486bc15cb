"""The engine compatibility table in docs/engines.md, checked against the engines themselves.

Every engine available here is started once with SmolLM2 and sent the same probes
(tests/engines/probes.py), and once more with the scripted model (``make_scripted_model``: it writes
``<think>…</think>`` then an answer, or a tool call when given tools) and the reasoning and tool-call
parsers the engine offers, for the two columns a model that does neither cannot show. Each probe's
verdict is written to ``test-artifacts/engine-capabilities.json`` and must equal the table's cell:
the table says what a test run saw, and a change in an engine (or in the table) fails here. Cells
that say "not tested here" are skipped with the table's reason, and so are engines not installed on
this machine.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assay.engines.process import EngineProcess
from tests.conftest import ARTIFACTS, REPO
from tests.engines.probes import PROBES, Target

pytestmark = [pytest.mark.engine, pytest.mark.slow]
DOC = REPO / "docs" / "engines.md"
MODEL = "SmolLM2-135M-Instruct"
ENGINES = ["llama-server", "vLLM", "transformers serve", "llama_cpp.server", "assay sim"]
RESULTS = ARTIFACTS / "engine-capabilities.json"
SCRIPTED_CAPABILITIES = ["reasoning fields", "tool calls"]
"""Probed on the scripted model; the other columns on SmolLM2."""
SMOLLM2_CAPABILITIES = [name for name in PROBES if name not in SCRIPTED_CAPABILITIES]
# vLLM's parsers for the scripted model's <think>…</think> and Hermes <tool_call> JSON. llama-server
# needs no flag: its defaults (--jinja, --reasoning-format auto) read both formats from the chat template.
VLLM_PARSERS = {"reasoning_parser": "deepseek_r1", "tool_call_parser": "hermes"}


def documented_table() -> dict[str, dict[str, str]]:
    """{engine: {capability: cell}} from the compatibility table in docs/engines.md."""
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in DOC.read_text().splitlines() if line.startswith("| ")]
    header = next(row for row in rows if row[0] == "engine" and "tool calls" in row)
    table: dict[str, dict[str, str]] = {}
    for row in rows[rows.index(header) + 1:]:
        if row[0].startswith("---") or len(row) != len(header):
            continue
        name = row[0].strip("*` ")
        if name in ENGINES:
            table[name] = dict(zip(header[1:], row[1:]))
    return table


class TransformersServe(EngineProcess):
    """``transformers serve`` (in vLLM's environment, which has torch) on one forced model folder."""

    engine_name = "transformers serve"
    ready_path = "/health"  # its /v1/models scans the hub cache, which a machine without a hub lacks

    def __init__(self, executable: Path, model_dir: Path, *, port: int, log_path: Path) -> None:
        super().__init__(port=port, startup_timeout_s=300, log_path=log_path)
        self.executable, self.model_dir = executable, model_dir

    def __enter__(self) -> TransformersServe:
        # Continuous batching sizes its KV cache from free memory unless told (20 GB here, and the
        # kernel's OOM killer came): 128 blocks of 32 tokens are plenty for the probes.
        command = [str(self.executable), "serve", "--continuous-batching", "--cb-num-blocks", "128",
                   "--cb-block-size", "32", "--device", "cpu",
                   "--host", "127.0.0.1", "--port", str(self.port), str(self.model_dir)]
        self._launch(command, env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1"})
        return self


class LlamaCppPythonServer(EngineProcess):
    """llama-cpp-python's ``llama_cpp.server`` on a GGUF file."""

    engine_name = "llama_cpp.server"
    ready_path = "/v1/models"

    def __init__(self, python: Path, model: Path, *, port: int, log_path: Path, alias: str = MODEL) -> None:
        super().__init__(port=port, startup_timeout_s=120, log_path=log_path)
        self.python, self.model, self.alias = python, model, alias

    def __enter__(self) -> LlamaCppPythonServer:
        command = [str(self.python), "-m", "llama_cpp.server", "--model", str(self.model), "--model_alias", self.alias,
                   "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "4096"]
        self._launch(command)
        return self


def _llama_cpp_python() -> Path | None:
    """``ASSAY_LLAMA_CPP_PYTHON``, or the venv ``scripts/setup_llama_cpp_python.sh`` makes, if either exists."""
    explicit = os.environ.get("ASSAY_LLAMA_CPP_PYTHON")
    if explicit:
        return Path(explicit)
    from assay.engines.llama_server import cache_root

    cached = cache_root() / "llama-cpp-python-venv" / "bin" / "python"
    return cached if cached.exists() else None


def _skip_without_llama_cpp_python() -> Path:
    python = _llama_cpp_python()
    if python is None:
        pytest.skip("llama_cpp.server: not installed here; scripts/setup_llama_cpp_python.sh installs it (it "
                    "compiles llama.cpp again, ~11 min on 2 cores), or set ASSAY_LLAMA_CPP_PYTHON")
    return python


ENGINE_PARAMS = [
    pytest.param(name, marks=pytest.mark.vllm) if name in ("vLLM", "transformers serve") else name for name in ENGINES
]


@pytest.fixture(scope="module", params=ENGINE_PARAMS)
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Target]]:
    from assay.engines.llama_server import free_port

    name: str = request.param
    logs = tmp_path_factory.mktemp("capability-logs")
    if name == "llama-server":
        from assay.engines import LlamaServer, ensure_smollm2

        with LlamaServer(ensure_smollm2(), alias=MODEL, parallel=2, context_size=8192, threads=2,
                         log_path=logs / "llama-server.log") as server:
            yield name, Target(server.base_url, MODEL)
    elif name == "vLLM":
        server = request.getfixturevalue("vllm_server")
        yield name, Target(server.base_url, MODEL)
    elif name == "transformers serve":
        folder = request.getfixturevalue("smollm2_hf_dir")
        from assay.engines import ensure_vllm

        executable = ensure_vllm().parent / "transformers"
        with TransformersServe(executable, folder, port=free_port(), log_path=logs / "transformers.log") as server:
            # It answers only to the model name it was given: the folder's path.
            yield name, Target(server.base_url, str(folder))
    elif name == "llama_cpp.server":
        python = _skip_without_llama_cpp_python()
        from assay.engines import ensure_smollm2

        with LlamaCppPythonServer(python, ensure_smollm2(), port=free_port(), log_path=logs / "llama-cpp.log") as server:
            yield name, Target(server.base_url, MODEL)
    else:
        from assay.engines.sim import SimServer, SimSettings

        with SimServer(SimSettings(ttft_ms=5, tpot_ms=1, reasoning_tokens=4, model=MODEL)) as sim:
            yield name, Target(sim.base_url, MODEL)


@pytest.fixture(scope="module")
def scripted_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from assay.engines.models import make_scripted_model

    return make_scripted_model(tmp_path_factory.mktemp("scripted"))


@pytest.fixture(scope="module", params=ENGINE_PARAMS)
def scripted_target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                    scripted_gguf: Path) -> Iterator[tuple[str, Target]]:
    """Each engine serving the scripted model, started with what it offers to parse reasoning and tool calls."""
    from assay.engines.llama_server import free_port
    from assay.engines.models import SCRIPTED_ALIAS

    name: str = request.param
    logs = tmp_path_factory.mktemp("scripted-logs")
    if name == "llama-server":
        from assay.engines import LlamaServer

        with LlamaServer(scripted_gguf, alias=SCRIPTED_ALIAS, parallel=2, context_size=8192, threads=2,
                         log_path=logs / "llama-server.log") as server:
            yield name, Target(server.base_url, SCRIPTED_ALIAS)
    elif name in ("vLLM", "transformers serve"):
        if os.environ.get("ASSAY_SKIP_VLLM") == "1":
            pytest.skip("ASSAY_SKIP_VLLM=1: the vLLM tests are switched off (see docs/engines.md)")
        from assay.engines.models import ensure_scripted_hf

        folder = ensure_scripted_hf()
        if name == "vLLM":
            from assay.engines import VllmServer

            with VllmServer(folder, alias=SCRIPTED_ALIAS, parallel=2, max_model_len=2048, **VLLM_PARSERS,
                            log_path=logs / "vllm.log") as server:
                yield name, Target(server.base_url, SCRIPTED_ALIAS)
        else:
            from assay.engines import ensure_vllm

            executable = ensure_vllm().parent / "transformers"
            with TransformersServe(executable, folder, port=free_port(), log_path=logs / "transformers.log") as server:
                yield name, Target(server.base_url, str(folder))
    elif name == "llama_cpp.server":
        python = _skip_without_llama_cpp_python()
        with LlamaCppPythonServer(python, scripted_gguf, port=free_port(), log_path=logs / "llama-cpp.log",
                                  alias=SCRIPTED_ALIAS) as server:
            yield name, Target(server.base_url, SCRIPTED_ALIAS)
    else:
        from assay.engines.sim import SimServer, SimSettings

        # The simulator is scripted already: it writes reasoning tokens when told to.
        with SimServer(SimSettings(ttft_ms=5, tpot_ms=1, reasoning_tokens=4, model=MODEL)) as sim:
            yield name, Target(sim.base_url, MODEL)


def _record(engine: str, capability: str, verdict: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.setdefault(engine, {})[capability] = verdict
    staging = RESULTS.with_suffix(".tmp")
    staging.write_text(json.dumps(results, indent=1, sort_keys=True))
    staging.replace(RESULTS)


def _check(engine: str, where: Target, capability: str) -> None:
    documented = documented_table().get(engine, {}).get(capability)
    assert documented is not None, f"docs/engines.md has no cell for {engine} / {capability}"
    if documented.startswith("not tested here"):
        pytest.skip(f"{engine} / {capability}: {documented}")
    verdict = PROBES[capability](where)
    _record(engine, capability, verdict)
    assert verdict == documented, f"{engine} / {capability}: the probe saw {verdict!r}, docs/engines.md says {documented!r}"


@pytest.mark.parametrize("capability", SMOLLM2_CAPABILITIES)
def test_capability(target: tuple[str, Target], capability: str) -> None:
    _check(*target, capability)


@pytest.mark.parametrize("capability", SCRIPTED_CAPABILITIES)
def test_scripted_capability(scripted_target: tuple[str, Target], capability: str) -> None:
    _check(*scripted_target, capability)


def test_the_table_names_every_engine_and_capability() -> None:
    table = documented_table()
    assert sorted(table) == sorted(ENGINES)
    for engine, cells in table.items():
        assert sorted(cells) == sorted(PROBES), engine


def test_transformers_serve_lives_in_vllms_environment() -> None:
    """The probes find ``transformers serve`` where the vLLM set-up puts it."""
    from assay.engines import find_vllm_python

    python = find_vllm_python()
    if python is None or os.environ.get("ASSAY_SKIP_VLLM") == "1":
        pytest.skip("vLLM's environment is not installed")
    assert shutil.which("transformers", path=str(python.parent))
