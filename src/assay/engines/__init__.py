"""Local engines assay can build, start, wait for and stop.

Public surface:
  - :func:`ensure_llama_server` builds (once, cached) or finds a ``llama-server`` binary;
  - :class:`LlamaServer` starts one on a free loopback port and stops it again;
  - :func:`ensure_vllm` installs vLLM's CPU build once in a venv of its own; :class:`VllmServer`
    starts it like llama-server (on a Hugging Face folder: :func:`ensure_smollm2_hf`,
    :func:`make_tiny_hf_model`);
  - :func:`ensure_smollm2` and :func:`make_tiny_model` provide model files without a hub;
    :func:`make_scripted_model` (and :func:`ensure_scripted_hf`) a tiny model that writes a fixed
    ``<think>`` reasoning then an answer or a tool call, to test engines' reasoning and tool parsers.
"""

from assay.engines.llama_server import LlamaServer, ensure_llama_server
from assay.engines.models import (
    ENGINES,
    ensure_scripted_hf,
    ensure_smollm2,
    ensure_smollm2_hf,
    make_scripted_model,
    make_tiny_hf_model,
    make_tiny_model,
    resolve_engine_model,
    start_local_engine,
)
from assay.engines.vllm import VllmServer, ensure_vllm, find_vllm_python

__all__ = [
    "ENGINES",
    "LlamaServer",
    "VllmServer",
    "ensure_llama_server",
    "ensure_scripted_hf",
    "ensure_smollm2",
    "ensure_smollm2_hf",
    "ensure_vllm",
    "find_vllm_python",
    "make_scripted_model",
    "make_tiny_hf_model",
    "make_tiny_model",
    "resolve_engine_model",
    "start_local_engine",
]
