"""Run a coroutine on assay's event loop: uvloop when installed, asyncio's otherwise.

One place for what perf, its worker processes, eval, ``--rescore`` and the simulator each did
their own way: the same loop everywhere, and the collector kept out of the timed code.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T], *, freeze_heap: bool = True, timing: bool = False) -> T:
    """Run ``coroutine`` to its end on a fresh event loop and return its result.

    uvloop where installed: its lower per-chunk overhead is what keeps the client's own cost out of
    the measured latencies. ``freeze_heap`` moves everything alive now to the collector's permanent
    generation while it runs; ``timing`` (a perf load, whose requests are timed) also holds off full
    collections meanwhile (see :func:`frozen_heap`). A ``KeyboardInterrupt`` propagates, as from
    :func:`asyncio.run`.
    """
    with asyncio.Runner(loop_factory=_loop_factory()) as runner, (frozen_heap(timing=timing) if freeze_heap
                                                                  else contextlib.nullcontext()):
        return runner.run(coroutine)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop, or None (asyncio's default) when uvloop is not installed."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on every platform assay runs on
        return None
    return uvloop.new_event_loop  # type: ignore[no-any-return]


@contextlib.contextmanager
def frozen_heap(*, timing: bool = False) -> Iterator[None]:
    """Keep the garbage collector's pauses short while requests are timed.

    Everything alive when the measurement starts (modules, the tokenizer's tables, the prompts)
    is moved to the collector's permanent generation (:func:`gc.freeze`), so a collection during
    the run walks only what the run itself allocated. Without it, one collection of an older
    generation took 7 ms at concurrency 128, long enough to show in the TTFT p99. With ``timing``
    no full collection runs while it lasts either: one walks every record kept so far (tens of ms
    at 10,000 records), while the young generations (where a request's own objects live and die)
    are still collected as usual. Both are undone after, and the oldest generation is collected in
    the usual course from then on. (Eval, which times nothing and may run for hours of scoring, keeps
    its full collections.)

    The heap is not collected before it is frozen: that took ~10 ms of start-up (more with a
    tokenizer's tables), and what little garbage start-up leaves is only kept until the end. It used
    to matter for another reason: a full collection also sets the collector's count of long-lived
    objects, without which the first full collections during the load came early (trace-replay
    arrivals missed their 2 ms bound in 1 run of 8); with full collections held off while requests
    are timed, that no longer applies.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    if timing:
        gc.set_threshold(thresholds[0], thresholds[1], 1 << 30)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


__all__ = ["frozen_heap", "run"]
