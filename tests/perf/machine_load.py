"""What other load on the machine took from a test's own threads, read from the kernel.

Timing bounds in these tests hold for assay's own work. On a loaded machine (CI's two cores
shared with a simulator and other jobs) a thread that is ready to run may wait for a CPU for
tens of milliseconds, and a virtual machine may lose its CPUs to other guests (steal). A bound
that takes out exactly that time holds on a quiet, a fast and a loaded machine alike, and still
fails when assay itself adds the time (issue 11, point 9).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from assay.perf.schedule import LoopMonitor


def run_queue_wait_s(*, all_threads: bool) -> dict[str, float]:
    """Seconds each thread (this one, or every thread of this process) has been ready to run but
    waited for a CPU (Linux schedstat; empty elsewhere, which makes every bound strict)."""
    paths = sorted(Path("/proc/self/task").glob("*/schedstat")) if all_threads else [Path("/proc/thread-self/schedstat")]
    waits = {}
    for path in paths:
        try:
            waits[str(path.parent.resolve())] = int(path.read_text().split()[1]) / 1e9
        except (OSError, ValueError, IndexError):
            pass
    return waits


def steal_s_per_cpu() -> float:
    """Seconds the hypervisor gave this machine's CPUs to other guests, per CPU (Linux /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK") / (os.cpu_count() or 1)
    except (OSError, ValueError, IndexError):
        return 0.0


class MachineDelay:
    """What other load took from the measured threads during a block: ``ms``, their run-queue
    wait plus steal, over ``wall_ms``."""

    def __init__(self, *, all_threads: bool = False) -> None:
        self.all_threads = all_threads
        self.ms = 0.0
        self.wall_ms = 0.0

    def __enter__(self) -> MachineDelay:
        self._waits, self._steal = run_queue_wait_s(all_threads=self.all_threads), steal_s_per_cpu()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_ms = (time.perf_counter() - self._start) * 1000
        waits = run_queue_wait_s(all_threads=self.all_threads)
        waited = sum(after - self._waits.get(thread, 0.0) for thread, after in waits.items())
        self.ms = (waited + steal_s_per_cpu() - self._steal) * 1000


def delay_per_point(monkeypatch: pytest.MonkeyPatch, *, all_threads: Any = False) -> list[MachineDelay]:
    """One MachineDelay per sweep point run in this process, over the point's own window (from its
    client monitor's start to its stop). ``all_threads``: a bool, or a callable asked at each start."""
    start, stop = LoopMonitor.start, LoopMonitor.stop
    delays: list[MachineDelay] = []

    def start_measuring(self: LoopMonitor) -> None:
        every = all_threads() if callable(all_threads) else all_threads
        delays.append(MachineDelay(all_threads=every).__enter__())
        start(self)

    async def stop_measuring(self: LoopMonitor) -> Any:
        delays[-1].__exit__()
        return await stop(self)

    monkeypatch.setattr(LoopMonitor, "start", start_measuring)
    monkeypatch.setattr(LoopMonitor, "stop", stop_measuring)
    return delays
