"""report.html for the workloads whose sweep table would say little: embeddings / rerank / score runs (nothing is
generated, so TTFT, TPOT, ITL and tokens/s are empty: latency, requests/s, inputs/s, input tokens/s and inputs per
request instead) and multi-turn runs (TTFT and cached prompt tokens by turn, beside the 'TTFT by turn' plot).

Hooks of :func:`assay.perf.html.write_html_report`; drawn from the point summaries and the record arrays only,
with no Python call per request (``tests/perf/test_report_speed.py``).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

INPUTS_WORD = {"embeddings": "Texts embedded", "rerank": "Documents ranked", "score": "Documents scored"}


def pooled(points: Sequence[dict[str, Any]]) -> bool:
    """Whether the run's points are of a non-generating endpoint (each has its ``endpoint`` measures)."""
    return bool(points) and all(isinstance(p.get("endpoint"), dict) for p in points)


def _inputs_word(points: Sequence[dict[str, Any]]) -> str:
    return INPUTS_WORD.get(str(points[0]["endpoint"].get("kind")), "Inputs")


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


def _table(table_id: str, headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>" for cells in rows)
    return f"<table id=\"{table_id}\"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def pooling_table(points: Sequence[dict[str, Any]]) -> str | None:
    """The sweep table of an embeddings / rerank / score run; None for a generating run (the usual table)."""
    if not pooled(points):
        return None
    word = _inputs_word(points)
    headers = ["Conc.", "Rate/s", "Requests", "Success", "RPS", f"{word}/s", "Input tok/s", "Inputs/request",
               "Input tokens/request", "Avg Lat. (ms)", "P50 Lat. (ms)", "P99 Lat. (ms)", "Client"]
    rows = []
    for p in points:
        measures, latency = p["endpoint"], p.get("latency_s") or {}
        rows.append([
            str(p["concurrency"] or "-"), "-" if p.get("rate") is None else f"{p['rate']:g}", str(p["requests"]),
            f"{p['success_rate'] * 100:.1f}%", f"{p['rps']:.2f}", _number(measures.get("inputs_per_s"), 1),
            _number(measures.get("input_tokens_per_s"), 0),
            _number((measures.get("inputs_per_request") or {}).get("mean"), 1),
            _number((p.get("input_tokens_per_request") or {}).get("mean"), 1),
            _ms(latency.get("mean")), _ms(latency.get("p50")), _ms(latency.get("p99")),
            "client-bound" if (p.get("client") or {}).get("client_bound") else "ok",
        ])
    kind = points[0]["endpoint"].get("kind")
    note = (f"<p class=\"meta\" id=\"pooled-note\">/{html.escape(str(kind))}: no tokens are generated, so there is no "
            "TTFT, TPOT or ITL.</p>")
    return note + _table("sweep", headers, rows)


def pooling_figures(points: list[dict[str, Any]], records: Sequence[Any], out_dir: Path | None) -> dict[str, str]:
    """For an embeddings / rerank / score run, the plots that replace the generating ones (same names, so the
    files in ``plots/`` are these): requests/s and inputs/s, latency percentiles, the latency distribution.
    {} for a generating run."""
    if not pooled(points):
        return {}
    from assay.perf import html as plots
    from assay.perf.numeric import numpy

    np = numpy()
    xs, x_label = plots._x_axis(points)
    x_range = plots._bounds(xs, from_zero=False)
    figures: dict[str, str] = {}
    panels = []
    for i, (values, title, unit) in enumerate((
            ([float(p["rps"]) for p in points], "Requests per second", "req/s"),
            ([float(p["endpoint"]["inputs_per_s"]) for p in points], f"{_inputs_word(points)} per second", "inputs/s"))):
        panel = plots._Panel(i * 500, 0, 500, plots.PANEL_HEIGHT, x_range, plots._bounds(values, from_zero=True),
                             title=title, x_label=x_label, y_label=unit)
        panel.polyline(xs, values, plots.PALETTE[0])
        panels.append(panel)
    figures["throughput"] = plots._save("throughput", plots._svg(1000, plots.PANEL_HEIGHT, panels), out_dir)

    latency = {key: [float((p.get("latency_s") or {}).get(key, np.nan)) * 1000 for p in points]
               for key in plots.PERCENTILE_KEYS}
    panel = plots._Panel(0, 0, 700, plots.PANEL_HEIGHT, x_range,
                         plots._bounds([v for values in latency.values() for v in values], from_zero=True),
                         title="Latency percentiles", x_label=x_label, y_label="ms")
    for j, key in enumerate(plots.PERCENTILE_KEYS):
        panel.polyline(xs, latency[key], plots.PALETTE[j], dash=plots.DASHES[j], label=key)
    figures["latency"] = plots._save("latency", plots._svg(700, plots.PANEL_HEIGHT, [panel]), out_dir)

    ok = [r for r in records if r.error is None and r.phase == "measure" and r.sent_ns is not None]
    point_of = np.fromiter((r.point for r in ok), dtype=np.int64, count=len(ok))
    latency_ms = np.fromiter((r.end_ns - r.sent_ns for r in ok), dtype=np.float64, count=len(ok)) / 1e6
    found = []
    for p in points:
        values = latency_ms[point_of == p["point"]]
        if values.size:
            counts, edges = np.histogram(values, bins=30)
            found.append((f"{p['rate']:g}/s" if p.get("rate") is not None else f"c={p['concurrency']}", counts, edges))
    panel = plots._Panel(0, 0, 700, plots.PANEL_HEIGHT,
                         plots._bounds([float(e) for _, _, edges in found for e in (edges[0], edges[-1])],
                                       from_zero=False),
                         (0.0, max([float(c.max()) for _, c, _ in found] or [1.0]) * 1.05),
                         title="Latency distribution", x_label="ms", y_label="requests")
    for k, (label, counts, edges) in enumerate(found):
        panel.steps(edges.tolist(), counts.tolist(), plots.PALETTE[k % len(plots.PALETTE)], label)
    figures["distributions"] = plots._save("distributions", plots._svg(700, plots.PANEL_HEIGHT, [panel]), out_dir)
    return figures


def turn_table(points: Sequence[dict[str, Any]]) -> str:
    """report.html's 'By turn' section of a multi-turn run: per point its sessions, and per turn index TTFT and
    the prompt tokens the server served from its prefix cache; "" without sessions."""
    from assay.perf.config import point_label

    shown = [p for p in points if (p.get("sessions") or {}).get("by_turn")]
    if not shown:
        return ""
    lines, rows = [], []
    for p in shown:
        sessions, label = p["sessions"], point_label(p.get("concurrency"), p.get("rate"))
        share = sessions.get("cached_share")
        failed = sessions.get("ended_by_failure") or 0
        lines.append(f"<p class=\"meta\">{html.escape(label)}: {sessions['completed']} of {sessions['sessions']} "
                     f"sessions completed{f', {failed} ended by a failed turn' if failed else ''} · "
                     f"{sessions['sessions_per_s']:.3f} sessions/s · {sessions['turns_per_session']:.2f} turns/session "
                     f"· cached prompt tokens {'not reported' if share is None else f'{share:.1%}'}</p>")
        for turn in sessions["by_turn"]:
            ttft = turn.get("ttft_s") or {}
            rows.append([label, str(turn["turn"]), str(turn["requests"]), str(turn["requests"] - turn["succeeded"]),
                         _ms(ttft.get("mean")), _ms(ttft.get("p50")), _ms(ttft.get("p99")),
                         _number(turn.get("prompt_tokens_mean"), 1), _number(turn.get("cached_tokens_mean"), 1),
                         "-" if turn.get("cached_share") is None else f"{turn['cached_share']:.1%}"])
    headers = ["Load", "Turn", "Requests", "Failed", "Avg TTFT (ms)", "P50 TTFT (ms)", "P99 TTFT (ms)",
               "Prompt tokens", "Cached tokens", "Cached %"]
    return "<h2>By turn (multi-turn sessions)</h2>" + "".join(lines) + _table("turns", headers, rows)


__all__ = ["pooled", "pooling_figures", "pooling_table", "turn_table"]
