"""Pictures of perf runs: a self-contained HTML report per run, PNGs of its main plots, and comparisons.

Plots are drawn with matplotlib (Agg) from the run directory only; the HTML inlines them as
SVG, so it needs no network, no CDN and no JavaScript. ``plots/*.png`` hold the same plots.
"""

from __future__ import annotations

import html
import io
import json
import time
from pathlib import Path
from typing import Any

from assay.client.records import RequestRecord
from assay.perf.stored import load_summary
from assay.store.rundir import RECORDS_FILE, read_records, read_run

TIMELINE_LIMIT = 2000
PERCENTILE_KEYS = ("p50", "p90", "p99")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 100, "font.size": 9, "axes.grid": True, "grid.alpha": 0.3,
                         "svg.hashsalt": "assay"})
    return plt


def _legend(ax: Any) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def _x_axis(points: list[dict[str, Any]]) -> tuple[list[float], str]:
    if any(p.get("rate") is not None for p in points):
        return [float(p["rate"]) for p in points], "request rate (req/s)"
    return [float(p["concurrency"]) for p in points], "concurrency"


def _save(figure: Any, name: str, png_dir: Path | None) -> str:
    """The figure as inline SVG text (and a PNG file when ``png_dir`` is given)."""
    if png_dir is not None:
        png_dir.mkdir(parents=True, exist_ok=True)
        figure.savefig(png_dir / f"{name}.png", format="png", bbox_inches="tight")
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    _pyplot().close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def sweep_figures(series: list[tuple[str, list[dict[str, Any]]]], png_dir: Path | None) -> dict[str, str]:
    """Throughput and latency-percentile curves; several runs overlay (for compare)."""
    plt = _pyplot()
    figures: dict[str, str] = {}
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for label, points in series:
        xs, xlabel = _x_axis(points)
        axes[0].plot(xs, [p["rps"] for p in points], marker="o", label=label)
        axes[1].plot(xs, [p["output_throughput"] for p in points], marker="o", label=label)
    axes[0].set(title="Requests per second", xlabel=xlabel, ylabel="req/s")
    axes[1].set(title="Output tokens per second", xlabel=xlabel, ylabel="tok/s")
    for ax in axes:
        _legend(ax)
    figures["throughput"] = _save(fig, "throughput", png_dir)

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for ax, (field, title) in zip(axes, (("latency_s", "Latency"), ("ttft_s", "TTFT"), ("tpot_s", "TPOT"))):
        for label, points in series:
            xs, xlabel = _x_axis(points)
            for key, style in zip(PERCENTILE_KEYS, ("-", "--", ":")):
                ys = [p[field].get(key, float("nan")) * 1000 for p in points]
                ax.plot(xs, ys, linestyle=style, marker="o", markersize=3,
                        label=f"{label} {key}" if len(series) > 1 else key)
        ax.set(title=f"{title} percentiles", xlabel=xlabel, ylabel="ms")
        _legend(ax)
    figures["latency"] = _save(fig, "latency", png_dir)
    return figures


def request_figures(records: list[RequestRecord], points: list[dict[str, Any]], png_dir: Path | None) -> dict[str, str]:
    """TTFT and TPOT distributions per point, and a per-request timeline."""
    plt = _pyplot()
    figures: dict[str, str] = {}
    ok = [r for r in records if r.error is None and r.phase == "measure" and r.sent_ns is not None]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for point in points:
        rows = [r for r in ok if r.point == point["point"]]
        label = f"{point['rate']:g}/s" if point.get("rate") is not None else f"c={point['concurrency']}"
        ttft = [((r.first_token_ns or r.end_ns) - r.sent_ns) / 1e6 for r in rows]  # type: ignore[operator]
        tpot = [(r.end_ns - (r.first_token_ns or r.end_ns)) / 1e6 / ((r.completion_tokens or 2) - 1)
                for r in rows if (r.completion_tokens or 0) > 1]
        if ttft:
            axes[0].hist(ttft, bins=30, histtype="step", label=label)
        if tpot:
            axes[1].hist(tpot, bins=30, histtype="step", label=label)
    axes[0].set(title="TTFT distribution", xlabel="ms", ylabel="requests")
    axes[1].set(title="TPOT distribution", xlabel="ms", ylabel="requests")
    for ax in axes:
        _legend(ax)
    figures["distributions"] = _save(fig, "distributions", png_dir)

    shown = sorted(records, key=lambda r: r.start_ns)[:TIMELINE_LIMIT]
    fig, ax = plt.subplots(figsize=(13, max(2.5, min(8.0, len(shown) * 0.02 + 2))))
    if shown:
        origin = min(r.start_ns for r in shown)
        colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for row, r in enumerate(shown):
            colour = "red" if r.error else colours[max(r.point, 0) % len(colours)]
            sent = r.sent_ns if r.sent_ns is not None else r.start_ns
            ax.hlines(row, (sent - origin) / 1e9, (r.end_ns - origin) / 1e9, colors=colour, linewidth=1)
            if r.first_token_ns is not None:
                ax.plot((r.first_token_ns - origin) / 1e9, row, marker="|", color="black", markersize=3)
    ax.set(title=f"Per-request timeline (sent → end, | first token; red: failed; first {len(shown)} requests)",
           xlabel="seconds since the first request", ylabel="request")
    figures["timeline"] = _save(fig, "timeline", png_dir)
    return figures


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
    """``report.html`` and ``plots/*.png`` for one run; returns the HTML path."""
    path = Path(run_dir)
    run = read_run(path)
    summary = load_summary(path, run)
    points = summary["points"]
    records, _ = read_records(path / RECORDS_FILE)
    config = run.get("config", {})
    png_dir = path / "plots"
    figures = {**sweep_figures([(str(config.get("model")), points)], png_dir),
               **request_figures(records, points, png_dir)} if points else {}
    sections = [
        f"<h1>assay perf · {html.escape(str(config.get('model')))}</h1>",
        f"<p class=\"meta\">{html.escape(str(config.get('url')))} · status {html.escape(str(run.get('status')))} · "
        f"started {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(run.get('started_epoch_s', 0)))} · "
        f"{len(records)} requests recorded</p>",
        "<h2>Sweep</h2>", _table(points),
    ]
    if any((p.get("client") or {}).get("client_bound") for p in points):
        sections.append("<p class=\"warn\">A client-bound point: the client's own load may distort its timings.</p>")
    for advice in summary.get("recommendations", []):
        sections.append(f"<p>• {html.escape(advice)}</p>")
    titles = {"throughput": "Throughput", "latency": "Latency percentiles", "distributions": "Distributions",
              "timeline": "Timeline"}
    for key, title in titles.items():
        if key in figures:
            sections.append(f"<h2>{title}</h2><div class=\"plot\" id=\"plot-{key}\">{figures[key]}</div>")
    public = json.dumps(config, indent=1, default=str)
    sections.append(f"<h2>Configuration</h2><pre>{html.escape(public)}</pre>")
    out = path / "report.html"
    out.write_text(_page(f"assay perf · {config.get('model')}", "".join(sections)), encoding="utf-8")
    return out


def compare_runs(run_dirs: list[str | Path], output_dir: str | Path) -> tuple[Path, list[tuple[str, list[dict[str, Any]]]]]:
    """``compare.html`` (+ PNGs) overlaying the sweeps of several runs; returns it and the series."""
    from assay.errors import AssayError

    series: list[tuple[str, list[dict[str, Any]]]] = []
    for run_dir in run_dirs:
        path = Path(run_dir)
        run = read_run(path)
        if run.get("kind") != "perf":
            raise AssayError(f"{path} is not a perf run")
        label = f"{run['config'].get('name') or run['config'].get('model')} ({path.parent.name})"
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
