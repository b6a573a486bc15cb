"""What a ``--ray`` point's records say of its actors and clocks (pure functions: no Ray needed to read a run)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assay.store import RequestRecord

WORKER_LOST = "worker lost"
"""The reason (start of ``error``) of a request an actor took and never answered because the actor died."""


def actor_summary(rows: Sequence[RequestRecord]) -> dict[str, Any] | None:
    """``{"count", "clock_uncertainty_ms_max", "clock_offset_ms": {actor: ms}, "lost": {actor: requests}}`` for a
    point sent from Ray actors; None for one that was not."""
    sent = [r for r in rows if r.actor is not None]
    if not sent:
        return None
    offsets: dict[str, float] = {}
    lost: dict[str, int] = {}
    worst_ns = 0
    for r in sent:
        key = str(r.actor)
        if r.clock_offset_ns is not None:
            offsets[key] = r.clock_offset_ns / 1e6
        worst_ns = max(worst_ns, r.clock_uncertainty_ns or 0)
        if r.error is not None and r.error.startswith(WORKER_LOST):
            lost[key] = lost.get(key, 0) + 1
    return {"count": len({r.actor for r in sent}), "clock_uncertainty_ms_max": worst_ns / 1e6,
            "clock_offset_ms": dict(sorted(offsets.items())), "lost": dict(sorted(lost.items()))}


def actor_line(point: dict[str, Any]) -> str | None:
    """The report's line on a point's actors: how many, the worst clock uncertainty, and any lost."""
    actors = point.get("actors")
    if not actors:
        return None
    line = (f"Ray: {actors['count']} actors; marks on the driver's clock within ±{actors['clock_uncertainty_ms_max']:.2f} ms "
            "(worst actor).")
    if actors["lost"]:
        lost = ", ".join(f"actor {k} ({n} requests)" for k, n in actors["lost"].items())
        line += f" Lost mid-point: {lost}, recorded failed ({WORKER_LOST}); the point completed with the others."
    return line


__all__ = ["WORKER_LOST", "actor_line", "actor_summary"]
