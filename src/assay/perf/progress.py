"""What a sweep point shows while it runs: the live bar, and the ``--log-every-n-query`` lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assay.console import LiveBar

if TYPE_CHECKING:  # rich is imported when something is printed, not before the first request
    from rich.console import Console

    from assay.perf.config import PerfConfig
    from assay.store import RequestRecord


class PointProgress(LiveBar):
    """The live bar of a sweep point, and the --log-every-n-query lines."""

    def __init__(self, console: Console, total: int | None, label: str, config: PerfConfig) -> None:
        super().__init__(label, total, fields={"failed": "{task.fields[failed]} failed"}, quiet=config.quiet,
                         failed=0)
        self.console = console
        self.config = config
        self.total = total
        self.failed = 0
        self.label = label
        # Running totals for the interim lines: summing every record so far at each line cost O(n²)
        # inside the event loop (seconds, and loop lag, at 10,000 requests).
        self.done = 0
        self.latency_ns = 0
        self.ttft_ns = 0
        self.tokens = 0
        self.inputs = 0  # embeddings / rerank: texts or documents (no first token, no output)
        self.first_start_ns: int | None = None
        self.last_end_ns: int | None = None

    def advance(self, record: RequestRecord) -> None:
        self.done += 1
        if record.error is not None:
            self.failed += 1
        else:
            sent = record.sent_ns or record.start_ns
            self.latency_ns += record.end_ns - sent
            self.ttft_ns += (record.first_token_ns or record.end_ns) - sent
            self.tokens += record.completion_tokens or 0
            self.inputs += record.inputs or 0
        if self.first_start_ns is None or record.start_ns < self.first_start_ns:
            self.first_start_ns = record.start_ns
        if self.last_end_ns is None or record.end_ns > self.last_end_ns:
            self.last_end_ns = record.end_ns
        self.step(failed=self.failed)
        every = self.config.log_every_n_query
        if every and self.done % every == 0 and not self.config.quiet:
            self.console.print(self.interim_line(), markup=False, highlight=False)

    def interim_line(self) -> str:
        done, ok = self.done, self.done - self.failed
        total_text = "?" if self.total is None else str(self.total)
        if not ok:
            return f"[{self.label}] {done}/{total_text} done, {done} failed"
        span = ((self.last_end_ns or 0) - (self.first_start_ns or 0)) / 1e9
        if self.inputs:
            return (f"[{self.label}] {done}/{total_text} done, {self.failed} failed, avg latency "
                    f"{self.latency_ns / ok / 1e9:.3f} s, {ok / span if span else 0:.2f} req/s, "
                    f"{self.inputs / span if span else 0:.1f} inputs/s")
        return (
            f"[{self.label}] {done}/{total_text} done, {self.failed} failed, avg latency "
            f"{self.latency_ns / ok / 1e9:.3f} s, avg TTFT {self.ttft_ns / ok / 1e9:.3f} s, "
            f"{ok / span if span else 0:.2f} req/s, {self.tokens / span if span else 0:.1f} output tok/s"
        )


__all__ = ["PointProgress"]
