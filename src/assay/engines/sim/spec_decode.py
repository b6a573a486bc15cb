"""A speculative-decoding engine, emulated: vLLM's spec-decode counters on the simulator's ``/metrics``.

With ``spec_draft_tokens`` K > 0 each streamed chunk stands for one decoding step of a speculative
engine: a draft of K tokens, of which the chunk's tokens less one (the bonus token the target model
adds) were accepted, at most K. So ``--tokens-per-chunk 3 --spec-draft-tokens 4`` is an engine that
accepts 2 of 4 draft tokens a step (the last chunk of a request may carry fewer). The counters are
those vLLM serves (``vllm:spec_decode_num_drafts_total``, ``..._num_draft_tokens_total``,
``..._num_accepted_tokens_total`` and ``..._num_accepted_tokens_per_pos_total{position="i"}``), summed
over the chunks the simulator has sent (``/sim/records``), so a test knows their truth exactly;
``POST /sim/reset`` starts them again, as a restarted engine does.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assay.engines.sim.model import Simulator

PREFIX = "vllm:spec_decode_num_"


@dataclass(frozen=True)
class SpecCounters:
    drafts: int
    draft_tokens: int
    accepted_tokens: int
    accepted_per_position: list[int]


def counters(sim: Simulator) -> SpecCounters:
    """Drafts, draft tokens, accepted tokens and accepted tokens per draft position so far."""
    k = sim.settings.spec_draft_tokens
    sizes: Counter[int] = Counter()
    for record in sim.records:
        sizes.update(record.chunk_tokens)
    drafts = sum(sizes.values())
    accepted_per_position = [0] * k
    accepted = 0
    for tokens, count in sizes.items():
        taken = min(k, max(0, tokens - 1))
        accepted += taken * count
        for position in range(taken):
            accepted_per_position[position] += count
    return SpecCounters(drafts=drafts, draft_tokens=drafts * k, accepted_tokens=accepted,
                        accepted_per_position=accepted_per_position)


def metrics_text(sim: Simulator) -> str:
    """The counters as Prometheus text ("" when the simulator is not speculative)."""
    if sim.settings.spec_draft_tokens <= 0:
        return ""
    seen = counters(sim)
    lines = []
    for name, value in (("drafts", seen.drafts), ("draft_tokens", seen.draft_tokens),
                        ("accepted_tokens", seen.accepted_tokens)):
        lines += [f"# TYPE {PREFIX}{name} counter", f"{PREFIX}{name}_total {value}"]
    lines.append(f"# TYPE {PREFIX}accepted_tokens_per_pos counter")
    lines += [f'{PREFIX}accepted_tokens_per_pos_total{{position="{i}"}} {n}'
              for i, n in enumerate(seen.accepted_per_position)]
    return "\n".join(lines) + "\n"
