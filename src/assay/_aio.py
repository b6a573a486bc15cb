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


def run(coroutine: Coroutine[Any, Any, T], *, freeze_heap: bool = True) -> T:
    """Run ``coroutine`` to its end on a fresh event loop and return its result.

    uvloop where installed: its lower per-chunk overhead is what keeps the client's own cost out of
    the measured latencies. ``freeze_heap`` moves everything alive now to the collector's permanent
    generation while it runs (see :func:`frozen_heap`). A ``KeyboardInterrupt`` propagates, as from
    :func:`asyncio.run`.
    """
    with asyncio.Runner(loop_factory=_loop_factory()) as runner, (frozen_heap() if freeze_heap
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
def frozen_heap() -> Iterator[None]:
    """Keep the garbage collector's pauses short while requests are timed.

    Everything alive when the measurement starts (modules, the tokenizer's tables, the prompts)
    is moved to the collector's permanent generation (:func:`gc.freeze`), so a collection during
    the run walks only what the run itself allocated. Without it, one collection of an older
    generation took 7 ms at concurrency 128, long enough to show in the TTFT p99. Undone after.

    The full collection first costs ~27 ms of start-up; collecting only the young generations saved
    it, but trace-replay arrivals then missed their 2 ms bound more often (1 run in 8 against none in
    8), so the heap is collected whole.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


__all__ = ["frozen_heap", "run"]
