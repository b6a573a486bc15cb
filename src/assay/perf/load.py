"""The send loop: one sweep point's requests sent on its schedule, one record emitted as each ends.

One loop for every place that sends: the run's own event loop (``--workers 1``, warm-up, probes) and
each worker process (``--workers N``); anything else that sends for a run (a remote actor) takes the
same :class:`Schedule`, a client and a callback. Two shapes of load:

- closed loop (``offsets_ns`` None): ``concurrency`` senders, each sending its next request when the
  one before it ended; a ramp-up starts them one by one, evenly over ``ramp_up_s``;
- open loop: request ``i`` is due ``offsets_ns[i]`` after the start, whether or not earlier ones
  ended; with a cap (``concurrency`` > 0) a request that finds every slot taken waits, and the wait
  is recorded (``scheduled_ns``).

Multi-turn sessions (``schedule.sessions``; :mod:`assay.perf.sessions`) are the unit of both shapes: a
closed loop keeps ``concurrency`` sessions in flight, an open loop starts session ``i`` at ``offsets_ns[i]``.
A session sends its turns one after another, each with the conversation so far (the server's own answers
included), ``think_time_s`` after the answer before; a failed turn ends its session. A session runs whole
inside one ``send_load`` call, so ``--workers`` (and remote actors) share out sessions, never turns.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import cast

from assay.client.fleet import AnyClient
from assay.client.openai import ChatOrCompletionRequest
from assay.perf.config import PerfConfig, PointSpec
from assay.perf.records import RecordMaker
from assay.perf.schedule import arrival_offsets
from assay.perf.sessions import Session, is_multi_turn
from assay.store import RequestRecord

Work = ChatOrCompletionRequest | Session
"""What ``send_load`` sends: requests, or multi-turn sessions when ``Schedule.sessions``."""


@dataclass(frozen=True)
class Schedule:
    """When one sweep point's requests are sent, and what their records say of it (picklable)."""

    point: int
    """Sweep point index (-1: warm-up)."""
    phase: str
    """What the records say first (the run may reclassify a record by its time: warm-up, cool-down)."""
    concurrency: int
    """Closed loop: requests in flight. Open loop: the cap on them (0: none)."""
    offsets_ns: list[int] | None = None
    """Open loop: when each request is due, nanoseconds after the start. None: closed loop."""
    ramp_up_s: float = 0.0
    """Closed loop: seconds over which the senders start, one by one."""
    most: int | None = None
    """The most requests there are, when known: no more senders are started than this."""
    sessions: bool = False
    """Multi-turn: the work is (session number, :class:`~assay.perf.sessions.Session`), and ``concurrency``,
    ``offsets_ns`` and ``most`` count sessions."""
    think_time_s: float = 0.0
    """Multi-turn: seconds a session waits after an answer before sending its next turn."""

    @classmethod
    def for_point(cls, spec: PointSpec, config: PerfConfig, phase: str) -> Schedule:
        """The schedule ``config`` gives sweep point ``spec`` (open loop: the seeded arrivals)."""
        sessions = is_multi_turn(config)
        think_time_s = config.think_time_s if sessions else 0.0
        if spec.rate is None:
            return cls(point=spec.index, phase=phase, concurrency=spec.concurrency or 1, ramp_up_s=config.ramp_up,
                       most=spec.number, sessions=sessions, think_time_s=think_time_s)
        offsets = arrival_offsets(
            spec.number if spec.number is not None else 10**9, spec.rate, burstiness=config.burstiness,
            ramp_up_s=config.ramp_up, seed=config.seed * 1000 + spec.index, duration_s=spec.duration,
        )
        return cls(point=spec.index, phase=phase, concurrency=spec.concurrency or 0,
                   offsets_ns=[int(offset * 1e9) for offset in offsets], most=spec.number, sessions=sessions,
                   think_time_s=think_time_s)


async def send_load(
    client: AnyClient,
    schedule: Schedule,
    requests: Iterator[tuple[int, Work]],
    records: RecordMaker,
    emit: Callable[[RequestRecord], None],
    *,
    start_ns: int | None = None,
    deadline_ns: int | None = None,
) -> None:
    """Send ``requests`` ((index, request), taken one at a time as each is sent) on ``schedule``; with
    ``schedule.sessions``, (session number, session) instead: one record per turn.

    ``start_ns`` (``perf_counter_ns``, machine-wide): what the open-loop offsets count from (None: now).
    ``deadline_ns``: no request is sent from then on; those in flight end normally. ``emit`` gets each
    record in the turn of the event loop its response ended in: it must be quick.
    """
    start = time.perf_counter_ns() if start_ns is None else start_ns
    if schedule.sessions:
        await _sessions(client, schedule, cast(Iterator[tuple[int, Session]], requests), records, emit, start,
                        deadline_ns)
    elif schedule.offsets_ns is None:
        await _closed_loop(client, schedule, cast(Iterator[tuple[int, ChatOrCompletionRequest]], requests), records,
                           emit, deadline_ns)
    else:
        await _open_loop(client, schedule, schedule.offsets_ns, cast(Iterator[tuple[int, ChatOrCompletionRequest]],
                         requests), records, emit, start, deadline_ns)


async def _closed_loop(client: AnyClient, schedule: Schedule, requests: Iterator[tuple[int, ChatOrCompletionRequest]],
                       records: RecordMaker, emit: Callable[[RequestRecord], None], deadline_ns: int | None) -> None:
    point, phase, concurrency = schedule.point, schedule.phase, schedule.concurrency

    async def sender(delay_s: float) -> None:
        if delay_s:
            await asyncio.sleep(delay_s)
        while deadline_ns is None or time.perf_counter_ns() < deadline_ns:
            item = next(requests, None)
            if item is None:
                return
            index, request = item
            response = await client.send(request)
            emit(records.record(response, request, index=index, point=point, phase=phase, concurrency=concurrency))

    step_s = schedule.ramp_up_s / concurrency if schedule.ramp_up_s else 0.0
    senders = concurrency if schedule.most is None else min(concurrency, schedule.most)
    await asyncio.gather(*(sender(i * step_s) for i in range(max(1, senders))))


async def _open_loop(client: AnyClient, schedule: Schedule, offsets_ns: list[int],
                     requests: Iterator[tuple[int, ChatOrCompletionRequest]], records: RecordMaker,
                     emit: Callable[[RequestRecord], None], start_ns: int, deadline_ns: int | None) -> None:
    point, phase, cap = schedule.point, schedule.phase, schedule.concurrency
    slots = asyncio.Semaphore(cap) if cap else None
    in_flight: set[asyncio.Task[None]] = set()
    loop = asyncio.get_running_loop()

    async def one(index: int, request: ChatOrCompletionRequest, scheduled_ns: int) -> None:
        if slots is None:
            response = await client.send(request)
        else:
            async with slots:
                response = await client.send(request)
        emit(records.record(response, request, index=index, point=point, phase=phase, concurrency=cap,
                            scheduled_ns=scheduled_ns))

    for offset_ns in offsets_ns:
        scheduled_ns = start_ns + offset_ns
        await _until(scheduled_ns)
        if deadline_ns is not None and time.perf_counter_ns() >= deadline_ns:
            break
        item = next(requests, None)
        if item is None:
            break
        task = loop.create_task(one(item[0], item[1], scheduled_ns))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.gather(*in_flight)


async def _sessions(client: AnyClient, schedule: Schedule, sessions: Iterator[tuple[int, Session]],
                    records: RecordMaker, emit: Callable[[RequestRecord], None], start_ns: int,
                    deadline_ns: int | None) -> None:
    """Multi-turn: ``concurrency`` sessions in flight (closed loop) or one started at each offset (open loop,
    ``concurrency`` sessions at most when > 0; the wait for a slot is turn 0's ``scheduled_ns``)."""
    point, phase, concurrency, think_s = schedule.point, schedule.phase, schedule.concurrency, schedule.think_time_s

    def open_to_send() -> bool:
        return deadline_ns is None or time.perf_counter_ns() < deadline_ns

    async def converse(session: Session, scheduled_ns: int | None) -> None:
        history: list[dict[str, object]] = []
        last = len(session.turns) - 1
        for turn in range(last + 1):
            if turn and think_s:
                await _until(time.perf_counter_ns() + int(think_s * 1e9))  # never early (uvloop's timers can be)
            if not open_to_send():
                return
            request = session.request(turn, history)
            response = await client.send(request)
            record = records.record(response, request, index=session.first_index + turn, point=point, phase=phase,
                                    concurrency=concurrency, scheduled_ns=scheduled_ns if turn == 0 else None)
            record.session, record.turn, record.session_turns = session.number, turn, last + 1
            emit(record)
            if response.error is not None:  # the next turn would carry no answer to this one: the session ends
                return
            if turn < last:
                assert request.messages is not None
                history = [*request.messages, {"role": "assistant", "content": response.answer}]

    if schedule.offsets_ns is None:
        async def runner(delay_s: float) -> None:
            if delay_s:
                await asyncio.sleep(delay_s)
            while open_to_send():
                item = next(sessions, None)
                if item is None:
                    return
                await converse(item[1], None)

        step_s = schedule.ramp_up_s / concurrency if schedule.ramp_up_s else 0.0
        runners = concurrency if schedule.most is None else min(concurrency, schedule.most)
        await asyncio.gather(*(runner(i * step_s) for i in range(max(1, runners))))
        return
    slots = asyncio.Semaphore(concurrency) if concurrency else None
    in_flight: set[asyncio.Task[None]] = set()

    async def started(session: Session, scheduled_ns: int) -> None:
        if slots is None:
            await converse(session, scheduled_ns)
        else:
            async with slots:
                await converse(session, scheduled_ns)

    for offset_ns in schedule.offsets_ns:
        scheduled_ns = start_ns + offset_ns
        await _until(scheduled_ns)
        item = next(sessions, None) if open_to_send() else None
        if item is None:
            break
        task = asyncio.get_running_loop().create_task(started(item[1], scheduled_ns))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.gather(*in_flight)


async def _until(due_ns: int) -> None:
    """Return at ``due_ns`` (``perf_counter_ns``), never before. uvloop (libuv) counts its timers in whole
    milliseconds and fires one up to a millisecond early (seen in trace replays): what is left then is
    spent yielding to the loop, so other requests' chunks are still read meanwhile."""
    left_ns = due_ns - time.perf_counter_ns()
    if left_ns > 0:
        await asyncio.sleep(left_ns / 1e9)
    while time.perf_counter_ns() < due_ns:
        await asyncio.sleep(0)


__all__ = ["Schedule", "Work", "send_load"]
