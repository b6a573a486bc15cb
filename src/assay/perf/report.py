"""The perf console report, built only from stored data (``run.json`` + ``summary.json``).

It contains everything EvalScope's perf report shows (per-point summary and percentile
tables; the sweep's Basic Information, Detailed Performance Metrics, Best Performance
Configuration and Recommendations) plus ITL, client overhead and a prompt-length check.
"""

from __future__ import annotations

import io
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from assay.perf.metrics import percentile_key


def _s(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def point_tables(point: dict[str, Any], percentiles: list[float]) -> Group:
    """EvalScope's per-point 'Benchmarking summary' and 'Percentile results' tables."""
    summary = Table(title=f"Benchmarking summary · {_point_label(point)}, {point['requests']} requests",
                    box=box.SIMPLE_HEAVY, title_justify="left")
    summary.add_column("Key")
    summary.add_column("Value", justify="right")
    rows = [
        ("Time taken for tests (s)", _s(point["duration_s"], 2)),
        ("Number of concurrency", str(point["concurrency"])),
        ("Total requests", str(point["requests"])),
        ("Succeed requests", str(point["succeeded"])),
        ("Failed requests", str(point["failed"])),
        ("Output token throughput (tok/s)", _s(point["output_throughput"], 2)),
        ("Total token throughput (tok/s)", _s(point["total_throughput"], 2)),
        ("Request throughput (req/s)", _s(point["rps"], 4)),
        ("Average latency (s)", _s(point["latency_s"].get("mean"), 4)),
        ("Average time to first token (s)", _s(point["ttft_s"].get("mean"), 4)),
        ("Average time per output token (s)", _s(point["tpot_s"].get("mean"), 5)),
        ("Average inter-token latency (s)", _s(point["itl_s"].get("mean"), 5)),
        ("Average client overhead (ms)", _s(_ms(point["client_overhead_s"].get("mean")), 3)),
        *([("Average wait for a client slot (ms)", _s(_ms(point["queue_wait_s"].get("mean")), 3))]
          if point.get("queue_wait_s") else []),
        ("Average input tokens per request", _s(point["input_tokens_per_request"].get("mean"), 1)),
        ("Average output tokens per request", _s(point["output_tokens_per_request"].get("mean"), 1)),
    ]
    for key, value in rows:
        summary.add_row(key, value)

    table = Table(title="Percentile results", box=box.SIMPLE_HEAVY, title_justify="left")
    columns = [
        ("TTFT (s)", "ttft_s", 4), ("ITL (s)", "itl_s", 4), ("TPOT (s)", "tpot_s", 4),
        ("Latency (s)", "latency_s", 4), ("Input tokens", "input_tokens_per_request", 0),
        ("Output tokens", "output_tokens_per_request", 0), ("Output (tok/s)", "output_throughput_per_request", 2),
    ]
    table.add_column("Percentiles")
    for title, _, _ in columns:
        table.add_column(title, justify="right")
    for p in percentiles:
        key = percentile_key(p)
        table.add_row(f"{p:g}%", *(_s(point[field].get(key), digits) for _, field, digits in columns))
    notes = []
    if point["failed"]:
        notes.append(Text(f"Failed: {point['errors']}", style="red"))
    sources = point.get("token_source", {})
    if sources.get("tokenizer"):
        notes.append(Text(f"Output tokens of {sources['tokenizer']} request(s) counted by assay's tokenizer "
                          "(the server sent no usage).", style="yellow"))
    notes.append(Text(f"ITL: {point['itl_method']}.", style="dim"))
    if point.get("excluded"):
        notes.append(Text(f"Not measured (sent, recorded): {point['excluded']}.", style="dim"))
    client = point.get("client") or {}
    if client:
        style = "red" if client.get("client_bound") else "dim"
        verdict = "CLIENT-BOUND: timings may be distorted. " if client.get("client_bound") else ""
        notes.append(Text(
            f"{verdict}Client: event-loop lag p99 {client['loop_lag_p99_ms']:.1f} ms "
            f"(max {client['loop_lag_max_ms']:.1f}), CPU {client['cpu_percent']:.0f}% of a core.", style=style))
    server = point.get("server")
    if server:
        notes.append(Text(_server_line(point, server), style="cyan"))
    slo = point.get("slo")
    if slo:
        terms = ", ".join(
            f"{t['term']} ({_s(_ms(t['value_s']), 1)} ms) {'ok' if t['ok'] else 'MISSED'}" for t in slo["terms"]
        )
        notes.append(Text(f"SLO {'met' if slo['meets'] else 'missed'}: {terms}; goodput {slo['goodput_rps']:.2f} req/s.",
                          style="green" if slo["meets"] else "red"))
    return Group(summary, table, *notes)


def _server_line(point: dict[str, Any], server: dict[str, Any]) -> str:
    if "unavailable" in server:
        return f"Server metrics: {server['unavailable']} did not answer."
    parts = []
    if "generation_tokens" in server:
        parts.append(f"generated {server['generation_tokens']:.0f} tokens (client counted {point['output_tokens']})")
    if "generation_tokens_per_s" in server:
        parts.append(f"{server['generation_tokens_per_s']:.1f} tok/s over the point")
    for key, label, client_key in (("ttft_s_mean", "TTFT", "ttft_s"), ("queue_s_mean", "queue", None),
                                   ("latency_s_mean", "latency", "latency_s"), ("tpot_s_mean", "TPOT", "tpot_s")):
        if key in server:
            client_value = point.get(client_key, {}).get("mean") if client_key else None
            beside = f" (client {client_value * 1000:.1f} ms)" if client_value is not None else ""
            parts.append(f"{label} mean {server[key] * 1000:.1f} ms{beside}")
    return "Server (/metrics): " + ("; ".join(parts) if parts else "no known metrics") + "."


def _slo_cells(slo: dict[str, Any]) -> list[RenderableType]:
    meets = bool(slo.get("meets"))
    return [_s(slo.get("goodput_rps"), 2), Text("met" if meets else "missed", style="green" if meets else "red")]


def _point_label(point: dict[str, Any]) -> str:
    if point.get("rate") is None:
        return f"concurrency {point['concurrency']}"
    cap = f", cap {point['concurrency']}" if point.get("concurrency") else ""
    return f"rate {point['rate']:g}/s{cap}"


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def sweep_report(run: dict[str, Any], summary: dict[str, Any]) -> Group:
    """The whole-run report: EvalScope's 'Performance Test Summary Report' and more."""
    points: list[dict[str, Any]] = summary["points"]
    config = run.get("config", {})
    parts: list[RenderableType] = [Panel.fit(Text("Performance Test Summary Report", style="bold"), box=box.ROUNDED)]

    total_generated = sum(p["output_tokens"] for p in points)
    total_time = sum(p["duration_s"] for p in points)
    info = Table(title="Basic Information", box=box.SQUARE, show_header=False, title_justify="left")
    info.add_column("Key", style="bold")
    info.add_column("Value")
    info.add_row("Model", str(config.get("model")))
    info.add_row("Endpoint", str(config.get("url")))
    info.add_row("Dataset", _dataset_line(config))
    info.add_row("Total Generated", f"{total_generated:,} tokens")
    info.add_row("Total Test Time", f"{total_time:.2f} seconds")
    info.add_row("Avg Output Rate", f"{total_generated / total_time:.2f} tokens/sec" if total_time else "-")
    info.add_row("Status", str(run.get("status")))
    info.add_row("Run directory", str(run.get("run_dir", "")))
    parts.append(info)

    table = Table(title="Detailed Performance Metrics", box=box.HEAVY_HEAD, title_justify="left")
    has_rate = any(p.get("rate") is not None for p in points)
    has_slo = any(p.get("slo") for p in points)
    headers = [*(["Rate/s"] if has_rate else []), "Conc.", "RPS", "Avg Lat.(s)", "P99 Lat.(s)", "Gen. toks/s",
               "Avg TTFT(s)", "P99 TTFT(s)", "Avg TPOT(s)", "P99 TPOT(s)", "Avg ITL(s)", "P99 ITL(s)", "Success Rate",
               *(["Goodput/s", "SLO"] if has_slo else [])]
    for header in headers:
        table.add_column(header, justify="right")
    for p in points:
        rate = p["success_rate"] * 100
        bound = "⚠ " if (p.get("client") or {}).get("client_bound") else ""
        slo = p.get("slo") or {}
        table.add_row(
            *([_s(p.get("rate"), 2)] if has_rate else []),
            bound + (str(p["concurrency"]) if p["concurrency"] else "-"), _s(p["rps"], 2),
            _s(p["latency_s"].get("mean")), _s(p["latency_s"].get("p99")),
            _s(p["output_throughput"], 2),
            _s(p["ttft_s"].get("mean")), _s(p["ttft_s"].get("p99")),
            _s(p["tpot_s"].get("mean"), 4), _s(p["tpot_s"].get("p99"), 4),
            _s(p["itl_s"].get("mean"), 4), _s(p["itl_s"].get("p99"), 4),
            Text(f"{rate:.1f}%", style="green" if rate == 100 else "red"),
            *(_slo_cells(slo) if has_slo else []),
        )
    parts.append(table)
    if any((p.get("client") or {}).get("client_bound") for p in points):
        parts.append(Text("⚠ client-bound point: the client's own event loop or CPU was busy enough to distort "
                          "its timings; use --workers or a less loaded machine.", style="red"))

    best = summary.get("best", {})
    if best:
        by_index = {p["point"]: p for p in points}
        fast, quick = by_index[best["highest_rps"]], by_index[best["lowest_latency"]]
        best_table = Table(title="Best Performance Configuration", box=None, show_header=False, title_justify="left")
        best_table.add_column(style="bold")
        best_table.add_column()
        best_table.add_row("Highest RPS", f"{_point_label(fast).capitalize()} ({fast['rps']:.2f} req/sec)")
        best_table.add_row("Lowest Latency",
                           f"{_point_label(quick).capitalize()} ({quick['latency_s']['mean']:.3f} seconds)")
        parts.append(best_table)

    search = summary.get("search")
    if search:
        trail = ", ".join(f"{p['value']:g} {'ok' if p['meets'] else 'missed'}" for p in search["probes"])
        best = "none in range" if search["best"] is None else f"{search['best']:g}"
        parts.append(Text(f"SLO search ({search['slo']}): highest {search['kind']} meeting it: {best} "
                          f"(probes: {trail}).", style="bold"))

    prompt_line = prompt_check_line(points)
    if prompt_line is not None:
        parts.append(prompt_line)

    advice = summary.get("recommendations", [])
    if advice:
        parts.append(Text("Performance Recommendations:", style="bold"))
        parts.extend(Text(f"• {line}") for line in advice)
    return Group(*parts)


def _dataset_line(config: dict[str, Any]) -> str:
    if config.get("dataset") == "random":
        lo, hi = config.get("min_prompt_length"), config.get("max_prompt_length")
        length = f"{lo}" if lo == hi else f"{lo}–{hi}"
        prefix = f", prefix {config['prefix_length']}" if config.get("prefix_length") else ""
        return f"random, {length} prompt tokens{prefix}, max {config.get('max_tokens')} output tokens"
    return f"{config.get('dataset')} ({config.get('dataset_path')})"


def prompt_check_line(points: list[dict[str, Any]]) -> Text | None:
    """'Prompt tokens: requested N, server counted N+k (+k: BOS <s>)' with a warning if off."""
    checks = [p["prompt_tokens_check"] for p in points if p.get("prompt_tokens_check")]
    if not checks:
        return None
    requested = sum(c["requested_mean"] for c in checks) / len(checks)
    server = sum(c["server_mean"] for c in checks) / len(checks)
    differences: dict[str, int] = {}
    for check in checks:
        for key, count in check["differences"].items():
            differences[key] = differences.get(key, 0) + count
    specials = checks[0].get("special_tokens", [])
    named = ", ".join(specials) if specials else "none"
    if all(c["matches"] for c in checks):
        extra = int(next(iter(differences)))
        what = f"added by the server: {named}" if extra else "no special tokens added"
        return Text(
            f"Prompt tokens: requested {requested:.1f} on average, server counted {server:.1f} (+{extra}: {what}).",
            style="green",
        )
    expected = checks[0].get("expected_extra_tokens", len(specials))
    return Text(
        f"Warning: server-counted prompt tokens differ from the requested lengths: differences "
        f"{differences}, expected +{expected} ({named}); the server may use another tokenizer or chat template.",
        style="yellow",
    )


def compare_table(series: list[tuple[str, list[dict[str, Any]]]]) -> Table:
    """Runs side by side: one row per (run, sweep point)."""
    table = Table(title="Perf runs compared", box=box.HEAVY_HEAD, title_justify="left")
    for header in ("Run", "Point", "RPS", "Gen. toks/s", "Avg Lat.(s)", "P99 Lat.(s)", "Avg TTFT(s)", "P99 TTFT(s)",
                   "Avg TPOT(s)", "P99 TPOT(s)", "Success Rate"):
        table.add_column(header, justify="left" if header in ("Run", "Point") else "right")
    for label, points in series:
        for p in points:
            table.add_row(label, _point_label(p), _s(p["rps"], 2), _s(p["output_throughput"], 2),
                          _s(p["latency_s"].get("mean")), _s(p["latency_s"].get("p99")),
                          _s(p["ttft_s"].get("mean")), _s(p["ttft_s"].get("p99")),
                          _s(p["tpot_s"].get("mean"), 4), _s(p["tpot_s"].get("p99"), 4),
                          f"{p['success_rate'] * 100:.1f}%")
        table.add_section()
    return table


def print_report(run: dict[str, Any], summary: dict[str, Any], console: Console | None = None,
                 *, per_point: bool = True) -> str:
    """Print the report and return it as plain text (saved as report.txt)."""
    target = console or Console()
    recorder = Console(record=True, width=max(target.width, 150), file=io.StringIO())
    percentiles = run.get("config", {}).get("percentiles", [])
    blocks: list[RenderableType] = []
    if per_point:
        blocks += [point_tables(p, percentiles) for p in summary["points"]]
    blocks.append(sweep_report(run, summary))
    for block in blocks:
        target.print(block)
        recorder.print(block)
    return recorder.export_text()
