"""Multi-turn metrics (``--multi-turn``): TTFT by turn index, sessions per second, cached prompt tokens.

Turn k of every session carries the k earlier turns and the server's answers to them: with a prefix cache,
its time to first token should stay near turn 0's however long the conversation grows, and its
``cached_tokens`` (``usage.prompt_tokens_details.cached_tokens``, where the server reports it) should cover
all but the newest message. Pure functions over a point's measured records; presenting is the report's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from assay.store.schema import RequestRecord, SessionSummary, TurnSummary

TURN_PERCENTILES = (50.0, 99.0)


def session_summary(rows: Sequence[RequestRecord], duration_s: float) -> dict[str, Any] | None:
    """The ``sessions`` object of a point's summary from its measured records; None when it sent no sessions."""
    from assay.perf.metrics import stats

    turns = [r for r in rows if r.session is not None and r.turn is not None]
    if not turns:
        return None
    by_session: dict[int, list[RequestRecord]] = {}
    for record in turns:
        by_session.setdefault(record.session, []).append(record)  # type: ignore[arg-type]
    completed = failed = 0
    for own in by_session.values():
        if any(r.error is not None for r in own):
            failed += 1
        elif any(r.turn == (r.session_turns or 0) - 1 for r in own):
            completed += 1
    by_turn: list[TurnSummary] = []
    for index in sorted({r.turn for r in turns if r.turn is not None}):
        rows_k = [r for r in turns if r.turn == index]
        ok = [r for r in rows_k if r.error is None]
        ttft = [((r.first_token_ns if r.first_token_ns is not None else r.end_ns)
                 - (r.sent_ns if r.sent_ns is not None else r.start_ns)) / 1e9 for r in ok]
        prompts = [r.prompt_tokens for r in ok if r.prompt_tokens is not None]
        cached = [r.cached_tokens for r in ok if r.cached_tokens is not None]
        by_turn.append(TurnSummary(
            turn=index, requests=len(rows_k), succeeded=len(ok), ttft_s=stats(ttft, TURN_PERCENTILES),
            prompt_tokens_mean=sum(prompts) / len(prompts) if prompts else None,
            cached_tokens_mean=sum(cached) / len(cached) if cached else None, cached_share=_cached_share(ok),
        ))
    reported = [r.cached_tokens for r in turns if r.error is None and r.cached_tokens is not None]
    summary = SessionSummary(
        sessions=len(by_session), completed=completed, ended_by_failure=failed,
        sessions_per_s=completed / duration_s if duration_s > 0 else 0.0,
        turns_per_session=len(turns) / len(by_session), cached_tokens=sum(reported) if reported else None,
        cached_share=_cached_share([r for r in turns if r.error is None]), by_turn=by_turn,
    )
    return msgspec.to_builtins(summary)  # type: ignore[no-any-return]


def _cached_share(records: Sequence[RequestRecord]) -> float | None:
    pairs = [(r.cached_tokens, r.prompt_tokens) for r in records if r.cached_tokens is not None and r.prompt_tokens]
    if not pairs:
        return None
    return sum(c for c, _ in pairs) / sum(p for _, p in pairs)  # type: ignore[misc]


def session_table(point: dict[str, Any]) -> Any:
    """The report's 'Multi-turn sessions' table of one point: TTFT and cached tokens by turn (None without
    sessions)."""
    sessions: dict[str, Any] | None = point.get("sessions")
    if not sessions:
        return None
    from rich import box
    from rich.table import Table

    def number(value: float | None, digits: int) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    share = sessions.get("cached_share")
    failed = sessions["ended_by_failure"]
    ended = f", {failed} ended by a failed turn" if failed else ""
    cached = "not reported" if share is None else f"{share:.1%}"
    title = (f"Multi-turn sessions · {sessions['completed']} of {sessions['sessions']} completed{ended}"
             f" · {sessions['sessions_per_s']:.3f} sessions/s · {sessions['turns_per_session']:.2f} turns/session"
             f" · cached prompt tokens {cached}")
    table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left")
    for column in ("Turn", "Requests", "Failed", "TTFT mean (s)", "TTFT p50 (s)", "TTFT p99 (s)", "Prompt tokens",
                   "Cached tokens", "Cached %"):
        table.add_column(column, justify="right")
    for row in sessions["by_turn"]:
        ttft = row["ttft_s"]
        table.add_row(str(row["turn"]), str(row["requests"]), str(row["requests"] - row["succeeded"]),
                      number(ttft.get("mean"), 4), number(ttft.get("p50"), 4), number(ttft.get("p99"), 4),
                      number(row["prompt_tokens_mean"], 1), number(row["cached_tokens_mean"], 1),
                      "-" if row["cached_share"] is None else f"{row['cached_share']:.1%}")
    return table


def turn_figure(points: list[dict[str, Any]], out_dir: Any) -> dict[str, str]:
    """report.html's 'TTFT by turn' plot (``plots/ttft_by_turn.svg``): TTFT mean, p50 and p99 against the turn
    index, one colour per sweep point; empty without sessions."""
    from assay.perf import html
    from assay.perf.config import point_label

    shown = [p for p in points if (p.get("sessions") or {}).get("by_turn")]
    if not shown:
        return {}
    rows = [(p, [t for t in p["sessions"]["by_turn"] if t["ttft_s"]]) for p in shown]
    turns = [float(t["turn"]) for _, own in rows for t in own]
    values = [t["ttft_s"][key] * 1000 for _, own in rows for t in own for key in ("mean", "p50", "p99")]
    if not turns:
        return {}
    panel = html._Panel(0, 0, 700, html.PANEL_HEIGHT, (min(turns), max(max(turns), min(turns) + 1)),
                        (0.0, max(values) * 1.1 or 1.0), title="TTFT by turn", x_label="turn", y_label="ms")
    for k, (point, own) in enumerate(rows):
        colour = html.PALETTE[k % len(html.PALETTE)]
        label = point_label(point.get("concurrency"), point.get("rate"))
        for dash, key in zip(html.DASHES, ("mean", "p50", "p99")):
            panel.polyline([float(t["turn"]) for t in own], [t["ttft_s"][key] * 1000 for t in own], colour, dash=dash,
                           label=f"{label} {key}")
    return {"ttft_by_turn": html._save("ttft_by_turn", html._svg(700, html.PANEL_HEIGHT, [panel]), out_dir)}


__all__ = ["TURN_PERCENTILES", "session_summary", "session_table", "turn_figure"]
