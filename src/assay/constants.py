"""Names users already know from EvalScope."""

from __future__ import annotations


class EvalType:
    """How the model is reached. assay evaluates models behind an OpenAI-compatible service."""

    SERVICE = "openai_api"
    """An OpenAI-compatible HTTP service (vLLM, SGLang, llama.cpp, ...)."""

    ALL = (SERVICE, "service", "server")


class HubType:
    HUGGINGFACE = "huggingface"
    MODELSCOPE = "modelscope"
    LOCAL = "local"
