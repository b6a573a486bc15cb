"""EvalScope's speed benchmark table (``--dataset speed_benchmark``/``speed_benchmark_long``): per prompt
length, the mean generation speed of a request (its output tokens / its latency), as EvalScope's
"Speed Benchmark Results" shows it. Read from the summary, so a rebuilt report shows it too."""

from __future__ import annotations

from typing import Any

from rich.table import Table


def speed_benchmark_table(summary: dict[str, Any]) -> Table:
    """One row per sweep point (one prompt length of the ladder): prompt tokens, speed, requests."""
    table = Table(title="Speed benchmark (EvalScope's): speed at each prompt length")
    table.add_column("Prompt tokens", justify="right")
    table.add_column("Speed (tokens/s)", justify="right")
    table.add_column("Requests", justify="right")
    for point in summary["points"]:
        prompt = (point.get("input_tokens_per_request") or {}).get("mean")
        speed = (point.get("output_throughput_per_request") or {}).get("mean")
        table.add_row("–" if prompt is None else f"{prompt:.0f}", "–" if speed is None else f"{speed:.2f}",
                      f"{point['succeeded']} of {point['requests']}")
    return table
