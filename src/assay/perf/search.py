"""``--slo-search``: the highest concurrency (or rate) at which the server still meets the SLO.

Double from the low end of ``--search-range`` until a probe fails, then bisect between the last load
that passed and the first that failed. Each probe is a sweep point of its own, run
``--search-repeats`` times; it passes only if every run meets the SLO and loses no more requests than
``--min-success-rate`` allows. Concurrency is searched to the integer; a rate until the bracket is
within 5 %.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from assay.perf.config import PerfConfig, PointSpec
from assay.perf.metrics import below_min_success_rate

MeasurePoint = Callable[[PointSpec, dict[str, Any]], Awaitable[dict[str, Any]]]
"""Runs one probe (its sweep point, and ``{"value", "repeat"}``) and returns the point's summary."""


def probe_point(config: PerfConfig, index: int, value: float) -> PointSpec:
    """The sweep point that probes load ``value`` (a concurrency, or a rate under the ``--parallel`` cap)."""
    if config.slo_search == "concurrency":
        concurrency = int(value)
        number = config.number[0] if config.number else max(8, 4 * concurrency)
        return PointSpec(index, concurrency, None if config.duration else number, None, config.duration)
    cap = config.parallel[0] if config.parallel else None
    return PointSpec(index, cap, config.number[0] if config.number else None, value, config.duration)


async def search_slo(config: PerfConfig, measure: MeasurePoint, *, first_index: int = 0) -> dict[str, Any]:
    """Probe loads until the best one meeting the SLO is bracketed; returns ``summary.json``'s ``search``.

    ``measure`` runs each probe; probes take sweep point indices from ``first_index`` on.
    """
    kind = config.slo_search
    low, high = config.search_range
    probes: list[dict[str, Any]] = []
    index = first_index

    async def passes(value: float) -> bool:
        nonlocal index
        for repeat in range(config.search_repeats):
            summary = await measure(probe_point(config, index, value), {"value": value, "repeat": repeat})
            index += 1
            # A probe that lost requests does not meet the SLO, however fast its survivors were.
            if not summary["slo"]["meets"] or below_min_success_rate(summary, config.min_success_rate):
                probes.append({"value": value, "meets": False})
                return False
        probes.append({"value": value, "meets": True})
        return True

    def step(value: float) -> float:
        return float(int(value)) if kind == "concurrency" else value

    good: float | None = None
    bad: float | None = None
    value = step(low)
    while value <= high:
        if await passes(value):
            good = value
            if value >= high:
                break
            value = min(high, step(value * 2))
        else:
            bad = value
            break
    if good is not None and bad is not None:
        while (bad - good > 1) if kind == "concurrency" else ((bad - good) / good > 0.05):
            middle = step((good + bad) / 2)
            if await passes(middle):
                good = middle
            else:
                bad = middle
    return {"kind": kind, "slo": config.slo, "best": good, "first_failing": bad, "probes": probes,
            "range": [low, high]}


__all__ = ["MeasurePoint", "probe_point", "search_slo"]
