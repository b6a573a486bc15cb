"""Run a perf sweep: its life from start to report.

Flow: (optional local engine) → tokenizer → run directory (``run.json`` ``running``) → test request →
warm-up → the sweep points (``--parallel``/``--rate`` × ``--number``) or an SLO search's probes
(:mod:`assay.perf.search`). Each point: fresh requests → the send loop (:mod:`assay.perf.load`, in
this process or ``--workers`` processes) → records appended as they end → point summary. Then the
whole-run summary, the report, and ``run.json`` ``finished`` / ``interrupted`` / ``failed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay import __version__
from assay._aio import run as run_loop
from assay.client.fleet import AnyClient, clients_of, open_client
from assay.client.openai import ChatOrCompletionRequest, OpenAIClient, endpoint_kind
from assay.errors import ServerError, StorageError
from assay.perf import metrics
from assay.perf.config import MADE_DATASETS, PerfConfig, PointSpec
from assay.perf.load import Schedule, Work, send_load
from assay.perf.progress import PointProgress
from assay.perf.records import RecordMaker
from assay.perf.schedule import ClientHealth, LoopMonitor
from assay.perf.sessions import Session, SessionSource
from assay.redact import redact_url
from assay.store import (
    POINTS_FILE,
    RECORD_SCHEMA_VERSION,
    RECORDS_FILE,
    REPORT_FILE,
    SUMMARY_FILE,
    JsonlWriter,
    PerfRun,
    PointRecord,
    RequestRecord,
    RunLifecycle,
    new_run_path,
    write_json_atomic,
    write_text_atomic,
)

if TYPE_CHECKING:  # rich is imported when something is printed, not before the first request
    from rich.console import Console

    from assay.perf.trace import TraceReplay

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
    for note in config.notes():  # EvalScope arguments that assay takes but acts on differently: said once
        console.print(note, markup=False, highlight=False, style="yellow")
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
        url=f"{server.base_url}/{'chat/completions' if endpoint_kind((config.urls or [''])[0]) == 'chat' else 'completions'}",
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
        self.trace: TraceReplay | None = None  # --dataset trace
        self.made: Any = None  # --dataset random_vl / speed_benchmark: assay.perf.datasets.generated_dataset
        self.sessions: SessionSource | None = None  # --multi-turn
        self.endpoint_inputs: Any = None  # --api embeddings / rerank: assay.perf.endpoints.EndpointInputs
        self.next_index = 0
        self.search: dict[str, Any] | None = None
        self.run = PerfRun()  # run.json, typed: made in execute()
        self.records = RecordMaker(0, 0)  # the run's own, once its clock origin is taken (execute)
        self._sweep_task: asyncio.Task[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._report: Any = None  # the ReportPrinter: report.txt is what the console showed
        self.visualizer: Any = None  # --visualizer wandb|swanlab: assay.perf.visualizer.Visualizer
        self.ray_load: Any = None  # --ray: assay.scale.ray_perf.RayLoad, the actors that send each point

    def _report_printer(self) -> Any:
        if self._report is None:
            from assay.perf.report import ReportPrinter

            self._report = ReportPrinter(self.console)
        return self._report

    def execute(self) -> PerfResult:
        config = self.config
        self._load_inputs()
        name = config.name or (config.model or "run")
        if config.ray is not None:  # before the run directory: no cluster, no run (one line, exit 2)
            from assay.scale.ray_perf import RayLoad

            self.ray_load = RayLoad(config.ray, config.ray_actors)
        run_dir = new_run_path(config.outputs_dir, name)
        origin_perf_ns, origin_epoch_ns = time.perf_counter_ns(), time.time_ns()
        self.records = self._record_maker(origin_perf_ns, origin_epoch_ns)
        self.run = run = PerfRun(
            record_schema_version=RECORD_SCHEMA_VERSION,
            assay_version=__version__,
            origin_perf_ns=origin_perf_ns,
            origin_epoch_ns=origin_epoch_ns,
            config=config.to_public_dict(),
            endpoint_kind=endpoint_kind((config.urls or [""])[0]),
            tokenizer=getattr(self.tokenizer, "name", None),
            special_tokens=self.special_tokens,
            expected_extra_tokens=self.expected_extra_tokens,
        )
        life = RunLifecycle.start(run_dir, run, started_epoch_s=origin_epoch_ns / 1e9)
        self.visualizer = _open_visualizer(config, run_dir, run.config, self.console)
        # Records are written from a thread of their own: a disk that holds a write back (dirty-page
        # throttling: tens of ms) must not hold the event loop, and with it every request due meanwhile.
        writer = JsonlWriter(run_dir / RECORDS_FILE, background=True, on_failure=self._on_write_failure)
        point_writer = JsonlWriter(run_dir / POINTS_FILE)
        points: list[dict[str, Any]] = []
        status = "failed"
        stored = True  # False once a write error stopped the run: run.json then says so, and nothing more is written
        try:
            run_loop(self._stop_on_write_error(writer, self._sweep(writer, point_writer, points)), timing=True)
            status = "finished"
        except KeyboardInterrupt:
            status = "interrupted"
            self.console.print("[yellow]Interrupted: the finished requests are kept in the run directory.[/yellow]")
        except StorageError as exc:
            stored = False
            _mark_failed(life, exc, writer, point_writer)
            raise
        finally:
            if self.ray_load is not None:
                self.ray_load.close()
            if stored:
                try:
                    writer.close()
                    point_writer.close()
                    run.status = status
                    if status == "finished":
                        summary = metrics.run_summary(points, run, self.search)
                    else:  # include the point that was cut short, from the records on disk
                        from assay.perf.stored import load_summary

                        summary = load_summary(run_dir, run)
                    write_json_atomic(run_dir / SUMMARY_FILE, summary)
                    life.end(status)
                except StorageError as exc:
                    _mark_failed(life, exc, writer, point_writer)
                    raise
        from assay.perf.report import print_report

        text = print_report(run, summary, self.console, per_point=False, printer=self._report_printer())
        write_text_atomic(run_dir / REPORT_FILE, text)
        if self.visualizer is not None:
            self.visualizer.finish(status, summary)
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

    async def _stop_on_write_error(self, writer: JsonlWriter, sweep: Any) -> None:
        """Run the sweep; a record that cannot be written stops it at once, with that write error.

        Records are flushed in a callback at the end of an event-loop turn (see ``_run_point``),
        whose exception would only reach the loop's handler: it cancels this task instead.
        """
        self._sweep_task = asyncio.current_task()
        self._loop = asyncio.get_running_loop()
        try:
            await sweep
        except asyncio.CancelledError:
            if writer.failure is not None:
                raise writer.failure from None
            raise

    def _on_write_failure(self, error: StorageError) -> None:
        """From the records writer's thread: a record could not be kept, so the sweep stops now."""
        task, loop = self._sweep_task, self._loop
        if task is not None and loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed: the run is over anyway
                loop.call_soon_threadsafe(task.cancel)

    def _load_inputs(self) -> None:
        config = self.config
        if config.tokenizer_path and config.dataset in ("random", "trace", "random_multi_turn", *MADE_DATASETS):
            # Start-up: facts kept from an earlier run with this tokenizer stand in for building it.
            from assay.perf.prompt_words import open_tokenizer

            self.tokenizer = open_tokenizer(config.tokenizer_path, hub=config.tokenizer_hub)
        elif config.tokenizer_path:
            from assay.data.tokenizers import load_tokenizer

            self.tokenizer = load_tokenizer(config.tokenizer_path, hub=config.tokenizer_hub)
        if config.tokenizer_path:
            if endpoint_kind((config.urls or [""])[0]) == "completions":
                self.special_tokens = self.tokenizer.added_special_tokens()
            else:
                from assay.data.tokenizers import chat_template_overhead

                overhead = chat_template_overhead(self.tokenizer)
                if overhead is not None:
                    self.expected_extra_tokens, description = overhead
                    self.special_tokens = [description]
        from assay.perf.endpoints import endpoint_inputs
        from assay.perf.sessions import is_multi_turn

        self.endpoint_inputs = endpoint_inputs(config, self.tokenizer)  # embeddings batches, rerank documents
        if self.endpoint_inputs is not None:
            pass
        elif is_multi_turn(config):  # conversations, sent turn by turn
            self.sessions = SessionSource(config, self.tokenizer)
        elif config.prompt is not None:  # EvalScope's --prompt: this one prompt in every request
            self.file_requests = [ChatOrCompletionRequest(prompt=config.prompt_text())]
        elif config.dataset == "random":
            from assay.perf.datasets import RandomPrompts

            self.prompts = RandomPrompts(self.tokenizer)
        elif config.dataset == "trace":
            from assay.perf.datasets import RandomPrompts
            from assay.perf.trace import TraceReplay

            self.trace = TraceReplay(config, RandomPrompts(self.tokenizer))
        elif config.dataset in MADE_DATASETS:
            from assay.perf.datasets import generated_dataset

            self.made = generated_dataset(config, self.tokenizer)
        else:
            from assay.perf.datasets import load_dataset_requests

            self.file_requests = load_dataset_requests(config)
            if endpoint_kind((config.urls or [""])[0]) == "completions" and any(r.messages for r in self.file_requests):
                self.console.print(
                    "[yellow]Chat messages sent to /v1/completions are joined into one prompt; "
                    "use a /v1/chat/completions URL to keep the roles.[/yellow]"
                )

    def _requests_for(self, point: int, count: int | None) -> Iterator[Work]:
        """The requests of one point, made as they are needed (``count`` None: endless); multi-turn: its sessions."""
        config = self.config
        if self.sessions is not None:
            return self.sessions.sessions(point, count)
        if self.endpoint_inputs is not None:
            return self.endpoint_inputs.requests(point, count)  # type: ignore[no-any-return]
        if self.trace is not None:
            return self.trace.requests(point, count)
        if self.made is not None:
            return self.made.requests(point, count)
        if config.dataset == "random" and config.prompt is None:
            from assay.perf.datasets import random_request_stream

            return random_request_stream(
                self.prompts, count=count, min_length=config.min_prompt_length,
                max_length=config.max_prompt_length, prefix_length=config.prefix_length,
                max_tokens=config.max_tokens, seed=config.seed, point=point,
            )
        from assay.perf.datasets import cycle_stream

        return cycle_stream(self.file_requests, count, config.max_tokens)

    def _client_args(self) -> dict[str, Any]:
        """Arguments of :func:`~assay.client.fleet.open_client` (picklable: workers build their own from them)."""
        config = self.config
        assert config.url and config.model
        return dict(
            url=config.url, url_strategy=config.url_strategy, model=config.model, api_key=config.api_key,
            headers=config.headers,
            stream=config.stream, temperature=config.temperature, top_p=config.top_p, min_tokens=config.min_tokens,
            extra_body=config.request_body_extra(), continuous_usage=config.continuous_usage,
            connect_timeout_s=config.connect_timeout, read_timeout_s=config.read_timeout,
            total_timeout_s=config.total_timeout, max_connections=0,
        )

    def _record_maker(self, origin_perf_ns: int, origin_epoch_ns: int) -> RecordMaker:
        """Records count from the run's origin; the tokenizer counts what a server sent no usage for."""
        count = None
        if self.tokenizer is not None:
            tokenizer = self.tokenizer

            def count(text: str) -> int:
                return len(tokenizer.encode(text))

        return RecordMaker(origin_perf_ns, origin_epoch_ns, count_tokens=count)

    async def _sweep(self, writer: JsonlWriter, point_writer: JsonlWriter, points: list[dict[str, Any]]) -> None:
        config = self.config
        async with open_client(**self._client_args()) as client:
            if config.test_connection:
                await self._test_connection(client)
            if config.warmup_num:
                first = self._points()[0]
                warmup = PointSpec(-1, first.concurrency or 1, config.warmup_num, None, None)
                await self._run_point(client, writer, warmup, phase="warmup")

            async def measure(spec: PointSpec, probe: dict[str, Any] | None = None) -> dict[str, Any]:
                summary = await self._measure(client, writer, point_writer, spec, probe)
                points.append(summary)
                if self.visualizer is not None:
                    self.visualizer.log_point(summary)
                return summary

            if config.slo_search:
                from assay.perf.search import search_slo

                self.search = await search_slo(config, measure, first_index=len(points))
                return
            for spec in self._points():
                await measure(spec)

    def _points(self) -> list[PointSpec]:
        """The sweep: the config's points, or a trace replay's one."""
        if self.made is not None and self.made.points is not None:  # speed_benchmark: one point per length
            return list(self.made.points)
        return [self.trace.point] if self.trace is not None else self.config.points

    async def _measure(self, client: AnyClient, writer: JsonlWriter, point_writer: JsonlWriter, spec: PointSpec,
                       probe: dict[str, Any] | None) -> dict[str, Any]:
        """One sweep point (or SLO probe), its row of ``points.jsonl``, its summary and its tables."""
        from assay.perf import server_metrics

        config = self.config
        metrics_url = None
        if config.server_metrics:
            metrics_url = (server_metrics.metrics_url(config.urls[0]) if config.server_metrics == "auto"
                           else config.server_metrics)
        before = await server_metrics.scrape(metrics_url) if metrics_url else None
        started = time.perf_counter()
        records, health = await self._run_point(client, writer, spec)
        elapsed = time.perf_counter() - started
        after = await server_metrics.scrape(metrics_url) if metrics_url else None
        server = None
        if metrics_url:
            server = (server_metrics.difference(before, after, elapsed) if before and after
                      else {"unavailable": redact_url(metrics_url)})
        point = PointRecord(
            point=spec.index, concurrency=spec.concurrency or 0, number=spec.number or len(records), rate=spec.rate,
            probe=probe, client=asdict(health) | {"client_bound": health.client_bound, "lag_cause": health.lag_cause},
            server=server,
        )
        point_writer.write(point)  # what the summary is made of, beside the records: a rebuild makes the same
        summary = metrics.point_summary(records, point, self.run)
        from assay.perf.report import point_tables

        self._report_printer().add(point_tables(summary, config.percentiles), show=not config.quiet)
        return summary

    async def _test_connection(self, client: AnyClient) -> None:
        """One short request first to each endpoint, so a wrong URL, model or key fails fast with its reason."""
        for each in clients_of(client):
            await self._test_endpoint(each)

    async def _test_endpoint(self, client: OpenAIClient) -> None:
        extra = {"min_tokens": 0} if self.config.min_tokens is not None else {}
        probe = ChatOrCompletionRequest(prompt="Hello", max_tokens=1, extra=extra)
        record = await client.send(probe)
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
        client: AnyClient,
        writer: JsonlWriter,
        spec: PointSpec,
        *,
        phase: str = "measure",
    ) -> tuple[list[RequestRecord], ClientHealth]:
        """Run one sweep point: closed loop (``concurrency`` at a time) or open loop (``rate``)."""
        config = self.config
        records: list[RequestRecord] = []
        requests = self._requests_for(spec.index, spec.number)
        total = spec.number if self.sessions is None else None  # the bar counts records (multi-turn: turns)
        if spec.number is not None and spec.number <= PREBUILT_REQUESTS_MAX:
            # Made before the clock starts, as the other tools do: building a random prompt of an
            # exact length (tokenizer round trips) inside the event loop, 128 at a time when a
            # closed-loop round ends, held other requests' first chunks for milliseconds.
            prebuilt = list(requests)
            requests = iter(prebuilt)
            if self.sessions is not None:
                total = sum(len(session.turns) for session in prebuilt if isinstance(session, Session))
        if (config.workers <= 1 and self.ray_load is None) or phase != "measure":
            # One connection per concurrent request, opened before the clock starts (a capped open
            # loop: one per slot; an uncapped one opens them as it needs them).
            connections = (spec.concurrency or 1) if spec.rate is None else (spec.concurrency or 0)
            if spec.number is not None:
                connections = min(connections, spec.number)
            if connections:
                await client.warm(connections)
        progress = PointProgress(self.console, total, spec.label if phase == "measure" else "warm-up", config)
        # Open loop: the send times, made before the clock starts (a trace replay: the trace's).
        schedule = (self.trace.schedule(spec, phase) if self.trace is not None and phase == "measure"
                    else Schedule.for_point(spec, config, phase))
        monitor = LoopMonitor()
        loop_start = time.perf_counter_ns()
        duration_ns = None if spec.duration is None else int(spec.duration * 1e9)
        warmup_ns, cooldown_ns = int(config.warmup_s * 1e9), int(config.cooldown_s * 1e9)
        origin = self.records.origin_perf_ns

        def phase_of(record: RequestRecord) -> str:
            if phase != "measure":
                return phase
            since = record.start_ns + origin - loop_start
            if since < warmup_ns:
                return "warmup"
            if duration_ns is not None and cooldown_ns and since >= duration_ns - cooldown_ns:
                return "cooldown"
            return "measure"

        in_workers = (config.workers > 1 or self.ray_load is not None) and phase == "measure"  # finish() in a thread
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
            progress.advance(record)

        deadline_ns = None if duration_ns is None else loop_start + duration_ns
        if in_workers:
            stop = threading.Event()
            with progress:
                relay = asyncio.ensure_future(
                    asyncio.to_thread(self._run_point_in_workers, schedule, spec, requests, finish, stop))
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
            await send_load(client, schedule, self._indexed(requests), self.records, finish, deadline_ns=deadline_ns)
        health = await monitor.stop()
        return records, health

    def _run_point_in_workers(self, schedule: Schedule, spec: PointSpec,
                              requests: Iterator[Work], finish: Any,
                              stop: threading.Event) -> ClientHealth:
        """The point's requests, shared out round-robin to ``workers`` processes on one schedule
        (``stop``: the run was interrupted, end the workers now)."""
        from assay.perf.workers import WorkerJob, merge_health, run_jobs, split_evenly

        config = self.config
        parts = self.ray_load.count if self.ray_load is not None else config.workers  # --ray: one share per actor
        if schedule.offsets_ns is None:
            workers = min(parts, schedule.concurrency)
            items = list(self._indexed(requests))
            slots = split_evenly(schedule.concurrency, workers)
            shares = [replace(schedule, concurrency=slots[k], ramp_up_s=0.0, most=len(items[k::workers]))
                      for k in range(workers)]
        else:
            workers = parts
            # Offsets first: a request past the last send time must not take an index.
            sends = [(index, request, offset) for offset, (index, request)
                     in zip(schedule.offsets_ns, self._indexed(requests))]
            items = [(index, request) for index, request, _ in sends]
            slots = split_evenly(schedule.concurrency, workers) if schedule.concurrency else [0] * workers
            shares = [replace(schedule, concurrency=slots[k], offsets_ns=[offset for _, _, offset in sends[k::workers]],
                              most=None) for k in range(workers)]
        origin_perf_ns, origin_epoch_ns = self.records.origin_perf_ns, self.records.origin_epoch_ns
        jobs = [
            WorkerJob(client_args=self._client_args(), origin_perf_ns=origin_perf_ns, origin_epoch_ns=origin_epoch_ns,
                      schedule=shares[k], requests=items[k::workers],
                      window_ns=None if spec.duration is None else int(spec.duration * 1e9))
            for k in range(workers)
        ]
        if self.ray_load is not None:
            return self.ray_load.run_point(jobs, finish, stop)  # type: ignore[no-any-return]
        return merge_health(run_jobs(jobs, finish, stop))

    def _indexed(self, requests: Iterator[Work]) -> Iterator[tuple[int, Work]]:
        """Each request with its index in the run, taken as it is sent (indices follow the sending order).
        Multi-turn: each session with its number, and one index reserved for each of its turns."""
        for request in requests:
            if self.sessions is not None:
                assert isinstance(request, Session)
                first_index = self.next_index
                self.next_index += len(request.turns)
                yield self.sessions.number(request, first_index)
            else:
                yield self._take_index(), request

    def _take_index(self) -> int:
        index = self.next_index
        self.next_index += 1
        return index


def _mark_failed(life: RunLifecycle, error: StorageError, *writers: JsonlWriter) -> None:
    """After a write error: close the files (whole lines only) and mark run.json ``failed`` with the
    reason, if the disk still allows it; ``assay perf report`` rebuilds the summary from the records."""
    for writer in writers:
        writer.close()
    life.fail(error)


def _first_error(points: list[dict[str, Any]]) -> str:
    for p in points:
        for reason in p["errors"]:
            return str(reason)
    return "unknown"


__all__ = ["PREBUILT_REQUESTS_MAX", "PerfResult", "SuccessRateError", "run_perf"]


def _open_visualizer(config: PerfConfig, run_dir: Path, public_config: dict[str, Any], console: Any) -> Any:
    """W&B or SwanLab for ``--visualizer`` (None without it: the package is not imported)."""
    from assay.perf.visualizer import Visualizer, chosen

    return Visualizer.open(config, run_dir, public_config, console) if chosen(config) else None
