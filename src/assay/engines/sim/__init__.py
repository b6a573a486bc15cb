"""``assay sim``: a simulated OpenAI-compatible engine with exact, recorded timings.

For what a real engine cannot show: known TTFT/TPOT (so a client's numbers can be checked
against ground truth) and injected faults (HTTP errors, resets, stalls, broken events: ``FAULTS``).
It streams ``/v1/completions`` and ``/v1/chat/completions`` with:

- TTFT and TPOT that grow with the number of requests in flight (a batching model), and a
  maximum batch beyond which requests queue (their wait is part of their TTFT);
- several tokens per chunk, reasoning tokens streamed as ``reasoning_content`` before the
  answer (or, with ``harmony``, gpt-oss harmony text in the content: an analysis channel, then
  the final one), ``usage`` at the end (and on every chunk if ``continuous_usage_stats`` is asked);
- a context limit (``context_tokens``) that ends a request with finish_reason ``length``;
- emission on absolute deadlines (``first + i × TPOT``), so the schedule never drifts.

It runs on non-blocking sockets in an asyncio loop, with httptools parsing (cheap per chunk: one
JSON dump and one ``send``). Per request it records, on the monotonic clock shared by every
process of the machine (``time.perf_counter_ns``), when the request's bytes reached its socket
(the kernel's receive timestamp) and when each chunk was handed to the socket:
``GET /sim/records`` serves them, ``POST /sim/reset`` clears them, ``GET /metrics`` is
Prometheus text.

Modules: :mod:`.settings` (``SimSettings``, each field an ``assay sim`` flag; ``FAULTS``),
:mod:`.model` (what a request is answered and when), :mod:`.server` (sockets with kernel receive
timestamps, HTTP), :mod:`.routes` (the endpoints), :mod:`.process` (``SimServer``: a child process).
"""

from assay.engines.sim.process import SimServer
from assay.engines.sim.server import serve, start_server
from assay.engines.sim.settings import FAULTS, SimSettings, parse_faults

__all__ = ["FAULTS", "SimServer", "SimSettings", "parse_faults", "serve", "start_server"]
