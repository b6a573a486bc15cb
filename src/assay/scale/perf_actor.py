"""The Ray actor of ``assay perf --ray``: one client process on some node, running the one send loop.

Each point it gets a :class:`~assay.perf.workers.WorkerJob` (its share of the point's schedule and
requests, as a ``--workers`` process does) and streams its records back in batches while they end.
Its clock is its own machine's: the driver measures the offset before the point (:meth:`PerfActor.clock`)
and hands the actor the run's origin and the start instant already on the actor's clock, so the
records it makes are on the driver's timeline.

The class is plain Python: the driver wraps it with ``ray.remote`` (this module never imports Ray).
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any

import msgspec

from assay.perf.workers import WorkerJob
from assay.store import row_encoder

BATCH_S = 0.05
"""Records are sent back at least this often while a point runs (a killed driver loses at most a batch)."""
BATCH_MOST = 2000
"""And at most this many in one batch."""
READY = b"READY"


@dataclass
class ActorJob:
    """One point's work for one actor."""

    job: WorkerJob
    """Its share; ``job.origin_perf_ns`` is the run's origin on this actor's clock (driver origin + offset)."""
    actor: int
    clock_offset_ns: int
    clock_uncertainty_ns: int


class PerfActor:
    """One client process of a ``--ray`` run (Ray runs it with a few threads: ``go`` arrives while ``run`` waits)."""

    def __init__(self, number: int, clock_skew_ns: int = 0) -> None:
        self.number = number
        self.clock_skew_ns = clock_skew_ns
        """Test hook: this actor's clock reads this much ahead of the machine's (as another machine's would)."""
        self._go = threading.Event()
        self._start_ns = 0

    def ready(self) -> str:
        """The node it runs on (answered once the actor is up)."""
        import ray

        return str(ray.get_runtime_context().get_node_id())

    def clock(self) -> int:
        """This actor's clock now (``perf_counter_ns``, skewed by the test hook)."""
        return time.perf_counter_ns() + self.clock_skew_ns

    def go(self, start_ns: int) -> None:
        """Start sending at ``start_ns`` on this actor's clock (every actor is ready by then)."""
        self._start_ns = start_ns
        self._go.set()

    def run(self, work: ActorJob) -> Iterator[bytes]:
        """Yield ``READY`` once connections are open, then batches of records (JSON arrays) as they end, then
        ``HEALTH`` + the client's health. Sending starts when :meth:`go` names the start instant."""
        self._go.clear()
        records: queue.SimpleQueue[Any] = queue.SimpleQueue()
        ready = threading.Event()
        outcome: dict[str, Any] = {}
        thread = threading.Thread(target=self._send, args=(work, records, ready, outcome), name="assay-send",
                                  daemon=True)
        thread.start()
        while not ready.wait(0.05):
            if not thread.is_alive():
                break
        if "error" in outcome:
            raise outcome["error"]
        yield READY
        encode = row_encoder()
        while True:
            alive = thread.is_alive()
            batch = []
            try:
                batch.append(records.get(timeout=BATCH_S))
                while len(batch) < BATCH_MOST:
                    batch.append(records.get_nowait())
            except queue.Empty:
                pass
            if batch:
                yield encode(batch)
            elif not alive:
                break
        if "error" in outcome:
            raise outcome["error"]
        yield b"HEALTH" + msgspec.json.encode(asdict(outcome["health"]))

    def _send(self, work: ActorJob, records: queue.SimpleQueue[Any], ready: threading.Event,
              outcome: dict[str, Any]) -> None:
        from assay._aio import run as run_loop

        try:
            outcome["health"] = run_loop(_work(work, self.clock_skew_ns, self._go, lambda: self._start_ns, records.put,
                                               ready), timing=True)
        except BaseException as exc:
            outcome["error"] = exc
            ready.set()


# Not a method: an ``async def`` on the class would make Ray run the actor as an asyncio actor, all of its
# methods on one event loop, where ``run`` (blocking) would keep ``clock`` and ``go`` from ever being answered.
async def _work(work: ActorJob, skew: int, go: threading.Event, start: Callable[[], int], put: Any,
                ready: threading.Event) -> Any:
    from assay.client.fleet import open_client
    from assay.perf.load import send_load
    from assay.perf.records import RecordMaker
    from assay.perf.schedule import LoopMonitor

    job = work.job
    actor, offset, uncertainty = work.actor, work.clock_offset_ns, work.clock_uncertainty_ns

    def emit(record: Any) -> None:
        record.actor, record.clock_offset_ns, record.clock_uncertainty_ns = actor, offset, uncertainty
        put(record)

    monitor = LoopMonitor()
    async with open_client(**job.client_args) as client:
        if job.schedule.concurrency and job.requests:
            await client.warm(min(job.schedule.concurrency, len(job.requests)))
        ready.set()
        await asyncio.get_running_loop().run_in_executor(None, go.wait)
        start_ns = start() - skew  # on this machine's own clock
        delay_s = (start_ns - time.perf_counter_ns()) / 1e9
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        monitor.start()
        # The run's origin on this machine's clock: the marks it makes then count from the driver's origin.
        maker = RecordMaker(job.origin_perf_ns - skew, job.origin_epoch_ns)
        deadline_ns = None if job.window_ns is None else start_ns + job.window_ns
        await send_load(client, job.schedule, iter(job.requests), maker, emit, start_ns=start_ns,
                        deadline_ns=deadline_ns)
    return await monitor.stop()


def shifted(job: WorkerJob, offset_ns: int) -> WorkerJob:
    """``job`` with the run's origin moved onto a clock ``offset_ns`` ahead of the driver's."""
    return replace(job, origin_perf_ns=job.origin_perf_ns + offset_ns)


__all__ = ["READY", "ActorJob", "PerfActor", "shifted"]
