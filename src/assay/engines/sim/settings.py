"""What a simulated engine is told: its settings, each declared once with its ``assay sim`` flag."""

from __future__ import annotations

from dataclasses import dataclass, field

from assay.flags import flag

FAULTS = {
    "http500": "answer HTTP 500 with a JSON error",
    "http502": "answer HTTP 502 with an HTML body",
    "http503": "answer HTTP 503 with a JSON error",
    "http429": "answer HTTP 429 with Retry-After: 1",
    "reset": "send a few chunks, then reset the connection (RST)",
    "stall": "send a few chunks, then nothing for stall_s seconds",
    "split": "send every SSE line in two writes (a correct stream, awkwardly cut)",
    "bad_json": "one event is not valid JSON",
    "no_done": "omit the final [DONE] line",
    "empty_choices": "one event has an empty choices list",
    "bad_utf8": "one event carries bytes that are not UTF-8",
    "error_event": "an error object inside the stream, after a few chunks",
    "oversized": "one event of 8 MiB",
    "abort": "after a few chunks, end the stream (HTTP 200) with finish_reason 'abort', as vLLM does on shutdown",
    "runaway": "ignore max_tokens: stream five times as many tokens, then end normally",
    "endless": "after a few chunks, send empty events forever (the read timeout never fires)",
    "echo_headers": "answer HTTP 500 with a JSON error echoing the request line and headers (credentials too)",
}
"""Fault kind -> what the simulator does to a request that draws it."""


def parse_faults(specs: list[str]) -> dict[str, float]:
    """``["reset=0.5", "http503"]`` -> ``{"reset": 0.5, "http503": 1.0}``."""
    from assay.errors import ConfigError

    faults = {}
    for spec in specs:
        kind, _, probability = spec.partition("=")
        if kind not in FAULTS:
            raise ConfigError(f"--fault: unknown kind {kind!r}; known: {', '.join(FAULTS)}")
        try:
            value = float(probability) if probability else 1.0
        except ValueError:
            raise ConfigError(f"--fault: {spec!r}: the probability must be a number") from None
        if not 0 <= value <= 1:
            raise ConfigError(f"--fault: {spec!r}: the probability must be in [0, 1]")
        faults[kind] = value
    return faults


def _fault_words(faults: dict[str, float]) -> list[str]:
    return [f"{kind}={probability}" for kind, probability in faults.items()]


@dataclass
class SimSettings:
    """One simulated engine's behaviour. Each field is an ``assay sim`` flag (``metadata=flag(...)``):
    the CLI's arguments, their mapping to this class and ``SimServer``'s command line come from here."""

    model: str = field(default="sim", metadata=flag())
    ttft_ms: float = field(default=50.0, metadata=flag("time to first token of a request alone"))
    tpot_ms: float = field(default=10.0, metadata=flag("time per output token of a request alone"))
    tokens_per_chunk: int = field(default=1, metadata=flag())
    output_tokens: int = field(default=256, metadata=flag("tokens when a request names no max_tokens"))
    reasoning_tokens: int = field(default=0, metadata=flag("streamed as reasoning_content first (chat)"))
    """Count toward max_tokens."""
    ttft_ms_per_request: float = field(default=0.0, metadata=flag("extra TTFT per other request in flight"))
    """The batching cost."""
    tpot_ms_per_request: float = field(default=0.0, metadata=flag("extra TPOT per other request in flight"))
    max_batch: int = field(default=0, metadata=flag("requests generating at once (0: unlimited)"))
    """The rest wait in a queue; the wait is part of their TTFT."""
    faults: dict[str, float] = field(default_factory=dict, metadata=flag(
        f"inject a fault into a fraction P of completions; KIND: {' '.join(FAULTS)}", names=("--fault",),
        action="append", metavar="KIND=P", convert=parse_faults, write=_fault_words))
    """Fault kind -> probability per completion request (see FAULTS); drawn with ``fault_seed``."""
    fault_seed: int = field(default=0, metadata=flag())
    stall_s: float = field(default=30.0, metadata=flag("how long a stall fault stops sending"))
    harmony: bool = field(default=False, metadata=flag(
        "stream gpt-oss harmony text (analysis channel, then final) in the content"))
    """As a server that does not parse harmony does: ``<|channel|>analysis<|message|>`` + ``reasoning_tokens``
    words ``<|end|><|start|>assistant<|channel|>final<|message|>`` + the answer ``<|return|>``, each marker
    one token, all counted in max_tokens."""
    context_tokens: int = field(default=0, metadata=flag(
        "prompt + output tokens per request; reaching it ends with finish_reason length (0: no limit)"))
    """A request that reaches it stops before max_tokens, as a real engine's context limit does."""
    pooling_ms: float = field(default=5.0, metadata=flag(
        "embeddings/rerank/score: time of a request besides its inputs"))
    pooling_ms_per_input: float = field(default=1.0, metadata=flag(
        "embeddings/rerank/score: time per text embedded or document ranked"))
    """An embeddings request of N texts (a rerank of N documents) takes exactly
    ``pooling_ms + N × pooling_ms_per_input`` from leaving the queue to its answer."""
    spec_draft_tokens: int = field(default=0, metadata=flag(
        "emulate speculative decoding: K draft tokens a step, each chunk one step that accepted its tokens less "
        "one; vLLM's spec_decode counters on /metrics (0: off)"))
    """See :mod:`assay.engines.sim.spec_decode`; the accepted tokens a step follow ``tokens_per_chunk``."""
