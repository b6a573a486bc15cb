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

from assay.perf.config import point_label
from assay.perf.endpoint_report import (
    POOLING_COLUMNS,
    endpoint_dataset_line,
    percentile_value,
    pooling_rows,
    pooling_sweep_lines,
)
from assay.perf.generation import has_reasoning, server_spec_decode_text
from assay.perf.generation import report_rows as generation_rows
from assay.perf.metrics import percentile_key
from assay.store.schema import PerfRun


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
        *([(_queue_wait_label(point), _s(_ms(point["queue_wait_s"].get("mean")), 3))]
          if point.get("queue_wait_s") else []),
        ("Average input tokens per request", _s(point["input_tokens_per_request"].get("mean"), 1)),
        ("Average output tokens per request", _s(point["output_tokens_per_request"].get("mean"), 1)),
        *generation_rows(point),  # TTFO, reasoning tokens, tokens per chunk (perf/generation.py)
    ]
    if point.get("endpoint"):  # embeddings / rerank / score: nothing generated (perf/endpoint_report.py)
        rows = pooling_rows(point)
    for key, value in rows:
        summary.add_row(key, value)

    table = Table(title="Percentile results", box=box.SIMPLE_HEAVY, title_justify="left")
    columns = [
        ("TTFT (s)", "ttft_s", 4), ("ITL (s)", "itl_s", 4), ("TPOT (s)", "tpot_s", 4),
        ("Latency (s)", "latency_s", 4), ("Input tokens", "input_tokens_per_request", 0),
        ("Output tokens", "output_tokens_per_request", 0), ("Output (tok/s)", "output_throughput_per_request", 2),
    ]
    if has_reasoning(point):  # time to first answer token beside TTFT
        columns.insert(1, ("TTFO (s)", "ttfo_s", 4))
    if point.get("endpoint"):
        columns = list(POOLING_COLUMNS)
    table.add_column("Percentiles")
    for title, _, _ in columns:
        table.add_column(title, justify="right")
    for p in percentiles:
        key = percentile_key(p)
        table.add_row(f"{p:g}%", *(_s(percentile_value(point, field, key), digits) for _, field, digits in columns))
    notes = []
    if point["failed"]:
        notes.append(Text(f"Failed: {point['errors']}", style="red"))
    sources = point.get("token_source", {})
    if sources.get("tokenizer"):
        notes.append(Text(f"Output tokens of {sources['tokenizer']} request(s) counted by assay's tokenizer "
                          "(the server sent no usage).", style="yellow"))
    finish_reasons = point.get("finish_reasons")
    if finish_reasons:
        notes.append(_finish_reasons_line(finish_reasons))
    notes.append(Text(f"ITL: {point['itl_method']}.", style="dim"))
    from assay.scale.summary import actor_line

    actors = actor_line(point)  # --ray (scale/summary.py)
    if actors is not None:
        notes.append(Text(actors, style="red" if point["actors"]["lost"] else "dim"))
    if point.get("excluded"):
        notes.append(Text(f"Not measured (sent, recorded): {point['excluded']}.", style="dim"))
    if point.get("client"):
        notes.append(_client_line(point))
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
    from assay.perf.by_endpoint import endpoint_table

    by_endpoint = endpoint_table(point)  # several --url: each endpoint's share (perf/by_endpoint.py)
    from assay.perf.turns import session_table

    by_turn = session_table(point)  # --multi-turn: TTFT and cached tokens by turn (perf/turns.py)
    return Group(summary, table, *([by_endpoint] if by_endpoint is not None else []),
                 *([by_turn] if by_turn is not None else []), *notes)


NORMAL_FINISH_REASONS = ("stop", "length", "tool_calls", "eos")


def _finish_reasons_line(counts: dict[str, int]) -> Text:
    """'Finish reasons: length 30, stop 2.': yellow when a server ended a stream for another reason."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    text = ", ".join(f"{'none given' if reason in ('None', 'null') else reason} {count}" for reason, count in ordered)
    unusual = any(reason not in NORMAL_FINISH_REASONS for reason in counts)
    return Text(f"Finish reasons: {text}.", style="yellow" if unusual else "dim")


def _queue_wait_label(point: dict[str, Any]) -> str:
    """A capped open loop waits for a free slot; an uncapped one only sends late against its schedule."""
    if point.get("rate") is not None and not point.get("concurrency"):
        return "Average send lag behind schedule (ms)"
    return "Average wait for a client slot (ms)"


def lag_cause(point: dict[str, Any]) -> str | None:
    """``"client"`` or ``"machine"`` for a client-bound point (runs before the cause was stored: client).

    A point without a success has no timing to distort (and, all refused in a few milliseconds,
    too short a clock for a CPU share to mean anything): never marked.
    """
    client = point.get("client") or {}
    if not client.get("client_bound") or not point.get("succeeded"):
        return None
    return str(client.get("lag_cause") or "client")


def _machine_load(client: dict[str, Any]) -> str:
    """'waited for a CPU 12% of the time; other processes used 1.9 of 2 cores, steal 0%' (what was measured)."""
    parts = []
    if client.get("run_queue_wait_percent") is not None:
        parts.append(f"waited for a CPU {client['run_queue_wait_percent']:.0f}% of the time")
    if client.get("other_cpu_cores") is not None:
        cores = f" of {client['cpu_cores']}" if client.get("cpu_cores") else ""
        parts.append(f"other processes used {client['other_cpu_cores']:.1f}{cores} cores")
    if client.get("steal_percent") is not None:
        parts.append(f"steal {client['steal_percent']:.0f}%")
    return "; ".join(parts)


def _client_line(point: dict[str, Any]) -> Text:
    client = point["client"]
    cause = lag_cause(point)
    verdict = {
        "client": "CLIENT-BOUND (the client's own work): timings may be distorted; use --workers. ",
        "machine": "MACHINE-BOUND (other load on this machine, not the client's work): timings may be distorted; "
                   "use a quieter machine (--workers would not help). ",
    }.get(cause or "", "")
    load = _machine_load(client) if cause else ""
    return Text(
        f"{verdict}Client: event-loop lag p99 {client['loop_lag_p99_ms']:.1f} ms "
        f"(max {client['loop_lag_max_ms']:.1f}), CPU {client['cpu_percent']:.0f}% of a core"
        f"{'; ' + load if load else ''}.", style="red" if cause else "dim")


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
    if "prefix_cache_hit_rate" in server:  # multi-turn: the server's own prefix-cache hits (perf/turns.py)
        parts.append(f"prefix cache hit {server['prefix_cache_hit_rate']:.1%} of {server['prefix_cache_queries']:.0f} "
                     "prompt tokens")
    spec = server_spec_decode_text(server)  # perf/generation.py
    if spec:
        parts.append(spec)
    return "Server (/metrics): " + ("; ".join(parts) if parts else "no known metrics") + "."


def _slo_cells(slo: dict[str, Any]) -> list[RenderableType]:
    meets = bool(slo.get("meets"))
    return [_s(slo.get("goodput_rps"), 2), Text("met" if meets else "missed", style="green" if meets else "red")]


def _point_label(point: dict[str, Any]) -> str:
    return point_label(point["concurrency"], point.get("rate"))


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def sweep_report(run: PerfRun, summary: dict[str, Any]) -> Group:
    """The whole-run report: EvalScope's 'Performance Test Summary Report' and more."""
    points: list[dict[str, Any]] = summary["points"]
    config = run.config
    parts: list[RenderableType] = [Panel.fit(Text("Performance Test Summary Report", style="bold"), box=box.ROUNDED)]

    total_generated = sum(p["output_tokens"] for p in points)
    total_time = sum(p["duration_s"] for p in points)
    info = Table(title="Basic Information", box=box.SQUARE, show_header=False, title_justify="left")
    info.add_column("Key", style="bold")
    info.add_column("Value")
    info.add_row("Model", str(config.get("model")))
    from assay.perf.by_endpoint import shown_urls

    urls = config.get("url")
    info.add_row("Endpoint", shown_urls(urls))
    if isinstance(urls, list):  # several endpoints: how requests were shared out
        info.add_row("URL strategy", str(config.get("url_strategy", "round-robin")))
    info.add_row("Dataset", _dataset_line(config))
    info.add_row("Total Generated", f"{total_generated:,} tokens")
    info.add_row("Total Test Time", f"{total_time:.2f} seconds")
    info.add_row("Avg Output Rate", f"{total_generated / total_time:.2f} tokens/sec" if total_time else "-")
    info.add_row("Status", str(run.status))
    info.add_row("Run directory", str(run.run_dir or ""))
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
        bound = "⚠ " if lag_cause(p) else ""
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
    parts.extend(pooling_sweep_lines(points))  # embeddings / rerank: inputs/s (perf/endpoint_report.py)
    parts.extend(_bound_notes(points))

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

    verdict = verdict_line(summary)
    if verdict is not None:
        parts.append(Text(verdict, style="bold red"))

    prompt_line = prompt_check_line(points, chat=run.endpoint_kind == "chat")
    if prompt_line is not None:
        parts.append(prompt_line)

    advice = summary.get("recommendations", [])
    if advice:
        parts.append(Text("Performance Recommendations:", style="bold"))
        parts.extend(Text(f"• {line}") for line in advice)
    return Group(*parts)


def _bound_notes(points: list[dict[str, Any]]) -> list[Text]:
    """One line per cause of client-bound points: the client's own work, or other load on the machine."""
    notes = []
    own = [p for p in points if lag_cause(p) == "client"]
    if own:
        worst = max(p["client"]["cpu_percent"] for p in own)
        notes.append(Text(
            f"⚠ client-bound point: the client's own work (up to {worst:.0f}% of a core) held its event loop long "
            "enough to distort its timings; use --workers (more client processes) or a faster machine.", style="red"))
    machine = [p for p in points if lag_cause(p) == "machine"]
    if machine:
        worst_point = max(machine, key=lambda p: p["client"]["loop_lag_p99_ms"])
        client = worst_point["client"]
        load = _machine_load(client)
        notes.append(Text(
            f"⚠ machine-bound point: the client used only {client['cpu_percent']:.0f}% of a core, yet its event loop "
            f"lagged (p99 {client['loop_lag_p99_ms']:.1f} ms at {_point_label(worst_point)}"
            f"{': ' + load if load else ''}): other load on this machine delayed it. Use a quieter machine; "
            "--workers would add load, not remove it.", style="red"))
    return notes


def verdict_line(summary: dict[str, Any]) -> str | None:
    """'FAILED: success rate below --min-success-rate 100% at concurrency 4 (0 of 32: …)', or None."""
    verdict = summary.get("verdict") or {}
    failing = set(verdict.get("below_min_success_rate") or [])
    if not failing:
        return None
    below = []
    for p in summary["points"]:
        if p["point"] in failing:
            reasons = ", ".join(f"{k} ×{v}" for k, v in p["errors"].items())
            below.append(f"{_point_label(p)} ({p['succeeded']} of {p['requests']} succeeded"
                         f"{': ' + reasons if reasons else ''})")
    return (f"FAILED: success rate below --min-success-rate {verdict['min_success_rate'] * 100:g}% at "
            f"{len(below)} of {len(summary['points'])} sweep point(s): {'; '.join(below)}.")


def _dataset_line(config: dict[str, Any]) -> str:
    pooled = endpoint_dataset_line(config)  # embeddings batches, rerank documents (perf/endpoint_report.py)
    if pooled is not None:
        return pooled
    if config.get("dataset") == "random":
        lo, hi = config.get("min_prompt_length"), config.get("max_prompt_length")
        length = f"{lo}" if lo == hi else f"{lo}–{hi}"
        prefix = f", prefix {config['prefix_length']}" if config.get("prefix_length") else ""
        return f"random, {length} prompt tokens{prefix}, max {config.get('max_tokens')} output tokens"
    if config.get("dataset_path") is None:  # made on the spot (random_vl, speed_benchmark) or from the hub
        return str(config.get("dataset"))
    return f"{config.get('dataset')} ({config.get('dataset_path')})"


def prompt_check_line(points: list[dict[str, Any]], *, chat: bool = False) -> Text | None:
    """'Prompt tokens: requested N, server counted N+k (+k: BOS <s>)' with a warning if off.

    ``chat``: on /v1/chat/completions a difference with no chat template known is the template's,
    not a sign of another tokenizer.
    """
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
    if chat and not any("chat template" in s for s in specials):
        return Text(
            f"Warning: server-counted prompt tokens differ from the requested lengths by {differences}: "
            "no chat template was found with --tokenizer-path (chat_template.jinja, chat_template.json or "
            "tokenizer_config.json), so the tokens the server's template adds could not be predicted.",
            style="yellow",
        )
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


class ReportPrinter:
    """Shows report blocks on the console and keeps the very same text for report.txt.

    Each block is rendered for the console and for a recorder of the console's width, so the
    file holds what was shown, line for line: the per-point tables as each point ends, then
    the whole-run report. A block kept with ``show=False`` (per-point tables under --quiet)
    goes only into the file.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self._recorder = Console(record=True, width=console.width, file=io.StringIO(), color_system=None)

    def add(self, block: RenderableType, *, show: bool = True) -> None:
        if show:
            self.console.print(block)
        self._recorder.print(block)

    def text(self) -> str:
        return self._recorder.export_text()


def print_report(run: PerfRun, summary: dict[str, Any], console: Console | None = None,
                 *, per_point: bool = True, printer: ReportPrinter | None = None) -> str:
    """Print the report and return it as plain text (saved as report.txt).

    ``printer``: the one the run's per-point tables already went through; the whole-run report
    is added to it, and the text returned is everything it holds.
    """
    printer = printer or ReportPrinter(console or Console())
    if per_point:
        percentiles = run.config.get("percentiles", [])
        for point in summary["points"]:
            printer.add(point_tables(point, percentiles))
    printer.add(sweep_report(run, summary))
    if str(run.config.get("dataset")).startswith("speed_benchmark"):  # EvalScope's own table for its ladder
        from assay.perf.speed_report import speed_benchmark_table

        printer.add(speed_benchmark_table(summary))
    return printer.text()
