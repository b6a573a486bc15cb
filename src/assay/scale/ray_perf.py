"""The driver's side of ``assay perf --ray``: actors on the cluster, one clock, records as they arrive.

The driver (the ``assay perf`` process) builds each point's schedule once, exactly as for
``--workers`` (closed loop: the concurrency split over the actors; open loop: one global arrival
schedule dealt out in turn, so the merged arrivals are the requested process), and is the only
writer of the run directory. Before each point it measures every actor's clock against its own:
20 ping-pongs, the one with the shortest round trip wins, offset = actor clock − midpoint of the
round trip, uncertainty = half that round trip (AIPerf's method). Actors then make records on the
driver's timeline; each record carries the offset and its uncertainty.

An actor that dies mid-point (its process or its node) costs its unfinished requests: each is
recorded failed with the reason ``worker lost``; the point completes with the other actors and
nothing waits on the dead one. The lost actor is replaced before the next point.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from assay.perf.records import RecordMaker
from assay.perf.schedule import ClientHealth
from assay.perf.workers import WorkerJob, merge_health
from assay.scale.cluster import alive_nodes, connect, placement
from assay.scale.perf_actor import READY, ActorJob, PerfActor, shifted
from assay.scale.summary import WORKER_LOST
from assay.store import RequestRecord

PINGS = 20
"""Clock samples per actor before each point; the one with the shortest round trip is kept."""
START_LEAD_NS = 100_000_000
"""The common start is this far ahead of the moment every actor said it was ready."""
READY_TIMEOUT_S = 120.0
SKEW_HOOK = "ASSAY_TEST_RAY_CLOCK_SKEW_NS"
"""Test hook: comma-separated clock skews (ns) for actors 0, 1, …, as if they ran on other machines."""


@dataclass(frozen=True)
class ClockReading:
    """One actor's clock against the driver's."""

    offset_ns: int
    """Actor clock − driver clock."""
    uncertainty_ns: int
    """Half the round trip of the sample kept: the true offset is within ``offset_ns ± uncertainty_ns``."""


class RayLoad:
    """The actors of one ``--ray`` run (made once, reused by every point)."""

    def __init__(self, address: str | None, actors: int = 0) -> None:
        self.ray = connect(address)
        self.nodes = alive_nodes(self.ray)
        self.count = actors or max(1, len(self.nodes))
        skews = [int(s) for s in os.environ.get(SKEW_HOOK, "").split(",") if s.strip()]
        self._skews = skews + [0] * (self.count - len(skews))
        self._remote = self.ray.remote(PerfActor)
        self.actors: list[Any] = [self._start_actor(k) for k in range(self.count)]
        self.ray.get([actor.ready.remote() for actor in self.actors], timeout=READY_TIMEOUT_S)

    def _start_actor(self, number: int) -> Any:
        return self._remote.options(num_cpus=0, max_concurrency=4, max_restarts=0,
                                    scheduling_strategy=placement(self.ray, number, self.nodes),
                                    ).remote(number, self._skews[number])

    def clock(self, actor: Any) -> ClockReading:
        """The actor's clock offset, from the ping with the shortest round trip."""
        best: tuple[int, int] | None = None
        for _ in range(PINGS):
            sent = time.perf_counter_ns()
            theirs = self.ray.get(actor.clock.remote())
            back = time.perf_counter_ns()
            if best is None or back - sent < best[0]:
                best = (back - sent, theirs - (sent + back) // 2)
        assert best is not None
        return ClockReading(offset_ns=best[1], uncertainty_ns=(best[0] + 1) // 2)

    def run_point(self, jobs: list[WorkerJob], on_record: Callable[[RequestRecord], None],
                  stop: threading.Event | None = None) -> ClientHealth:
        """Run one point's jobs (one per actor), relay records to ``on_record`` as batches arrive, and return
        the busiest actor's health. A lost actor's unfinished requests come back failed (``worker lost``)."""
        ray = self.ray
        readings = [self.clock(actor) for actor in self.actors[:len(jobs)]]
        streams = [actor.run.remote(ActorJob(shifted(job, reading.offset_ns), k, reading.offset_ns,
                                             reading.uncertainty_ns))
                   for k, (actor, job, reading) in enumerate(zip(self.actors, jobs, readings))]
        arrived: queue.Queue[tuple[int, str, Any]] = queue.Queue()
        returned: list[set[int]] = [set() for _ in jobs]
        lost: dict[int, str] = {}
        ready: list[int] = []
        for k, stream in enumerate(streams):
            try:
                if ray.get(next(stream), timeout=READY_TIMEOUT_S) != READY:
                    raise RuntimeError("the actor did not say it was ready")
                ready.append(k)
            except Exception as exc:
                lost[k] = _reason(exc)
        start_ns = time.perf_counter_ns() + START_LEAD_NS
        for k in ready:
            self.actors[k].go.remote(start_ns + readings[k].offset_ns)
        followers = [threading.Thread(target=_follow, args=(ray, k, streams[k], arrived), daemon=True,
                                      name=f"ray-actor-{k}") for k in ready]
        for follower in followers:
            follower.start()
        decoder = msgspec.json.Decoder(list[RequestRecord])
        healths: list[ClientHealth] = []
        running = len(ready)
        while running:
            if stop is not None and stop.is_set():
                for actor in self.actors:
                    ray.kill(actor)
                self.actors = []
                return merge_health(healths)
            try:
                k, kind, payload = arrived.get(timeout=0.1)
            except queue.Empty:
                continue
            if kind == "batch":
                if payload.startswith(b"HEALTH"):
                    healths.append(ClientHealth(**msgspec.json.decode(payload[6:])))
                    continue
                for record in decoder.decode(payload):
                    returned[k].add(record.index)
                    on_record(record)
            else:
                running -= 1
                if kind == "lost":
                    lost[k] = payload
        for k, reason in sorted(lost.items()):
            for record in lost_records(jobs[k], returned[k], k, readings[k], reason, start_ns):
                on_record(record)
            self.actors[k] = self._start_actor(k)  # a fresh one for the next point
        return merge_health(healths)

    def close(self) -> None:
        """Let the actors go (the cluster itself is not ours to stop)."""
        for actor in self.actors:
            try:
                self.ray.kill(actor)
            except Exception:  # already gone
                pass
        self.actors = []
        self.ray.shutdown()


def _follow(ray: Any, k: int, stream: Any, arrived: queue.Queue[tuple[int, str, Any]]) -> None:
    """Relay one actor's batches to the driver's queue; its death becomes one ``lost`` item."""
    try:
        for ref in stream:
            arrived.put((k, "batch", ray.get(ref)))
    except Exception as exc:
        arrived.put((k, "lost", _reason(exc)))
        return
    arrived.put((k, "end", None))


def _reason(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return f"{WORKER_LOST} ({type(exc).__name__}: {first[:200]})"


def lost_records(job: WorkerJob, returned: set[int], actor: int, reading: ClockReading, reason: str,
                 start_ns: int) -> list[RequestRecord]:
    """A failed record (``worker lost``) for each request dealt to a lost actor that did not come back.

    Multi-turn: each turn of a session not returned (its later turns may never have been due)."""
    now_ns = time.perf_counter_ns() - job.origin_perf_ns
    maker_origin = RecordMaker(job.origin_perf_ns, job.origin_epoch_ns)
    offsets = job.schedule.offsets_ns
    records = []
    for position, (index, work) in enumerate(job.requests):
        turns = getattr(work, "turns", None)
        indices = [index] if turns is None else [getattr(work, "first_index", index) + t for t in range(len(turns))]
        request = work if turns is None else None
        for each in indices:
            if each in returned:
                continue
            scheduled = (start_ns + offsets[position] - job.origin_perf_ns
                         if offsets is not None and position < len(offsets) else None)
            records.append(RequestRecord(
                index=each, point=job.schedule.point, phase=job.schedule.phase, concurrency=job.schedule.concurrency,
                scheduled_ns=scheduled, start_ns=now_ns, end_ns=now_ns,
                end_epoch_s=(maker_origin.origin_epoch_ns + now_ns) / 1e9,
                requested_prompt_tokens=getattr(request, "prompt_tokens", None),
                requested_max_tokens=getattr(request, "max_tokens", None),
                error=reason, error_kind="worker", actor=actor, clock_offset_ns=reading.offset_ns,
                clock_uncertainty_ns=reading.uncertainty_ns,
            ))
    return records


__all__ = ["PINGS", "SKEW_HOOK", "WORKER_LOST", "ClockReading", "RayLoad", "lost_records"]
