"""Pictures of perf runs: a self-contained HTML report per run, its plots as SVG files, and comparisons.

The plots are written here as SVG text (lines, step histograms, a timeline): no plotting library,
so a run's pictures cost milliseconds and no memory to speak of after its last request (matplotlib
took seconds and ~100 MB for the same figures). They are drawn from the run directory only; the
HTML inlines them, so it needs no network, no CDN and no JavaScript, and ``plots/*.svg`` hold the
same plots as files any browser (or a Markdown page) shows.
"""

from __future__ import annotations

import html
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from assay.perf.generation import html_table as generation_html
from assay.perf.numeric import numpy
from assay.perf.stored import load_summary, read_perf_run
from assay.store import PLOTS_DIR, RECORDS_FILE, read_jsonl

TIMELINE_LIMIT = 2000
PERCENTILE_KEYS = ("p50", "p90", "p99")
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
DASHES = ("", "6 3", "2 2")
FAILED = "#d62728"
PANEL_HEIGHT = 340


class _Timing(msgspec.Struct):
    """The fields of a request record the pictures use (the rest of each line is skipped unread)."""

    point: int
    phase: str
    start_ns: int
    end_ns: int
    sent_ns: int | None = None
    first_token_ns: int | None = None
    completion_tokens: int | None = None
    error: str | None = None


def read_timings(run_dir: Path) -> list[_Timing]:
    """Every readable record of ``requests.jsonl``, only the fields the pictures use (torn or unreadable
    lines skipped, as every reader does)."""
    return read_jsonl(run_dir / RECORDS_FILE, _Timing)[0]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 × 10^k apart) covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(0.0 if abs(value) < step * 1e-9 else value)
        value += step
    return ticks


def _label(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    return f"{value:.6g}" if abs(value) >= 0.01 else f"{value:.2e}"


def _bounds(values: Sequence[float], *, from_zero: bool) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    low, high = min(finite), max(finite)
    if from_zero and low >= 0:
        low = 0.0
    if high == low:  # one point: room around it (and round ticks, not 127.5)
        span = max(abs(low) * 0.25, 1.0)
        return (max(0.0, low - span) if from_zero else low - span), high + span
    pad = (high - low) * 0.05
    return (low if from_zero and low == 0 else low - pad), high + pad


class _Panel:
    """One set of axes in a figure: maps data to pixels, and collects the SVG of what is drawn on it."""

    def __init__(self, left: float, top: float, width: float, height: float, x_range: tuple[float, float],
                 y_range: tuple[float, float], *, title: str, x_label: str, y_label: str) -> None:
        self.left, self.top, self.width, self.height = left + 58, top + 26, width - 70, height - 70
        self.x0, self.x1 = x_range
        self.y0, self.y1 = y_range
        self.parts: list[str] = []
        self.legend: list[tuple[str, str, str]] = []
        self._frame(title, x_label, y_label)

    def x(self, value: float) -> float:
        return self.left + (value - self.x0) / (self.x1 - self.x0) * self.width

    def y(self, value: float) -> float:
        return self.top + self.height - (value - self.y0) / (self.y1 - self.y0) * self.height

    def _frame(self, title: str, x_label: str, y_label: str) -> None:
        left, top, right, bottom = self.left, self.top, self.left + self.width, self.top + self.height
        parts = self.parts
        for tick in nice_ticks(self.x0, self.x1):
            px = self.x(tick)
            parts.append(f'<path d="M{px:.1f} {top:.1f}V{bottom:.1f}" stroke="#e5e5e5"/>')
            parts.append(f'<text x="{px:.1f}" y="{bottom + 14:.1f}" text-anchor="middle">{_label(tick)}</text>')
        for tick in nice_ticks(self.y0, self.y1):
            py = self.y(tick)
            parts.append(f'<path d="M{left:.1f} {py:.1f}H{right:.1f}" stroke="#e5e5e5"/>')
            parts.append(f'<text x="{left - 5:.1f}" y="{py + 3:.1f}" text-anchor="end">{_label(tick)}</text>')
        parts.append(f'<path d="M{left:.1f} {top:.1f}H{right:.1f}V{bottom:.1f}H{left:.1f}Z" fill="none" '
                     'stroke="#555"/>')
        parts.append(f'<text x="{(left + right) / 2:.1f}" y="{top - 9:.1f}" text-anchor="middle" '
                     f'font-size="12">{html.escape(title)}</text>')
        parts.append(f'<text x="{(left + right) / 2:.1f}" y="{bottom + 30:.1f}" text-anchor="middle">'
                     f'{html.escape(x_label)}</text>')
        middle = (top + bottom) / 2
        parts.append(f'<text x="{left - 44:.1f}" y="{middle:.1f}" text-anchor="middle" '
                     f'transform="rotate(-90 {left - 44:.1f} {middle:.1f})">{html.escape(y_label)}</text>')

    def polyline(self, xs: Sequence[float], ys: Sequence[float], colour: str, *, dash: str = "",
                 label: str | None = None, markers: bool = True) -> None:
        """Connected points (NaN breaks the line), with a dot on each."""
        moves: list[str] = []
        dots: list[str] = []
        pen_down = False
        for xv, yv in zip(xs, ys):
            if not (math.isfinite(xv) and math.isfinite(yv)):
                pen_down = False
                continue
            px, py = self.x(xv), self.y(yv)
            moves.append(f"{'L' if pen_down else 'M'}{px:.1f} {py:.1f}")
            dots.append(f"M{px - 2.5:.1f} {py:.1f}a2.5 2.5 0 1 0 5 0a2.5 2.5 0 1 0 -5 0")
            pen_down = True
        if moves:
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            title = f"<title>{html.escape(label)}</title>" if label else ""
            self.parts.append(f'<path d="{"".join(moves)}" fill="none" stroke="{colour}" stroke-width="1.6"'
                              f'{dash_attr}>{title}</path>')
            if markers:
                self.parts.append(f'<path d="{"".join(dots)}" fill="{colour}"/>')
        if label:
            self.legend.append((label, colour, dash))

    def steps(self, edges: Sequence[float], counts: Sequence[float], colour: str, label: str | None) -> None:
        """A histogram's outline (matplotlib's ``histtype="step"``)."""
        base = self.y(0)
        path = [f"M{self.x(edges[0]):.1f} {base:.1f}"]
        for i, count in enumerate(counts):
            top = self.y(count)
            path.append(f"V{top:.1f}H{self.x(edges[i + 1]):.1f}")
        path.append(f"V{base:.1f}")
        self.parts.append(f'<path d="{"".join(path)}" fill="none" stroke="{colour}" stroke-width="1.3"/>')
        if label:
            self.legend.append((label, colour, ""))

    def render(self) -> str:
        parts = list(self.parts)
        if self.legend:
            row_height = 14
            width = 14 + 7 * max(len(label) for label, _, _ in self.legend) + 26
            x = self.left + self.width - width - 6
            y = self.top + 6
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{width}" height="{row_height * len(self.legend) + 6}" '
                         'fill="white" fill-opacity="0.85" stroke="#ccc"/>')
            for i, (label, colour, dash) in enumerate(self.legend):
                ly = y + 11 + i * row_height
                dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
                parts.append(f'<path d="M{x + 5:.1f} {ly:.1f}h20" stroke="{colour}" stroke-width="1.6"{dash_attr}/>')
                parts.append(f'<text x="{x + 30:.1f}" y="{ly + 3:.1f}">{html.escape(label)}</text>')
        return "".join(parts)


def _svg(width: int, height: int, panels: list[_Panel], extra: str = "") -> str:
    body = "".join(panel.render() for panel in panels) + extra
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="system-ui,sans-serif" font-size="10" fill="#1f2328">'
            f'<rect width="{width}" height="{height}" fill="white"/>{body}</svg>')


def _save(name: str, svg: str, out_dir: Path | None) -> str:
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / f"{name}.svg").write_text('<?xml version="1.0" encoding="utf-8"?>\n' + svg, encoding="utf-8")
    return svg


def _x_axis(points: list[dict[str, Any]]) -> tuple[list[float], str]:
    if any(p.get("rate") is not None for p in points):
        return [float(p["rate"] or 0) for p in points], "request rate (req/s)"
    return [float(p["concurrency"]) for p in points], "concurrency"


def sweep_figures(series: list[tuple[str, list[dict[str, Any]]]], out_dir: Path | None) -> dict[str, str]:
    """Throughput and latency-percentile curves; several runs overlay (for compare)."""
    figures: dict[str, str] = {}
    xs_all = [x for _, points in series for x in _x_axis(points)[0]]
    x_label = _x_axis(series[0][1])[1] if series else "concurrency"
    x_range = _bounds(xs_all, from_zero=False)
    panels = []
    for i, (field, title, unit) in enumerate((("rps", "Requests per second", "req/s"),
                                              ("output_throughput", "Output tokens per second", "tok/s"))):
        ys_all = [float(p[field]) for _, points in series for p in points]
        panel = _Panel(i * 500, 0, 500, PANEL_HEIGHT, x_range, _bounds(ys_all, from_zero=True), title=title,
                       x_label=x_label, y_label=unit)
        for k, (label, points) in enumerate(series):
            panel.polyline(_x_axis(points)[0], [float(p[field]) for p in points], PALETTE[k % len(PALETTE)],
                           label=label)
        panels.append(panel)
    figures["throughput"] = _save("throughput", _svg(1000, PANEL_HEIGHT, panels), out_dir)

    panels = []
    for i, (field, title) in enumerate((("latency_s", "Latency"), ("ttft_s", "TTFT"), ("tpot_s", "TPOT"))):
        def values(points: list[dict[str, Any]], key: str, field: str = field) -> list[float]:
            return [float((p.get(field) or {}).get(key, math.nan)) * 1000 for p in points]

        ys_all = [v for _, points in series for key in PERCENTILE_KEYS for v in values(points, key)]
        panel = _Panel(i * 433, 0, 433, PANEL_HEIGHT, x_range, _bounds(ys_all, from_zero=True),
                       title=f"{title} percentiles", x_label=x_label, y_label="ms")
        for k, (label, points) in enumerate(series):
            for j, key in enumerate(PERCENTILE_KEYS):
                colour = PALETTE[(k if len(series) > 1 else j) % len(PALETTE)]
                panel.polyline(_x_axis(points)[0], values(points, key), colour, dash=DASHES[j],
                               label=f"{label} {key}" if len(series) > 1 else key)
        panels.append(panel)
    figures["latency"] = _save("latency", _svg(1300, PANEL_HEIGHT, panels), out_dir)
    return figures


def request_figures(records: list[_Timing], points: list[dict[str, Any]], out_dir: Path | None) -> dict[str, str]:
    """TTFT and TPOT distributions per point, and a per-request timeline."""
    np = numpy()
    figures: dict[str, str] = {}
    ok = [r for r in records if r.error is None and r.phase == "measure" and r.sent_ns is not None]
    point_of = np.fromiter((r.point for r in ok), dtype=np.int64, count=len(ok))
    sent = np.fromiter((r.sent_ns for r in ok), dtype=np.float64, count=len(ok))
    end = np.fromiter((r.end_ns for r in ok), dtype=np.float64, count=len(ok))
    first = np.fromiter((r.end_ns if r.first_token_ns is None else r.first_token_ns for r in ok),
                        dtype=np.float64, count=len(ok))
    tokens = np.fromiter((r.completion_tokens or 0 for r in ok), dtype=np.float64, count=len(ok))
    ttft_ms = (first - sent) / 1e6
    multi = tokens > 1
    tpot_ms = np.where(multi, (end - first) / 1e6 / np.maximum(tokens - 1, 1), np.nan)

    histograms: list[list[tuple[str, Any, Any]]] = [[], []]
    for point in points:
        mine = point_of == point["point"]
        label = f"{point['rate']:g}/s" if point.get("rate") is not None else f"c={point['concurrency']}"
        for slot, values in enumerate((ttft_ms[mine], tpot_ms[mine & multi])):
            if values.size:
                counts, edges = np.histogram(values, bins=30)
                histograms[slot].append((label, counts, edges))
    panels = []
    for slot, title in enumerate(("TTFT distribution", "TPOT distribution")):
        found = histograms[slot]
        x_range = _bounds([float(e) for _, _, edges in found for e in (edges[0], edges[-1])], from_zero=False)
        y_range = (0.0, max([float(c.max()) for _, c, _ in found] or [1.0]) * 1.05)
        panel = _Panel(slot * 500, 0, 500, PANEL_HEIGHT, x_range, y_range, title=title, x_label="ms",
                       y_label="requests")
        for k, (label, counts, edges) in enumerate(found):
            panel.steps(edges.tolist(), counts.tolist(), PALETTE[k % len(PALETTE)], label)
        panels.append(panel)
    figures["distributions"] = _save("distributions", _svg(1000, PANEL_HEIGHT, panels), out_dir)
    figures["timeline"] = _save("timeline", _timeline(records), out_dir)
    return figures


def _timeline(records: list[_Timing]) -> str:
    """One line per request (sent → end; red: failed), a tick at its first token; the first 2,000 requests."""
    np = numpy()
    count = len(records)
    start = np.fromiter((r.start_ns for r in records), dtype=np.int64, count=count)
    order = np.argsort(start, kind="stable")[:TIMELINE_LIMIT]
    shown = [records[i] for i in order.tolist()]
    n = len(shown)
    height = int(max(250, min(800, n * 2 + 200)))
    sent = np.fromiter((r.start_ns if r.sent_ns is None else r.sent_ns for r in shown), dtype=np.float64, count=n)
    end = np.fromiter((r.end_ns for r in shown), dtype=np.float64, count=n)
    origin = float(start[order[0]]) if n else 0.0
    left_s, right_s = (sent - origin) / 1e9, (end - origin) / 1e9
    panel = _Panel(0, 0, 1300, height, (0.0, max(float(right_s.max()) if n else 1.0, 1e-3) * 1.02),
                   (-1.0, max(n, 1) + 0.0),
                   title=f"Per-request timeline (sent → end, | first token; red: failed; first {n} requests)",
                   x_label="seconds since the first request", y_label="request")
    rows = np.arange(n, dtype=np.float64)
    x0 = panel.left + left_s / (panel.x1 - panel.x0) * panel.width
    x1 = panel.left + right_s / (panel.x1 - panel.x0) * panel.width
    ys = panel.top + panel.height - (rows - panel.y0) / (panel.y1 - panel.y0) * panel.height
    colour_of = np.fromiter((-1 if r.error else max(r.point, 0) % len(PALETTE) for r in shown), dtype=np.int64,
                            count=n)
    line_width = max(0.4, min(2.0, panel.height / max(n, 1) * 0.8))
    parts = []
    # The colours used, in order (-1: failed); np.unique would import numpy.ma (~20 ms) for this.
    for colour_index in (np.flatnonzero(np.bincount(colour_of + 1)) - 1).tolist():
        chosen = colour_of == colour_index
        colour = FAILED if colour_index < 0 else PALETTE[colour_index]
        segments = "".join(map("M{:.1f} {:.1f}H{:.1f}".format, x0[chosen].tolist(), ys[chosen].tolist(),
                               x1[chosen].tolist()))
        parts.append(f'<path d="{segments}" stroke="{colour}" stroke-width="{line_width:.2f}" fill="none"/>')
    has_first = np.fromiter((r.first_token_ns is not None for r in shown), dtype=bool, count=n)
    first = np.fromiter((r.first_token_ns or 0 for r in shown), dtype=np.float64, count=n)
    fx = panel.left + (first - origin) / 1e9 / (panel.x1 - panel.x0) * panel.width
    tick = max(1.5, line_width * 1.5)
    marks = "".join(map(f"M{{:.1f}} {{:.1f}}v{2 * tick:.1f}".format, fx[has_first].tolist(),
                        (ys[has_first] - tick).tolist()))
    if marks:
        parts.append(f'<path d="{marks}" stroke="black" stroke-width="0.8" fill="none"/>')
    return _svg(1300, height, [panel], "".join(parts))


def _table(points: list[dict[str, Any]], run_label: str | None = None) -> str:
    headers = ["Run"] if run_label is not None else []
    headers += ["Conc.", "Rate/s", "Requests", "Success", "RPS", "Gen. tok/s", "Avg TTFT (ms)", "P99 TTFT (ms)",
                "Avg TPOT (ms)", "P99 TPOT (ms)", "Avg ITL (ms)", "P99 Lat. (s)", "Client"]
    rows = []
    for p in points:
        client = p.get("client") or {}
        cells = [run_label] if run_label is not None else []
        cells += [
            str(p["concurrency"] or "-"), "-" if p.get("rate") is None else f"{p['rate']:g}", str(p["requests"]),
            f"{p['success_rate'] * 100:.1f}%", f"{p['rps']:.2f}", f"{p['output_throughput']:.1f}",
            _ms(p["ttft_s"].get("mean")), _ms(p["ttft_s"].get("p99")), _ms(p["tpot_s"].get("mean")),
            _ms(p["tpot_s"].get("p99")), _ms(p["itl_s"].get("mean")),
            "-" if p["latency_s"].get("p99") is None else f"{p['latency_s']['p99']:.3f}",
            "client-bound" if client.get("client_bound") else "ok",
        ]
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1f2328;max-width:1400px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:right}
th{background:#f6f8fa}td:first-child,th:first-child{text-align:left}.plot svg{max-width:100%;height:auto}
.meta{color:#57606a;font-size:13px}pre{background:#f6f8fa;padding:8px;font-size:12px;overflow:auto}
.warn{color:#cf222e}
"""


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>")


def write_html_report(run_dir: str | Path) -> Path:
    """``report.html`` and ``plots/*.svg`` for one run; returns the HTML path."""
    path = Path(run_dir)
    run = read_perf_run(path)
    summary = load_summary(path, run)
    points = summary["points"]
    records = read_timings(path)
    config = run.config
    plot_dir = path / PLOTS_DIR
    figures = {**sweep_figures([(str(config.get("model")), points)], plot_dir),
               **request_figures(records, points, plot_dir)} if points else {}
    from assay.perf.by_endpoint import shown_urls
    from assay.perf.turns import turn_figure
    from assay.perf.workload_html import pooling_figures, pooling_table, turn_table

    figures.update(turn_figure(points, plot_dir))  # --multi-turn: TTFT by turn (perf/turns.py)
    figures.update(pooling_figures(points, records, plot_dir))  # embeddings/rerank: no TTFT/TPOT (workload_html.py)
    sections = [
        f"<h1>assay perf · {html.escape(str(config.get('model')))}</h1>",
        f"<p class=\"meta\">{html.escape(shown_urls(config.get('url')))} · status {html.escape(str(run.status))} · "
        f"started {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(run.started_epoch_s))} · "
        f"{len(records)} requests recorded</p>",
        "<h2>Sweep</h2>", pooling_table(points) or _table(points),
        generation_html(points),  # TTFO, reasoning tokens, tokens per chunk, draft acceptance (perf/generation.py)
        turn_table(points),  # --multi-turn: TTFT and cached tokens by turn (perf/workload_html.py)
    ]
    if any((p.get("client") or {}).get("client_bound") for p in points):
        sections.append("<p class=\"warn\">A client-bound point: the client's own load may distort its timings.</p>")
    for advice in summary.get("recommendations", []):
        sections.append(f"<p>• {html.escape(advice)}</p>")
    titles = {"throughput": "Throughput", "latency": "Latency percentiles", "distributions": "Distributions",
              "timeline": "Timeline", "ttft_by_turn": "TTFT by turn (multi-turn sessions)"}
    for key, title in titles.items():
        if key in figures:
            sections.append(f"<h2>{title}</h2><div class=\"plot\" id=\"plot-{key}\">{figures[key]}</div>")
    public = json.dumps(config, indent=1, default=str)
    sections.append(f"<h2>Configuration</h2><pre>{html.escape(public)}</pre>")
    out = path / "report.html"
    out.write_text(_page(f"assay perf · {config.get('model')}", "".join(sections)), encoding="utf-8")
    return out


def compare_runs(run_dirs: list[str | Path], output_dir: str | Path) -> tuple[Path, list[tuple[str, list[dict[str, Any]]]]]:
    """``compare.html`` (+ SVG files) overlaying the sweeps of several runs; returns it and the series."""
    series: list[tuple[str, list[dict[str, Any]]]] = []
    for run_dir in run_dirs:
        path = Path(run_dir)
        run = read_perf_run(path)
        label = f"{run.config.get('name') or run.config.get('model')} ({path.parent.name})"
        series.append((label, load_summary(path, run)["points"]))
    out_dir = Path(output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = sweep_figures(series, out_dir)
    body = ["<h1>assay perf compare</h1>", "<h2>Sweeps</h2>"]
    body += [_table(points, run_label=label) for label, points in series]
    body += [f"<h2>{title}</h2><div class=\"plot\" id=\"plot-{key}\">{figures[key]}</div>"
             for key, title in (("throughput", "Throughput"), ("latency", "Latency percentiles"))]
    out = out_dir / "compare.html"
    out.write_text(_page("assay perf compare", "".join(body)), encoding="utf-8")
    return out, series
