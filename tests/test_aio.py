"""assay._aio.run: the one way assay runs a coroutine (uvloop, the start-up heap frozen while it runs)."""

from __future__ import annotations

import asyncio
import gc

import pytest
import uvloop

from assay._aio import run


@pytest.mark.slow
def test_runs_on_uvloop_with_the_start_up_heap_frozen_and_returns_the_result():
    async def inside() -> tuple[type, int]:
        return type(asyncio.get_running_loop()), gc.get_freeze_count()

    loop_type, frozen = run(inside())
    assert loop_type is uvloop.Loop
    assert frozen > 1000  # the modules and everything else alive at the start
    assert gc.get_freeze_count() == 0  # undone after


def test_freeze_heap_false_leaves_the_collector_alone():
    async def inside() -> int:
        return gc.get_freeze_count()

    assert run(inside(), freeze_heap=False) == 0


def test_an_exception_propagates_and_the_heap_is_unfrozen():
    async def fails() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(fails())
    assert gc.get_freeze_count() == 0
