"""The client's self-check: event-loop lag and CPU per sweep point, and the client-bound mark (issue 4)."""

from __future__ import annotations

import asyncio
import threading
import time

from assay import PerfConfig, run_perf
from assay.engines.sim import SimServer, SimSettings
from assay.perf.schedule import LoopMonitor


def test_loop_monitor_sees_a_blocked_loop_and_a_quiet_one():
    async def measure(block_ms: float):
        monitor = LoopMonitor()
        monitor.start()
        await asyncio.sleep(0.1)
        if block_ms:
            time.sleep(block_ms / 1000)  # the loop is held, as by a long callback
        await asyncio.sleep(0.1)
        return await monitor.stop()

    quiet = asyncio.run(measure(0))
    blocked = asyncio.run(measure(80))
    assert quiet.loop_lag_max_ms < 20 and not quiet.client_bound, quiet
    assert 70 <= blocked.loop_lag_max_ms < 200 and blocked.client_bound, blocked
    assert 0 <= quiet.cpu_percent < 50


def test_a_busy_client_marks_its_point_client_bound(tmp_path, monkeypatch):
    # A thread spinning in pure Python holds the GIL and a core once the sweep point starts (started
    # with the point's monitor, so that start-up work, which hands the GIL back and forth, stays quick).
    # The points last ~0.7 s (~140 lag samples), so one scheduling hiccup does not make the quiet p99.
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(range(1000))

    def run() -> tuple[dict, str]:
        result = run_perf(PerfConfig(
            url=f"{sim.base_url}/completions", model="sim", tokenizer_path="o200k_base", parallel=[4], number=[16],
            min_prompt_length=8, max_prompt_length=8, max_tokens=32, outputs_dir=str(tmp_path), quiet=True,
            html=False,
        ))
        return result.summary["points"][0], result.report_text

    with SimServer(SimSettings(ttft_ms=20, tpot_ms=5)) as sim:
        quiet, _ = run()
        start = LoopMonitor.start

        def start_with_a_hog(self: LoopMonitor) -> None:
            threading.Thread(target=spin, daemon=True).start()
            start(self)

        monkeypatch.setattr(LoopMonitor, "start", start_with_a_hog)
        try:
            busy, busy_text = run()
        finally:
            stop.set()
    assert not quiet["client"]["client_bound"], quiet["client"]
    assert busy["client"]["client_bound"] and busy["client"]["cpu_percent"] > 90, busy["client"]
    assert "⚠ client-bound point" in busy_text
