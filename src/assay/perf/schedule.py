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
import math
import os
import time
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


@dataclass
class ClientHealth:
    """How busy the client itself, and the machine around it, were during a sweep point."""

    loop_lag_p99_ms: float
    loop_lag_max_ms: float
    cpu_percent: float
    """Client process CPU time over wall time (100 = one core fully busy)."""
    run_queue_wait_percent: float | None = None
    """Time the event-loop thread was ready to run but waited for a CPU, over wall time (Linux
    ``/proc/thread-self/schedstat``; None elsewhere): the share of the lag other load caused."""
    loop_thread_cpu_percent: float | None = None
    """CPU time of the event-loop thread alone over wall time (the rest of ``cpu_percent`` is the
    client's other threads, which hold the loop through the GIL)."""
    other_cpu_cores: float | None = None
    """CPU the rest of the machine used meanwhile (all processes but this one, in cores; Linux)."""
    steal_percent: float | None = None
    """Share of the machine's CPU time the hypervisor gave to other guests (``/proc/stat`` steal)."""
    cpu_cores: int | None = None

    @property
    def client_bound(self) -> bool:
        """True when the client was busy enough to distort timings of a few milliseconds."""
        return self.loop_lag_p99_ms > 5.0 or self.cpu_percent > 90.0

    @property
    def lag_cause(self) -> str | None:
        """Why a client-bound point's loop lagged: ``"client"`` or ``"machine"`` (None: it did not).

        ``"client"`` when the client used half a core or more, or its threads besides the loop's
        used a tenth of one (they hold the loop through the GIL). Otherwise ``"machine"`` when the
        loop thread waited for a CPU longer than the client ran and other processes (at least half
        a core) or the hypervisor (steal >= 5 %) took the CPU: more client processes (--workers)
        cannot cure that. Anything else is put down to the client.
        """
        if not self.client_bound:
            return None
        other_threads = (self.cpu_percent - self.loop_thread_cpu_percent
                         if self.loop_thread_cpu_percent is not None else 0.0)
        if self.cpu_percent >= 50.0 or other_threads >= 10.0:
            return "client"
        others_busy = (self.other_cpu_cores is None or self.other_cpu_cores >= 0.5
                       or (self.steal_percent or 0.0) >= 5.0)
        if (self.run_queue_wait_percent is not None and self.run_queue_wait_percent > self.cpu_percent
                and others_busy):
            return "machine"
        return "client"


def _machine_cpu_s() -> tuple[float, float, float] | None:
    """(busy, steal, total) CPU seconds of the whole machine since boot (Linux ``/proc/stat``)."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(x) for x in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    if len(fields) < 8:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    hz = float(os.sysconf("SC_CLK_TCK"))
    busy = user + nice + system + irq + softirq
    return busy / hz, steal / hz, (busy + idle + iowait + steal) / hz


def _thread_schedule_s() -> tuple[float, float] | None:
    """(on a CPU, waiting on a run queue) seconds of this thread since it started (Linux schedstat)."""
    try:
        with open("/proc/thread-self/schedstat", encoding="ascii") as schedstat:
            running_ns, waiting_ns = schedstat.read().split()[:2]
        return int(running_ns) / 1e9, int(waiting_ns) / 1e9
    except (OSError, ValueError):
        return None


class LoopMonitor:
    """Measures event-loop lag (how late a 5 ms timer fires), the process's CPU time, and the
    machine's other load (run-queue wait of the loop thread, other processes' CPU, steal).

    A plain timer callback that re-arms itself: no task, coroutine or future per tick.
    """

    def __init__(self, interval_s: float = 0.005) -> None:
        self.interval_s = interval_s
        self.lags_ms: list[float] = []
        self._handle: asyncio.TimerHandle | None = None
        self._cpu0 = 0.0
        self._wall0 = 0.0
        self._machine0: tuple[float, float, float] | None = None
        self._thread0: tuple[float, float] | None = None

    def _tick(self, due: float) -> None:
        now = time.perf_counter()
        self.lags_ms.append(max(0.0, (now - due) * 1000))
        self._handle = asyncio.get_running_loop().call_later(self.interval_s, self._tick, now + self.interval_s)

    def start(self) -> None:
        self._machine0, self._thread0 = _machine_cpu_s(), _thread_schedule_s()
        self._cpu0, self._wall0 = time.process_time(), time.perf_counter()
        self._handle = asyncio.get_running_loop().call_later(self.interval_s, self._tick, self._wall0 + self.interval_s)

    async def stop(self) -> ClientHealth:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        wall = max(1e-9, time.perf_counter() - self._wall0)
        cpu_s = time.process_time() - self._cpu0
        machine1, thread1 = _machine_cpu_s(), _thread_schedule_s()
        lags = sorted(self.lags_ms) or [0.0]
        p99 = lags[min(len(lags) - 1, int(0.99 * (len(lags) - 1) + 0.5))]
        health = ClientHealth(loop_lag_p99_ms=p99, loop_lag_max_ms=lags[-1], cpu_percent=cpu_s / wall * 100)
        if self._thread0 is not None and thread1 is not None:
            health.loop_thread_cpu_percent = (thread1[0] - self._thread0[0]) / wall * 100
            health.run_queue_wait_percent = (thread1[1] - self._thread0[1]) / wall * 100
        if self._machine0 is not None and machine1 is not None:
            busy, steal, total = (after - before for after, before in zip(machine1, self._machine0))
            health.other_cpu_cores = max(0.0, busy - cpu_s) / wall
            health.steal_percent = steal / total * 100 if total > 0 else 0.0
            health.cpu_cores = os.cpu_count()
        return health
