"""Names users already know from EvalScope."""

from __future__ import annotations

from enum import StrEnum


class EvalType(StrEnum):
    """How the model is reached. assay evaluates models behind an OpenAI-compatible service.

    A ``str`` enum, so EvalScope's strings work wherever it is asked for: ``EvalType("openai_api")``,
    and the older spellings ``"service"`` and ``"server"`` read as :attr:`SERVICE`.
    """

    SERVICE = "openai_api"
    """An OpenAI-compatible HTTP service (vLLM, SGLang, llama.cpp, ...)."""

    @classmethod
    def _missing_(cls, value: object) -> EvalType | None:
        if isinstance(value, str) and value.strip().lower() in _ALIASES:
            return cls.SERVICE
        return None

    @classmethod
    def parse(cls, value: str) -> EvalType:
        """The member for ``value`` (a member, its string or an alias); ValueError if there is none."""
        return cls(value)


_ALIASES = ("openai_api", "service", "server")


URL_STRATEGIES = ("round-robin", "least-inflight")
"""How requests are shared out over several endpoints (``--url`` given more than once, perf and eval):
``round-robin`` in turn, an exact split; ``least-inflight`` to the endpoint with the fewest in flight.
Here, not in ``assay.client.fleet``, so that building the command line imports no HTTP client."""
