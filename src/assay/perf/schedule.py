"""When requests are sent: open-loop arrival schedules and the client's self-check.

Arrivals (open loop, ``--rate``): inter-arrival gaps drawn from a gamma distribution with
shape ``burstiness`` and mean ``1 / rate``. ``burstiness = 1`` is a Poisson process; below 1
arrivals bunch up (coefficient of variation ``1 / sqrt(burstiness)``), above 1 they even
out. A linear ramp-up warps time so the instantaneous rate climbs from 0 to ``rate`` over
``ramp_up_s`` seconds: the expected number of arrivals by time t is
``Λ(t) = rate·t²/(2R)`` for t < R and ``rate·R/2 + rate·(t − R)`` after, and arrival i is
placed at ``Λ⁻¹(u_i)`` where ``u_i`` are the unit-rate arrival times.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

from assay.perf.numeric import numpy


def arrival_offsets(
    count: int, rate: float, *, burstiness: float = 1.0, ramp_up_s: float = 0.0, seed: int = 0,
    duration_s: float | None = None,
) -> list[float]:
    """Send times in seconds after the point starts (at most ``count``, and before ``duration_s``)."""
    np = numpy()

    if rate <= 0:
        raise ValueError("rate must be positive")
    rng = np.random.default_rng(seed)
    limit = count
    if duration_s is not None:  # enough arrivals to cover the duration, generously
        limit = min(count, int(rate * duration_s * 1.5 + 10 * math.sqrt(rate * duration_s + 1) + 10))
    gaps = rng.gamma(shape=burstiness, scale=1.0 / burstiness, size=limit)  # unit mean
    unit_times = np.cumsum(gaps) - gaps[0]  # the first request goes at once
    if ramp_up_s > 0:
        knee = rate * ramp_up_s / 2  # expected arrivals during the ramp
        offsets = np.where(
            unit_times < knee,
            np.sqrt(2 * ramp_up_s * unit_times / rate),
            ramp_up_s + (unit_times - knee) / rate,
        )
    else:
        offsets = unit_times / rate
    result = [float(t) for t in offsets]
    if duration_s is not None:
        result = [t for t in result if t < duration_s]
    return result


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the garbage collector's pauses short while requests are timed.

    Everything alive when the measurement starts (modules, the tokenizer's tables, the prompts)
    is moved to the collector's permanent generation (:func:`gc.freeze`), so a collection during
    the run walks only what the run itself allocated. Without it, one collection of an older
    generation took 7 ms at concurrency 128, long enough to show in the TTFT p99. Undone after.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@dataclass
class ClientHealth:
    """How busy the client itself was during a sweep point."""

    loop_lag_p99_ms: float
    loop_lag_max_ms: float
    cpu_percent: float
    """Client process CPU time over wall time (100 = one core fully busy)."""

    @property
    def client_bound(self) -> bool:
        """True when the client was busy enough to distort timings of a few milliseconds."""
        return self.loop_lag_p99_ms > 5.0 or self.cpu_percent > 90.0


class LoopMonitor:
    """Measures event-loop lag (how late a 5 ms timer fires) and the process's CPU time.

    A plain timer callback that re-arms itself: no task, coroutine or future per tick.
    """

    def __init__(self, interval_s: float = 0.005) -> None:
        self.interval_s = interval_s
        self.lags_ms: list[float] = []
        self._handle: asyncio.TimerHandle | None = None
        self._cpu0 = 0.0
        self._wall0 = 0.0

    def _tick(self, due: float) -> None:
        now = time.perf_counter()
        self.lags_ms.append(max(0.0, (now - due) * 1000))
        self._handle = asyncio.get_running_loop().call_later(self.interval_s, self._tick, now + self.interval_s)

    def start(self) -> None:
        self._cpu0, self._wall0 = time.process_time(), time.perf_counter()
        self._handle = asyncio.get_running_loop().call_later(self.interval_s, self._tick, self._wall0 + self.interval_s)

    async def stop(self) -> ClientHealth:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        wall = max(1e-9, time.perf_counter() - self._wall0)
        cpu = (time.process_time() - self._cpu0) / wall * 100
        lags = sorted(self.lags_ms) or [0.0]
        p99 = lags[min(len(lags) - 1, int(0.99 * (len(lags) - 1) + 0.5))]
        return ClientHealth(loop_lag_p99_ms=p99, loop_lag_max_ms=lags[-1], cpu_percent=cpu)
