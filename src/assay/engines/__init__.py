"""Local engines assay can build, start, wait for and stop.

Public surface:
  - :func:`ensure_llama_server` builds (once, cached) or finds a ``llama-server`` binary;
  - :class:`LlamaServer` starts one on a free loopback port and stops it again;
  - :func:`ensure_smollm2` and :func:`make_tiny_model` provide model files without a hub.
"""

from assay.engines.llama_server import LlamaServer, ensure_llama_server
from assay.engines.models import ensure_smollm2, make_tiny_model, resolve_engine_model, start_local_engine

__all__ = ["LlamaServer", "ensure_llama_server", "ensure_smollm2", "make_tiny_model", "resolve_engine_model", "start_local_engine"]
