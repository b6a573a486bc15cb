"""``--workers N``: one sweep point's requests spread over N client processes, on one schedule.

The parent makes every request (prompts, indices) and, for open loop, every send time; it
hands each worker its share and a common start instant on the machine-wide monotonic clock
(``perf_counter_ns`` is CLOCK_MONOTONIC, shared by all processes), so a rate means the same
thing with 1 or 8 workers. Workers stream their records back as they finish; the parent is
the only writer of ``requests.jsonl`` and computes metrics over all requests at once
(percentiles of the union, never averages of per-worker numbers).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

import msgspec

from assay._aio import run as run_loop
from assay.perf.load import Schedule, Work, send_load
from assay.perf.records import RecordMaker
from assay.perf.schedule import ClientHealth, LoopMonitor
from assay.store import RequestRecord, row_encoder


@dataclass
class WorkerJob:
    """Everything one worker process needs (sent pickled at start)."""

    client_args: dict[str, Any]
    origin_perf_ns: int
    origin_epoch_ns: int
    """The run's clock origin: the worker's records count from it, like the parent's."""
    schedule: Schedule
    """This worker's share: its slots (closed loop) or its send times (open loop, from the common start)."""
    requests: list[tuple[int, Work]]
    """(index, request), in the order they are sent; multi-turn: (session number, session)."""
    window_ns: int | None
    """Length of the point's sending window (``duration``), if any."""


def split_evenly(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _worker_main(job: WorkerJob, connection: Connection) -> None:
    """Entry point of a worker process."""
    # The parent alone decides when a run stops (Ctrl-C reaches the whole process group): it ends its
    # workers itself, after the records they sent are kept.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    encode = row_encoder()
    try:
        health = run_loop(_work(job, connection, lambda record: connection.send_bytes(encode(record))), timing=True)
        connection.send_bytes(b"HEALTH" + msgspec.json.encode(asdict(health)))
    except (BrokenPipeError, EOFError):  # the parent is gone: nobody is left to send records to
        return
    connection.close()


async def _work(job: WorkerJob, connection: Connection, emit: Callable[[RequestRecord], None]) -> ClientHealth:
    from assay.client.fleet import open_client

    monitor = LoopMonitor()
    async with open_client(**job.client_args) as client:
        if job.schedule.concurrency and job.requests:
            await client.warm(min(job.schedule.concurrency, len(job.requests)))
        connection.send_bytes(b"READY")
        # Every worker got here: the parent now names the common start instant.
        start_ns = int(await asyncio.get_running_loop().run_in_executor(None, connection.recv))
        delay = (start_ns - time.perf_counter_ns()) / 1e9
        if delay > 0:
            await asyncio.sleep(delay)
        monitor.start()
        await send_load(client, job.schedule, iter(job.requests), RecordMaker(job.origin_perf_ns, job.origin_epoch_ns),
                        emit, start_ns=start_ns, deadline_ns=None if job.window_ns is None else start_ns + job.window_ns)
    return await monitor.stop()


def run_jobs(jobs: list[WorkerJob], on_record: Callable[[RequestRecord], None],
             stop: threading.Event | None = None) -> list[ClientHealth]:
    """Start one process per job, relay records to ``on_record`` as they arrive, return each worker's health.

    Setting ``stop`` (the run was interrupted), or an error from ``on_record`` (a record that cannot
    be written), ends the workers at once: no request is sent after the parent has stopped.
    """
    context = multiprocessing.get_context("spawn")
    decoder = msgspec.json.Decoder(RequestRecord)
    processes, connections = [], []
    healths: list[ClientHealth] = []
    completed = False
    try:
        for job in jobs:
            parent_end, child_end = context.Pipe(duplex=True)
            process = context.Process(target=_worker_main, args=(job, child_end), daemon=True)
            process.start()
            child_end.close()
            processes.append(process)
            connections.append(parent_end)
        for connection in connections:  # wait until every worker is up, then start them all at once
            if connection.recv_bytes() != b"READY":
                raise RuntimeError("a perf worker failed to start")
        start_ns = time.perf_counter_ns() + 50_000_000
        for connection in connections:
            connection.send(start_ns)
        open_connections: list[Any] = list(connections)
        while open_connections:
            if stop is not None and stop.is_set():
                return healths
            for ready in wait(open_connections, timeout=0.1):
                connection = ready  # type: ignore[assignment]
                try:
                    message = connection.recv_bytes()
                except EOFError:
                    open_connections.remove(connection)
                    continue
                if message.startswith(b"HEALTH"):
                    healths.append(ClientHealth(**msgspec.json.decode(message[6:])))
                else:
                    on_record(decoder.decode(message))
        completed = True
    finally:
        for process in processes:
            if not completed and process.is_alive():
                process.terminate()
            process.join()
        for connection in connections:
            connection.close()
    return healths


def merge_health(healths: list[ClientHealth]) -> ClientHealth:
    """The busiest worker's event-loop lag and CPU (each worker is a process of its own)."""
    if not healths:
        return ClientHealth(0.0, 0.0, 0.0)
    busiest = max(healths, key=lambda h: h.loop_lag_p99_ms)
    merged = ClientHealth(
        loop_lag_p99_ms=busiest.loop_lag_p99_ms,
        loop_lag_max_ms=max(h.loop_lag_max_ms for h in healths),
        cpu_percent=max(h.cpu_percent for h in healths),
        run_queue_wait_percent=busiest.run_queue_wait_percent, steal_percent=busiest.steal_percent,
        loop_thread_cpu_percent=max((h.loop_thread_cpu_percent for h in healths
                                     if h.loop_thread_cpu_percent is not None), default=None),
        cpu_cores=busiest.cpu_cores,
    )
    seen = [h.other_cpu_cores + h.cpu_percent / 100 for h in healths if h.other_cpu_cores is not None]
    if seen:  # what each worker saw as "other" holds its sibling workers: those are the client's own load
        merged.other_cpu_cores = max(0.0, sum(seen) / len(seen) - sum(h.cpu_percent for h in healths) / 100)
    return merged


__all__ = ["WorkerJob", "merge_health", "run_jobs", "split_evenly"]
