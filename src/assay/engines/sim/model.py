"""The simulated engine's model: what a request is answered (the token script) and when (the timings).

TTFT and TPOT grow with the number of requests in flight (a batching model); beyond ``max_batch``
requests wait in a queue. Faults are drawn per request with a seeded generator. Nothing here
touches a socket: the routes (:mod:`.routes`) ask the model and write what it says.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from assay.engines.sim.settings import SimSettings

WORDS = ("alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "lambda")
ANALYSIS_WORDS = ("we", "need", "to", "check", "each", "step")
"""Harmony mode's analysis channel: words apart from the answer's, so that scoring the analysis shows."""


@dataclass
class SimRecord:
    id: str
    arrival_ns: int
    fault: str | None = None
    start_ns: int = 0
    """Left the queue and began 'prefill'."""
    chunk_ns: list[int] = field(default_factory=list)
    chunk_tokens: list[int] = field(default_factory=list)
    end_ns: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    first_answer_chunk: int | None = None
    """Index in ``chunk_ns`` of the chunk that carried the answer's first token (after reasoning)."""
    finish_reason: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    """The request body less its prompt or messages (sampling parameters, stop, n, ...): what the server was asked."""
    messages: list[Any] | None = None
    """Chat: the messages exactly as received (a multi-turn test checks turn k carries turns < k and their answers)."""
    endpoint: str | None = None
    """``embeddings``, ``rerank``, ``score`` or ``responses`` (None: chat or completions)."""
    inputs: int | None = None
    """Embeddings: texts in the request (its batch size); rerank/score: documents ranked."""
    images: list[dict[str, Any]] = field(default_factory=list)
    """Chat: each image part decoded (size, mode, format, bytes: :mod:`assay.engines.sim.images`)."""


class Simulator:
    """The state of one simulated engine: settings, in-flight count, records."""

    def __init__(self, settings: SimSettings) -> None:
        import random

        self.settings = settings
        self.rng = random.Random(settings.fault_seed)
        self.records: list[SimRecord] = []
        self.in_flight = 0
        self.waiting = 0
        self.served = 0
        self.tokens_total = 0
        self.reads_kernel_stamped = 0
        self.reads_self_stamped = 0
        """Reads whose time is the kernel's receive time / the simulator's own (no usable timestamp)."""
        self._next_id = 0
        self._gate: asyncio.Semaphore | None = None

    def gate(self) -> asyncio.Semaphore | None:
        if self.settings.max_batch and self._gate is None:
            self._gate = asyncio.Semaphore(self.settings.max_batch)
        return self._gate

    async def admit(self, record: SimRecord) -> asyncio.Semaphore | None:
        """Wait in the queue for a batch slot (``max_batch``), then count the request in flight and stamp its
        start; every route's request does this, and gives the slot back with :meth:`leave`."""
        gate = self.gate()
        self.waiting += 1
        if gate is not None:
            await gate.acquire()
        self.waiting -= 1
        self.in_flight += 1
        record.start_ns = time.perf_counter_ns()
        return gate

    def leave(self, gate: asyncio.Semaphore | None) -> None:
        self.in_flight -= 1
        if gate is not None:
            gate.release()

    def ttft_s(self) -> float:
        s = self.settings
        return (s.ttft_ms + s.ttft_ms_per_request * max(0, self.in_flight - 1)) / 1000

    def tpot_s(self) -> float:
        s = self.settings
        return (s.tpot_ms + s.tpot_ms_per_request * max(0, self.in_flight - 1)) / 1000

    def draw_fault(self) -> str | None:
        """The fault this request gets, if any (one draw per kind, in a fixed order)."""
        for kind, probability in sorted(self.settings.faults.items()):
            if self.rng.random() < probability:
                return kind
        return None

    def new_id(self) -> str:
        self._next_id += 1
        return f"sim-{self._next_id}"

    def metrics_text(self) -> str:
        return (
            "# TYPE sim_requests_total counter\n"
            f"sim_requests_total {self.served}\n"
            "# TYPE sim_generation_tokens_total counter\n"
            f"sim_generation_tokens_total {self.tokens_total}\n"
            "# TYPE sim_requests_running gauge\n"
            f"sim_requests_running {self.in_flight}\n"
            "# TYPE sim_requests_waiting gauge\n"
            f"sim_requests_waiting {self.waiting}\n"
        )


async def sleep_until(deadline_ns: int) -> None:
    delay = (deadline_ns - time.perf_counter_ns()) / 1e9
    if delay > 0:
        await asyncio.sleep(delay)


class Script:
    """The tokens a request generates: reasoning (as ``reasoning_content``, or harmony's analysis
    channel in the content) and then the answer, as text for any range of token positions."""

    HARMONY_HEAD = ("<|channel|>", "analysis", "<|message|>")
    HARMONY_TURN = ("<|end|>", "<|start|>", "assistant", "<|channel|>", "final", "<|message|>")

    def __init__(self, settings: SimSettings, chat: bool, max_tokens: int) -> None:
        self.harmony = settings.harmony
        self.max_tokens = max_tokens
        if self.harmony:
            self.reasoning = 0
            self.analysis = settings.reasoning_tokens
            self.answer_from = len(self.HARMONY_HEAD) + self.analysis + len(self.HARMONY_TURN)
        else:
            self.reasoning = min(settings.reasoning_tokens, max_tokens) if chat else 0
            self.analysis = 0
            self.answer_from = self.reasoning

    def token(self, i: int) -> str:
        if not self.harmony:
            return f" {WORDS[i % len(WORDS)]}"
        head, turn = self.HARMONY_HEAD, self.HARMONY_TURN
        if i < len(head):
            return head[i]
        i -= len(head)
        if i < self.analysis:
            return f"{' ' if i else ''}{ANALYSIS_WORDS[i % len(ANALYSIS_WORDS)]}"
        i -= self.analysis
        if i < len(turn):
            return turn[i]
        i -= len(turn)
        if i == self.max_tokens - self.answer_from - 1:
            return "<|return|>"
        return f"{' ' if i else ''}{WORDS[i % len(WORDS)]}"

    def text(self, first: int, end: int) -> tuple[str, str]:
        """(answer text, reasoning_content text) of the tokens at positions ``first`` to ``end - 1``."""
        if self.harmony:
            return "".join(self.token(i) for i in range(first, end)), ""
        text = "".join(f" {WORDS[i % len(WORDS)]}" for i in range(first, end))  # the hot path: kept inline
        if first >= self.reasoning:
            return text, ""
        return "", text  # a chunk that starts in the reasoning is reasoning (as before harmony mode)

    def answer_in(self, first: int, end: int) -> bool:
        """Whether the tokens at ``first`` to ``end - 1`` hold answer text."""
        if self.harmony:
            return end > self.answer_from and self.answer_from != self.max_tokens - 1
        return first >= self.reasoning

    def whole(self, tokens: int) -> tuple[str, str]:
        """(answer, reasoning) of a response that is not streamed."""
        if self.harmony:
            return self.text(0, tokens)
        answer = " ".join(WORDS[i % len(WORDS)] for i in range(tokens - self.reasoning))
        return answer, " ".join(WORDS[i % len(WORDS)] for i in range(self.reasoning))

    def finish_reason(self, tokens: int) -> str:
        """``stop`` when harmony's answer ended with ``<|return|>`` within ``tokens``, else ``length``."""
        return "stop" if self.harmony and self.answer_from < tokens == self.max_tokens else "length"

