"""Run a perf sweep: one closed-loop sweep point per (parallel, number) pair.

Flow: (optional local engine) → tokenizer → run directory → test request → warm-up →
for each point: fresh requests → ``concurrency`` workers → records appended as they end →
point summary → whole-run summary, report, ``run.json`` status.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay import __version__
from assay.client.openai import ChatOrCompletionRequest, OpenAIClient, endpoint_kind
from assay.client.records import RECORD_SCHEMA_VERSION, RequestRecord
from assay.console import LiveBar
from assay.errors import ServerError, StorageError
from assay.perf import metrics
from assay.perf.config import PerfConfig, PointSpec
from assay.perf.schedule import ClientHealth, LoopMonitor, arrival_offsets, frozen_heap
from assay.perf.slo import needed_percentiles, parse_slo
from assay.redact import redact_url
from assay.store.rundir import (
    RECORDS_FILE,
    REPORT_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    RecordWriter,
    new_run_path,
    write_json_atomic,
    write_json_last_resort,
    write_text_atomic,
)

if TYPE_CHECKING:  # rich is imported when something is printed, not before the first request
    from rich.console import Console

PREBUILT_REQUESTS_MAX = 20_000
"""A point of at most this many requests has them all made before its clock starts (beyond: as needed,
so that memory stays bounded: 20,000 prompts of 1,024 tokens are ~80 MB)."""


@dataclass
class PerfResult:
    """What :func:`run_perf` returns: where the run lives and its summary."""

    run_dir: Path
    summary: dict[str, Any]
    report_text: str


def run_perf(config: PerfConfig, console: Console | None = None) -> PerfResult:
    """Run the sweep described by ``config``; the CLI is a thin layer over this."""
    from assay.console import report_console

    console = console or report_console()
    config.validate()
    with contextlib.ExitStack() as stack:
        if config.engine is not None:
            config = _start_engine(config, stack, console)
        return _Run(config, console).execute()


def _start_engine(config: PerfConfig, stack: contextlib.ExitStack, console: Console) -> PerfConfig:
    from assay.engines import start_local_engine

    parallel = max(1, min(max(config.parallel or [8]), 8))
    context = max(4096, parallel * (config.max_prompt_length + config.max_tokens + 64))
    server, alias = start_local_engine(stack, config.engine_model, parallel=parallel, context_size=context,
                                       say=console.print, engine=config.engine or "llama-server")
    return replace(
        config,
        # --url with --engine only picks the endpoint kind; the host is the engine's.
        url=f"{server.base_url}/{'chat/completions' if endpoint_kind(config.url or '') == 'chat' else 'completions'}",
        model=config.model or alias,
        tokenizer_path=config.tokenizer_path or str(server.model_path),
        engine=None,
    )


class SuccessRateError(ServerError):
    """A sweep point's share of successful requests is below ``min_success_rate``.

    The run itself is complete (records, summary, report); ``result`` holds it.
    """

    def __init__(self, message: str, result: PerfResult) -> None:
        super().__init__(message)
        self.result = result


class _Run:
    def __init__(self, config: PerfConfig, console: Console) -> None:
        self.config = config
        self.console = console
        self.tokenizer: Any = None
        self.special_tokens: list[str] = []
        self.expected_extra_tokens: int | None = None
        self.prompts: Any = None
        self.file_requests: list[ChatOrCompletionRequest] = []
        self.next_index = 0
        self.search: dict[str, Any] | None = None
        self._sweep_task: asyncio.Task[Any] | None = None
        self._report: Any = None  # the ReportPrinter: report.txt is what the console showed

    def _report_printer(self) -> Any:
        if self._report is None:
            from assay.perf.report import ReportPrinter

            self._report = ReportPrinter(self.console)
        return self._report

    def execute(self) -> PerfResult:
        config = self.config
        self._load_inputs()
        name = config.name or (config.model or "run")
        run_dir = new_run_path(config.outputs_dir, name)
        origin_perf_ns, origin_epoch_ns = time.perf_counter_ns(), time.time_ns()
        run: dict[str, Any] = {
            "kind": "perf",
            "schema_version": 1,
            "record_schema_version": RECORD_SCHEMA_VERSION,
            "assay_version": __version__,
            "status": "running",
            "pid": os.getpid(),
            "started_epoch_s": origin_epoch_ns / 1e9,
            "origin_perf_ns": origin_perf_ns,
            "origin_epoch_ns": origin_epoch_ns,
            "config": config.to_public_dict(),
            "endpoint_kind": endpoint_kind(config.url or ""),
            "tokenizer": getattr(self.tokenizer, "name", None),
            "special_tokens": self.special_tokens,
            "expected_extra_tokens": self.expected_extra_tokens,
            "run_dir": str(run_dir),
        }
        write_json_atomic(run_dir / RUN_FILE, run)
        writer = RecordWriter(run_dir / RECORDS_FILE)
        points: list[dict[str, Any]] = []
        status = "failed"
        try:
            _run_event_loop(self._stop_on_write_error(writer, self._sweep(writer, points, origin_perf_ns,
                                                                          origin_epoch_ns)))
            status = "finished"
        except KeyboardInterrupt:
            status = "interrupted"
            self.console.print("[yellow]Interrupted: the finished requests are kept in the run directory.[/yellow]")
        except StorageError as exc:
            _mark_failed(run_dir, run, writer, exc)
            raise
        finally:
            if writer.failure is None:
                try:
                    writer.close()
                    run["status"] = status
                    run["finished_epoch_s"] = time.time()
                    if status == "finished":
                        summary = self._summary(points)
                    else:  # include the point that was cut short, from the records on disk
                        from assay.perf.stored import load_summary

                        summary = load_summary(run_dir, run)
                    write_json_atomic(run_dir / SUMMARY_FILE, summary)
                    write_json_atomic(run_dir / RUN_FILE, run)
                except StorageError as exc:
                    _mark_failed(run_dir, run, writer, exc)
                    raise
        from assay.perf.report import print_report

        text = print_report(run, summary, self.console, per_point=False, printer=self._report_printer())
        write_text_atomic(run_dir / REPORT_FILE, text)
        if self.config.html and summary["points"]:
            from assay.perf.html import write_html_report

            self.console.print(f"HTML report: {write_html_report(run_dir)}")
        if status == "interrupted":
            raise KeyboardInterrupt
        if points and all(p["succeeded"] == 0 for p in points):
            raise ServerError(f"every request failed (first reason: {_first_error(points)}); records in {run_dir}")
        result = PerfResult(run_dir=run_dir, summary=summary, report_text=text)
        from assay.perf.report import verdict_line

        verdict = verdict_line(summary)
        if verdict is not None:
            raise SuccessRateError(f"{verdict} Records in {run_dir}", result)
        return result

    async def _stop_on_write_error(self, writer: RecordWriter, sweep: Any) -> None:
        """Run the sweep; a record that cannot be written stops it at once, with that write error.

        Records are flushed in a callback at the end of an event-loop turn (see ``_run_point``),
        whose exception would only reach the loop's handler: it cancels this task instead.
        """
        self._sweep_task = asyncio.current_task()
        try:
            await sweep
        except asyncio.CancelledError:
            if writer.failure is not None:
                raise writer.failure from None
            raise

    def _summary(self, points: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "search": self.search,
            "points": points,
            "best": metrics.best_points(points),
            "recommendations": metrics.recommendations(points, self.config.max_tokens, self.config.min_tokens,
                                                     extra_args=self.config.extra_args),
            "verdict": {
                "min_success_rate": self.config.min_success_rate,
                "below_min_success_rate": [p["point"] for p in points
                                           if self._counts_for_verdict(p) and self._below_min_success_rate(p)],
            },
        }

    def _counts_for_verdict(self, point: dict[str, Any]) -> bool:
        """Sweep points always count. An SLO search probes past the server's capacity on purpose, and a
        probe that lost requests already fails the SLO there: only probes at or below the load the
        search settled on count (the lowest load probed, when none passed), so a search still fails
        the run when requests are lost at the load it reports."""
        probe = point.get("probe")
        if probe is None or self.search is None:
            return True
        best = self.search.get("best")
        if best is None:
            values = [p["value"] for p in self.search.get("probes") or []]
            return not values or probe["value"] <= min(values)
        return bool(probe["value"] <= best)

    def _below_min_success_rate(self, point: dict[str, Any]) -> bool:
        return bool(point["succeeded"] < self.config.min_success_rate * point["requests"])

    def _load_inputs(self) -> None:
        config = self.config
        if config.tokenizer_path and config.dataset == "random":
            # Start-up: facts kept from an earlier run with this tokenizer stand in for building it.
            from assay.perf.prompt_words import open_tokenizer

            self.tokenizer = open_tokenizer(config.tokenizer_path, hub=config.tokenizer_hub)
        elif config.tokenizer_path:
            from assay.data.tokenizers import load_tokenizer

            self.tokenizer = load_tokenizer(config.tokenizer_path, hub=config.tokenizer_hub)
        if config.tokenizer_path:
            if endpoint_kind(config.url or "") == "completions":
                self.special_tokens = self.tokenizer.added_special_tokens()
            else:
                from assay.data.tokenizers import chat_template_overhead

                overhead = chat_template_overhead(self.tokenizer)
                if overhead is not None:
                    self.expected_extra_tokens, description = overhead
                    self.special_tokens = [description]
        if config.dataset == "random":
            from assay.perf.datasets import RandomPrompts

            self.prompts = RandomPrompts(self.tokenizer)
        else:
            from assay.perf.datasets import load_file_prompts

            assert config.dataset_path is not None
            self.file_requests = load_file_prompts(config.dataset, config.dataset_path)
            if endpoint_kind(config.url or "") == "completions" and any(r.messages for r in self.file_requests):
                self.console.print(
                    "[yellow]Chat messages sent to /v1/completions are joined into one prompt; "
                    "use a /v1/chat/completions URL to keep the roles.[/yellow]"
                )

    def _requests_for(self, point: int, count: int | None) -> Iterator[ChatOrCompletionRequest]:
        """The requests of one point, made as they are needed (``count`` None: endless)."""
        config = self.config
        if config.dataset == "random":
            from assay.perf.datasets import random_request_stream

            return random_request_stream(
                self.prompts, count=count, min_length=config.min_prompt_length,
                max_length=config.max_prompt_length, prefix_length=config.prefix_length,
                max_tokens=config.max_tokens, seed=config.seed, point=point,
            )
        from assay.perf.datasets import cycle_stream

        return cycle_stream(self.file_requests, count, config.max_tokens)

    def _client_args(self, origin_perf_ns: int, origin_epoch_ns: int) -> dict[str, Any]:
        """Arguments of the client (picklable: workers build their own from them)."""
        config = self.config
        assert config.url and config.model
        return dict(
            url=config.url, model=config.model, api_key=config.api_key, headers=config.headers,
            stream=config.stream, temperature=config.temperature, top_p=config.top_p, min_tokens=config.min_tokens,
            extra_body=config.extra_args, continuous_usage=config.continuous_usage,
            connect_timeout_s=config.connect_timeout, read_timeout_s=config.read_timeout,
            total_timeout_s=config.total_timeout, max_connections=0, origin_perf_ns=origin_perf_ns, origin_epoch_ns=origin_epoch_ns,
        )

    def _client(self, origin_perf_ns: int, origin_epoch_ns: int) -> OpenAIClient:
        count = None
        if self.tokenizer is not None:
            tokenizer = self.tokenizer

            def count(text: str) -> int:
                return len(tokenizer.encode(text))

        return OpenAIClient(**self._client_args(origin_perf_ns, origin_epoch_ns), count_tokens=count)

    async def _sweep(self, writer: RecordWriter, points: list[dict[str, Any]], origin_perf_ns: int,
                     origin_epoch_ns: int) -> None:
        config = self.config
        slo_terms = parse_slo(config.slo) if config.slo else []
        percentiles = sorted(set(config.percentiles) | set(needed_percentiles(slo_terms)))
        async with self._client(origin_perf_ns, origin_epoch_ns) as client:
            if config.test_connection:
                await self._test_connection(client)
            if config.warmup_num:
                first = config.points[0]
                warmup = PointSpec(-1, first.concurrency or 1, config.warmup_num, None, None)
                await self._run_point(client, writer, warmup, phase="warmup")
            if config.slo_search:
                self.search = await self._search(client, writer, points, percentiles, slo_terms)
                return
            for spec in config.points:
                points.append(await self._measure(client, writer, spec, percentiles, slo_terms))

    async def _measure(self, client: OpenAIClient, writer: RecordWriter, spec: PointSpec,
                       percentiles: list[float], slo_terms: list[Any]) -> dict[str, Any]:
        from assay.perf import server_metrics

        config = self.config
        metrics_url = None
        if config.server_metrics:
            metrics_url = (server_metrics.metrics_url(config.url or "") if config.server_metrics == "auto"
                           else config.server_metrics)
        before = await server_metrics.scrape(metrics_url) if metrics_url else None
        started = time.perf_counter()
        records, health = await self._run_point(client, writer, spec)
        elapsed = time.perf_counter() - started
        after = await server_metrics.scrape(metrics_url) if metrics_url else None
        summary = metrics.summarize_point(
            records, point=spec.index, concurrency=spec.concurrency or 0,
            number=spec.number or len(records), percentiles=percentiles,
            special_tokens=self.special_tokens, expected_extra_tokens=self.expected_extra_tokens,
            slo_terms=slo_terms, rate=spec.rate,
            client=asdict(health) | {"client_bound": health.client_bound, "lag_cause": health.lag_cause},
        )
        if metrics_url:
            summary["server"] = (server_metrics.difference(before, after, elapsed) if before and after
                                 else {"unavailable": redact_url(metrics_url)})
        from assay.perf.report import point_tables

        self._report_printer().add(point_tables(summary, config.percentiles), show=not config.quiet)
        return summary

    async def _search(self, client: OpenAIClient, writer: RecordWriter, points: list[dict[str, Any]],
                      percentiles: list[float], slo_terms: list[Any]) -> dict[str, Any]:
        """The highest concurrency (or rate) meeting the SLO: double until a probe fails, then bisect.

        Each probe runs ``search_repeats`` times and passes only if every run meets the SLO.
        Concurrency is searched to the integer; a rate until the bracket is within 5 %.
        """
        config = self.config
        kind = config.slo_search
        low, high = config.search_range
        probes: list[dict[str, Any]] = []

        async def passes(value: float) -> bool:
            for repeat in range(config.search_repeats):
                index = len(points)
                if kind == "concurrency":
                    concurrency = int(value)
                    number = config.number[0] if config.number else max(8, 4 * concurrency)
                    spec = PointSpec(index, concurrency, None if config.duration else number, None, config.duration)
                else:
                    cap = config.parallel[0] if config.parallel else None
                    spec = PointSpec(index, cap, config.number[0] if config.number else None, value, config.duration)
                summary = await self._measure(client, writer, spec, percentiles, slo_terms)
                summary["probe"] = {"value": value, "repeat": repeat}
                points.append(summary)
                # A probe that lost requests does not meet the SLO, however fast its survivors were.
                if not summary["slo"]["meets"] or self._below_min_success_rate(summary):
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

    async def _test_connection(self, client: OpenAIClient) -> None:
        """One short request first, so a wrong URL, model or key fails fast with its reason."""
        extra = {"min_tokens": 0} if self.config.min_tokens is not None else {}
        probe = ChatOrCompletionRequest(prompt="Hello", max_tokens=1, extra=extra)
        record = await client.send(probe, index=-1, point=-1, phase="test")
        if record.error is None:
            return
        url = client.shown_url
        if record.error_kind == "connect":
            raise ServerError(f"cannot reach the server at {url}: {record.error}")
        status = record.http_status or 0
        refused = record.error_kind == "http" and 400 <= status < 500 and status != 429
        if refused or record.error_kind == "protocol":  # a web page where the API should be?
            from assay.service_check import auth_headers, not_json_problem

            problem = await not_json_problem(client.url, url, client.body(probe),
                                             auth_headers(self.config.api_key, self.config.headers),
                                             http_status=status, refused=refused)
            if problem is not None:
                raise ServerError(problem)
        if record.http_status == 404:
            raise ServerError(
                f"{url} answered HTTP 404: check the URL path (…/v1/completions or …/v1/chat/completions) "
                f"and the model name {self.config.model!r} ({record.error})"
            )
        if record.http_status in (401, 403):
            raise ServerError(f"{url} refused the request ({record.error}): check --api-key / --headers")
        raise ServerError(f"test request to {url} failed: {record.error} (skip the test with --no-test-connection)")

    async def _run_point(
        self,
        client: OpenAIClient,
        writer: RecordWriter,
        spec: PointSpec,
        *,
        phase: str = "measure",
    ) -> tuple[list[RequestRecord], ClientHealth]:
        """Run one sweep point: closed loop (``concurrency`` workers) or open loop (``rate``)."""
        config = self.config
        records: list[RequestRecord] = []
        requests = self._requests_for(spec.index, spec.number)
        if spec.number is not None and spec.number <= PREBUILT_REQUESTS_MAX:
            # Made before the clock starts, as the other tools do: building a random prompt of an
            # exact length (tokenizer round trips) inside the event loop, 128 at a time when a
            # closed-loop round ends, held other requests' first chunks for milliseconds.
            requests = iter(list(requests))
        if config.workers <= 1 or phase != "measure":
            # One connection per concurrent request, opened before the clock starts (a capped open
            # loop: one per slot; an uncapped one opens them as it needs them).
            connections = (spec.concurrency or 1) if spec.rate is None else (spec.concurrency or 0)
            if spec.number is not None:
                connections = min(connections, spec.number)
            if connections:
                await client.warm(connections)
        progress = _Progress(self.console, spec.number, spec.label if phase == "measure" else "warm-up", config)
        monitor = LoopMonitor()
        loop_start = time.perf_counter_ns()
        duration_ns = None if spec.duration is None else int(spec.duration * 1e9)
        warmup_ns, cooldown_ns = int(config.warmup_s * 1e9), int(config.cooldown_s * 1e9)
        origin = client.origin_perf_ns

        def phase_of(record: RequestRecord) -> str:
            if phase != "measure":
                return phase
            since = record.start_ns + origin - loop_start
            if since < warmup_ns:
                return "warmup"
            if duration_ns is not None and cooldown_ns and since >= duration_ns - cooldown_ns:
                return "cooldown"
            return "measure"

        in_workers = config.workers > 1 and phase == "measure"  # then finish() runs in a thread
        loop = asyncio.get_running_loop()
        flush_due = False

        def flush_records() -> None:
            nonlocal flush_due
            flush_due = False
            try:
                writer.flush()
            except StorageError:  # a record that cannot be kept: stop the run now (see _stop_on_write_error)
                if self._sweep_task is not None:
                    self._sweep_task.cancel()

        def finish(record: RequestRecord) -> None:
            nonlocal flush_due
            record.phase = phase_of(record)
            if in_workers:
                writer.write(record)
            else:
                # Records that end in one turn of the event loop reach the OS together, at the end of
                # it: one system call, not one each while other requests' chunks wait to be read.
                writer.write(record, flush=False)
                if not flush_due:
                    flush_due = True
                    loop.call_soon(flush_records)
            records.append(record)
            progress.advance(record, records)

        def time_left() -> bool:
            return duration_ns is None or time.perf_counter_ns() - loop_start < duration_ns

        if config.workers > 1 and phase == "measure":
            stop = threading.Event()
            with progress:
                relay = asyncio.ensure_future(
                    asyncio.to_thread(self._run_point_in_workers, client, spec, requests, finish, stop))
                try:
                    health = await asyncio.shield(relay)
                except asyncio.CancelledError:  # interrupted: end the workers, then let their relay finish
                    stop.set()
                    with contextlib.suppress(Exception):
                        await relay
                    raise
            return records, health
        monitor.start()
        with progress:
            if spec.rate is None:
                concurrency = spec.concurrency or 1
                lock_step = iter(requests)

                async def worker(delay_s: float) -> None:
                    if delay_s:
                        await asyncio.sleep(delay_s)
                    while time_left():
                        request = next(lock_step, None)
                        if request is None:
                            return
                        index = self._take_index()
                        finish(await client.send(request, index=index, point=spec.index, phase=phase,
                                                 concurrency=concurrency))

                # A ramp-up starts the workers one by one, evenly over ramp_up seconds.
                step = config.ramp_up / concurrency if config.ramp_up else 0.0
                count = concurrency if spec.number is None else min(concurrency, spec.number)
                await asyncio.gather(*(worker(i * step) for i in range(count)))
            else:
                await self._open_loop(client, spec, requests, finish, phase, time_left)
        health = await monitor.stop()
        return records, health

    async def _open_loop(self, client: OpenAIClient, spec: PointSpec, requests: Iterator[ChatOrCompletionRequest],
                         finish: Any, phase: str, time_left: Any) -> None:
        """Send on the schedule; a request that finds every slot taken waits, and the wait is recorded."""
        assert spec.rate is not None
        config = self.config
        offsets = arrival_offsets(
            spec.number if spec.number is not None else 10**9, spec.rate, burstiness=config.burstiness,
            ramp_up_s=config.ramp_up, seed=config.seed * 1000 + spec.index, duration_s=spec.duration,
        )
        slots = asyncio.Semaphore(spec.concurrency) if spec.concurrency else None
        in_flight: set[asyncio.Task[None]] = set()
        start = time.perf_counter_ns()

        async def one(request: ChatOrCompletionRequest, scheduled: int) -> None:
            if slots is not None:
                async with slots:
                    record = await client.send(request, index=self._take_index(), point=spec.index, phase=phase,
                                               concurrency=spec.concurrency or 0, scheduled_ns=scheduled)
            else:
                record = await client.send(request, index=self._take_index(), point=spec.index, phase=phase,
                                           concurrency=0, scheduled_ns=scheduled)
            finish(record)

        for offset in offsets:
            scheduled = start + int(offset * 1e9)
            delay = (scheduled - time.perf_counter_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
            if not time_left():
                break
            request = next(requests, None)
            if request is None:
                break
            task = asyncio.get_running_loop().create_task(one(request, scheduled))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.gather(*in_flight)

    def _run_point_in_workers(self, client: OpenAIClient, spec: PointSpec,
                              requests: Iterator[ChatOrCompletionRequest], finish: Any,
                              stop: threading.Event) -> ClientHealth:
        """The point's requests, shared out round-robin to ``workers`` processes on one schedule
        (``stop``: the run was interrupted, end the workers now)."""
        from assay.perf.workers import WorkerJob, merge_health, run_jobs, split_evenly

        config = self.config
        items: list[tuple[int, ChatOrCompletionRequest, int | None]]
        if spec.rate is None:
            concurrency = spec.concurrency or 1
            workers = min(config.workers, concurrency)
            items = [(self._take_index(), request, None) for request in requests]
            slots = split_evenly(concurrency, workers)
        else:
            offsets = arrival_offsets(
                spec.number if spec.number is not None else 10**9, spec.rate, burstiness=config.burstiness,
                ramp_up_s=config.ramp_up, seed=config.seed * 1000 + spec.index, duration_s=spec.duration,
            )
            workers = config.workers
            items = [(self._take_index(), request, int(offset * 1e9)) for offset, request in zip(offsets, requests)]
            slots = split_evenly(spec.concurrency, workers) if spec.concurrency else [0] * workers
        args = self._client_args(client.origin_perf_ns, client.origin_epoch_ns)
        jobs = [
            WorkerJob(client_args=args, items=items[k::workers], concurrency=slots[k], point=spec.index,
                      phase="measure", window_ns=None if spec.duration is None else int(spec.duration * 1e9))
            for k in range(workers)
        ]
        return merge_health(run_jobs(jobs, finish, stop))

    def _take_index(self) -> int:
        index = self.next_index
        self.next_index += 1
        return index


class _Progress(LiveBar):
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
        self.first_start_ns: int | None = None
        self.last_end_ns: int | None = None

    def advance(self, record: RequestRecord, records: list[RequestRecord]) -> None:
        self.done += 1
        if record.error is not None:
            self.failed += 1
        else:
            sent = record.sent_ns or record.start_ns
            self.latency_ns += record.end_ns - sent
            self.ttft_ns += (record.first_token_ns or record.end_ns) - sent
            self.tokens += record.completion_tokens or 0
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
        return (
            f"[{self.label}] {done}/{total_text} done, {self.failed} failed, avg latency "
            f"{self.latency_ns / ok / 1e9:.3f} s, avg TTFT {self.ttft_ns / ok / 1e9:.3f} s, "
            f"{ok / span if span else 0:.2f} req/s, {self.tokens / span if span else 0:.1f} output tok/s"
        )


def _mark_failed(run_dir: Path, run: dict[str, Any], writer: RecordWriter, error: StorageError) -> None:
    """After a write error: close the records (whole lines only) and mark run.json ``failed`` with the
    reason, if the disk still allows it; ``assay perf report`` rebuilds the summary from the records."""
    writer.close()
    run["status"] = "failed"
    run["error"] = str(error)
    run["finished_epoch_s"] = time.time()
    write_json_last_resort(run_dir / RUN_FILE, run)


def _first_error(points: list[dict[str, Any]]) -> str:
    for p in points:
        for reason in p["errors"]:
            return str(reason)
    return "unknown"


def _run_event_loop(coroutine: Any) -> None:
    """Run on uvloop where installed (lower per-chunk overhead), else asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        with frozen_heap():
            asyncio.run(coroutine)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner, frozen_heap():
        runner.run(coroutine)


__all__ = ["PerfResult", "SuccessRateError", "run_perf"]
